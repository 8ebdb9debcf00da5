"""The local-folder backend: an index folder (`qa.store.store`), its lock, feeds file and embedding cache."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from qa.embedding.cache import EmbeddingCache
from qa.store.check import CheckReport, ModelHint, check
from qa.store.feeds import FeedFile
from qa.store.layout import EMBEDDING_CACHE, manifest_of, write_lock
from qa.store.store import Store


class LocalBackend:
    """An index kept in a local folder; one writer at a time (a file lock), readers reload on each save."""

    def __init__(self, path: Path) -> None:
        self.location: Path = Path(path)

    def describe(self) -> str:
        """The folder."""
        return str(self.location)

    def exists(self) -> bool:
        """True when the folder holds a saved index."""
        return Store.exists(self.location)

    def manifest(self) -> dict[str, Any]:
        """The index's manifest."""
        return manifest_of(self.location)

    def load(self) -> Store:
        """The index, read into memory."""
        return Store.load(self.location)

    def fresh(self, store: Store | None) -> Store | None:
        """`store` unless another process saved since it was loaded."""
        if not self.exists():
            return None
        if store is not None and self.manifest()["version"] == store.version:
            return store
        return self.load()

    def create(
        self, embedding_model: str, dimension: int, ann_threshold: int, embedder: dict[str, Any] | None = None
    ) -> Store:
        """An empty index (written on its first save)."""
        return Store(self.location, embedding_model, dimension, ann_threshold, embedder)

    def writing(self) -> AbstractContextManager[None]:
        """The folder's exclusive writer lock."""
        return write_lock(self.location)

    def feeds(self) -> FeedFile:
        """`feeds.json` in the folder."""
        return FeedFile(self.location)

    def embedding_cache(self) -> EmbeddingCache:
        """`embcache/` in the folder."""
        return EmbeddingCache(self.location / EMBEDDING_CACHE)

    def check(self, repair: bool = False, model_hint: ModelHint | None = None) -> CheckReport:
        """`qa.store.check.check` on the folder (`model_hint`: see there)."""
        return check(self.location, repair=repair, model_hint=model_hint)

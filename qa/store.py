"""The persisted index: articles, chunks and their vectors in an id-mapped FAISS index.

On disk, `index/<name>/` holds numbered snapshot folders and a `CURRENT` file naming the live one.
A save writes a complete new snapshot, then swaps `CURRENT` atomically, so a process killed at any
moment leaves the previous snapshot intact and readable. Writers hold an exclusive lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.errors import StoreError
from qa.types import Article, Chunk

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".lock"


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """Articles, chunks and vectors of one index; `search` answers from memory, `save` persists."""

    def __init__(self, path: Path, embedding_model: str, dimension: int) -> None:
        if dimension < 1:
            raise StoreError(f"vector dimension must be positive, got {dimension}")
        self.path = Path(path)
        self.embedding_model = embedding_model
        self.dimension = dimension
        self.version = 0
        self.next_vector_id = 0
        self._articles: dict[str, Article] = {}
        self._chunks: dict[int, Chunk] = {}
        self._article_vectors: dict[str, list[int]] = {}
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    # -- opening -----------------------------------------------------------------------------

    @staticmethod
    def exists(path: Path) -> bool:
        """True when `path` holds a saved index."""
        return (Path(path) / CURRENT).is_file()

    @classmethod
    def load(cls, path: Path) -> Store:
        """Open the saved index at `path` (the snapshot `CURRENT` names)."""
        path = Path(path)
        if not cls.exists(path):
            raise StoreError(f"no index at {path}; build one with `newsqa ingest PATH --index {path}`")
        name = (path / CURRENT).read_text().strip()
        snapshot = path / name
        try:
            manifest = json.loads((snapshot / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise StoreError(f"index {path} is damaged (snapshot {name}: {error}); run `newsqa check`") from error
        if manifest.get("format") != FORMAT_VERSION:
            raise StoreError(f"index {path} has format {manifest.get('format')}, this newsqa reads {FORMAT_VERSION}")
        store = cls(path, manifest["embedding_model"], manifest["dimension"])
        store.version = manifest["version"]
        store.next_vector_id = manifest["next_vector_id"]
        with open(snapshot / "articles.jsonl", encoding="utf-8") as handle:
            for line in handle:
                article = Article.from_dict(json.loads(line))
                store._articles[article.id] = article
                store._article_vectors[article.id] = []
        with open(snapshot / "chunks.jsonl", encoding="utf-8") as handle:
            for line in handle:
                data = json.loads(line)
                vector_id = data.pop("vector_id")
                chunk = Chunk.from_dict(data)
                store._chunks[vector_id] = chunk
                store._article_vectors[chunk.article_id].append(vector_id)
        store._index = faiss.read_index(str(snapshot / "vectors.faiss"))
        if store._index.ntotal != len(store._chunks):
            raise StoreError(
                f"index {path} is inconsistent: {store._index.ntotal} vectors for {len(store._chunks)} chunks"
            )
        return store

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._articles)

    @property
    def chunk_count(self) -> int:
        """How many chunks (and vectors) the index holds."""
        return len(self._chunks)

    def articles(self) -> list[Article]:
        """All articles, newest publication first (undated last)."""
        oldest = datetime.min.replace(tzinfo=UTC)
        return sorted(self._articles.values(), key=lambda a: (a.published or oldest, a.id), reverse=True)

    def article(self, article_id: str) -> Article | None:
        """The article with this id, if stored."""
        return self._articles.get(article_id)

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """An article's chunks in order."""
        return sorted((self._chunks[v] for v in self._article_vectors.get(article_id, [])), key=lambda c: c.position)

    def vector_ids(self, article_ids: Iterable[str]) -> list[int]:
        """The vector ids of these articles' chunks."""
        return [v for article_id in article_ids for v in self._article_vectors.get(article_id, [])]

    def search(self, vector: np.ndarray, k: int, allowed: list[int] | None = None) -> list[tuple[Chunk, float]]:
        """The `k` chunks most similar (inner product of normalised vectors) to `vector`,
        among the `allowed` vector ids when given."""
        if self._index.ntotal == 0 or k < 1 or (allowed is not None and not allowed):
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        if query.shape[1] != self.dimension:
            raise StoreError(f"query vector has {query.shape[1]} dimensions, the index has {self.dimension}")
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        scores, ids = self._index.search(query, min(k, self._index.ntotal), params=params)
        return [(self._chunks[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    # -- writing -----------------------------------------------------------------------------

    def upsert(self, article: Article, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add an article with its chunks and their vectors, replacing any stored version of it."""
        if len(chunks) != len(vectors):
            raise StoreError(f"{len(chunks)} chunks but {len(vectors)} vectors for article {article.id}")
        if vectors.size and vectors.shape[1] != self.dimension:
            raise StoreError(f"vectors have {vectors.shape[1]} dimensions, the index has {self.dimension}")
        self.delete(article.id)
        ids = np.arange(self.next_vector_id, self.next_vector_id + len(chunks), dtype=np.int64)
        self.next_vector_id += len(chunks)
        if len(chunks):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._articles[article.id] = article
        self._article_vectors[article.id] = [int(i) for i in ids]
        for vector_id, chunk in zip(ids, chunks):
            self._chunks[int(vector_id)] = chunk

    def delete(self, article_id: str) -> bool:
        """Remove an article, its chunks and their vectors; False if it was not stored."""
        if article_id not in self._articles:
            return False
        vector_ids = self._article_vectors.pop(article_id)
        if vector_ids:
            self._index.remove_ids(np.asarray(vector_ids, dtype=np.int64))
        for vector_id in vector_ids:
            del self._chunks[vector_id]
        del self._articles[article_id]
        return True

    def vector(self, vector_id: int) -> np.ndarray:
        """The stored vector of one chunk."""
        return self._index.reconstruct(vector_id)

    def vectors_of(self, article_id: str) -> np.ndarray:
        """The stored vectors of an article's chunks, in chunk order."""
        ids = sorted(self._article_vectors.get(article_id, []), key=lambda v: self._chunks[v].position)
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.vector(i) for i in ids])

    def save(self) -> None:
        """Write a complete new snapshot, then make it current in one atomic rename."""
        self.path.mkdir(parents=True, exist_ok=True)
        version = self.version + 1
        name = f"v{version:06d}"
        staging = self.path / f".{name}.tmp-{os.getpid()}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        ordered = sorted(self._chunks.items())
        articles = "".join(
            json.dumps(a.to_dict(), ensure_ascii=False, default=str) + "\n" for a in self._articles.values()
        )
        chunks = "".join(json.dumps({**c.to_dict(), "vector_id": v}, ensure_ascii=False) + "\n" for v, c in ordered)
        _fsync_write(staging / "articles.jsonl", articles.encode("utf-8"))
        _fsync_write(staging / "chunks.jsonl", chunks.encode("utf-8"))
        faiss.write_index(self._index, str(staging / "vectors.faiss"))
        with open(staging / "vectors.faiss", "rb+") as handle:
            os.fsync(handle.fileno())
        manifest = {
            "format": FORMAT_VERSION,
            "version": version,
            "embedding_model": self.embedding_model,
            "dimension": self.dimension,
            "next_vector_id": self.next_vector_id,
            "articles": len(self._articles),
            "chunks": len(self._chunks),
            "saved_at": datetime.now(UTC).isoformat(),
        }
        _fsync_write(staging / "manifest.json", json.dumps(manifest, indent=2).encode())
        _fsync_dir(staging)
        os.rename(staging, self.path / name)
        pointer = self.path / f".{CURRENT}.tmp-{os.getpid()}"
        _fsync_write(pointer, name.encode())
        os.replace(pointer, self.path / CURRENT)
        _fsync_dir(self.path)
        self.version = version
        self._remove_stale_snapshots(keep=name)

    def _remove_stale_snapshots(self, keep: str) -> None:
        for entry in self.path.iterdir():
            if entry.is_dir() and entry.name != keep and (entry.name.startswith("v") or ".tmp-" in entry.name):
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_file() and ".tmp-" in entry.name:
                entry.unlink(missing_ok=True)


@contextmanager
def write_lock(path: Path, timeout_s: float = 30.0) -> Iterator[None]:
    """Hold the index's exclusive writer lock; StoreError if another writer keeps it past `timeout_s`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with open(path / LOCK, "a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"index {path} is being written by another process; try again when it finishes"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def manifest_of(path: Path) -> dict[str, Any]:
    """The current snapshot's manifest (cheap: does not load vectors)."""
    name = (Path(path) / CURRENT).read_text().strip()
    return json.loads((Path(path) / name / "manifest.json").read_text())

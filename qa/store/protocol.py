"""What newsqa asks of an index, whichever backend holds it: the store's verbs and the backend that opens it.

Two backends implement it: an index folder (`qa.store.store` and `qa.store.local`: records in SQLite, vectors
in an append-only file searched with FAISS) and a shared PostgreSQL database with pgvector (`qa.store.postgres`),
chosen by giving `--index` a `postgresql://` URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from qa.embedding.cache import EmbeddingCacheLike
from qa.errors import StoreError
from qa.types import Article, Chunk, Filters

if TYPE_CHECKING:
    from qa.store.check import CheckReport
    from qa.store.feeds import FeedState

DATABASE_SCHEMES = ("postgresql://", "postgres://")
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")

# (article id, MinHash signature as hex or None, near-duplicate group or None): what dedup needs of a stored article
Signature = tuple[str, str | None, str | None]


@runtime_checkable
class ArticleStore(Protocol):
    """Articles, their passages (chunks) and one vector per passage, under integer vector ids.

    Writes (`upsert`, `delete`) take effect for other processes at `save`, all of them at once. Reads
    inside `reading()` see one consistent state of the index, even while other processes write.
    """

    embedding_model: str
    dimension: int
    ann_threshold: int

    @property
    def version(self) -> int:
        """A number that grows with every save."""

    def __len__(self) -> int: ...

    @property
    def chunk_count(self) -> int:
        """How many passages (and vectors) the index holds."""

    def reading(self) -> AbstractContextManager[None]:
        """A block in which every read sees the same state of the index."""

    def articles(self) -> list[Article]:
        """All articles, newest publication first (undated last, ties by id, descending)."""

    def article(self, article_id: str) -> Article | None:
        """The article with this id, if stored."""

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """An article's chunks in order."""

    def vectors_of(self, article_id: str) -> np.ndarray:
        """The stored vectors of an article's chunks, in chunk order."""

    def chunk(self, vector_id: int) -> Chunk:
        """The chunk stored under this vector id (KeyError when there is none)."""

    def vector(self, vector_id: int) -> np.ndarray:
        """The stored vector of one chunk."""

    def nearest(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """The `k` passages most similar to `vector` (cosine) among the articles `filters` accepts,
        as (vector id, similarity), best first."""

    def allowed_ids(self, filters: Filters) -> list[int]:
        """The vector ids of the passages of every article `filters` accepts."""

    def passages(self) -> Iterator[tuple[int, Chunk, str, str | None]]:
        """(vector id, chunk, article title, article language) of every passage, by vector id."""

    def duplicate_groups(self) -> dict[str, list[Article]]:
        """Near-duplicate groups with two or more members (by `duplicate_group` metadata), earliest first."""

    def signatures(self) -> list[Signature]:
        """(id, MinHash signature, near-duplicate group) of every article."""

    def language_counts(self) -> dict[str, int]:
        """How many articles per language code ("?" for unknown)."""

    def upsert(self, article: Article, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add an article with its chunks and their vectors, replacing any stored version of it."""

    def delete(self, article_id: str) -> bool:
        """Remove an article with its chunks and vectors; False if it was not stored."""

    def save(self) -> None:
        """Make every write since the last save durable and visible, all at once."""

    def bulk_loading(self) -> AbstractContextManager[None]:
        """A block of many saves into a (nearly) empty index, which the backend may load faster."""


class FeedStorage(Protocol):
    """Where the feeds an index follows are kept."""

    def read(self) -> dict[str, FeedState]:
        """The followed feeds by URL, in the order they were added."""

    def update(self, change: Callable[[dict[str, FeedState]], None]) -> dict[str, FeedState]:
        """Apply `change` to the feeds as stored now and store the result, with no other writer in between."""


StoreT = TypeVar("StoreT", bound=ArticleStore)


class StoreBackend(Protocol[StoreT]):
    """Where an index lives: opens, creates, locks, checks it, and keeps its feeds and embedding cache.

    Typed by the store it opens, since `fresh` takes back only a store that the same backend loaded."""

    @property
    def location(self) -> Path | str:
        """The folder or database URL, as given."""

    def describe(self) -> str:
        """The location for messages (a database URL without its password)."""

    def exists(self) -> bool:
        """True when an index has been created here."""

    def manifest(self) -> dict[str, Any]:
        """embedding_model, dimension and version of the index (cheap: no vectors read), and "embedder"
        ({"backend", "titles"}, see `Embedder.record`) when the index records it."""

    def load(self) -> StoreT:
        """The index as stored now."""

    def fresh(self, store: StoreT | None) -> StoreT | None:
        """`store` if it still shows the index as stored now, else the index loaded again; None if none exists."""

    def create(
        self, embedding_model: str, dimension: int, ann_threshold: int, embedder: dict[str, Any] | None = None
    ) -> StoreT:
        """A new, empty index for vectors of `embedding_model` with `dimension` components, made by `embedder`
        (`Embedder.record()`, kept in the manifest; saved on first save)."""

    def writing(self) -> AbstractContextManager[None]:
        """Held by a process while it reads, changes and saves the index, if the backend needs it."""

    def feeds(self) -> FeedStorage:
        """The followed feeds of this index."""

    def embedding_cache(self) -> EmbeddingCacheLike:
        """The backend's own passage-vector cache (used unless `embedding_cache_dir` names a folder)."""

    def check(self, repair: bool = False, model_hint: Any = None) -> CheckReport:
        """Verify the index, and with `repair` fix what can be fixed without losing articles (`model_hint`:
        how a folder whose manifests are all lost learns its model; see `qa.store.check.check`)."""


def is_database_url(location: str | Path) -> bool:
    """True when `location` names a PostgreSQL database rather than a folder."""
    return isinstance(location, str) and location.startswith(DATABASE_SCHEMES)


def redact(location: str | Path) -> str:
    """`location` for messages and reports: a database URL loses its password."""
    return _PASSWORD.sub(r"\1***@", str(location))


def open_backend(location: str | Path) -> StoreBackend[Any]:
    """The backend for `--index`: a PostgreSQL URL, else a local folder."""
    if is_database_url(location):
        try:
            from qa.store.postgres import PostgresBackend
        except ImportError as error:  # psycopg and pgvector come with the postgres extra
            raise StoreError(
                f"a PostgreSQL index needs {error.name or 'psycopg'}, which comes with the postgres extra: "
                "pip install 'newsqa[postgres]'"
            ) from None
        return PostgresBackend(str(location))
    from qa.store.local import LocalBackend

    return LocalBackend(Path(location))


def check_upsert(article: Article, chunks: list[Chunk], vectors: np.ndarray, dimension: int) -> None:
    """StoreError unless `vectors` are one finite `dimension`-component vector per chunk of `article`."""
    if len(chunks) != len(vectors):
        raise StoreError(f"{len(chunks)} chunks but {len(vectors)} vectors for article {article.id}")
    if vectors.size and vectors.shape[1] != dimension:
        raise StoreError(f"vectors have {vectors.shape[1]} dimensions, the index has {dimension}")
    if not np.isfinite(vectors).all():
        # A NaN passage could never be found and NaN scores poison a ranking: refuse before touching anything.
        bad = int((~np.isfinite(vectors).all(axis=1)).sum())
        raise StoreError(
            f"article {article.id}: {bad} of {len(vectors)} passage vectors are not finite (NaN or infinity); "
            "nothing was stored for it — re-embed it, or use --set embedding_backend=torch"
        )
    if any(chunk.article_id != article.id for chunk in chunks):
        raise StoreError(f"a chunk given with article {article.id} belongs to another article")


def count_languages(articles: Iterable[Article]) -> dict[str, int]:
    """Articles per language code ("?" for unknown), sorted by code."""
    counts: dict[str, int] = {}
    for article in articles:
        counts[article.language or "?"] = counts.get(article.language or "?", 0) + 1
    return dict(sorted(counts.items()))

"""The PostgreSQL + pgvector backend: one index in a database that many newsqa processes read and write at once.

Articles, their passages with one vector each (an HNSW cosine index), the followed feeds and the embedding
cache are tables of the `newsqa` schema, created once by the first process (under an advisory lock) and
versioned by `meta.schema_version`. A save applies the buffered writes in one transaction, article by
article in id order, each upsert replacing all of its article's passages; passage ids are unique, so
re-ingesting never duplicates. Reads inside `reading()` share one REPEATABLE READ snapshot.

psycopg 3 is used directly instead of llama-index's PGVectorStore (0.9.0), which pastes metadata filter values
into its SQL (`x' OR '1'='1` matched every row), keeps no unique node ids, races on CREATE TABLE when several
processes start at once, and returns fewer than k rows for filtered HNSW queries (no iterative scan).
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from qa.embedding.cache import DEFAULT_MAX_ENTRIES, EmbeddingCacheWarning
from qa.errors import StoreError
from qa.store.feeds import FeedState, feed_from_entry
from qa.store.protocol import check_upsert, redact
from qa.types import Article, Chunk, Filters

if TYPE_CHECKING:
    from qa.store.check import CheckReport

SCHEMA = "newsqa"
SCHEMA_VERSION = 2  # 2: meta.embedder
MAX_DIMENSION = 2000  # the most dimensions pgvector's HNSW index takes for `vector` columns
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64
EF_SEARCH = 100  # candidates an HNSW search keeps; raised to k for larger k
SCHEMA_LOCK = 0x6E657773_71610001  # advisory lock keys: creating the schema, and changing the feeds
FEEDS_LOCK = 0x6E657773_71610002
WRITE_RETRIES = 6
ARTICLE_COLUMNS = "id, title, text, url, source, published_text, language, author, metadata"
CHUNK_COLUMNS = "vector_id, chunk_id, article_id, position, text, start_char, end_char"

# Everything after the base tables needs the vector dimension, known at the first ingest.
BASE_DDL = (
    "CREATE EXTENSION IF NOT EXISTS vector",
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE {SCHEMA}.meta (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        schema_version integer NOT NULL,
        embedding_model text,
        dimension integer,
        version bigint NOT NULL DEFAULT 0,
        saved_at timestamptz,
        embedder jsonb)""",
    f"""CREATE TABLE {SCHEMA}.feeds (
        url text PRIMARY KEY,
        added bigint GENERATED ALWAYS AS IDENTITY,
        state jsonb NOT NULL)""",
    f"""CREATE TABLE {SCHEMA}.embedding_cache (
        key bytea PRIMARY KEY,
        vector bytea NOT NULL,
        used bigint NOT NULL)""",
    f"CREATE INDEX embedding_cache_used ON {SCHEMA}.embedding_cache (used)",
)
INDEX_DDL = (
    f"""CREATE TABLE {SCHEMA}.articles (
        id text PRIMARY KEY,
        title text NOT NULL,
        text text NOT NULL,
        url text,
        source text,
        published_text text,
        language text,
        author text,
        metadata jsonb NOT NULL,
        published timestamptz,
        group_key text GENERATED ALWAYS AS (COALESCE(metadata->>'duplicate_group', id)) STORED)""",
    f"CREATE INDEX articles_group ON {SCHEMA}.articles (group_key)",
    f"CREATE INDEX articles_newest ON {SCHEMA}.articles (published DESC NULLS LAST, id DESC)",
    # The filter columns are copies of the article's, so a filtered vector search needs no join.
    f"""CREATE TABLE {SCHEMA}.passages (
        vector_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        chunk_id text NOT NULL UNIQUE,
        article_id text NOT NULL REFERENCES {SCHEMA}.articles (id) ON DELETE CASCADE,
        position integer NOT NULL,
        text text NOT NULL,
        start_char integer NOT NULL,
        end_char integer NOT NULL,
        published timestamptz,
        source_key text,
        language text,
        embedding vector({{dimension}}) NOT NULL,
        UNIQUE (article_id, position))""",
    # Kept inline, not TOASTed: with TOASTed 768-d vectors the planner picked exact scans over HNSW at ~20k rows.
    f"ALTER TABLE {SCHEMA}.passages ALTER COLUMN embedding SET STORAGE PLAIN",
    f"""CREATE INDEX passages_embedding ON {SCHEMA}.passages USING hnsw (embedding vector_cosine_ops)
        WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})""",
    f"CREATE INDEX passages_language ON {SCHEMA}.passages (language)",
    f"CREATE INDEX passages_source ON {SCHEMA}.passages (source_key)",
    f"CREATE INDEX passages_published ON {SCHEMA}.passages (published)",
)
# What turns a database of schema version N into one of N + 1, in order; each step is idempotent.
UPGRADES: dict[int, tuple[str, ...]] = {
    1: (f"ALTER TABLE {SCHEMA}.meta ADD COLUMN IF NOT EXISTS embedder jsonb",),
}
INDEX_NAMES = ("passages_embedding", "passages_language", "passages_source", "passages_published")

# Connections inherited through fork() are kept referenced, never closed: closing one in the child would end
# the parent's session on the shared socket.
_inherited: list[psycopg.Connection] = []


def _connect(url: str) -> psycopg.Connection:
    try:
        # prepare_threshold=None: prepared plans would outlive the `SET hnsw.ef_search` done for large k.
        connection = psycopg.connect(url, autocommit=True, prepare_threshold=None, connect_timeout=15)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise StoreError(
            f"cannot connect to {redact(url)} ({reason}); check the URL and that the PostgreSQL server is running"
        ) from None
    # Without iterative scan, a filtered HNSW query stops after ef_search candidates and can return fewer
    # than k rows, even none; relaxed order is re-sorted in the query.
    connection.execute("SET hnsw.iterative_scan = relaxed_order")
    connection.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
    return connection


def scalar(executed: psycopg.Cursor[Any]) -> Any:
    """The value of a query that always returns one row of one column (a count, a function call)."""
    row = executed.fetchone()
    if row is None:
        raise StoreError("the database returned no row where one is always expected; check the server")
    return row[0]


def _register_vector(connection: psycopg.Connection) -> bool:
    """Teach the connection the `vector` type (binary, as numpy arrays); False while the extension is missing."""
    from pgvector.psycopg import register_vector

    try:
        register_vector(connection)
    except psycopg.ProgrammingError:
        return False
    return True


def _clean_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _published(article: Article) -> datetime | None:
    published = article.published
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # naive dates are read as UTC, as the filters do
    return published


def _article(row: tuple[Any, ...]) -> Article:
    article_id, title, text, url, source, published, language, author, metadata = row
    return Article.from_dict(
        {
            "id": article_id,
            "title": title,
            "text": text,
            "url": url,
            "source": source,
            "published": published,
            "language": language,
            "author": author,
            "metadata": metadata,
        }
    )


def _chunk(row: tuple[Any, ...]) -> tuple[int, Chunk]:
    vector_id, chunk_id, article_id, position, text, start, end = row[:7]
    return int(vector_id), Chunk(chunk_id, article_id, int(position), text, int(start), int(end))


PASSAGE_TYPES = ["text", "text", "int4", "text", "int4", "int4", "timestamptz", "text", "text", "vector"]


def _article_row(article: Article) -> tuple[Any, ...]:
    return (
        article.id,
        article.title,
        article.text,
        article.url,
        article.source,
        article.to_dict()["published"],
        article.language,
        article.author,
        Jsonb(article.metadata, dumps=_clean_json),
        _published(article),
    )


def _passage_rows(article: Article, chunks: list[Chunk], vectors: np.ndarray) -> list[tuple[Any, ...]]:
    published, source_key = _published(article), (article.source or "").casefold()
    return [
        (c.id, c.article_id, c.position, c.text, c.start, c.end, published, source_key, article.language, v)
        for c, v in zip(chunks, vectors)
    ]


def filter_sql(filters: Filters | None) -> tuple[str, list[Any]]:
    """A WHERE condition on passages for `filters`, with every value a bound parameter (never pasted in)."""
    if filters is None or not filters.active:
        return "TRUE", []
    parts: list[str] = []
    params: list[Any] = []
    if filters.article_ids:
        parts.append("article_id = ANY(%s)")
        params.append(sorted(filters.article_ids))
    if filters.languages:
        parts.append("COALESCE(language, '') = ANY(%s)")
        params.append(sorted(filters.languages))
    if filters.sources:
        parts.append("COALESCE(source_key, '') = ANY(%s)")
        params.append(sorted(filters.sources))
    start, end = filters.bounds()
    if start is not None or end is not None:
        window = []
        if start is not None:
            window.append("published >= %s")
            params.append(start)
        if end is not None:
            window.append("published <= %s")
            params.append(end)
        dated = " AND ".join(window)
        parts.append(f"(published IS NULL OR ({dated}))" if filters.keep_undated else f"({dated})")
    return " AND ".join(parts), params


class PostgresBackend:
    """An index in a PostgreSQL database with pgvector, shared by every process given its URL."""

    def __init__(self, url: str) -> None:
        self.location: str = url
        self._local = threading.local()  # one connection per thread (and per process, after a fork)

    # -- connections --------------------------------------------------------------------------

    def connection(self) -> psycopg.Connection:
        """This thread's connection (opened on first use)."""
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is not None and local.pid != os.getpid():
            _inherited.append(connection)
            connection = None
        if connection is None or connection.closed:
            connection = _connect(self.location)
            local.connection, local.pid, local.vectors = connection, os.getpid(), _register_vector(connection)
            local.ef_search = EF_SEARCH
        elif not local.vectors:
            local.vectors = _register_vector(connection)
        return connection

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            connection.close()
        self._local.connection = None

    def set_ef_search(self, k: int) -> None:
        """Let an HNSW search keep at least `k` candidates on this thread's connection."""
        wanted = max(EF_SEARCH, k)
        if getattr(self._local, "ef_search", EF_SEARCH) != wanted:
            self.connection().execute(f"SET hnsw.ef_search = {int(wanted)}")
            self._local.ef_search = wanted

    # -- the backend protocol -----------------------------------------------------------------

    def describe(self) -> str:
        """The URL without its password."""
        return redact(self.location)

    def meta_row(self) -> tuple[int, str | None, int | None, int] | None:
        """(schema version, embedding model, dimension, version) of the index; None before the schema exists."""
        connection = self.connection()
        if scalar(connection.execute(f"SELECT to_regclass('{SCHEMA}.meta')")) is None:
            return None
        row = connection.execute(
            f"SELECT schema_version, embedding_model, dimension, version FROM {SCHEMA}.meta"
        ).fetchone()
        if row is None:
            return None
        if row[0] > SCHEMA_VERSION:
            raise StoreError(
                f"the index at {self.describe()} has schema version {row[0]}; this newsqa reads up to "
                f"{SCHEMA_VERSION}: upgrade newsqa"
            )
        return row

    def exists(self) -> bool:
        """True once the first ingestion created the index tables."""
        meta = self.meta_row()
        return meta is not None and meta[1] is not None

    def manifest(self) -> dict[str, Any]:
        """Model, dimension, version and schema version of the index, and its embedder when recorded."""
        meta = self.meta_row()
        if meta is None or meta[1] is None or meta[2] is None:
            raise StoreError(f"no index at {self.describe()}; build one with `newsqa ingest PATH --index URL`")
        manifest = {
            "schema_version": meta[0],
            "embedding_model": meta[1],
            "dimension": int(meta[2]),
            "version": meta[3],
        }
        # Read through to_jsonb: a database not upgraded yet (schema version 1) has no embedder column.
        embedder = scalar(self.connection().execute(f"SELECT to_jsonb(m) -> 'embedder' FROM {SCHEMA}.meta m"))
        if embedder is not None:
            manifest["embedder"] = embedder
        return manifest

    def load(self) -> PostgresStore:
        """The index (reads always go to the database)."""
        manifest = self.manifest()
        return PostgresStore(self, manifest["embedding_model"], manifest["dimension"])

    def fresh(self, store: PostgresStore | None) -> PostgresStore | None:
        """`store` itself: it reads the database as it is now."""
        if store is not None:
            return store
        return self.load() if self.exists() else None

    def create(
        self, embedding_model: str, dimension: int, ann_threshold: int = 0, embedder: dict[str, Any] | None = None
    ) -> PostgresStore:
        """Create the tables for vectors of `embedding_model` made by `embedder` (unless another process just
        did) and open them."""
        if not 1 <= dimension <= MAX_DIMENSION:
            raise StoreError(f"pgvector's HNSW index takes 1 to {MAX_DIMENSION} dimensions, not {dimension}")
        self.ensure_schema(embedding_model, dimension, embedder)
        return self.load()

    def ensure_schema(
        self, embedding_model: str | None = None, dimension: int | None = None, embedder: dict[str, Any] | None = None
    ) -> None:
        """Create the base tables, and the index tables when `embedding_model` is given, each only once;
        upgrade a database of an older schema version first."""
        connection = self.connection()
        meta = self.meta_row()
        if meta is not None and meta[0] < SCHEMA_VERSION:
            self._upgrade()
            meta = self.meta_row()
        if meta is not None and (embedding_model is None or meta[1] is not None):
            self._check_same(meta, embedding_model, dimension)
            return
        with connection.transaction():
            # One process creates; the others wait here, then find the tables made.
            connection.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
            meta = self.meta_row()
            if meta is None:
                for statement in BASE_DDL:
                    connection.execute(statement)
                connection.execute(
                    f"INSERT INTO {SCHEMA}.meta (schema_version) VALUES (%s) ON CONFLICT DO NOTHING", [SCHEMA_VERSION]
                )
                meta = (SCHEMA_VERSION, None, None, 0)
            if embedding_model is not None and meta[1] is None:
                for statement in INDEX_DDL:
                    connection.execute(statement.replace("{dimension}", str(int(dimension or 0))))
                connection.execute(
                    f"UPDATE {SCHEMA}.meta SET embedding_model = %s, dimension = %s, embedder = %s",
                    [embedding_model, dimension, Jsonb(embedder) if embedder is not None else None],
                )
            else:
                self._check_same(meta, embedding_model, dimension)
        self._local.vectors = _register_vector(connection)

    def _upgrade(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one step at a time, once (other processes wait, then find it done)."""
        connection = self.connection()
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
            found = int(scalar(connection.execute(f"SELECT schema_version FROM {SCHEMA}.meta")))
            for version in range(found, SCHEMA_VERSION):
                for statement in UPGRADES[version]:
                    connection.execute(statement)
            if found < SCHEMA_VERSION:
                connection.execute(f"UPDATE {SCHEMA}.meta SET schema_version = %s", [SCHEMA_VERSION])

    def _check_same(self, meta: tuple[Any, ...], embedding_model: str | None, dimension: int | None) -> None:
        if embedding_model is not None and (meta[1], meta[2]) != (embedding_model, dimension):
            raise StoreError(
                f"the index at {self.describe()} holds {meta[2]}-dimension vectors of {meta[1]}, not "
                f"{dimension}-dimension vectors of {embedding_model}; use another database"
            )

    def writing(self) -> AbstractContextManager[None]:
        """Nothing to hold: concurrent writers are serialised per article inside each save's transaction."""
        return nullcontext()

    def feeds(self) -> PostgresFeeds:
        """The `feeds` table."""
        return PostgresFeeds(self)

    def embedding_cache(self) -> PostgresEmbeddingCache:
        """The `embedding_cache` table, shared by every process that ingests into this database."""
        return PostgresEmbeddingCache(self)

    def check(self, repair: bool = False, model_hint: Any = None) -> CheckReport:
        """`qa.store.postgres_check.check` on this database (which names its model itself: no hint needed)."""
        from qa.store.postgres_check import check

        return check(self, repair=repair)


class PostgresStore:
    """The articles, passages and vectors of a PostgreSQL index (see the module docstring)."""

    def __init__(self, backend: PostgresBackend, embedding_model: str, dimension: int) -> None:
        self.backend = backend
        self.embedding_model = embedding_model
        self.dimension = dimension
        self.ann_threshold = 0  # the HNSW index serves every size; kept for the protocol
        self._pending: dict[str, tuple[Article, list[Chunk], np.ndarray] | None] = {}  # None: delete
        self._local = threading.local()

    # -- reading ------------------------------------------------------------------------------

    def _rows(self, sql: str, params: list[Any] | tuple[Any, ...] = (), binary: bool = False) -> list[tuple[Any, ...]]:
        connection = self.backend.connection()
        with connection.cursor(binary=binary) as cursor:
            return cursor.execute(sql, params).fetchall()

    @property
    def _cache(self) -> dict[Any, Any] | None:
        return getattr(self._local, "cache", None)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One REPEATABLE READ, read-only transaction for the block (nested blocks join it)."""
        if self._cache is not None:
            yield
            return
        connection = self.backend.connection()
        with connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            self._local.cache = {}
            try:
                yield
            finally:
                self._local.cache = None

    @property
    def version(self) -> int:
        """The count of saves so far (by every process)."""
        return int(self._rows(f"SELECT version FROM {SCHEMA}.meta")[0][0])

    def __len__(self) -> int:
        return int(self._rows(f"SELECT count(*) FROM {SCHEMA}.articles")[0][0])

    @property
    def chunk_count(self) -> int:
        """How many passages the index holds."""
        return int(self._rows(f"SELECT count(*) FROM {SCHEMA}.passages")[0][0])

    def articles(self) -> list[Article]:
        """All articles, newest first (undated last)."""
        rows = self._rows(
            f"SELECT {ARTICLE_COLUMNS} FROM {SCHEMA}.articles ORDER BY published DESC NULLS LAST, id DESC"
        )
        return [_article(row) for row in rows]

    def article(self, article_id: str) -> Article | None:
        """The article with this id, if stored."""
        cache = self._cache
        key = ("article", article_id)
        if cache is not None and key in cache:
            return cache[key]
        rows = self._rows(f"SELECT {ARTICLE_COLUMNS} FROM {SCHEMA}.articles WHERE id = %s", [article_id])
        found = _article(rows[0]) if rows else None
        if cache is not None:
            cache[key] = found
        return found

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """An article's chunks in order."""
        rows = self._rows(
            f"SELECT {CHUNK_COLUMNS} FROM {SCHEMA}.passages WHERE article_id = %s ORDER BY position", [article_id]
        )
        return [_chunk(row)[1] for row in rows]

    def vectors_of(self, article_id: str) -> np.ndarray:
        """An article's vectors in chunk order."""
        rows = self._rows(
            f"SELECT embedding FROM {SCHEMA}.passages WHERE article_id = %s ORDER BY position",
            [article_id],
            binary=True,
        )
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([row[0].to_numpy() for row in rows]).astype(np.float32)

    def chunk(self, vector_id: int) -> Chunk:
        """The chunk stored under this vector id."""
        cache = self._cache
        key = ("chunk", int(vector_id))
        if cache is not None and key in cache:
            return cache[key]
        rows = self._rows(f"SELECT {CHUNK_COLUMNS} FROM {SCHEMA}.passages WHERE vector_id = %s", [int(vector_id)])
        if not rows:
            raise KeyError(vector_id)
        chunk = _chunk(rows[0])[1]
        if cache is not None:
            cache[key] = chunk
        return chunk

    def vector(self, vector_id: int) -> np.ndarray:
        """The stored vector of one passage."""
        rows = self._rows(
            f"SELECT embedding FROM {SCHEMA}.passages WHERE vector_id = %s", [int(vector_id)], binary=True
        )
        if not rows:
            raise KeyError(vector_id)
        return rows[0][0].to_numpy().astype(np.float32)

    def nearest(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """The `k` most similar passages (HNSW, cosine) among the articles `filters` accepts."""
        if k < 1:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dimension:
            raise StoreError(f"query vector has {query.shape[0]} dimensions, the index has {self.dimension}")
        condition, params = filter_sql(filters)
        self.backend.set_ef_search(k)
        # Relaxed-order iterative scans may return rows slightly out of order: re-sorted outside.
        rows = self._rows(
            f"""WITH hits AS MATERIALIZED (
                    SELECT {CHUNK_COLUMNS}, embedding <=> %s AS distance FROM {SCHEMA}.passages
                    WHERE {condition} ORDER BY embedding <=> %s LIMIT %s)
                SELECT {CHUNK_COLUMNS}, 1 - distance FROM hits ORDER BY distance, vector_id""",
            [query, *params, query, int(k)],
        )
        cache = self._cache
        found = []
        for row in rows:
            vector_id, chunk = _chunk(row)
            if cache is not None:
                cache[("chunk", vector_id)] = chunk
            found.append((vector_id, float(row[7])))
        return found

    def allowed_ids(self, filters: Filters) -> list[int]:
        """The vector ids of the passages of every article `filters` accepts."""
        condition, params = filter_sql(filters)
        rows = self._rows(f"SELECT vector_id FROM {SCHEMA}.passages WHERE {condition} ORDER BY vector_id", params)
        return [int(row[0]) for row in rows]

    def passages(self) -> Iterator[tuple[int, Chunk, str, str | None]]:
        """(vector id, chunk, title, language) of every passage, by vector id."""
        rows = self._rows(
            f"""SELECT p.vector_id, p.chunk_id, p.article_id, p.position, p.text, p.start_char, p.end_char,
                       a.title, a.language
                FROM {SCHEMA}.passages p JOIN {SCHEMA}.articles a ON a.id = p.article_id ORDER BY p.vector_id"""
        )
        for row in rows:
            vector_id, chunk = _chunk(row)
            yield vector_id, chunk, row[7], row[8]

    def duplicate_groups(self) -> dict[str, list[Article]]:
        """Near-duplicate groups with two or more members, earliest publication first."""
        rows = self._rows(
            f"""SELECT {ARTICLE_COLUMNS}, group_key FROM {SCHEMA}.articles WHERE group_key IN (
                    SELECT group_key FROM {SCHEMA}.articles GROUP BY group_key HAVING count(*) > 1)"""
        )
        groups: dict[str, list[Article]] = {}
        for row in rows:
            groups.setdefault(row[-1], []).append(_article(row[:-1]))
        latest = datetime.max.replace(tzinfo=UTC)
        return {
            group: sorted(members, key=lambda a: (a.published or latest, a.id)) for group, members in groups.items()
        }

    def signatures(self) -> list[tuple[str, str | None, str | None]]:
        """(id, MinHash signature, near-duplicate group) of every article."""
        rows = self._rows(f"SELECT id, metadata->>'minhash', metadata->>'duplicate_group' FROM {SCHEMA}.articles")
        return [(row[0], row[1], row[2]) for row in rows]

    def language_counts(self) -> dict[str, int]:
        """How many articles per language code ("?" for unknown)."""
        rows = self._rows(
            f"SELECT COALESCE(NULLIF(language, ''), '?') AS code, count(*) FROM {SCHEMA}.articles GROUP BY 1 ORDER BY 1"
        )
        return {code: int(count) for code, count in rows}

    # -- writing ------------------------------------------------------------------------------

    def upsert(self, article: Article, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add or replace an article with its chunks and vectors, at the next save."""
        vectors = np.asarray(vectors, dtype=np.float32)
        check_upsert(article, chunks, vectors, self.dimension)
        self._pending[article.id] = (article, list(chunks), vectors.reshape(len(chunks), self.dimension))

    def delete(self, article_id: str) -> bool:
        """Remove an article at the next save; False if it is not stored (nor about to be)."""
        if article_id in self._pending:
            stored = self._pending[article_id] is not None
        else:
            stored = bool(self._rows(f"SELECT 1 FROM {SCHEMA}.articles WHERE id = %s", [article_id]))
        self._pending[article_id] = None
        return stored

    def save(self) -> None:
        """Apply the buffered writes in one transaction; retried when it deadlocks with another writer."""
        if not self._pending:
            return
        if self._cache is not None:
            raise StoreError("save() inside reading(): the block's transaction is read-only")
        connection = self.backend.connection()
        ids = sorted(self._pending)
        upserts = [change for i in ids if (change := self._pending[i]) is not None]
        deleted = [i for i in ids if self._pending[i] is None]
        for attempt in range(WRITE_RETRIES):
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    self._apply(cursor, ids, upserts, deleted)
                break
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure) as error:
                if attempt == WRITE_RETRIES - 1:
                    raise StoreError(f"could not save to {self.backend.describe()}: {error}; try again") from None
                time.sleep(0.05 * 2**attempt)
            except psycopg.DataError as error:
                raise StoreError(f"{self.backend.describe()} refused an article: {error}") from None
        self._pending.clear()

    @staticmethod
    def _apply(
        cursor: psycopg.Cursor,
        ids: list[str],
        upserts: list[tuple[Article, list[Chunk], np.ndarray]],
        deleted: list[str],
    ) -> None:
        """One save's statements, a handful whatever the batch size (each round trip costs milliseconds on a
        busy machine). The article rows are locked first, in id order, so that two writers of the same
        articles wait for each other instead of deadlocking, and a reader never sees half an article."""
        cursor.execute(f"SELECT id FROM {SCHEMA}.articles WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
        if upserts:
            cursor.executemany(
                f"""INSERT INTO {SCHEMA}.articles
                        (id, title, text, url, source, published_text, language, author, metadata, published)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                    ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, text = EXCLUDED.text, url = EXCLUDED.url,
                        source = EXCLUDED.source, published_text = EXCLUDED.published_text,
                        language = EXCLUDED.language, author = EXCLUDED.author, metadata = EXCLUDED.metadata,
                        published = EXCLUDED.published""",
                [_article_row(article) for article, _, _ in upserts],
            )
            cursor.execute(f"DELETE FROM {SCHEMA}.passages WHERE article_id = ANY(%s)", [[a.id for a, _, _ in upserts]])
            rows = [row for article, chunks, vectors in upserts for row in _passage_rows(article, chunks, vectors)]
            if rows:
                with cursor.copy(
                    f"""COPY {SCHEMA}.passages (chunk_id, article_id, position, text, start_char, end_char,
                            published, source_key, language, embedding) FROM STDIN WITH (FORMAT BINARY)"""
                ) as copy:
                    # Binary COPY: twice as fast as INSERTs without the HNSW index; with it, the index dominates.
                    copy.set_types(PASSAGE_TYPES)
                    for row in rows:
                        copy.write_row(row)
        if deleted:
            cursor.execute(f"DELETE FROM {SCHEMA}.articles WHERE id = ANY(%s)", [deleted])
        cursor.execute(f"UPDATE {SCHEMA}.meta SET version = version + 1, saved_at = now()")

    @contextmanager
    def bulk_loading(self) -> Iterator[None]:
        """Saves inside the block skip the HNSW index, built once at the end: with the index, each passage
        costs an index insertion (~100 rows/s on a busy 2-core machine), without it ~10,000 rows/s plus a
        build of ~2,000 rows/s. Searches meanwhile are exact scans; if the block is interrupted, `newsqa check
        --repair` (or the next bulk load) builds the index."""
        connection = self.backend.connection()
        connection.execute(f"DROP INDEX IF EXISTS {SCHEMA}.passages_embedding")
        yield
        connection.execute(next(s for s in INDEX_DDL if "INDEX passages_embedding " in s))
        connection.execute(f"ANALYZE {SCHEMA}.articles, {SCHEMA}.passages")  # the planner's figures, at once


class PostgresFeeds:
    """The followed feeds, one row each in the `feeds` table (in the order they were added)."""

    def __init__(self, backend: PostgresBackend) -> None:
        self.backend = backend

    def read(self) -> dict[str, FeedState]:
        """The followed feeds by URL."""
        connection = self.backend.connection()
        if scalar(connection.execute(f"SELECT to_regclass('{SCHEMA}.feeds')")) is None:
            return {}
        rows = connection.execute(f"SELECT url, state FROM {SCHEMA}.feeds ORDER BY added").fetchall()
        # A row whose state is unusable is left out, as `feeds.json` entries are; `newsqa check` reports it.
        states = [(url, feed_from_entry(state)) for url, state in rows]
        return {url: state for url, state in states if state is not None and state.url == url}

    def update(self, change: Callable[[dict[str, FeedState]], None]) -> dict[str, FeedState]:
        """Apply `change` to the feeds in one transaction, one writer at a time."""
        self.backend.ensure_schema()
        connection = self.backend.connection()
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", [FEEDS_LOCK])
            feeds = self.read()
            change(feeds)
            connection.execute(f"DELETE FROM {SCHEMA}.feeds WHERE url <> ALL(%s)", [list(feeds)])
            for url, state in feeds.items():
                connection.execute(
                    f"""INSERT INTO {SCHEMA}.feeds (url, state) VALUES (%s, %s)
                        ON CONFLICT (url) DO UPDATE SET state = EXCLUDED.state""",
                    [url, Jsonb(state.to_dict())],
                )
        return feeds


class PostgresEmbeddingCache:
    """Passage vectors kept by content in the `embedding_cache` table, least recently used evicted first.

    Like the local cache, a failure is only an `EmbeddingCacheWarning` and a miss: it never stops an ingestion.
    """

    def __init__(self, backend: PostgresBackend, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.backend = backend
        self.max_entries = max_entries

    def get(self, keys: list[bytes], dimension: int | None = None) -> dict[bytes, np.ndarray]:
        """The cached vectors among `keys` (those of another `dimension` count as missing)."""
        if not keys:
            return {}
        try:
            connection = self.backend.connection()
            if scalar(connection.execute(f"SELECT to_regclass('{SCHEMA}.embedding_cache')")) is None:
                return {}
            unique = list(dict.fromkeys(keys))
            rows = connection.execute(
                f"SELECT key, vector FROM {SCHEMA}.embedding_cache WHERE key = ANY(%s)", [unique]
            ).fetchall()
            found = {bytes(key): np.frombuffer(bytes(blob), dtype=np.float32) for key, blob in rows}
            found = {k: v for k, v in found.items() if dimension is None or v.shape[0] == dimension}
            if found:
                connection.execute(
                    f"UPDATE {SCHEMA}.embedding_cache SET used = %s WHERE key = ANY(%s)", [time.time_ns(), list(found)]
                )
            return found
        except psycopg.Error as error:
            self._trouble("read", error)
            return {}

    def put(self, vectors: dict[bytes, np.ndarray]) -> None:
        """Store vectors, then drop the least recently used entries beyond `max_entries`."""
        if not vectors:
            return
        stamp = time.time_ns()
        rows = [(key, np.ascontiguousarray(v, dtype=np.float32).tobytes(), stamp) for key, v in vectors.items()]
        try:
            self.backend.ensure_schema()
            connection = self.backend.connection()
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(
                    f"""INSERT INTO {SCHEMA}.embedding_cache (key, vector, used) VALUES (%s, %s, %s)
                        ON CONFLICT (key) DO UPDATE SET vector = EXCLUDED.vector, used = EXCLUDED.used""",
                    rows,
                )
                excess = scalar(cursor.execute(f"SELECT count(*) FROM {SCHEMA}.embedding_cache"))
                if excess > self.max_entries:
                    cursor.execute(
                        f"""DELETE FROM {SCHEMA}.embedding_cache WHERE key IN (
                                SELECT key FROM {SCHEMA}.embedding_cache ORDER BY used LIMIT %s)""",
                        [excess - self.max_entries],
                    )
        except (psycopg.Error, StoreError) as error:
            self._trouble("write", error)

    def __len__(self) -> int:
        connection = self.backend.connection()
        if scalar(connection.execute(f"SELECT to_regclass('{SCHEMA}.embedding_cache')")) is None:
            return 0
        return int(scalar(connection.execute(f"SELECT count(*) FROM {SCHEMA}.embedding_cache")))

    def _trouble(self, action: str, error: Exception) -> None:
        message = f"could not {action} the embedding cache in {self.backend.describe()} ({error}); going on without it"
        warnings.warn(message, EmbeddingCacheWarning, stacklevel=3)

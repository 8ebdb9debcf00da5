"""The persisted index: articles, chunks and their vectors, searched with FAISS from memory.

On disk, `index/<name>/` holds a SQLite database of records (`qa.store.database`: one sealed row per
article and per chunk, and the manifest) and one file of float32 vectors, row n holding the vector
with id n. A save costs the batch, not the corpus: it appends the new vectors to the file (ids only
grow; a deleted article's rows stay, unused), flushes them, then writes the changed records and the
manifest, which records how many rows are committed, in one SQLite transaction. A process killed at
any moment leaves the last committed state: rows past the committed count are ignored and cut off
by the next save. Writers hold an exclusive lock. Loading refuses a record that does not match its
seal and a vector that does not match the CRC its chunk recorded.

Vectors live in an exact inner-product index while the corpus is small. When a save finds more
than `ann_threshold` vectors it switches to an inverted-file index over 8-bit codes (IVF-SQ8: codes
in clustered lists; a search scans only the lists nearest the query, then re-scores its best
candidates with their exact vectors, read from the vectors file), trained on the
stored vectors, with the number of lists to scan measured on the data for recall@10 of at least
0.97, and written to its own file; vectors saved after it are added to it on loading. It is
retrained once the corpus has doubled since training, and dropped again when the corpus shrinks to
half the threshold. Only the codes (a quarter of the vectors' size) are held in memory; an IVF-Flat
file saved by an earlier newsqa is still opened and searched until the next retraining.
Indexes of formats 1 and 2 (whole snapshot folders) are upgraded once, when first opened.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.errors import StoreError
from qa.files import TMP_MARK, fsync_dir
from qa.store import database
from qa.store.ann import (
    APPROXIMATE,
    DEFAULT_ANN_THRESHOLD,
    EXACT_BELOW,
    FLAT,
    MIN_ANN_THRESHOLD,
    RETRAIN_GROWTH,
    build_ivf,
    exact_top,
    flat_index,
    index_kind,
    index_vectors,
    one_thread,
    search_ivf,
)
from qa.store.columns import ArticleColumns
from qa.store.layout import (
    ANN_PREFIX,
    FORMAT_VERSION,
    RECORDS,
    SAVING,
    VECTORS,
    ann_name,
    fsync_write,
    has_records,
    has_snapshots,
    is_ann_name,
    parse_manifest,
)
from qa.store.protocol import check_upsert, count_languages
from qa.store.records import (
    article_line,
    chunk_line,
    file_digest,
    load_article,
    load_chunk,
    seal_state,
    surroundings,
    vector_crc,
)
from qa.types import Article, Chunk, Filters

# -- the store -------------------------------------------------------------------------------


class Store:
    """Articles, chunks and vectors of one index; `search` answers from memory, `save` persists the changes."""

    def __init__(
        self,
        path: Path,
        embedding_model: str,
        dimension: int,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        embedder: dict[str, Any] | None = None,
    ) -> None:
        if dimension < 1:
            raise StoreError(f"vector dimension must be positive, got {dimension}")
        if ann_threshold < MIN_ANN_THRESHOLD:
            raise StoreError(f"ann_threshold must be at least {MIN_ANN_THRESHOLD} vectors, got {ann_threshold}")
        self.path = Path(path)
        self.embedding_model = embedding_model
        self.dimension = dimension
        self.ann_threshold = ann_threshold
        self.embedder = embedder  # backend and titles flag of the vectors (None: an index made before they were kept)
        self.version = 0
        self.next_vector_id = 0
        self._articles: dict[str, Article] = {}
        self._chunks: dict[int, Chunk] = {}
        self._article_vectors: dict[str, list[int]] = {}
        self._vector_crc: dict[int, int] = {}
        self._index: faiss.Index = flat_index(dimension)
        self._ann: dict[str, Any] = {"kind": FLAT}
        self._rows = 0  # vector rows committed to the vectors file
        self._file: np.ndarray | None = None  # those rows, memory-mapped
        self._pending: dict[int, np.ndarray] = {}  # vectors not saved yet, by id
        self._touched: set[str] = set()  # articles upserted or deleted since the last save
        self._columns: ArticleColumns | None = None  # the articles' filterable fields; None after a change
        self._rewrite = True  # the next save writes every record (a new or assembled store)
        self._ann_changed = False  # the IVF index was (re)built or dropped since the last save

    # -- opening -----------------------------------------------------------------------------

    @staticmethod
    def exists(path: Path) -> bool:
        """True when `path` holds a saved index (of any format)."""
        return has_records(path) or has_snapshots(path)

    @classmethod
    def load(cls, path: Path) -> Store:
        """Open the saved index at `path`, upgrading a format-1 or -2 folder first."""
        path = Path(path)
        if has_snapshots(path):
            from qa.store.legacy import upgrade

            upgrade(path)
        if not has_records(path):
            raise StoreError(f"no index at {path}; build one with `newsqa ingest PATH --index {path}`")
        header = database.header_problem(path)
        if header is not None:
            raise StoreError(f"index {path} is damaged ({header}); run `newsqa check --repair`")
        connection = database.connect(path, writing=False)
        articles, chunks, crcs = [], [], {}
        try:
            connection.execute("BEGIN")  # one read transaction: the records and manifest of one save
            manifest = database.read_manifest_row(path, connection)
            # Each row is parsed as it is read: a million lines are never held beside their records.
            for (line,) in connection.execute("SELECT line FROM articles"):
                articles.append(load_article(_sealed_text(line)))
            for (line,) in connection.execute("SELECT line FROM chunks ORDER BY vector_id"):
                vector_id, chunk, crc = load_chunk(_sealed_text(line))
                chunks.append((vector_id, chunk))
                if crc is not None:
                    crcs[vector_id] = crc
            connection.execute("COMMIT")
        except (sqlite3.DatabaseError, ValueError, TypeError, KeyError) as error:
            raise StoreError(f"index {path} is damaged ({RECORDS}: {error}); run `newsqa check --repair`") from error
        finally:
            connection.close()
        rows = int(manifest.get("vector_rows", 0))
        matrix = read_vectors(path, rows, int(manifest["dimension"]))
        bad = _unchecked_vector(path, rows, int(manifest["dimension"]), chunks, crcs)
        if bad is not None:
            raise StoreError(
                f"index {path} is damaged: the vector of chunk {bad.id} does not match its checksum; "
                "run `newsqa check --repair`"
            )
        live = np.fromiter((v for v, _ in chunks), dtype=np.int64, count=len(chunks))
        index, ann = _open_index(path, manifest, live, matrix)
        store = cls.assemble(path, {**manifest, "index": ann}, articles, chunks, index, crcs)
        store._rows, store._file, store._rewrite, store._ann_changed = rows, matrix, False, False
        return store

    @classmethod
    def assemble(
        cls,
        path: Path,
        manifest: dict[str, Any],
        articles: Iterable[Article],
        chunks: Iterable[tuple[int, Chunk]],
        index: faiss.Index,
        crcs: dict[int, int] | None = None,
    ) -> Store:
        """A store from already-read parts: a manifest, articles, (vector id, chunk) pairs, FAISS index,
        and the CRC of each vector (computed from the index for those not given). Chunks of articles
        not given are an error; nothing else is checked (see `qa.store.check`). Its first save writes
        every record and vector."""
        store = cls(
            path,
            manifest["embedding_model"],
            int(manifest["dimension"]),
            int(manifest.get("ann_threshold", DEFAULT_ANN_THRESHOLD)),
            manifest.get("embedder"),
        )
        store.version = int(manifest["version"])
        store.next_vector_id = int(manifest["next_vector_id"])
        for article in articles:
            store._articles[article.id] = article
            store._article_vectors[article.id] = []
        for vector_id, chunk in chunks:
            if chunk.article_id not in store._articles:
                raise StoreError(f"chunk {chunk.id} belongs to unknown article {chunk.article_id}")
            store._chunks[vector_id] = chunk
            store._article_vectors[chunk.article_id].append(vector_id)
        if index.d != store.dimension:
            raise StoreError(
                f"index {path} is damaged: the vectors have {index.d} dimensions, the manifest says "
                f"{store.dimension}; run `newsqa check --repair`"
            )
        store._index = index
        store._vector_crc = {v: c for v, c in (crcs or {}).items() if v in store._chunks}
        unknown = [v for v in store._chunks if v not in store._vector_crc]
        if unknown and index.ntotal:
            ids, vectors = index_vectors(index)
            wanted = set(unknown)
            store._vector_crc.update({int(v): vector_crc(row) for v, row in zip(ids.tolist(), vectors) if v in wanted})
        store._ann_changed = True
        kind = index_kind(index)
        saved = manifest.get("index") or {"kind": FLAT}
        store._ann = dict(saved) if saved.get("kind") == kind else {"kind": kind}
        if isinstance(index, faiss.IndexIVF):  # kind in APPROXIMATE
            store._ann.setdefault("nlist", int(index.nlist))
            store._ann.setdefault("nprobe", int(index.nprobe))
            store._ann.setdefault("trained_at", int(index.ntotal))
        return store

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._articles)

    @property
    def chunk_count(self) -> int:
        """How many chunks (and vectors) the index holds."""
        return len(self._chunks)

    @property
    def index_info(self) -> dict[str, Any]:
        """Which FAISS index is in use: kind (`flat`, `ivf-sq8` or `ivf-flat`) and, for IVF, nlist,
        nprobe and the vector count it was trained at."""
        return {**self._ann, "vectors": int(self._index.ntotal), "ann_threshold": self.ann_threshold}

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

    def chunk(self, vector_id: int) -> Chunk:
        """The chunk stored under this vector id."""
        return self._chunks[vector_id]

    def chunk_items(self) -> list[tuple[int, Chunk]]:
        """(vector id, chunk) of every chunk, by vector id."""
        return sorted(self._chunks.items())

    def search(self, vector: np.ndarray, k: int, allowed: list[int] | None = None) -> list[tuple[Chunk, float]]:
        """The `k` chunks most similar (inner product of normalised vectors) to `vector`,
        among the `allowed` vector ids when given."""
        return [(self._chunks[vector_id], score) for vector_id, score in self.search_ids(vector, k, allowed)]

    def search_ids(self, vector: np.ndarray, k: int, allowed: list[int] | None = None) -> list[tuple[int, float]]:
        """Like `search`, as (vector id, score) pairs, best first."""
        if self._index.ntotal == 0 or k < 1 or (allowed is not None and not allowed):
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        if query.shape[1] != self.dimension:
            raise StoreError(f"query vector has {query.shape[1]} dimensions, the index has {self.dimension}")
        approximate = self._ann["kind"] in APPROXIMATE
        if approximate and allowed is not None and len(allowed) <= EXACT_BELOW:
            # So few admitted vectors that scoring each one exactly costs less than scanning lists.
            wanted = np.unique(np.asarray([v for v in allowed if v in self._chunks], dtype=np.int64))
            ids, scores = exact_top(wanted, self._gather(wanted), query[0], k)
            return [(int(i), float(s)) for i, s in zip(ids, scores)]
        selector = None if allowed is None else faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        if approximate:
            assert isinstance(self._index, faiss.IndexIVF)
            nprobe = int(self._ann["nprobe"])
            if allowed is not None:
                # Scan as many allowed vectors as an unfiltered search scans vectors; a small
                # allowed set ends up scanning every list, which is an exact search over its codes.
                share = len(allowed) / self._index.ntotal
                nprobe = min(self._index.nlist, math.ceil(nprobe / max(share, 1e-9)))
            with one_thread():
                ids, scores = search_ivf(self._index, query, k, nprobe, self._gather, selector)
            return [(int(i), float(s)) for i, s in zip(ids, scores)]
        # faiss's Python wrapper takes the fields as keywords; its type stubs do not know that.
        params = None if selector is None else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        with one_thread():
            found_scores, found_ids = self._index.search(query, min(k, self._index.ntotal), params=params)
        return [(int(i), float(s)) for s, i in zip(found_scores[0], found_ids[0]) if i >= 0]

    def reading(self) -> AbstractContextManager[None]:
        """A block of consistent reads: a loaded store is already one state of the index."""
        return nullcontext()

    def bulk_loading(self) -> AbstractContextManager[None]:
        """Nothing to prepare: a save into a folder costs its batch whatever the size of the index."""
        return nullcontext()

    def nearest(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """`search_ids` among the articles `filters` accepts."""
        allowed = self.allowed_ids(filters) if filters is not None and filters.active else None
        return self.search_ids(vector, k, allowed)

    def allowed_ids(self, filters: Filters) -> list[int]:
        """The vector ids of the chunks of every article `filters` accepts."""
        if self._columns is None:  # built on the first filtered search after a change
            self._columns = ArticleColumns(self._articles.values())
        return self.vector_ids(self._columns.admitted(filters))

    def passages(self) -> Iterator[tuple[int, Chunk, str, str | None]]:
        """(vector id, chunk, article title, article language) of every chunk, by vector id."""
        for vector_id, chunk in self.chunk_items():
            article = self._articles[chunk.article_id]
            yield vector_id, chunk, article.title, article.language

    def duplicate_groups(self) -> dict[str, list[Article]]:
        """Near-duplicate groups with two or more members, earliest publication first."""
        groups: dict[str, list[Article]] = {}
        for article in self._articles.values():
            groups.setdefault(article.metadata.get("duplicate_group") or article.id, []).append(article)
        latest = datetime.max.replace(tzinfo=UTC)
        return {
            group: sorted(members, key=lambda a: (a.published or latest, a.id))
            for group, members in groups.items()
            if len(members) > 1
        }

    def signatures(self) -> list[tuple[str, str | None, str | None]]:
        """(id, MinHash signature, near-duplicate group) of every article."""
        return [(a.id, a.metadata.get("minhash"), a.metadata.get("duplicate_group")) for a in self._articles.values()]

    def language_counts(self) -> dict[str, int]:
        """How many articles per language code ("?" for unknown)."""
        return count_languages(self._articles.values())

    # -- writing -----------------------------------------------------------------------------

    def upsert(self, article: Article, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add an article with its chunks and their vectors, replacing any stored version of it."""
        check_upsert(article, chunks, vectors, self.dimension)
        self.delete(article.id)
        ids = np.arange(self.next_vector_id, self.next_vector_id + len(chunks), dtype=np.int64)
        self.next_vector_id += len(chunks)
        if len(chunks):
            with one_thread():
                self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._articles[article.id] = article
        self._columns = None
        self._article_vectors[article.id] = [int(i) for i in ids]
        for vector_id, chunk, vector in zip(ids, chunks, vectors):
            self._chunks[int(vector_id)] = chunk
            self._vector_crc[int(vector_id)] = vector_crc(vector)
            self._pending[int(vector_id)] = np.asarray(vector, dtype=np.float32)
        self._touched.add(article.id)

    def delete(self, article_id: str) -> bool:
        """Remove an article, its chunks and their vectors; False if it was not stored."""
        if article_id not in self._articles:
            return False
        vector_ids = self._article_vectors.pop(article_id)
        if vector_ids:
            with one_thread():
                # The Python wrapper takes an id array; faiss's stubs only know the IDSelector form.
                self._index.remove_ids(np.asarray(vector_ids, dtype=np.int64))  # type: ignore[arg-type]
        for vector_id in vector_ids:
            del self._chunks[vector_id]
            self._vector_crc.pop(vector_id, None)
            self._pending.pop(vector_id, None)
        del self._articles[article_id]
        self._columns = None
        self._touched.add(article_id)
        return True

    def vector(self, vector_id: int) -> np.ndarray:
        """The stored vector of one chunk."""
        pending = self._pending.get(vector_id)
        if pending is not None:
            return pending
        if self._file is not None and vector_id < self._rows and vector_id in self._chunks:
            return np.array(self._file[vector_id])
        return self._index.reconstruct(vector_id)  # type: ignore[return-value]  # faiss's stubs pick the torch overload

    def _gather(self, ids: np.ndarray) -> np.ndarray:
        """The exact vectors of these ids, in order: saved rows read from the vectors file, newer ones
        from memory."""
        ids = np.asarray(ids, dtype=np.int64)
        saved = ids < self._rows if self._file is not None else np.zeros(len(ids), dtype=bool)
        if saved.all():  # the usual case
            return read_rows(self.path, ids, self.dimension)
        found = np.empty((len(ids), self.dimension), dtype=np.float32)
        if saved.any():
            found[saved] = read_rows(self.path, ids[saved], self.dimension)
        for row in np.flatnonzero(~saved):
            found[row] = self.vector(int(ids[row]))
        return found

    def vectors_of(self, article_id: str) -> np.ndarray:
        """The stored vectors of an article's chunks, in chunk order."""
        ids = sorted(self._article_vectors.get(article_id, []), key=lambda v: self._chunks[v].position)
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.vector(i) for i in ids])

    def tune_index(self, table: np.ndarray) -> bool:
        """Switch between the exact and the IVF index, or retrain the IVF one, as the vector count
        asks, from `table` (row n the vector with id n: the vectors file a save has just written);
        True if the index was rebuilt. `save` calls this."""
        count = self._index.ntotal
        kind = self._ann["kind"]
        grown = kind in APPROXIMATE and count > RETRAIN_GROWTH * self._ann.get("trained_at", count)
        if (kind == FLAT and count > self.ann_threshold) or grown:
            ids = np.sort(index_vectors(self._index, with_vectors=False)[0])
            self._index, self._ann = build_ivf(ids, table)
            self._ann_changed = True
            return True
        if kind in APPROXIMATE and count < self.ann_threshold // 2:
            ids = np.sort(index_vectors(self._index, with_vectors=False)[0])
            index = flat_index(self.dimension)
            if len(ids):
                index.add_with_ids(np.ascontiguousarray(table[ids], dtype=np.float32), ids)
            self._index, self._ann = index, {"kind": FLAT}
            self._ann_changed = True
            return True
        return False

    def save(self) -> None:
        """Append the new vectors, then commit the changed records and the manifest in one transaction."""
        self.path.mkdir(parents=True, exist_ok=True)
        marker = self.path / f"{SAVING}{TMP_MARK}{os.getpid()}"
        connection = database.connect(self.path, create=True)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                version = self._write(connection, marker)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"index {self.path} is damaged ({RECORDS}: {error}); run `newsqa check --repair`"
            ) from error
        finally:
            connection.close()
        self._committed(version)
        marker.unlink(missing_ok=True)

    def _write(self, connection: sqlite3.Connection, marker: Path) -> int:
        """Inside the save's transaction: vectors, IVF file, records, manifest; returns the new version."""
        text = database.read_manifest_text(connection)
        stored = None
        if text is not None:
            try:
                stored = parse_manifest(text, self.path)
            except StoreError:
                if not self._rewrite:
                    raise
        if stored is not None and not self._rewrite and int(stored["version"]) != self.version:
            raise StoreError(
                f"index {self.path} was saved by another process since it was loaded (version "
                f"{stored['version']}, not {self.version}); load it again and redo the change"
            )
        version = max(self.version, int(stored["version"]) if stored else 0) + 1
        fsync_write(marker, str(version).encode())
        if self._rewrite:
            self._rewrite_vectors()
        else:
            self._append_vectors(int(stored.get("vector_rows", 0)) if stored else 0)
        # The index is (re)built from the vectors as just written, read back through a memory map.
        self.tune_index(read_vectors(self.path, self.next_vector_id, self.dimension))
        if self._ann_changed:
            self._write_ann(version)
        changed = list(self._articles) if self._rewrite else sorted(self._touched)
        if self._rewrite:
            connection.execute("DELETE FROM chunks")
            connection.execute("DELETE FROM articles")
        else:
            for start in range(0, len(changed), 500):
                part = changed[start : start + 500]
                marks = ",".join("?" * len(part))
                connection.execute(f"DELETE FROM chunks WHERE article_id IN ({marks})", part)
                connection.execute(f"DELETE FROM articles WHERE id IN ({marks})", part)
        present = [self._articles[a] for a in changed if a in self._articles]
        articles = [(a.id, article_line(a)) for a in present]
        connection.executemany("INSERT INTO articles (id, line) VALUES (?, ?)", articles)
        rows = []
        for article in present:
            vector_ids = self._article_vectors[article.id]
            around = surroundings(article.text, [(v, self._chunks[v]) for v in vector_ids])
            rows += [
                (v, article.id, chunk_line(v, self._chunks[v], self._vector_crc[v], *around[v])) for v in vector_ids
            ]
        connection.executemany("INSERT INTO chunks (vector_id, article_id, line) VALUES (?, ?, ?)", rows)
        manifest = {
            "format": FORMAT_VERSION,
            "version": version,
            "embedding_model": self.embedding_model,
            "dimension": self.dimension,
            "next_vector_id": self.next_vector_id,
            "vector_rows": self.next_vector_id,
            "articles": len(self._articles),
            "chunks": len(self._chunks),
            "index": self._ann,
            "ann_threshold": self.ann_threshold,
            "saved_at": datetime.now(UTC).isoformat(),
            "files": {},
        }
        if self.embedder is not None:
            manifest["embedder"] = self.embedder
        connection.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (database.MANIFEST_KEY, database.manifest_row(manifest)),
        )
        return version

    def _append_vectors(self, rows: int) -> None:
        """Cut the vectors file back to its `rows` committed rows (a killed save may have left more),
        append rows up to `next_vector_id` (unused ids get zeros) and flush them to disk."""
        file = self.path / VECTORS
        width = 4 * self.dimension
        size = file.stat().st_size if file.exists() else 0
        if size < rows * width:
            raise StoreError(
                f"index {self.path} is damaged: {VECTORS} holds {size // width} of its {rows} vectors; "
                "run `newsqa check --repair`"
            )
        with open(file, "r+b" if file.exists() else "w+b") as handle:
            handle.truncate(rows * width)
            handle.seek(rows * width)
            block = np.zeros((self.next_vector_id - rows, self.dimension), dtype=np.float32)
            for vector_id in range(rows, self.next_vector_id):
                vector = self._pending.get(vector_id)
                if vector is not None:
                    block[vector_id - rows] = vector
            handle.write(block.tobytes())
            handle.flush()
            os.fsync(handle.fileno())

    def _rewrite_vectors(self) -> None:
        """Write every row of a new vectors file beside the old one, then put it in its place."""
        staging = self.path / f"{VECTORS}{TMP_MARK}{os.getpid()}"
        with open(staging, "wb") as handle:
            for start in range(0, self.next_vector_id, 65_536):  # in slices: one copy of a big corpus is enough
                block = np.zeros((min(65_536, self.next_vector_id - start), self.dimension), dtype=np.float32)
                for vector_id in range(start, start + len(block)):
                    if vector_id in self._chunks:
                        block[vector_id - start] = self.vector(vector_id)
                handle.write(block.tobytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, self.path / VECTORS)
        fsync_dir(self.path)

    def _write_ann(self, version: int) -> None:
        """Write the IVF index to its own file (named in the manifest), or forget it for an exact index."""
        if self._ann["kind"] not in APPROXIMATE:
            self._ann = {"kind": FLAT}
            return
        name = ann_name(version)
        staging = self.path / f"{name}{TMP_MARK}{os.getpid()}"
        faiss.write_index(self._index, str(staging))
        with open(staging, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, self.path / name)
        fsync_dir(self.path)
        self._ann = {
            **{k: v for k, v in self._ann.items() if k not in ("file", "rows", "sha256", "bytes")},
            "file": name,
            "rows": self.next_vector_id,
            "sha256": file_digest(self.path / name),
            "bytes": (self.path / name).stat().st_size,
        }

    def _committed(self, version: int) -> None:
        """After a commit: the saved state becomes the base of the next save; files no save uses go."""
        self.version = version
        self._rows = self.next_vector_id
        self._file = read_vectors(self.path, self._rows, self.dimension)
        self._pending, self._touched = {}, set()
        self._rewrite = self._ann_changed = False
        for entry in self.path.iterdir():
            if (is_ann_name(entry.name) and entry.name != self._ann.get("file")) or (
                entry.name.startswith((SAVING, VECTORS, ANN_PREFIX))
                and TMP_MARK in entry.name
                and not entry.name.endswith(f"{TMP_MARK}{os.getpid()}")
            ):
                entry.unlink(missing_ok=True)


def read_vectors(path: Path, rows: int, dimension: int) -> np.ndarray:
    """The first `rows` vectors of an index folder's vectors file, memory-mapped (read-only)."""
    file = Path(path) / VECTORS
    size = file.stat().st_size if file.exists() else 0
    if size < rows * 4 * dimension:
        raise StoreError(
            f"index {path} is damaged: {VECTORS} holds {size // (4 * dimension)} of its {rows} vectors; "
            "run `newsqa check --repair`"
        )
    if rows == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.memmap(file, dtype="<f4", mode="r", shape=(rows, dimension))


def _sealed_text(line: str | bytes) -> str:
    """A record row's text, ValueError if it does not match its seal."""
    text = database.row_text(line)
    if seal_state(text)[1] is not True:
        raise ValueError(f"a record changed after it was saved: {text[:80]!r}")
    return text


def _unchecked_vector(
    path: Path, rows: int, dimension: int, chunks: list[tuple[int, Chunk]], crcs: dict[int, int]
) -> Chunk | None:
    """The first chunk whose vector is missing from the vectors file or differs from its CRC, or None.
    The file is read in slices rather than through the memory map, so that checking a large index
    does not leave all its vectors resident in this process."""
    crc_by_row = np.full(rows, -1, dtype=np.int64)
    for vector_id, chunk in chunks:
        if not 0 <= vector_id < rows or vector_id not in crcs:
            return chunk
        crc_by_row[vector_id] = crcs[vector_id]
    width = 4 * dimension
    if not chunks:
        return None
    with open(Path(path) / VECTORS, "rb") as handle:
        for start in range(0, rows, 8_192):
            data = handle.read(min(8_192, rows - start) * width)
            for row in np.flatnonzero(crc_by_row[start : start + len(data) // width] >= 0).tolist():
                if vector_crc(np.frombuffer(data, "<f4", dimension, row * width)) != crc_by_row[start + row]:
                    return next(chunk for vector_id, chunk in chunks if vector_id == start + row)
    return None


def read_rows(path: Path, ids: np.ndarray, dimension: int) -> np.ndarray:
    """Rows `ids` of an index folder's vectors file, read with `pread`. Read through the memory map, the
    pages around each row would stay mapped and count in this process's resident memory, growing it with
    every search towards the whole file (3 GB at a million vectors); read this way they sit in the page
    cache only."""
    width = 4 * dimension
    found = np.empty((len(ids), dimension), dtype=np.float32)
    descriptor = os.open(Path(path) / VECTORS, os.O_RDONLY)
    try:
        for row, vector_id in enumerate(np.asarray(ids).tolist()):
            found[row] = np.frombuffer(os.pread(descriptor, width, vector_id * width), dtype="<f4")
    finally:
        os.close(descriptor)
    return found


def _open_index(
    path: Path, manifest: dict[str, Any], live: np.ndarray, matrix: np.ndarray
) -> tuple[faiss.Index, dict[str, Any]]:
    """The search index over the `live` vector ids: the saved IVF index when the manifest names one
    whose file is intact (deleted ids taken out, later ones added), else an exact index."""
    ann = dict(manifest.get("index") or {"kind": FLAT})
    file = path / str(ann.get("file", ""))
    if ann.get("kind") in APPROXIMATE and is_ann_name(file.name) and file.is_file():
        try:
            if file.stat().st_size != ann.get("bytes") or file_digest(file) != ann.get("sha256"):
                raise ValueError("changed after it was saved")
            index = faiss.read_index(str(file))
            if index_kind(index) != ann.get("kind") or index.d != matrix.shape[1]:
                raise ValueError("not an IVF index of these vectors")
        except (OSError, RuntimeError, ValueError, StoreError):
            index = None
        if index is not None:
            covered = int(ann.get("rows", 0))
            old, _ = index_vectors(index, with_vectors=False)
            gone = np.setdiff1d(old, live)
            if len(gone):
                with one_thread():
                    index.remove_ids(gone)  # type: ignore[arg-type]
            later = live[live >= covered]
            for start in range(0, len(later), 8_192):
                # Read, not mapped, in slices: up to as many vectors as the index was trained on are
                # added here (it is retrained when the corpus doubles), 1.5 GB at 500,000.
                part = later[start : start + 8_192]
                index.add_with_ids(read_rows(path, part, matrix.shape[1]), part)
            nprobe = ann.get("nprobe")
            if isinstance(nprobe, int):
                index.nprobe = nprobe  # type: ignore[attr-defined]
            return index, ann
    index = flat_index(matrix.shape[1])
    if len(live):
        index.add_with_ids(np.ascontiguousarray(matrix[live], dtype=np.float32), live)
    return index, {"kind": FLAT}

"""The persisted index: articles, chunks and their vectors in an id-mapped FAISS index.

On disk, `index/<name>/` holds numbered snapshot folders and a `CURRENT` file naming the live one.
A save writes a complete new snapshot, then swaps `CURRENT` atomically, so a process killed at any
moment leaves the previous snapshot intact and readable. The snapshot before the live one is kept
as well, as a fallback for `newsqa check --repair`. Writers hold an exclusive lock. The manifest
records a checksum of every file (see `qa.store.records`), and loading refuses a snapshot whose
files changed after they were saved.

Vectors live in an exact inner-product index while the corpus is small. When a save finds more
than `ann_threshold` vectors it switches to an inverted-file index (IVF-Flat: exact vectors in
clustered lists; a search scans only the lists nearest the query), trained on the stored vectors,
with the number of lists to scan measured on the data for recall@10 of at least 0.95. It is
retrained once the corpus has doubled since training, and dropped again when the corpus shrinks
to half the threshold.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.errors import StoreError
from qa.retrieval.filters import Filters
from qa.store.ann import (
    DEFAULT_ANN_THRESHOLD,
    FLAT,
    IVF,
    MIN_ANN_THRESHOLD,
    RETRAIN_GROWTH,
    build_ivf,
    flat_index,
    index_kind,
    index_vectors,
    one_thread,
)
from qa.store.layout import (
    CURRENT,
    FORMAT_VERSION,
    TMP_MARK,
    current_name,
    fsync_dir,
    fsync_write,
    read_manifest,
    readable_current,
    snapshot_names,
    snapshot_version,
)
from qa.store.protocol import check_upsert, count_languages
from qa.store.records import (
    FILE_DIGEST,
    article_line,
    chunk_line,
    digest,
    file_digest,
    load_article,
    load_chunk,
    seal,
    surroundings,
    vector_crc,
)
from qa.types import Article, Chunk

# -- the store -------------------------------------------------------------------------------


class Store:
    """Articles, chunks and vectors of one index; `search` answers from memory, `save` persists."""

    def __init__(
        self, path: Path, embedding_model: str, dimension: int, ann_threshold: int = DEFAULT_ANN_THRESHOLD
    ) -> None:
        if dimension < 1:
            raise StoreError(f"vector dimension must be positive, got {dimension}")
        if ann_threshold < MIN_ANN_THRESHOLD:
            raise StoreError(f"ann_threshold must be at least {MIN_ANN_THRESHOLD} vectors, got {ann_threshold}")
        self.path = Path(path)
        self.embedding_model = embedding_model
        self.dimension = dimension
        self.ann_threshold = ann_threshold
        self.version = 0
        self.next_vector_id = 0
        self._articles: dict[str, Article] = {}
        self._chunks: dict[int, Chunk] = {}
        self._article_vectors: dict[str, list[int]] = {}
        self._vector_crc: dict[int, int] = {}
        self._index: faiss.Index = flat_index(dimension)
        self._ann: dict[str, Any] = {"kind": FLAT}

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
        name = current_name(path)
        snapshot = path / name
        manifest = read_manifest(snapshot)
        try:
            articles = [load_article(line) for line in _lines(_verified_bytes(snapshot, "articles.jsonl", manifest))]
            chunks, crcs = [], {}
            for line in _lines(_verified_bytes(snapshot, "chunks.jsonl", manifest)):
                vector_id, chunk, crc = load_chunk(line)
                chunks.append((vector_id, chunk))
                if crc is not None:
                    crcs[vector_id] = crc
            _verify_file(snapshot, "vectors.faiss", manifest)
            index = faiss.read_index(str(snapshot / "vectors.faiss"))
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as error:
            raise StoreError(
                f"index {path} is damaged (snapshot {name}: {error}); run `newsqa check --repair`"
            ) from error
        store = cls.assemble(path, manifest, articles, chunks, index, crcs)
        if store._index.ntotal != len(store._chunks):
            raise StoreError(
                f"index {path} is inconsistent: {store._index.ntotal} vectors for {len(store._chunks)} chunks; "
                "run `newsqa check --repair`"
            )
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
        not given are an error; nothing else is checked (see `qa.store.check`)."""
        store = cls(
            path,
            manifest["embedding_model"],
            int(manifest["dimension"]),
            int(manifest.get("ann_threshold", DEFAULT_ANN_THRESHOLD)),
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
        kind = index_kind(index)
        saved = manifest.get("index") or {"kind": FLAT}
        store._ann = dict(saved) if saved.get("kind") == kind else {"kind": kind}
        if isinstance(index, faiss.IndexIVFFlat):  # kind == IVF
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
        """Which FAISS index is in use: kind (`flat` or `ivf-flat`) and, for IVF, nlist, nprobe and
        the vector count it was trained at."""
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
        selector = None if allowed is None else faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        if self._ann["kind"] == IVF:
            assert isinstance(self._index, faiss.IndexIVFFlat)
            nprobe = int(self._ann["nprobe"])
            if allowed is not None:
                # Scan as many allowed vectors as an unfiltered search scans vectors; a small
                # allowed set ends up scanning every list, which is an exact search over it.
                share = len(allowed) / self._index.ntotal
                nprobe = min(self._index.nlist, math.ceil(nprobe / max(share, 1e-9)))
            # faiss's Python wrapper takes the fields as keywords; its type stubs do not know that.
            params: faiss.SearchParameters | None = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]
        else:
            params = None if selector is None else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        with one_thread():
            scores, ids = self._index.search(query, min(k, self._index.ntotal), params=params)
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def reading(self) -> AbstractContextManager[None]:
        """A block of consistent reads: a loaded store is already one state of the index."""
        return nullcontext()

    def bulk_loading(self) -> AbstractContextManager[None]:
        """Nothing to prepare: each save writes a whole snapshot anyway."""
        return nullcontext()

    def nearest(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """`search_ids` among the articles `filters` accepts."""
        allowed = self.allowed_ids(filters) if filters is not None and filters.active else None
        return self.search_ids(vector, k, allowed)

    def allowed_ids(self, filters: Filters) -> list[int]:
        """The vector ids of the chunks of every article `filters` accepts."""
        return self.vector_ids(a.id for a in self._articles.values() if filters.accepts(a))

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
        self._article_vectors[article.id] = [int(i) for i in ids]
        for vector_id, chunk, vector in zip(ids, chunks, vectors):
            self._chunks[int(vector_id)] = chunk
            self._vector_crc[int(vector_id)] = vector_crc(vector)

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
        del self._articles[article_id]
        return True

    def vector(self, vector_id: int) -> np.ndarray:
        """The stored vector of one chunk."""
        return self._index.reconstruct(vector_id)  # type: ignore[return-value]  # faiss's stubs pick the torch overload

    def vectors_of(self, article_id: str) -> np.ndarray:
        """The stored vectors of an article's chunks, in chunk order."""
        ids = sorted(self._article_vectors.get(article_id, []), key=lambda v: self._chunks[v].position)
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.vector(i) for i in ids])

    def tune_index(self) -> bool:
        """Switch between the exact and the IVF index, or retrain the IVF one, as the vector count
        asks; True if the index was rebuilt. `save` calls this."""
        count = self._index.ntotal
        kind = self._ann["kind"]
        grown = kind == IVF and count > RETRAIN_GROWTH * self._ann.get("trained_at", count)
        if (kind == FLAT and count > self.ann_threshold) or grown:
            ids, vectors = index_vectors(self._index)
            self._index, self._ann = build_ivf(ids, vectors)
            return True
        if kind == IVF and count < self.ann_threshold // 2:
            ids, vectors = index_vectors(self._index)
            index = flat_index(self.dimension)
            if len(ids):
                index.add_with_ids(vectors, ids)
            self._index, self._ann = index, {"kind": FLAT}
            return True
        return False

    def save(self) -> None:
        """Write a complete new snapshot, then make it current in one atomic rename."""
        self.tune_index()
        self.path.mkdir(parents=True, exist_ok=True)
        names = snapshot_names(self.path)
        previous = readable_current(self.path) or (names[-1] if names else None)
        existing = [snapshot_version(name) or 0 for name in names]
        # A writer killed between its rename and the CURRENT swap leaves a newer folder; never reuse its name.
        version = max([self.version, *existing]) + 1
        name = f"v{version:06d}"
        staging = self.path / f".{name}{TMP_MARK}{os.getpid()}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        around: dict[int, tuple[str, str]] = {}
        for article_id, vector_ids in self._article_vectors.items():
            text = self._articles[article_id].text
            around.update(surroundings(text, [(v, self._chunks[v]) for v in vector_ids]))
        articles = "".join(article_line(a) + "\n" for a in self._articles.values()).encode("utf-8")
        chunks = "".join(
            chunk_line(v, c, self._vector_crc[v], *around[v]) + "\n" for v, c in sorted(self._chunks.items())
        ).encode("utf-8")
        fsync_write(staging / "articles.jsonl", articles)
        fsync_write(staging / "chunks.jsonl", chunks)
        faiss.write_index(self._index, str(staging / "vectors.faiss"))
        with open(staging / "vectors.faiss", "rb+") as handle:
            os.fsync(handle.fileno())
        files = {
            "articles.jsonl": {"sha256": digest(articles), "bytes": len(articles)},
            "chunks.jsonl": {"sha256": digest(chunks), "bytes": len(chunks)},
            "vectors.faiss": {
                "sha256": file_digest(staging / "vectors.faiss"),
                "bytes": (staging / "vectors.faiss").stat().st_size,
            },
        }
        manifest = {
            "format": FORMAT_VERSION,
            "version": version,
            "embedding_model": self.embedding_model,
            "dimension": self.dimension,
            "next_vector_id": self.next_vector_id,
            "articles": len(self._articles),
            "chunks": len(self._chunks),
            "index": self._ann,
            "ann_threshold": self.ann_threshold,
            "saved_at": datetime.now(UTC).isoformat(),
            "files": files,
        }
        fsync_write(staging / "manifest.json", seal(json.dumps(manifest, indent=2), FILE_DIGEST, indent=True).encode())
        fsync_dir(staging)
        # The pointer is written before the rename, so a snapshot newer than CURRENT with no pointer
        # naming it is not a save cut short: CURRENT itself was changed.
        pointer = self.path / f".{CURRENT}{TMP_MARK}{os.getpid()}"
        fsync_write(pointer, name.encode())
        os.rename(staging, self.path / name)
        os.replace(pointer, self.path / CURRENT)
        fsync_dir(self.path)
        self.version = version
        self._remove_stale_snapshots(keep={name} if previous is None else {name, previous})

    def _remove_stale_snapshots(self, keep: set[str]) -> None:
        """Remove every snapshot but the new one and the one it replaced, and any staging leftovers."""
        for entry in self.path.iterdir():
            if (
                entry.is_dir()
                and entry.name not in keep
                and (snapshot_version(entry.name) is not None or TMP_MARK in entry.name)
            ):
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_file() and TMP_MARK in entry.name:
                entry.unlink(missing_ok=True)


def _lines(data: bytes) -> Iterator[str]:
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            yield line


def _verified_bytes(snapshot: Path, name: str, manifest: dict[str, Any]) -> bytes:
    """A snapshot file's bytes; ValueError when they differ from the checksum the manifest recorded."""
    data = (snapshot / name).read_bytes()
    expected = (manifest.get("files") or {}).get(name)
    if expected is not None and (len(data) != expected.get("bytes") or digest(data) != expected.get("sha256")):
        raise ValueError(f"{name} changed after it was saved (its checksum differs)")
    return data


def _verify_file(snapshot: Path, name: str, manifest: dict[str, Any]) -> None:
    """ValueError when a snapshot file differs from the checksum the manifest recorded."""
    expected = (manifest.get("files") or {}).get(name)
    file = snapshot / name
    if expected is not None and (
        file.stat().st_size != expected.get("bytes") or file_digest(file) != expected.get("sha256")
    ):
        raise ValueError(f"{name} changed after it was saved (its checksum differs)")

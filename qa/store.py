"""The persisted index: articles, chunks and their vectors in an id-mapped FAISS index.

On disk, `index/<name>/` holds numbered snapshot folders and a `CURRENT` file naming the live one.
A save writes a complete new snapshot, then swaps `CURRENT` atomically, so a process killed at any
moment leaves the previous snapshot intact and readable. The snapshot before the live one is kept
as well, as a fallback for `newsqa check --repair`. Writers hold an exclusive lock.

Vectors live in an exact inner-product index while the corpus is small. When a save finds more
than `ann_threshold` vectors it switches to an inverted-file index (IVF-Flat: exact vectors in
clustered lists; a search scans only the lists nearest the query), trained on the stored vectors,
with the number of lists to scan measured on the data for recall@10 of at least 0.95. It is
retrained once the corpus has doubled since training, and dropped again when the corpus shrinks
to half the threshold.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
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
TMP_MARK = ".tmp-"
SNAPSHOT_NAME = re.compile(r"^v(\d{6,})$")

FLAT = "flat"
IVF = "ivf-flat"
DEFAULT_ANN_THRESHOLD = 50_000
MIN_ANN_THRESHOLD = 1_000
TARGET_RECALL = 0.97  # on the calibration queries; the margin covers real questions, which sit farther away
CALIBRATION_QUERIES = 256
POINTS_PER_LIST = 40  # FAISS's k-means wants at least 39 training points per centroid
RETRAIN_GROWTH = 2.0


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


# -- snapshot folders and FAISS helpers ------------------------------------------------------


def snapshot_version(name: str) -> int | None:
    """The version of a snapshot folder name (`v000012` → 12); None for any other name."""
    match = SNAPSHOT_NAME.match(name)
    return int(match.group(1)) if match else None


def snapshot_names(path: Path) -> list[str]:
    """The snapshot folders of an index folder, oldest first."""
    path = Path(path)
    if not path.is_dir():
        return []
    names = [p.name for p in path.iterdir() if p.is_dir() and snapshot_version(p.name) is not None]
    return sorted(names, key=lambda name: snapshot_version(name) or 0)


def flat_index(dimension: int) -> faiss.Index:
    """An empty exact inner-product index with int64 ids."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def index_kind(index: faiss.Index) -> str:
    """`flat` or `ivf-flat`: the two FAISS index types a Store uses."""
    if isinstance(index, faiss.IndexIDMap2):
        return FLAT
    if isinstance(index, faiss.IndexIVFFlat):
        return IVF
    raise StoreError(f"unexpected FAISS index type {type(index).__name__}; rebuild the index with `newsqa ingest`")


def index_vectors(index: faiss.Index, with_vectors: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(ids, vectors) of everything stored in `index`, duplicates included; vectors only if asked."""
    if index_kind(index) == FLAT:
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        if not with_vectors:
            return ids, None
        vectors = index.index.reconstruct_n(0, index.ntotal) if len(ids) else np.zeros((0, index.d))
        return ids, np.asarray(vectors, dtype=np.float32).reshape(len(ids), index.d)
    lists = index.invlists
    id_parts, vector_parts = [], []
    for number in range(index.nlist):
        size = lists.list_size(number)
        if not size:
            continue
        id_parts.append(faiss.rev_swig_ptr(lists.get_ids(number), size).copy())
        if with_vectors:
            codes = faiss.rev_swig_ptr(lists.get_codes(number), size * lists.code_size).copy()
            vector_parts.append(codes.view(np.float32).reshape(size, index.d))
    ids = np.concatenate(id_parts).astype(np.int64) if id_parts else np.zeros(0, dtype=np.int64)
    if not with_vectors:
        return ids, None
    vectors = np.concatenate(vector_parts) if vector_parts else np.zeros((0, index.d), dtype=np.float32)
    return ids, vectors


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run FAISS single-threaded inside the block, for this thread only (OpenMP keeps the setting per
    thread). On one query or a few vectors its threads cost more than they save: on a busy 2-core
    machine a single-query exact search over 100k vectors took 120 ms with 2 threads, 31 ms with 1."""
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def nlist_for(count: int) -> int:
    """How many inverted lists for `count` vectors: about 4·√count, each with enough points to train."""
    return max(1, min(round(4 * math.sqrt(count)), count // POINTS_PER_LIST))


def build_ivf(ids: np.ndarray, vectors: np.ndarray, seed: int = 0) -> tuple[faiss.Index, dict[str, Any]]:
    """An IVF-Flat inner-product index over `vectors`, trained on them, its `nprobe` calibrated;
    returns the index and its parameters (kind, nlist, nprobe, trained_at)."""
    count, dimension = vectors.shape
    rng = np.random.default_rng(seed)
    nlist = nlist_for(count)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True  # centroids stay on the unit sphere, like the vectors
    index.cp.niter = 10
    sample_size = min(count, nlist * POINTS_PER_LIST)
    sample = vectors if sample_size == count else vectors[np.sort(rng.choice(count, sample_size, replace=False))]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # lets reconstruct and remove_ids work by id
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    index.nprobe = calibrate_nprobe(index, ids, vectors, rng)
    return index, {"kind": IVF, "nlist": nlist, "nprobe": int(index.nprobe), "trained_at": int(count)}


def calibrate_nprobe(
    index: faiss.Index, ids: np.ndarray, vectors: np.ndarray, rng: np.random.Generator, k: int = 10
) -> int:
    """The smallest power-of-two `nprobe` whose recall@k reaches TARGET_RECALL against exact search,
    with noisy copies of stored vectors (cosine ≈ 0.7 to their origin) as queries."""
    count, dimension = vectors.shape
    k = min(k, count)
    picks = rng.choice(count, min(CALIBRATION_QUERIES, count), replace=False)
    noise = rng.normal(size=(len(picks), dimension)).astype(np.float32) / math.sqrt(dimension)
    queries = vectors[picks] + noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = faiss.IndexFlatIP(dimension)
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _, positions = exact.search(queries, k)
    truth = np.asarray(ids)[positions]
    nprobe = 1
    while nprobe < index.nlist:
        _, found = index.search(queries, k, params=faiss.SearchParametersIVF(nprobe=nprobe))
        recall = float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found.tolist(), truth.tolist())]))
        if recall >= TARGET_RECALL:
            return nprobe
        nprobe *= 2
    return int(index.nlist)


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
            articles = [Article.from_dict(json.loads(line)) for line in _lines(snapshot / "articles.jsonl")]
            chunks = []
            for line in _lines(snapshot / "chunks.jsonl"):
                data = json.loads(line)
                vector_id = data.pop("vector_id")
                chunks.append((int(vector_id), Chunk.from_dict(data)))
            index = faiss.read_index(str(snapshot / "vectors.faiss"))
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as error:
            raise StoreError(
                f"index {path} is damaged (snapshot {name}: {error}); run `newsqa check --repair`"
            ) from error
        store = cls.assemble(path, manifest, articles, chunks, index)
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
    ) -> Store:
        """A store from already-read parts: a manifest, articles, (vector id, chunk) pairs, FAISS index.
        Chunks of articles not given are an error; nothing else is checked (see `qa.store_check`)."""
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
            raise StoreError(f"the vectors have {index.d} dimensions, the manifest says {store.dimension}")
        store._index = index
        kind = index_kind(index)
        saved = manifest.get("index") or {"kind": FLAT}
        store._ann = dict(saved) if saved.get("kind") == kind else {"kind": kind}
        if kind == IVF:
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
            nprobe = int(self._ann["nprobe"])
            if allowed is not None:
                # Scan as many allowed vectors as an unfiltered search scans vectors; a small
                # allowed set ends up scanning every list, which is an exact search over it.
                share = len(allowed) / self._index.ntotal
                nprobe = min(self._index.nlist, math.ceil(nprobe / max(share, 1e-9)))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        else:
            params = None if selector is None else faiss.SearchParameters(sel=selector)
        with _one_thread():
            scores, ids = self._index.search(query, min(k, self._index.ntotal), params=params)
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

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
            with _one_thread():
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
            with _one_thread():
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
        previous = _readable_current(self.path) or (names[-1] if names else None)
        existing = [snapshot_version(name) or 0 for name in names]
        # A writer killed between its rename and the CURRENT swap leaves a newer folder; never reuse its name.
        version = max([self.version, *existing]) + 1
        name = f"v{version:06d}"
        staging = self.path / f".{name}{TMP_MARK}{os.getpid()}"
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
            "index": self._ann,
            "ann_threshold": self.ann_threshold,
            "saved_at": datetime.now(UTC).isoformat(),
        }
        _fsync_write(staging / "manifest.json", json.dumps(manifest, indent=2).encode())
        _fsync_dir(staging)
        os.rename(staging, self.path / name)
        pointer = self.path / f".{CURRENT}{TMP_MARK}{os.getpid()}"
        _fsync_write(pointer, name.encode())
        os.replace(pointer, self.path / CURRENT)
        _fsync_dir(self.path)
        self.version = version
        self._remove_stale_snapshots(keep={name, previous} - {None})

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


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line


def _readable_current(path: Path) -> str | None:
    """The snapshot CURRENT names, if CURRENT is readable and the folder exists."""
    try:
        name = (path / CURRENT).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if snapshot_version(name) is not None and (path / name).is_dir() else None


def current_name(path: Path) -> str:
    """The snapshot folder CURRENT names; StoreError if it is missing or names no snapshot."""
    path = Path(path)
    name = _readable_current(path)
    if name is None:
        raise StoreError(f"index {path} is damaged: {CURRENT} names no snapshot; run `newsqa check --repair`")
    return name


def read_manifest(snapshot: Path) -> dict[str, Any]:
    """A snapshot's manifest, checked for format and the keys newsqa needs."""
    try:
        manifest = json.loads((snapshot / "manifest.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StoreError(
            f"index {snapshot.parent} is damaged (snapshot {snapshot.name}: {error}); run `newsqa check --repair`"
        ) from error
    if not isinstance(manifest, dict):
        raise StoreError(f"index {snapshot.parent} is damaged: manifest of {snapshot.name} is not an object")
    if manifest.get("format") != FORMAT_VERSION:
        raise StoreError(
            f"index {snapshot.parent} has format {manifest.get('format')}, this newsqa reads {FORMAT_VERSION}"
        )
    problems = [
        key
        for key, kind in (("version", int), ("embedding_model", str), ("dimension", int), ("next_vector_id", int))
        if not isinstance(manifest.get(key), kind)
    ]
    if problems:
        raise StoreError(
            f"index {snapshot.parent} is damaged: manifest of {snapshot.name} lacks {', '.join(problems)}; "
            "run `newsqa check --repair`"
        )
    return manifest


@contextmanager
def write_lock(path: Path, timeout_s: float = 600.0) -> Iterator[None]:
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
    return read_manifest(Path(path) / current_name(path))

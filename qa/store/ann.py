"""FAISS indexes of a store: exact while small, IVF over 8-bit codes re-ranked exactly past a threshold."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, overload

import faiss
import numpy as np

from qa.errors import StoreError

FLAT = "flat"
IVF = "ivf-flat"  # full vectors in the lists: what stores saved before IVF-SQ8; still opened and searched
IVF_SQ8 = "ivf-sq8"  # one byte per dimension in the lists, candidates re-scored from the exact vectors
APPROXIMATE = (IVF, IVF_SQ8)
RERANK = 10  # an IVF-SQ8 search fetches RERANK × k candidates and keeps the k best by exact inner product
EXACT_BELOW = 4_096  # a filter admitting at most this many vectors is answered by an exact scan of just those
DEFAULT_ANN_THRESHOLD = 50_000
MIN_ANN_THRESHOLD = 1_000
TARGET_RECALL = 0.97  # on the calibration queries; the margin covers real questions, which sit farther away
CALIBRATION_QUERIES = 256
POINTS_PER_LIST = 40  # FAISS's k-means wants at least 39 training points per centroid
RETRAIN_GROWTH = 2.0
SLICE = 100_000  # vectors handled at once when building: bounds the memory a build takes beyond the index


def flat_index(dimension: int) -> faiss.Index:
    """An empty exact inner-product index with int64 ids."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def index_kind(index: faiss.Index) -> str:
    """`flat`, `ivf-flat` or `ivf-sq8`: the FAISS index types a Store uses."""
    if isinstance(index, faiss.IndexIDMap2):
        return FLAT
    if isinstance(index, faiss.IndexIVFFlat):
        return IVF
    if isinstance(index, faiss.IndexIVFScalarQuantizer):
        return IVF_SQ8
    raise StoreError(f"unexpected FAISS index type {type(index).__name__}; rebuild the index with `newsqa ingest`")


@overload
def index_vectors(index: faiss.Index, with_vectors: Literal[True] = ...) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def index_vectors(index: faiss.Index, with_vectors: Literal[False]) -> tuple[np.ndarray, None]: ...


def index_vectors(index: faiss.Index, with_vectors: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(ids, vectors) of everything stored in `index`, duplicates included; vectors only if asked, and
    only from an index that holds them whole (not IVF-SQ8, whose exact vectors are the vectors file)."""
    kind = index_kind(index)  # one of the types below, else StoreError
    if isinstance(index, faiss.IndexIDMap2):
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        if not with_vectors:
            return ids, None
        vectors = index.index.reconstruct_n(0, index.ntotal) if len(ids) else np.zeros((0, index.d))
        return ids, np.asarray(vectors, dtype=np.float32).reshape(len(ids), index.d)
    if with_vectors and kind != IVF:
        raise StoreError(f"a {kind} index holds no exact vectors; read them from the vectors file")
    assert isinstance(index, faiss.IndexIVF)
    lists = index.invlists
    assert lists is not None  # an IVF index always has its lists
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
def one_thread() -> Iterator[None]:
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


def build_ivf(ids: np.ndarray, table: np.ndarray, seed: int = 0) -> tuple[faiss.Index, dict[str, Any]]:
    """An IVF-SQ8 inner-product index over the vectors `ids` of `table` (row n is the vector with id n,
    e.g. the memory-mapped vectors file), trained on a sample of them, its `nprobe` calibrated with
    re-ranking; returns the index and its parameters (kind, nlist, nprobe, trained_at). Its lists hold
    8-bit codes (a quarter of float32), so only the codes and the centroids stay in memory; the exact
    vectors, for re-ranking, are read from the table."""
    ids = np.asarray(ids, dtype=np.int64)
    count, dimension = len(ids), table.shape[1]
    rng = np.random.default_rng(seed)
    nlist = nlist_for(count)
    index = faiss.IndexIVFScalarQuantizer(
        # Codes of the vectors themselves, not of their residuals: a list scan then needs no per-list
        # set-up, and the re-ranking makes up for the coarser codes.
        faiss.IndexFlatIP(dimension),
        dimension,
        nlist,
        faiss.ScalarQuantizer.QT_8bit,
        faiss.METRIC_INNER_PRODUCT,
        False,
    )
    index.cp.spherical = True  # centroids stay on the unit sphere, like the vectors
    index.cp.niter = 10
    sample_size = min(count, nlist * POINTS_PER_LIST)
    sample = ids if sample_size == count else np.sort(rng.choice(ids, sample_size, replace=False))
    index.train(_rows(table, sample))
    # Lets reconstruct and remove_ids work by id. (faiss's type stubs leave DirectMap out.)
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    for start in range(0, count, SLICE):  # in slices: no float32 copy of a large corpus in memory
        part = ids[start : start + SLICE]
        index.add_with_ids(_rows(table, part), part)
    index.nprobe = calibrate_nprobe(index, ids, table, rng)
    return index, {"kind": IVF_SQ8, "nlist": nlist, "nprobe": int(index.nprobe), "trained_at": int(count)}


def _rows(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(table[ids], dtype=np.float32)


def search_ivf(
    index: faiss.IndexIVF,
    query: np.ndarray,
    k: int,
    nprobe: int,
    rows: Callable[[np.ndarray], np.ndarray],
    selector: faiss.IDSelector | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores), best first, of the `k` nearest to one `query` (shape 1 × d) in an IVF index
    scanning `nprobe` lists; an IVF-SQ8 index's candidates are re-scored with their exact vectors,
    which `rows(ids)` gives."""
    rerank = isinstance(index, faiss.IndexIVFScalarQuantizer)
    # faiss's Python wrapper takes the fields as keywords; its type stubs do not know that.
    params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]
    wanted = min(index.ntotal, k * RERANK if rerank else k)
    scores, ids = index.search(query, wanted, params=params)
    found = ids[0][ids[0] >= 0]
    if not rerank:
        return found, scores[0][: len(found)]
    return exact_top(found, rows(found), query[0], k)


def exact_top(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of the `k` rows of `vectors` (ids[n] for row n) with the highest inner product."""
    if not len(ids):
        return ids, np.zeros(0, dtype=np.float32)
    scores = vectors @ query
    best = np.argsort(-scores, kind="stable")[:k]
    return ids[best], scores[best]


def calibrate_nprobe(
    index: faiss.IndexIVF, ids: np.ndarray, table: np.ndarray, rng: np.random.Generator, k: int = 10
) -> int:
    """The smallest power-of-two `nprobe` whose recall@k (re-ranked, as searches are) reaches
    TARGET_RECALL against exact search over the vectors `ids` of `table`, with noisy copies of stored
    vectors (cosine ≈ 0.7 to their origin) as queries."""
    count, dimension = len(ids), table.shape[1]
    k = min(k, count)
    picks = np.sort(rng.choice(ids, min(CALIBRATION_QUERIES, count), replace=False))
    noise = rng.normal(size=(len(picks), dimension)).astype(np.float32) / math.sqrt(dimension)
    queries = _rows(table, picks) + noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = np.zeros((len(queries), 0), dtype=np.int64)
    best = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, count, SLICE):  # exact search slice by slice, keeping the k best so far
        part = ids[start : start + SLICE]
        scores, positions = faiss.knn(queries, _rows(table, part), min(k, len(part)), metric=faiss.METRIC_INNER_PRODUCT)
        merged_scores = np.concatenate([best, scores], axis=1)
        merged_ids = np.concatenate([truth, part[positions]], axis=1)
        order = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
        best, truth = np.take_along_axis(merged_scores, order, 1), np.take_along_axis(merged_ids, order, 1)
    nprobe = 1
    while nprobe < index.nlist:
        hits = 0
        for query, expected in zip(queries, truth.tolist()):
            found, _ = search_ivf(index, query.reshape(1, -1), k, nprobe, lambda found: _rows(table, found))
            hits += len(set(found.tolist()) & set(expected))
        if hits / (k * len(queries)) >= TARGET_RECALL:
            return nprobe
        nprobe *= 2
    return int(index.nlist)

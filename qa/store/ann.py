"""FAISS indexes of a store: exact inner product while small, IVF-Flat with a calibrated `nprobe` past a threshold."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, overload

import faiss
import numpy as np

from qa.errors import StoreError

FLAT = "flat"
IVF = "ivf-flat"
DEFAULT_ANN_THRESHOLD = 50_000
MIN_ANN_THRESHOLD = 1_000
TARGET_RECALL = 0.97  # on the calibration queries; the margin covers real questions, which sit farther away
CALIBRATION_QUERIES = 256
POINTS_PER_LIST = 40  # FAISS's k-means wants at least 39 training points per centroid
RETRAIN_GROWTH = 2.0


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


@overload
def index_vectors(index: faiss.Index, with_vectors: Literal[True] = ...) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def index_vectors(index: faiss.Index, with_vectors: Literal[False]) -> tuple[np.ndarray, None]: ...


def index_vectors(index: faiss.Index, with_vectors: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(ids, vectors) of everything stored in `index`, duplicates included; vectors only if asked."""
    index_kind(index)  # one of the two types below, else StoreError
    if isinstance(index, faiss.IndexIDMap2):
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        if not with_vectors:
            return ids, None
        vectors = index.index.reconstruct_n(0, index.ntotal) if len(ids) else np.zeros((0, index.d))
        return ids, np.asarray(vectors, dtype=np.float32).reshape(len(ids), index.d)
    assert isinstance(index, faiss.IndexIVFFlat)
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
    # Lets reconstruct and remove_ids work by id. (faiss's type stubs leave DirectMap out.)
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    index.nprobe = calibrate_nprobe(index, ids, vectors, rng)
    return index, {"kind": IVF, "nlist": nlist, "nprobe": int(index.nprobe), "trained_at": int(count)}


def calibrate_nprobe(
    index: faiss.IndexIVFFlat, ids: np.ndarray, vectors: np.ndarray, rng: np.random.Generator, k: int = 10
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
        # faiss's Python wrapper takes the fields as keywords; its type stubs do not know that.
        params = faiss.SearchParametersIVF(nprobe=nprobe)  # type: ignore[call-arg]
        _, found = index.search(queries, k, params=params)
        recall = float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found.tolist(), truth.tolist())]))
        if recall >= TARGET_RECALL:
            return nprobe
        nprobe *= 2
    return int(index.nlist)

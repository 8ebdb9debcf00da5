"""Search at scale: the exact flat index against the IVF index newsqa switches to past `ann_threshold`.

A synthetic corpus of chunk vectors (default 100,000 × 768), shaped like sentence embeddings: a
shared direction, a few dozen topics, a few thousand clusters of unequal size, noise; normalised.
Queries are noisy copies of held-out points. Both indexes are searched through `Store.search_ids`,
one query at a time as retrieval does, without and with a filter allowing ~10% of the articles.
Prints build time, memory, p50/p95 latency and recall@10 against exact search, side by side.
Asserts nothing.

    .venv/bin/python scripts/benchmark_scale.py [--vectors 100000] [--dim 768] [--clusters 3000]
        [--queries 300] [--filter-share 0.1] [--hnsw]
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from qa.store.ann import FLAT, build_ivf, flat_index
from qa.store.records import vector_crc
from qa.store.store import Store
from qa.types import Article, Chunk

CHUNKS_PER_ARTICLE = 10


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _unit(rows: np.ndarray) -> np.ndarray:
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def synthetic(count: int, queries: int, dim: int, clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(corpus vectors, query vectors): a cluster mixture, and noisy copies of held-out points."""
    rng = np.random.default_rng(seed)

    def noise(n: int, scale: float) -> np.ndarray:
        return (scale / np.sqrt(dim)) * rng.standard_normal((n, dim), dtype=np.float32)

    shared = _unit(noise(1, 1.0))[0]
    topics = _unit(noise(max(2, clusters // 60), 1.0))
    centres = _unit(topics[rng.integers(0, len(topics), clusters)] + noise(clusters, 0.9))
    weights = rng.lognormal(0.0, 1.0, clusters)
    labels = rng.choice(clusters, size=count + queries, p=weights / weights.sum())
    points = np.empty((count + queries, dim), dtype=np.float32)
    for start in range(0, len(points), 20_000):
        part = labels[start : start + 20_000]
        points[start : start + len(part)] = _unit(0.5 * shared + centres[part] + noise(len(part), 1.1))
    held_out = points[count:]
    return points[:count], _unit(held_out + noise(queries, 0.8))


def store_over(index: faiss.Index, info: dict, vectors: np.ndarray) -> Store:
    """A Store around an already-built index of `vectors` (id n for row n), with articles of
    CHUNKS_PER_ARTICLE chunks, reading exact vectors from `vectors` as a loaded store reads its file."""
    count, dim = vectors.shape
    articles = [Article(id=f"a{n}", title=f"a{n}", text="x") for n in range(count // CHUNKS_PER_ARTICLE + 1)]
    chunks = [
        (v, Chunk(f"a{v // CHUNKS_PER_ARTICLE}#{v % CHUNKS_PER_ARTICLE}", f"a{v // CHUNKS_PER_ARTICLE}", 0, "x", 0, 1))
        for v in range(count)
    ]
    manifest = {
        "embedding_model": "synthetic",
        "dimension": dim,
        "version": 1,
        "next_vector_id": count,
        "index": info,
    }
    crcs = {v: vector_crc(vectors[v]) for v in range(count)}
    store = Store.assemble(Path("/nonexistent"), manifest, articles, chunks, index, crcs)
    store._file, store._rows = vectors, count
    return store


@dataclass
class Row:
    """Figures of one index."""

    name: str
    build_s: float = 0.0
    index_mb: float = 0.0
    rss_delta_mb: float = 0.0
    latency: dict[str, tuple[float, float]] = field(default_factory=dict)
    recall: dict[str, float] = field(default_factory=dict)
    note: str = ""


def time_searches(search, queries: np.ndarray) -> tuple[list[list[int]], tuple[float, float]]:
    """Results and (p50, p95) latency in ms of `search(query)` over the queries, one at a time."""
    search(queries[0])  # warm caches
    results, times = [], []
    for query in queries:
        started = time.perf_counter()
        found = search(query)
        times.append(time.perf_counter() - started)
        results.append(found)
    return results, (float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 95) * 1e3))


def recall(found: list[list[int]], truth: list[list[int]], k: int) -> float:
    """Mean recall@k of `found` against `truth`."""
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)]))


def main() -> None:
    """Build both indexes, search them, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--clusters", type=int, default=3_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--filter-share", type=float, default=0.1, help="share of articles a filter allows")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hnsw", action="store_true", help="also measure FAISS HNSW (no deletes; for comparison)")
    args = parser.parse_args()
    k = args.k

    started = time.perf_counter()
    vectors, queries = synthetic(args.vectors, args.queries, args.dim, args.clusters, args.seed)
    ids = np.arange(args.vectors, dtype=np.int64)
    print(
        f"corpus: {args.vectors:,} vectors × {args.dim}, {args.clusters:,} clusters, {args.queries} queries "
        f"(made in {time.perf_counter() - started:.1f} s); FAISS {faiss.__version__}, "
        f"{faiss.omp_get_max_threads()} OpenMP threads"
    )
    rng = np.random.default_rng(args.seed + 1)
    n_articles = args.vectors // CHUNKS_PER_ARTICLE
    allowed_articles = rng.choice(n_articles, max(1, int(n_articles * args.filter_share)), replace=False)
    allowed = sorted(int(a) * CHUNKS_PER_ARTICLE + j for a in allowed_articles for j in range(CHUNKS_PER_ARTICLE))
    print(f"filter: {len(allowed_articles):,} articles, {len(allowed):,} vectors ({len(allowed) / args.vectors:.0%})")

    rows: list[Row] = []

    before = rss_mb()
    started = time.perf_counter()
    exact_index = flat_index(args.dim)
    exact_index.add_with_ids(vectors, ids)
    flat = Row("exact (IndexIDMap2 + IndexFlatIP)", build_s=time.perf_counter() - started)
    flat.rss_delta_mb = rss_mb() - before
    flat.index_mb = faiss.serialize_index(exact_index).nbytes / 1e6
    exact = store_over(exact_index, {"kind": FLAT}, vectors)
    truth, flat.latency["all"] = time_searches(lambda q: [v for v, _ in exact.search_ids(q, k)], queries)
    truth_filtered, flat.latency["filtered"] = time_searches(
        lambda q: [v for v, _ in exact.search_ids(q, k, allowed)], queries
    )
    flat.recall = {"all": 1.0, "filtered": 1.0}
    _, default_threads = time_searches(lambda q: exact_index.search(q.reshape(1, -1), k)[1][0].tolist(), queries)
    flat.note = (
        f"same search with FAISS's default {faiss.omp_get_max_threads()} threads: "
        f"p50 {default_threads[0]:.1f} ms, p95 {default_threads[1]:.1f} ms"
    )
    rows.append(flat)

    before = rss_mb()
    started = time.perf_counter()
    ivf_index, info = build_ivf(ids, vectors)
    ivf = Row(
        f"IVF-SQ8 + re-rank (nlist {info['nlist']}, nprobe {info['nprobe']})",
        build_s=time.perf_counter() - started,
    )
    ivf.rss_delta_mb = rss_mb() - before
    ivf.index_mb = faiss.serialize_index(ivf_index).nbytes / 1e6
    approximate = store_over(ivf_index, info, vectors)
    found, ivf.latency["all"] = time_searches(lambda q: [v for v, _ in approximate.search_ids(q, k)], queries)
    ivf.recall["all"] = recall(found, truth, k)
    found, ivf.latency["filtered"] = time_searches(
        lambda q: [v for v, _ in approximate.search_ids(q, k, allowed)], queries
    )
    ivf.recall["filtered"] = recall(found, truth_filtered, k)
    sweep = []
    for nprobe in (1, 2, 4, 8, 16, 32, 64):
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        found = [ivf_index.search(q.reshape(1, -1), k, params=params)[1][0].tolist() for q in queries]
        sweep.append(f"{nprobe}: {recall(found, truth, k):.3f}")
    ivf.note = "recall@10 of the 8-bit codes alone (no re-ranking) by nprobe — " + ", ".join(sweep)
    rows.append(ivf)

    if args.hnsw:
        rows.append(measure_hnsw(vectors, queries, allowed, truth, truth_filtered, k))

    print(f"\npeak RSS of this process: {peak_rss_mb():,.0f} MB\n")
    header = (
        f"{'index':44} {'build s':>8} {'index MB':>9} {'RSS Δ MB':>9} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'recall':>7} {'filt p50':>9} {'filt p95':>9} {'filt rec':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.name:44} {row.build_s:8.1f} {row.index_mb:9.0f} {row.rss_delta_mb:9.0f} "
            f"{row.latency['all'][0]:7.2f} {row.latency['all'][1]:7.2f} {row.recall['all']:7.3f} "
            f"{row.latency['filtered'][0]:9.2f} {row.latency['filtered'][1]:9.2f} {row.recall['filtered']:9.3f}"
        )
    print()
    for row in rows:
        if row.note:
            print(f"{row.name}: {row.note}")


def measure_hnsw(
    vectors: np.ndarray,
    queries: np.ndarray,
    allowed: list[int],
    truth: list[list[int]],
    truth_filtered: list[list[int]],
    k: int,
) -> Row:
    """FAISS HNSW (M 32) for comparison: it cannot remove vectors, so newsqa would have to rebuild on delete."""
    before = rss_mb()
    started = time.perf_counter()
    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(vectors)
    row = Row("HNSW-Flat (M 32, efSearch 64)", build_s=time.perf_counter() - started)
    row.rss_delta_mb = rss_mb() - before
    row.index_mb = faiss.serialize_index(index).nbytes / 1e6
    params = faiss.SearchParametersHNSW(efSearch=64)
    found, row.latency["all"] = time_searches(
        lambda q: index.search(q.reshape(1, -1), k, params=params)[1][0].tolist(), queries
    )
    row.recall["all"] = recall(found, truth, k)

    def filtered(query: np.ndarray) -> list[int]:
        selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        return index.search(query.reshape(1, -1), k, params=faiss.SearchParametersHNSW(efSearch=64, sel=selector))[1][
            0
        ].tolist()

    found, row.latency["filtered"] = time_searches(filtered, queries)
    row.recall["filtered"] = recall(found, truth_filtered, k)
    row.note = "no remove_ids: deleting or replacing an article would mean rebuilding the graph"
    return row


if __name__ == "__main__":
    main()

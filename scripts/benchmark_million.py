"""A million passages on one machine: embedded stores of 10k, 100k and 1M passages built through the Store API,
then build time, search latency without and with a filter admitting ~2 % of passages, recall@10 against exact
search, the peak RSS of a process that only opens a store and searches it, the time to save a 64-article batch
at each size, and recall on real EmbeddingGemma vectors.

Real material comes from an index built by `newsqa ingest` with the default embedder (--real; e.g. samples/news
plus articles from scripts/longnews.py): its passages are the text of the synthetic records (8 passages per
article, one of 50 outlets, dates over three years, the metadata of a real article) and its vectors the centres
synthetic vectors cluster around (centre + noise, cosine ≈ 0.75 to it). Queries are noisy copies of points
drawn the same way but never stored. Exact neighbours are computed from the vectors file in slices, in this
process; the searches run in a fresh subprocess that opens the store and searches, whose VmHWM is the
peak RSS reported (its ru_maxrss too, which on Linux starts from this process's size at the fork).
Real-vector recall: the real index's passages, some articles held out as queries, stored with a low
`ann_threshold` so that they are searched through IVF-SQ8. Built stores stay in --work and are
reused by a later run (each run adds its timed batches to them). Asserts nothing.

    flock /tmp/newsqa-heavy.lock .venv/bin/python scripts/benchmark_million.py --real /tmp/newsqa-real-index
        [--sizes 10000 100000 1000000] [--work /tmp/newsqa-million] [--queries 200] [--saves 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.store.layout import ANN_PREFIX, VECTORS, manifest_of  # noqa: E402
from qa.store.store import Store  # noqa: E402
from qa.types import Article, Chunk, Filters  # noqa: E402
from scripts.benchmark_store import joined  # noqa: E402

PASSAGES = 8  # per synthetic article
OUTLETS = [f"Outlet {n:02d}" for n in range(50)]  # a filter on one admits ~2 % of the passages
BATCH = 64
BATCHES = 3
NOISE = 0.9  # centre + NOISE · (unit Gaussian / √d): cosine ≈ 1/√(1 + NOISE²) ≈ 0.74 to the centre
QUERY_NOISE = 0.8
K = 10


def unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1."""
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


class Material:
    """Passages, article metadata and vectors of a real index."""

    def __init__(self, path: Path) -> None:
        store = Store.load(path)
        self.articles = store.articles()
        self.texts = [chunk.text for _, chunk in store.chunk_items()]
        self.ids = np.asarray([v for v, _ in store.chunk_items()], dtype=np.int64)
        self.centres = np.stack([store.vector(int(v)) for v in self.ids]).astype(np.float32)
        self.store = store

    def points(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """`count` unit vectors clustered around the real vectors."""
        centres = self.centres[rng.integers(0, len(self.centres), count)]
        noise = rng.standard_normal(centres.shape, dtype=np.float32) * (NOISE / np.sqrt(centres.shape[1]))
        return unit(centres + noise)

    def article(self, number: int, rng: np.random.Generator) -> tuple[Article, list[Chunk], np.ndarray]:
        """Synthetic article `number`: PASSAGES real passages, an outlet, a date, a real article's metadata."""
        text, chunks = joined(f"m{number}", [self.texts[i] for i in rng.integers(0, len(self.texts), PASSAGES)])
        model = self.articles[number % len(self.articles)]
        published = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=int(rng.integers(0, 3 * 525_600)))
        article = Article(
            id=f"m{number}",
            title=f"{model.title} ({number})",
            text=text,
            source=OUTLETS[number % len(OUTLETS)],
            url=f"https://news.example/{number}",
            published=published,
            language=model.language,
            metadata=dict(model.metadata),
        )
        return article, chunks, self.points(PASSAGES, rng)


def build(path: Path, size: int, material: Material, saves: int) -> tuple[Store | None, dict]:
    """Store `size` passages in the folder, saved in `saves` steps (reused when already there); the store
    (None when reused) and the figures of its build."""
    if Store.exists(path) and manifest_of(path).get("chunks", 0) >= size:
        return None, {"cached": True}
    shutil.rmtree(path, ignore_errors=True)
    rng = np.random.default_rng(size)
    store = Store(path, material.store.embedding_model, material.store.dimension)
    articles = size // PASSAGES
    steps = [round(articles * (n + 1) / saves) for n in range(saves)]
    started, save_s, number = time.perf_counter(), [], 0
    for step in steps:
        while number < step:
            store.upsert(*material.article(number, rng))
            number += 1
        began = time.perf_counter()
        store.save()
        save_s.append(round(time.perf_counter() - began, 1))
    return store, {"cached": False, "build_s": round(time.perf_counter() - started, 1), "save_s": save_s}


def exact_neighbours(path: Path, queries: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Ids of the K nearest stored vectors to each query (among `allowed` ids when given), read in slices."""
    manifest = manifest_of(path)
    rows, dimension = int(manifest["vector_rows"]), int(manifest["dimension"])
    mask = None
    if allowed is not None:
        mask = np.zeros(rows, dtype=bool)
        mask[allowed] = True
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    best = np.zeros((len(queries), 0), dtype=np.float32)
    with open(path / VECTORS, "rb") as handle:
        for start in range(0, rows, 100_000):
            part = np.fromfile(handle, dtype="<f4", count=min(100_000, rows - start) * dimension)
            scores = queries @ part.reshape(-1, dimension).T
            if mask is not None:
                scores[:, ~mask[start : start + scores.shape[1]]] = -np.inf
            ids = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
            merged, merged_ids = np.concatenate([best, scores], 1), np.concatenate([best_ids, ids], 1)
            order = np.argsort(-merged, axis=1, kind="stable")[:, :K]
            best, best_ids = np.take_along_axis(merged, order, 1), np.take_along_axis(merged_ids, order, 1)
    return best_ids


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    """Mean recall@K."""
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth.tolist())]))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries into it the size of the
    parent at fork, so a child of a large process reports at least the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def search_child(path: Path, queries_file: Path, out: Path) -> None:
    """In a fresh process: open the store, time the searches, write what was found and the peak RSS."""
    queries = np.load(queries_file)
    started = time.perf_counter()
    store = Store.load(path)
    open_s = time.perf_counter() - started
    rss_open = peak_rss_mb()
    filters = Filters.build(sources=[OUTLETS[0]])
    started = time.perf_counter()
    allowed = store.allowed_ids(filters)
    allowed_ms = (time.perf_counter() - started) * 1e3
    for query in queries[:5]:  # warm up
        store.search_ids(query, K)
        store.search_ids(query, K, allowed)
    figures: dict = {"open_s": open_s, "rss_after_open_mb": rss_open, "allowed_ids_ms": allowed_ms}
    found: dict[str, list[list[int]]] = {}
    for name, search in (
        ("all", lambda q: store.search_ids(q, K)),
        ("filtered", lambda q: store.search_ids(q, K, allowed)),
        ("filtered_nearest", lambda q: store.nearest(q, K, filters)),
    ):
        times, results = [], []
        for query in queries:
            began = time.perf_counter()
            hits = search(query)
            times.append(time.perf_counter() - began)
            results.append([v for v, _ in hits])
        figures[name] = {
            "p50_ms": float(np.percentile(times, 50) * 1e3),
            "p95_ms": float(np.percentile(times, 95) * 1e3),
        }
        found[name] = results
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    figures["rss_now"] = {key: status[key].strip() for key in ("VmRSS", "RssAnon", "RssFile")}
    figures["index"] = {k: v for k, v in store.index_info.items() if k != "sha256"}
    out.write_text(json.dumps({"figures": figures, "found": found, "allowed": allowed}))


def measure_search(path: Path, material: Material, queries: int, work: Path) -> dict:
    """Searches in a fresh subprocess, recall computed here against exact search."""
    rng = np.random.default_rng(7)
    points = material.points(queries, rng)
    query_vectors = unit(
        points + rng.standard_normal(points.shape, dtype=np.float32) * (QUERY_NOISE / np.sqrt(points.shape[1]))
    )
    queries_file, out = work / "queries.npy", work / "found.json"
    np.save(queries_file, query_vectors)
    subprocess.run([sys.executable, __file__, "--search-child", str(path), str(queries_file), str(out)], check=True)
    result = json.loads(out.read_text())
    figures = result["figures"]
    allowed = np.asarray(result["allowed"], dtype=np.int64)
    figures["filter_share"] = len(allowed) / max(1, manifest_of(path)["chunks"])
    figures["recall_all"] = recall(result["found"]["all"], exact_neighbours(path, query_vectors, None))
    truth = exact_neighbours(path, query_vectors, allowed)
    figures["recall_filtered"] = recall(result["found"]["filtered"], truth)
    figures["recall_filtered_nearest"] = recall(result["found"]["filtered_nearest"], truth)
    return figures


def measure_saves(store: Store, material: Material) -> dict:
    """Time BATCHES saves of a 64-article batch into the store."""
    rng = np.random.default_rng(int(time.time()))
    first = 10_000_000 + len(store)  # numbers no earlier batch used
    times = []
    for batch in range(BATCHES):
        for number in range(first + batch * BATCH, first + (batch + 1) * BATCH):
            store.upsert(*material.article(number, rng))
        began = time.perf_counter()
        store.save()
        times.append(time.perf_counter() - began)
    return {
        "batch_save_ms": [round(t * 1e3) for t in times],
        "median_ms": statistics.median(times) * 1e3,
    }


def real_recall(material: Material, work: Path) -> dict:
    """Recall@K on the real vectors: a tenth of the articles held out as queries, the rest stored with a low
    threshold (IVF-SQ8), searched without and with a filter admitting half of the articles (past the exact scan)."""
    path = work / "real-ivf"
    shutil.rmtree(path, ignore_errors=True)
    source = material.store
    rng = np.random.default_rng(3)
    articles = [a for a in source.articles() if source.chunks_of(a.id)]
    held = set(rng.choice(len(articles), len(articles) // 10, replace=False).tolist())
    store = Store(path, source.embedding_model, source.dimension, ann_threshold=1_000)
    queries = []
    for n, article in enumerate(articles):
        if n in held:
            queries.append(source.vectors_of(article.id))
        else:
            store.upsert(article, source.chunks_of(article.id), source.vectors_of(article.id))
    store.save()
    store = Store.load(path)
    query_vectors = np.concatenate(queries)
    stored = np.asarray([v for v, _ in store.chunk_items()], dtype=np.int64)
    vectors = np.stack([store.vector(int(v)) for v in stored])
    some = [a.id for a in store.articles() if rng.random() < 0.5]
    allowed = np.asarray(store.vector_ids(some), dtype=np.int64)
    figures: dict = {"stored": len(stored), "queries": len(query_vectors), "index": store.index_info}
    for name, ids in (("all", None), ("filtered", allowed)):
        pool = stored if ids is None else np.sort(ids)
        rows = vectors[np.searchsorted(stored, pool)]
        truth = pool[np.argsort(-(query_vectors @ rows.T), axis=1, kind="stable")[:, :K]]
        found = [[v for v, _ in store.search_ids(q, K, None if ids is None else ids.tolist())] for q in query_vectors]
        figures[f"recall_{name}"] = recall(found, truth)
    figures["filter_share"] = len(allowed) / len(stored)
    figures["index"] = {k: v for k, v in store.index_info.items() if k != "sha256"}
    return figures


def folder_mb(path: Path) -> dict:
    """Sizes of the vectors file, the IVF file and the records, in MB."""
    sizes = {"vectors": 0.0, "ann": 0.0, "records": 0.0}
    for entry in path.iterdir():
        kind = "vectors" if entry.name == VECTORS else "ann" if entry.name.startswith(ANN_PREFIX) else "records"
        if entry.is_file():
            sizes[kind] += entry.stat().st_size / 1e6
    return {k: round(v) for k, v in sizes.items()}


def main() -> int:
    """Build, measure, print one JSON object per step."""
    if len(sys.argv) == 5 and sys.argv[1] == "--search-child":
        search_child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, required=True, help="an index built by `newsqa ingest`")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsqa-million"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--saves", type=int, default=2, help="saves the build of each store is split into")
    parser.add_argument("--skip", nargs="*", default=[], choices=["real", "search", "saves"])
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    material = Material(args.real)
    print(json.dumps({"real": str(args.real), "passages": len(material.texts), "articles": len(material.articles)}))
    if "real" not in args.skip:
        print(json.dumps({"real_vectors": real_recall(material, args.work)}), flush=True)
    for size in args.sizes:
        path = args.work / f"store-{size}"
        store, built = build(path, size, material, args.saves)
        report: dict = {"size": size, "build": built}
        if "search" not in args.skip:
            report["search"] = measure_search(path, material, args.queries, args.work)
        if "saves" not in args.skip:
            report["saves"] = measure_saves(store or Store.load(path), material)
        del store
        report["mb"] = folder_mb(path)
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

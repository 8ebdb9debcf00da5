"""Save cost of an index folder: a 64-article batch saved into indexes of growing size, format 3 (records in
SQLite, vectors appended) side by side with format 2 (a whole snapshot per save, the store as of the commit
given by --before).

For each size, both stores are built with the same synthetic articles (real-looking text, ~6 passages
each, 768-d unit vectors), saved once, then `--batches` batches of 64 new articles are upserted and saved;
the median save time is printed with the folder size. The format-2 store is read from git history, so the
two run in one process on the same data. Asserts nothing.

    flock /tmp/newsqa-heavy.lock .venv/bin/python scripts/benchmark_store.py [--sizes 10000 100000]
        [--batches 3] [--dim 768] [--before f485fe3] [--ann-threshold 50000]
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.store.store import Store  # noqa: E402
from qa.types import Article, Chunk  # noqa: E402

BATCH = 64
PASSAGES_PER_ARTICLE = 6
WORDS = (
    "council transport budget river bridge station hospital school market harbour energy housing election "
    "court police weather festival museum library university factory workers union minister mayor residents"
).split()


def old_store_class(commit: str) -> type:
    """The `Store` class of qa/store/store.py at `commit` (format 2: a whole snapshot per save), imported with the
    rest of that commit's package, which is then taken off `sys.modules` so that this process goes on with
    today's `qa`."""
    folder = Path(tempfile.mkdtemp(prefix="newsqa-store-before-"))
    archive = subprocess.run(["git", "archive", commit, "qa"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    today = {name: module for name, module in sys.modules.items() if name == "qa" or name.startswith("qa.")}
    for name in today:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("qa.store.store").Store
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == "qa" or name.startswith("qa.")]:
            del sys.modules[name]
        sys.modules.update(today)


def joined(article_id: str, passages: list[str]) -> tuple[str, list[Chunk]]:
    """An article text made of `passages` (blank lines between) and its chunks, one per passage."""
    text = "\n\n".join(passages)
    chunks, cursor = [], 0
    for position, passage in enumerate(passages):
        start = text.index(passage, cursor)
        chunks.append(Chunk(f"{article_id}#{position}", article_id, position, passage, start, start + len(passage)))
        cursor = start + len(passage)
    return text, chunks


def article(number: int, rng: np.random.Generator, dim: int) -> tuple[Article, list[Chunk], np.ndarray]:
    """A news-like article of PASSAGES_PER_ARTICLE passages of ~90 words, with unit vectors."""
    passages = [" ".join(rng.choice(WORDS, 90)).capitalize() + "." for _ in range(PASSAGES_PER_ARTICLE)]
    text, chunks = joined(f"a{number}", passages)
    vectors = rng.standard_normal((len(chunks), dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    title = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} report {number}"
    return (
        Article(id=f"a{number}", title=title, text=text, source="Courier", metadata={"minhash": "0" * 64}),
        chunks,
        vectors,
    )


def folder_mb(path: Path) -> float:
    """The size of a folder's files, in MB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def measure(cls: type, path: Path, size: int, batches: int, dim: int, threshold: int) -> tuple[float, list[float]]:
    """(seconds of the first save of `size` passages, seconds of each later 64-article save)."""
    rng = np.random.default_rng(0)
    store = cls(path, "synthetic", dim, threshold)
    articles = size // PASSAGES_PER_ARTICLE
    for number in range(articles):
        store.upsert(*article(number, rng, dim))
    started = time.perf_counter()
    store.save()
    first = time.perf_counter() - started
    times = []
    for batch in range(batches):
        for number in range(articles + batch * BATCH, articles + (batch + 1) * BATCH):
            store.upsert(*article(number, rng, dim))
        started = time.perf_counter()
        store.save()
        times.append(time.perf_counter() - started)
    return first, times


def main() -> int:
    """Print one line per (size, format)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="passages in the index")
    parser.add_argument("--batches", type=int, default=3, help="64-article saves timed per size")
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--before", default="f485fe3", help="the commit whose store is format 2")
    parser.add_argument("--ann-threshold", type=int, default=50_000, help="as the setting (IVF past it)")
    args = parser.parse_args()
    stores = {"format 2 (snapshot per save)": old_store_class(args.before), "format 3 (SQLite + appended)": Store}
    print(f"64-article batch ({BATCH * PASSAGES_PER_ARTICLE} passages) saved into an index of N passages, {args.dim}-d")
    print(f"{'passages':>9}  {'store':30} {'first save s':>12} {'batch save ms (median)':>23} {'each':>22} {'MB':>7}")
    for size in args.sizes:
        for name, cls in stores.items():
            folder = Path(tempfile.mkdtemp(prefix="newsqa-bench-store-"))
            try:
                first, times = measure(cls, folder / "index", size, args.batches, args.dim, args.ann_threshold)
                each = " ".join(f"{t * 1000:.0f}" for t in times)
                print(
                    f"{size:>9}  {name:30} {first:12.1f} {statistics.median(times) * 1000:23.0f} {each:>22} "
                    f"{folder_mb(folder):7.0f}",
                    flush=True,
                )
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

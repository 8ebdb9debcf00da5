"""Rounds of a real `newsqa ingest` process killed with SIGKILL, and what each kill left on disk.

Used by tests/test_durability.py and scripts/kill_test.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.store.check import check
from qa.store.layout import CURRENT, TMP_MARK, snapshot_version
from qa.store.store import Store

FAST_EMBEDDING = "all-minilm-l6-v2"
CITIES = ["Lyon", "Leeds", "Bergen", "Porto", "Gdansk", "Turin", "Malmo", "Ghent", "Brno", "Cork", "Bilbao", "Graz"]
SUBJECTS = [
    ("tram line", "opened", "links the station to the university"),
    ("cycling bridge", "approved", "crosses the river near the old docks"),
    ("library", "reopened", "adds a reading room for children"),
    ("harbour", "electrified", "lets cruise ships plug into shore power"),
    ("hospital wing", "inaugurated", "doubles the number of intensive care beds"),
    ("bus depot", "converted", "charges forty electric buses overnight"),
    ("school", "renovated", "cuts its heating bill by half"),
    ("market hall", "restored", "hosts sixty local producers every Saturday"),
]
MODES = ("mid-save", "after-commit", "any-time")


def write_corpus(path: Path, count: int, seed: int) -> dict[str, str]:
    """A JSON Lines file of `count` short generated news articles; returns their id → text."""
    rng = np.random.default_rng(seed)
    texts: dict[str, str] = {}
    with open(path, "w", encoding="utf-8") as handle:
        for number in range(count):
            city = CITIES[int(rng.integers(len(CITIES)))]
            subject, verb, detail = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
            cost = int(rng.integers(2, 90))
            day = int(rng.integers(1, 28))
            text = (
                f"{city} {verb} its new {subject} on {day} March, the city council said in statement number "
                f"{number}. The project {detail} and cost {cost} million euros.\n\n"
                f"Residents asked for it for {int(rng.integers(2, 20))} years; the mayor called it a turning point "
                f"for the {['north', 'south', 'east', 'west'][number % 4]} of {city}."
            )
            article_id = f"story-{number:04d}"
            record = {
                "id": article_id,
                "title": f"{city} {verb} its {subject} ({number})",
                "text": text,
                "published": f"2024-03-{day:02d}",
                "source": f"{city} Courier",
            }
            handle.write(json.dumps(record) + "\n")
            texts[article_id] = text
    return texts


def ingest_command(corpus: Path, index: Path, batch: int) -> list[str]:
    """The `newsqa ingest` command line the rounds run."""
    return [
        sys.executable,
        "-m",
        "qa.cli",
        "ingest",
        str(corpus),
        "--index",
        str(index),
        "--embedding-model",
        FAST_EMBEDDING,
        "--set",
        f"ingest_batch_articles={batch}",
        "--json",
    ]


def offline_env() -> dict[str, str]:
    """This process's environment, with model hubs off."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@dataclass
class Round:
    """One run of `newsqa ingest` and what the kill left."""

    number: int
    mode: str
    killed: bool = False
    mid_save: bool = False
    before: int = 0
    after: int = 0
    lost: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    whole_batches: bool = True
    opens: bool = True
    check_ok: bool = True
    check_summary: str = ""
    seconds: float = 0.0


def stored(index: Path) -> dict[str, str]:
    """id → text of the articles the index holds now (empty when nothing was saved yet)."""
    if not Store.exists(index):
        return {}
    store = Store.load(index)
    return {article.id: article.text for article in store.articles()}


def _version(index: Path) -> int:
    try:
        return snapshot_version((index / CURRENT).read_text().strip()) or 0
    except OSError:
        return 0


def _saving(index: Path, pid: int) -> int:
    """The version the process `pid` is saving right now (its staging folder is there), else 0."""
    try:
        names = os.listdir(index)
    except FileNotFoundError:
        return 0
    staged = [n[1:].split(TMP_MARK)[0] for n in names if n.startswith(".v") and n.endswith(f"{TMP_MARK}{pid}")]
    return max((snapshot_version(name) or 0 for name in staged), default=0)


def run_round(
    number: int, corpus: Path, index: Path, texts: dict[str, str], batch: int, rng: np.random.Generator
) -> Round:
    """Start `newsqa ingest`, kill it at a point chosen by `rng`, then inspect the index.

    `mid-save` kills during the n-th save of the run, `after-commit` up to a second after the n-th
    commit (n from 1 to 4), `any-time` after 0 to 25 seconds, model loading included."""
    mode = MODES[int(rng.integers(len(MODES)))]
    nth = int(rng.integers(1, 5))
    delay = float(rng.uniform(0.0, 1.0)) if mode == "after-commit" else float(rng.uniform(0.0, 25.0))
    result = Round(number, mode)
    before = stored(index)
    result.before = len(before)
    start_version = _version(index)
    started = time.monotonic()
    process = subprocess.Popen(
        ingest_command(corpus, index, batch), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=offline_env()
    )
    kill_at: float | None = started + delay if mode == "any-time" else None
    while process.poll() is None:
        now = time.monotonic()
        if mode == "mid-save" and _saving(index, process.pid) >= start_version + nth:
            result.mid_save = True
            kill_at = now
        elif mode == "after-commit" and kill_at is None and _version(index) >= start_version + nth:
            kill_at = now + delay
        if kill_at is not None and now >= kill_at:
            process.send_signal(signal.SIGKILL)
            result.killed = True
            break
        time.sleep(0.001)
    process.wait()
    result.seconds = time.monotonic() - started

    try:
        after = stored(index)
    except Exception as error:  # the index must always open; record why it did not
        result.opens = False
        result.check_summary = str(error)
        return result
    result.after = len(after)
    result.lost = sorted(set(before) - set(after))
    result.altered = sorted(a for a, text in after.items() if texts.get(a) != text)
    added = result.after - result.before
    result.whole_batches = added % batch == 0 or result.after == len(texts)
    if not Store.exists(index):
        result.check_summary = "killed before the first save: nothing stored yet"
        return result
    report = check(index)
    result.check_ok = report.ok
    result.check_summary = report.summary()
    return result


def finish(corpus: Path, index: Path, batch: int) -> tuple[int, dict]:
    """Run `newsqa ingest` to the end; returns its exit code and JSON report."""
    done = subprocess.run(
        ingest_command(corpus, index, batch), capture_output=True, text=True, env=offline_env(), timeout=1800
    )
    return done.returncode, json.loads(done.stdout) if done.returncode == 0 else {"stderr": done.stderr}

"""Rounds of a real `newsqa ingest` process killed with SIGKILL, and what each kill left on disk.

Just before each kill the process dumps its Python stack (faulthandler, on SIGUSR1), so every kill
records where it landed: starting up, loading the model, reading, embedding, saving, or between
batches (chunking, storing, replacing). Used by tests/test_durability.py and scripts/kill_test.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import StoreError
from qa.store.check import check
from qa.store.layout import SAVING, TMP_MARK, manifest_of
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
# Where a kill can land. "saving" is before the commit (appending vectors, writing records); "between batches"
# is the rest of the ingestion loop: after a commit (removing files no save uses), chunking, storing.
LANDINGS = (
    "starting",
    "loading the model",
    "reading",
    "embedding",
    "saving",
    "between batches",
    "finishing",
    "unknown",
)
NAMED_LANDINGS = ("embedding", "saving", "between batches")  # where a kill test must have killed
# Any-time kills land within this many seconds of the start: model loading (~1 s now that answering code
# imports no torch, more on a busy machine) and the first few hundred articles.
ANY_TIME_S = 6.0
# Run `newsqa` with its Python stack dumped to stderr on SIGUSR1, so the harness sees where a kill lands.
_TRACED = (
    "import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
    "from qa.cli import main; sys.exit(main(sys.argv[1:]))"
)
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+ in (?P<function>\S+)', re.MULTILINE)


def write_corpus(path: Path, count: int, seed: int, first: int = 0) -> dict[str, str]:
    """A JSON Lines file of `count` short generated news articles (appended to when `first` > 0, numbered
    from `first`); returns their id → text."""
    rng = np.random.default_rng(seed + first)
    texts: dict[str, str] = {}
    with open(path, "a" if first else "w", encoding="utf-8") as handle:
        for number in range(first, first + count):
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
        "-c",
        _TRACED,
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
    """This process's environment, with model hubs off and this checkout's `qa` first on the path."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": path}


@dataclass
class Round:
    """One run of `newsqa ingest` and what the kill left."""

    number: int
    mode: str
    killed: bool = False
    mid_save: bool = False
    landing: str | None = None  # where the kill landed (one of LANDINGS), None when not killed
    stack: list[str] = field(default_factory=list)  # the newsqa functions on the stack, innermost first
    before: int = 0
    after: int = 0
    lost: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    whole_batches: bool = True
    opens: bool = True
    check_ok: bool = True
    check_summary: str = ""
    seconds: float = 0.0
    failed: str = ""  # the end of stderr of a run that exited with an error without being killed


def stored(index: Path) -> dict[str, str]:
    """id → text of the articles the index holds now (empty when nothing was saved yet)."""
    if not Store.exists(index):
        return {}
    store = Store.load(index)
    return {article.id: article.text for article in store.articles()}


def _version(index: Path) -> int:
    try:
        return int(manifest_of(index)["version"])
    except (OSError, StoreError):
        return 0


def _saving(index: Path, pid: int) -> int:
    """The version the process `pid` is saving right now (its marker file is there), else 0."""
    try:
        return int((index / f"{SAVING}{TMP_MARK}{pid}").read_text() or 0)
    except (OSError, ValueError):
        return 0


def run_round(
    number: int, corpus: Path, index: Path, texts: dict[str, str], batch: int, rng: np.random.Generator
) -> Round:
    """Start `newsqa ingest`, kill it at a point chosen by `rng`, then inspect the index.

    `mid-save` kills during the n-th save of the run, `after-commit` at once (half of the time: the
    short stretch between two batches) or up to a second after the n-th commit (n from 1 to 4),
    `any-time` within ANY_TIME_S seconds, model loading included."""
    mode = MODES[int(rng.integers(len(MODES)))]
    nth = int(rng.integers(1, 5))
    if mode == "after-commit":
        delay = 0.0 if rng.random() < 0.5 else float(rng.uniform(0.0, 1.0))
    else:
        delay = float(rng.uniform(0.0, ANY_TIME_S))
    result = Round(number, mode)
    before = stored(index)
    result.before = len(before)
    start_version = _version(index)
    started = time.monotonic()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            ingest_command(corpus, index, batch), stdout=subprocess.DEVNULL, stderr=stderr, env=offline_env()
        )
        kill_at: float | None = started + delay if mode == "any-time" else None
        while process.poll() is None:
            now = time.monotonic()
            if mode == "mid-save" and _saving(index, process.pid) >= start_version + nth:
                # Stopped first, so that the save cannot finish before the kill: its marker, still there once the
                # process is stopped, proves the kill lands inside the save. Gone already: wait for the next save.
                process.send_signal(signal.SIGSTOP)
                if _saving(index, process.pid) >= start_version + nth:
                    result.mid_save = True
                    kill_at = now
                else:
                    process.send_signal(signal.SIGCONT)
            elif mode == "after-commit" and kill_at is None and _version(index) >= start_version + nth:
                kill_at = now + delay
            if kill_at is not None and now >= kill_at:
                # A stopped process cannot dump its stack; inside a save its marker file says where the kill landed.
                if mode != "mid-save":
                    result.stack = _stack_before_kill(process, stderr)
                process.send_signal(signal.SIGKILL)
                result.killed = True
                break
            time.sleep(0.001)
        process.wait()
        if not result.killed and process.returncode != 0:
            stderr.seek(0)
            result.failed = stderr.read().decode("utf-8", errors="replace")[-2000:] or f"exit {process.returncode}"
    result.seconds = time.monotonic() - started
    if result.killed:
        # A save's marker left behind proves the kill landed inside a save, whatever the stack said.
        result.mid_save = _saving(index, process.pid) > 0
        result.landing = "saving" if result.mid_save else landing(result.stack)

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


def _stack_before_kill(process: subprocess.Popen, stderr: Any) -> list[str]:
    """The newsqa functions on the main thread's stack (innermost first), dumped on SIGUSR1; when none are on it
    (a kill while Python imports torch), every function on it, so that the stack says where the kill landed."""
    start = stderr.seek(0, os.SEEK_END)
    process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 2.0
    main: list[tuple[str, str]] = []
    current: list[tuple[str, str]] = []
    while time.monotonic() < deadline and process.poll() is None and not main:
        time.sleep(0.005)
        stderr.seek(start)
        text = stderr.read().decode("utf-8", errors="replace")
        # One section per thread; the main thread's ends in the `-c` program's frame, unless faulthandler cut
        # a deep stack (imports nest ~6 frames each) at 100 frames: then the section of the thread the signal
        # interrupted, which is the main thread, marked "Current thread".
        for section in re.split(r"\n(?=(?:Current thread|Thread) 0x)", text):
            frames = [(m["file"], m["function"]) for m in _FRAME.finditer(section)]
            if frames and frames[-1] == ("<string>", "<module>"):
                main = frames
            elif frames and section.lstrip().startswith("Current thread"):
                current = frames
    frames = main or current
    ours = [f"{Path(file).stem}.{function}" for file, function in frames if f"{os.sep}qa{os.sep}" in file]
    return ours or [f"{Path(file).stem}.{function}" for file, function in frames]


def landing(stack: list[str]) -> str:
    """Where a kill landed, from the newsqa functions on the stack (innermost first)."""
    functions = {entry.split(".", 1)[1] for entry in stack}
    if "store._committed" in stack:
        return "between batches"  # the batch is committed; files no save uses are being removed
    if "store.save" in stack:
        return "saving"
    if {"warm_up", "_load_torch", "_export"} & functions:
        return "loading the model"
    if {"encode_documents", "encode_documents_uncached", "_encode"} & functions:
        return "embedding"
    if "ingest_articles" in functions:
        return "between batches"
    if {"read_paths", "read_urls"} & functions:
        return "reading"
    if stack[:1] == ["cli.cmd_ingest"]:
        return "finishing"  # every batch committed; the report is being printed
    return "starting" if stack else "unknown"


def finish(corpus: Path, index: Path, batch: int) -> tuple[int, dict]:
    """Run `newsqa ingest` to the end; returns its exit code and JSON report."""
    done = subprocess.run(
        ingest_command(corpus, index, batch), capture_output=True, text=True, env=offline_env(), timeout=1800
    )
    return done.returncode, json.loads(done.stdout) if done.returncode == 0 else {"stderr": done.stderr}

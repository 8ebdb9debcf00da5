"""Two writers and two readers on one PostgreSQL index at once, and what they left behind.

Writers are real `newsqa ingest` processes (mode "cli") or processes upserting generated articles with random
vectors through the store (mode "store", no model). Their article sets overlap, so both write some of the same
articles at the same time. Readers search in a loop until the writers are done and check every hit: its passage
is its article's text at its offsets. Used by tests/test_concurrency_pg.py and scripts/concurrency_pg.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from qa.store.postgres import SCHEMA, PostgresBackend
from tests.store.kill_harness import FAST_EMBEDDING, write_corpus

ROOT = Path(__file__).resolve().parent.parent
DIM = 32

STORE_WRITER = """
import json, sys, numpy as np
from qa.store.postgres import PostgresBackend
from qa.types import Article, Chunk
url, path, batch, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
backend = PostgresBackend(url)
store = backend.create("synthetic", dim)
saved = 0
records = [json.loads(line) for line in open(path, encoding="utf-8")]
for start in range(0, len(records), batch):
    for record in records[start:start + batch]:
        text = record["text"]
        spans, cursor = [], 0
        for part in text.split("\\n\\n"):
            begin = text.index(part, cursor)
            spans.append((begin, begin + len(part)))
            cursor = begin + len(part)
        chunks = [Chunk(f"{record['id']}#{i}", record["id"], i, text[a:b], a, b) for i, (a, b) in enumerate(spans)]
        seed = int(record["id"].split("-")[1])
        vectors = np.random.default_rng(seed).normal(size=(len(chunks), dim)).astype(np.float32)
        article = Article(id=record["id"], title=record["title"], text=text, source=record["source"])
        store.upsert(article, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    store.save()
    saved += len(records[start:start + batch])
    print(f"saved {saved}", file=sys.stderr, flush=True)
print(json.dumps({"saved": saved}))
"""

READER = """
import json, os, sys, time
import numpy as np
from qa.errors import StoreError
from qa.types import Filters
url, mode, stop, model, dim, ready = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
questions = ["Which city opened a new tram line?", "How much did the library cost?", "cycling bridge approved",
             "Who called it a turning point?", "harbour electrified shore power"]
filters = [None, Filters.build(sources=["Lyon Courier"]), Filters.build(sources=["l'Italie", "x' OR '1'='1"])]
rng = np.random.default_rng(os.getpid())
queries, bad, errors, latencies, empty = 0, 0, [], [], 0
if mode == "cli":
    from qa.assistant import Assistant
    from qa.config import Settings
    assistant = Assistant.open(url, Settings(embedding_model=model))
    assistant.embedder.warm_up()
else:
    from qa.store.postgres import PostgresBackend
    backend = PostgresBackend(url)
open(ready, "w").close()
while True:
    finished = os.path.exists(stop)
    chosen = filters[queries % len(filters)]
    started = time.perf_counter()
    try:
        if mode == "cli":
            hits = [(h.chunk, h.article) for h in assistant.retrieve(questions[queries % 5], k=5, filters=chosen)]
        else:
            if not backend.exists():
                raise StoreError("the index is empty")
            store = backend.load()
            query = rng.normal(size=dim).astype(np.float32)
            with store.reading():
                hits = []
                for vector_id, _ in store.nearest(query / np.linalg.norm(query), 5, chosen):
                    chunk = store.chunk(vector_id)
                    hits.append((chunk, store.article(chunk.article_id)))
    except StoreError as error:
        if "empty" in str(error) or "no index" in str(error):
            empty += 1
            time.sleep(0.05)
            if finished:
                break
            continue
        errors.append(repr(error))
        hits = []
    except Exception as error:
        errors.append(repr(error))
        hits = []
    latencies.append(time.perf_counter() - started)
    queries += 1
    for chunk, article in hits:
        if article is None or article.id != chunk.article_id or article.text[chunk.start:chunk.end] != chunk.text:
            bad += 1
    if finished:
        break
    time.sleep(0.01)
print(json.dumps({"queries": queries, "bad_hits": bad, "errors": errors[:5], "error_count": len(errors),
                  "waited_for_index": empty, "latencies": latencies}))
"""


@dataclass
class Outcome:
    """What a run did and left: process results, and the database's state afterwards."""

    writers: list[dict[str, Any]] = field(default_factory=list)  # exit code, seconds, report
    readers: list[dict[str, Any]] = field(default_factory=list)
    expected_articles: int = 0
    expected_passages: int = 0
    articles: int = 0
    passages: int = 0
    duplicate_passages: int = 0
    articles_without_passages: int = 0
    lost_articles: list[str] = field(default_factory=list)
    check_ok: bool = False
    check_summary: str = ""
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        """Failed writer processes plus reader errors and reader hits that did not resolve."""
        failed = sum(w["returncode"] != 0 for w in self.writers)
        return failed + sum(r.get("error_count", 1) + r.get("bad_hits", 0) for r in self.readers)


def split_corpus(folder: Path, count: int, overlap: float, seed: int = 3) -> tuple[Path, Path, dict[str, str]]:
    """A generated corpus of `count` articles in two JSON Lines files that share `overlap` of them."""
    whole = folder / "corpus.jsonl"
    texts = write_corpus(whole, count, seed)
    lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)
    shared = int(count * overlap)
    cut = (count + shared) // 2
    first, second = folder / "first.jsonl", folder / "second.jsonl"
    first.write_text("".join(lines[:cut]), encoding="utf-8")
    second.write_text("".join(lines[cut - shared :]), encoding="utf-8")
    return first, second, texts


def _environment() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _writer_command(mode: str, url: str, corpus: Path, batch: int, model: str) -> list[str]:
    if mode == "store":
        return [sys.executable, "-c", STORE_WRITER, url, str(corpus), str(batch), str(DIM)]
    return [
        sys.executable,
        "-m",
        "qa.cli",
        "ingest",
        str(corpus),
        "--index",
        url,
        "--embedding-model",
        model,
        "--set",
        f"ingest_batch_articles={batch}",
        "--json",
    ]


def expected_passages(mode: str, corpus: Path, model: str) -> dict[str, int]:
    """How many passages each article of the corpus must end up with."""
    if mode == "store":
        return {
            json.loads(line)["id"]: len(json.loads(line)["text"].split("\n\n"))
            for line in corpus.read_text(encoding="utf-8").splitlines()
        }
    from qa.config import Settings
    from qa.ingest import read_paths
    from qa.ingest.chunking import Chunker

    settings = Settings(embedding_model=model)
    chunker = Chunker(settings.chunk_size, settings.min_chunk_size)
    return {article.id: len(chunker.run(article)) for article in read_paths([corpus]).articles}


def run(
    url: str,
    mode: str = "store",
    count: int = 120,
    batch: int = 8,
    overlap: float = 0.3,
    model: str = FAST_EMBEDDING,
    readers: int = 2,
) -> Outcome:
    """Two writers and `readers` readers at once on the (empty) database at `url`; returns the outcome."""
    outcome = Outcome()
    environment = _environment()
    with tempfile.TemporaryDirectory(prefix="newsqa-concurrency-") as folder:
        first, second, texts = split_corpus(Path(folder), count, overlap)
        expected = expected_passages(mode, Path(folder) / "corpus.jsonl", model)
        stop = Path(folder) / "stop"
        reading = [
            subprocess.Popen(
                [sys.executable, "-c", READER, url, mode, str(stop), model, str(DIM), str(Path(folder) / f"ready{n}")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=environment,
                cwd=ROOT,
            )
            for n in range(readers)
        ]
        _wait_until_ready(Path(folder), readers, reading)
        started = time.perf_counter()
        writing = [
            (
                subprocess.Popen(
                    _writer_command(mode, url, corpus, batch, model),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=environment,
                    cwd=ROOT,
                ),
                time.perf_counter(),
            )
            for corpus in (first, second)
        ]
        for process, began in writing:
            out, err = process.communicate(timeout=1800)
            report = json.loads(out) if process.returncode == 0 and out.strip().startswith("{") else {}
            outcome.writers.append(
                {
                    "returncode": process.returncode,
                    "seconds": time.perf_counter() - began,
                    "report": report,
                    "stderr": err.strip()[-1500:],
                }
            )
        stop.touch()
        for process in reading:
            out, err = process.communicate(timeout=600)
            try:
                outcome.readers.append(json.loads(out.strip().splitlines()[-1]))
            except (IndexError, ValueError):
                outcome.readers.append({"error_count": 1, "errors": [err.strip()[-1500:]], "queries": 0})
        outcome.seconds = time.perf_counter() - started
    outcome.expected_articles = len(texts)
    outcome.expected_passages = sum(expected.values())
    _inspect(url, expected, outcome)
    return outcome


def _wait_until_ready(folder: Path, count: int, processes: list[subprocess.Popen], timeout_s: float = 600) -> None:
    """Until every reader has loaded what it needs (its model), so that writers and searches overlap."""
    deadline = time.monotonic() + timeout_s
    while len(list(folder.glob("ready*"))) < count:
        dead = [p for p in processes if p.poll() is not None]
        if dead:
            error = dead[0].stderr.read().strip()[-1500:] if dead[0].stderr else ""
            raise RuntimeError(f"a reader exited before it was ready: {error}")
        if time.monotonic() > deadline:
            raise RuntimeError("a reader was not ready in time; run scripts/concurrency_pg.py to see why")
        time.sleep(0.1)


def _inspect(url: str, expected: dict[str, int], outcome: Outcome) -> None:
    with psycopg.connect(url) as connection:
        outcome.articles = connection.execute(f"SELECT count(*) FROM {SCHEMA}.articles").fetchone()[0]
        outcome.passages = connection.execute(f"SELECT count(*) FROM {SCHEMA}.passages").fetchone()[0]
        outcome.duplicate_passages = connection.execute(
            f"""SELECT count(*) FROM (SELECT article_id, text, start_char FROM {SCHEMA}.passages
                GROUP BY 1, 2, 3 HAVING count(*) > 1) AS doubled"""
        ).fetchone()[0]
        stored = dict(
            connection.execute(f"SELECT article_id, count(*) FROM {SCHEMA}.passages GROUP BY article_id").fetchall()
        )
        ids = {row[0] for row in connection.execute(f"SELECT id FROM {SCHEMA}.articles").fetchall()}
    outcome.articles_without_passages = len(ids - set(stored))
    outcome.lost_articles = sorted(a for a, n in expected.items() if a not in ids or stored.get(a) != n)
    report = PostgresBackend(url).check()
    outcome.check_ok, outcome.check_summary = report.ok, report.summary()

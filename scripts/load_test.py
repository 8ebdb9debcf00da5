"""Load-test the newsqa web UI: concurrent askers on the `/ask` API while other processes write the same index.

1. Builds an index of the sample articles with `newsqa ingest` in a temporary folder, and serves a copy of it
   with `newsqa serve` on 127.0.0.1.
2. For a bounded time, N `gradio_client` clients (separate sessions) each ask the gold questions one after
   another, while two writer threads run `newsqa ingest` of generated articles (plus one garbage file) and
   `newsqa delete` of some of them into the served index.
3. Reports throughput, latency (p50/p95) split into queue wait and answering, errors, the writers' operations,
   then checks the index: it opens, holds exactly the expected articles (every article ingested and not deleted
   is still there: "articles lost" counts those that are not), every chunk belongs to a stored article, and
   `newsqa check` passes. Every answer's citations must resolve: each `[n]` marker has its citation, each
   citation is a passage retrieved for that answer, of an article that was stored, and its quote is that
   passage's text at the quoted offsets.

The LLM answers one question at a time (the app's queue runs one model job at a time), so with N clients most
of each request's latency is waiting in the queue: the report shows how much.

Usage:
    .venv/bin/python scripts/load_test.py [--clients 8] [--seconds 600] [--extra 400] [--embedding-model NAME]
Exits 1 when any request failed, a citation did not resolve, or the index is inconsistent afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.store.store import Store  # noqa: E402
from qa.text import CITATION_MARKER  # noqa: E402

STARTUP_SECONDS = 600
REQUEST_TIMEOUT = 900
WRITER_PAUSE = 2.0
CITIES = ["Aarhus", "Bilbao", "Cork", "Dijon", "Essen", "Faro", "Graz", "Hull", "Izmir", "Jena", "Kaunas", "Lille"]
THINGS = ["tram line", "library", "cycling bridge", "ferry terminal", "solar farm", "concert hall", "hospital wing"]


@dataclass
class Request:
    """One question asked through /ask."""

    client: int
    question: str
    started: float
    latency: float = 0.0
    answering: float | None = None
    abstained: bool | None = None
    hit_ids: list[str] = field(default_factory=list)
    citations: int = 0
    error: str | None = None


@dataclass
class WriterOp:
    """One `newsqa ingest` or `newsqa delete` run by a writer thread."""

    kind: str
    seconds: float
    exit_code: int
    detail: str


# -- setup ----------------------------------------------------------------------------------------


EMBEDDING_MODEL: str | None = None  # --embedding-model, for every newsqa subprocess


def env() -> dict[str, str]:
    """The environment of every newsqa subprocess: offline, no analytics, no password."""
    values = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    values.pop("NEWSQA_AUTH", None)
    if EMBEDDING_MODEL:
        values["NEWSQA_EMBEDDING_MODEL"] = EMBEDDING_MODEL
    return values


def newsqa(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run the newsqa CLI of this checkout."""
    command = [sys.executable, "-m", "qa.cli", *args]
    return subprocess.run(command, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    """Block until the app answers on `url`; exit when it dies or takes too long."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    sys.exit(f"the server did not answer on {url} within {STARTUP_SECONDS} s")


def generated_articles(folder: Path, count: int, rng: random.Random) -> list[tuple[str, Path]]:
    """`count` small English articles as Markdown files, with ids load-000…; plus nothing else."""
    folder.mkdir(parents=True)
    made = []
    for number in range(count):
        city, thing = rng.choice(CITIES), rng.choice(THINGS)
        article_id = f"load-{number:03d}"
        cost, people = rng.randint(2, 900), rng.randint(100, 90_000)
        text = (
            f"The city of {city} opened a new {thing} on Monday after {rng.randint(2, 9)} years of planning. "
            f"The project cost {cost} million euros, the council said.\n\n"
            f"Officials expect about {people:,} people to use the {thing} every week. "
            f"Mayor {rng.choice(['Ana', 'Lena', 'Omar', 'Piet'])} {rng.choice(['Berg', 'Costa', 'Dahl'])} "
            f"called it a turning point for the region."
        )
        path = folder / f"{article_id}.md"
        path.write_text(
            f"---\nid: {article_id}\ntitle: {city} opens a new {thing}\nsource: Load Gazette\n"
            f"published: 2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}\nlanguage: en\n---\n{text}\n",
            encoding="utf-8",
        )
        made.append((article_id, path))
    return made


# -- the load -------------------------------------------------------------------------------------


def citation_problems(answer: dict, known_ids: set[str]) -> list[str]:
    """Why the answer's citations do not resolve (empty when every one does)."""
    problems = []
    hits = {hit["chunk"]["id"]: hit["chunk"] for hit in answer["hits"]}
    numbers = {citation["number"] for citation in answer["citations"]}
    missing = {int(n) for n in CITATION_MARKER.findall(answer["answer"])} - numbers
    if missing:
        problems.append(f"markers without a citation: {sorted(missing)}")
    for citation in answer["citations"]:
        name = f"[{citation['number']}] {citation['article_id']}"
        quote_start, quote_end = citation["quote_start"], citation["quote_end"]  # offsets in the article, as start/end
        chunk = hits.get(citation["chunk_id"])
        if citation["article_id"] not in known_ids:
            problems.append(f"{name}: an article that was never stored")
        elif chunk is None or chunk["article_id"] != citation["article_id"]:
            problems.append(f"{name}: not a passage retrieved for this answer")
        elif (chunk["text"], chunk["start"], chunk["end"]) != (citation["passage"], citation["start"], citation["end"]):
            problems.append(f"{name}: the passage differs from the retrieved one")
        elif citation["passage"][quote_start - citation["start"] : quote_end - citation["start"]] != citation["quote"]:
            problems.append(f"{name}: the quote is not the passage's text at its offsets")
    return problems


def asker(
    number: int, url: str, questions: list[str], deadline: float, results: list[Request], known_ids: set[str]
) -> None:
    """One client session asking questions one after another until the deadline."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    order = questions[number::1] + questions[:number]
    position = 0
    while time.monotonic() < deadline:
        question = order[position % len(order)]
        position += 1
        request = Request(number, question, time.monotonic())
        try:
            answer = client.submit(question, api_name="/ask").result(timeout=REQUEST_TIMEOUT)
            request.answering = float(answer["timings"].get("total", 0.0))
            request.abstained = bool(answer["abstained"])
            request.hit_ids = [hit["article"]["id"] for hit in answer["hits"]]
            request.citations = len(answer["citations"])
            unresolved = citation_problems(answer, known_ids)
            if answer["question"] != question:
                request.error = f"answer is for another question: {answer['question']!r}"
            elif unresolved:
                request.error = f"citations do not resolve: {'; '.join(unresolved)}"
        except Exception as error:  # every failure counts, whatever its kind
            request.error = f"{type(error).__name__}: {error}"
        request.latency = time.monotonic() - request.started
        results.append(request)


class Writers:
    """Two threads writing the served index through the CLI: one ingests batches, one deletes.

    The deleter starts with a few sample articles (deleting needs no model, so it runs from the first
    second), then deletes generated articles the ingester stored, always leaving one of them in place.
    """

    def __init__(
        self, index: Path, base_ids: set[str], articles: list[tuple[str, Path]], garbage: Path, victims: list[str]
    ) -> None:
        self.index = index
        self.expected = set(base_ids)
        self.pending = list(articles)
        self.garbage = garbage
        self.victims = list(victims)
        self.deleted: list[str] = []
        self.stored: list[str] = []
        self.ops: list[WriterOp] = []
        self.busy_retries = 0
        self.lock = threading.Lock()

    def run(self, deadline: float) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._ingester, args=(deadline,), daemon=True),
            threading.Thread(target=self._deleter, args=(deadline,), daemon=True),
        ]
        for thread in threads:
            thread.start()
        return threads

    def _ingester(self, deadline: float) -> None:
        first = True
        while time.monotonic() < deadline and self.pending:
            batch, self.pending = self.pending[:3], self.pending[3:]
            paths = [str(path) for _, path in batch] + ([str(self.garbage)] if first else [])
            started = time.monotonic()
            while True:
                result = newsqa("ingest", *paths, "--index", str(self.index), "--json")
                if result.returncode == 1 and "being written by another process" in result.stderr:
                    self.busy_retries += 1
                    continue
                break
            took = time.monotonic() - started
            # Exit 3 means some input was rejected: expected exactly when the garbage file is in the batch.
            expected_code = 3 if first else 0
            detail = result.stderr.strip()[-300:]
            if result.returncode == expected_code:
                report = json.loads(result.stdout)
                stored = report["added"] + report["replaced"]
                detail = f"stored {stored}; rejected {[e['origin'].rsplit('/', 1)[-1] for e in report['errors']]}"
                with self.lock:
                    self.expected.update(stored)
                    self.stored.extend(stored)
            self.ops.append(WriterOp("ingest", took, result.returncode - expected_code, detail))
            first = False
            time.sleep(WRITER_PAUSE)

    def _deleter(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            with self.lock:
                if self.victims:
                    victim: str | None = self.victims.pop(0)
                else:
                    victim = self.stored.pop(0) if len(self.stored) > 1 else None
            if victim is None:
                time.sleep(WRITER_PAUSE)
                continue
            started = time.monotonic()
            while True:
                result = newsqa("delete", victim, "--index", str(self.index))
                # A writer waits 30 s for the index lock, then gives up; an ingest embedding holds it longer.
                if result.returncode == 1 and "being written by another process" in result.stderr:
                    self.busy_retries += 1
                    continue
                break
            took = time.monotonic() - started
            if result.returncode == 0:
                with self.lock:
                    self.expected.discard(victim)
                    self.deleted.append(victim)
            detail = f"{victim}: {(result.stdout + result.stderr).strip()[-200:]}"
            self.ops.append(WriterOp("delete", took, result.returncode, detail))
            time.sleep(WRITER_PAUSE)


def pick_victims(questions: Path, base_ids: set[str], rng: random.Random, count: int = 2) -> dict[str, str]:
    """Sample articles to delete, each the only source of a gold question: {article id: that question}."""
    single: dict[str, str] = {}
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        gold = json.loads(line)
        ids = gold.get("gold_article_ids") or []
        if len(ids) == 1 and ids[0] in base_ids:
            single.setdefault(ids[0], gold["question"])
    chosen = rng.sample(sorted(single), min(count, len(single)))
    return {article_id: single[article_id] for article_id in chosen}


def probe_freshness(url: str, writers: Writers, fresh: list[tuple[str, Path]], victims: dict[str, str]) -> None:
    """Ask about an article another process added and ones it deleted: does the running server see the changes?"""
    from gradio_client import Client

    client = Client(url, verbose=False)
    print("\n== does the running server see other processes' writes? ==")
    probes = []
    for article_id in writers.stored[-1:]:
        title = next(
            line[7:] for line in dict(fresh)[article_id].read_text().splitlines() if line.startswith("title: ")
        )
        probes.append(("added", article_id, f"What did {title.split(' opens ')[0]} open?"))
    probes += [("deleted", article_id, victims[article_id]) for article_id in writers.deleted if article_id in victims]
    for change, article_id, question in probes:
        try:
            hits = [hit["article"]["id"] for hit in client.predict(question, api_name="/ask")["hits"]]
        except Exception as error:
            print(f"{change:7} {article_id}: probe failed: {error}")
            continue
        found = article_id in hits
        verdict = (
            ("retrieved" if found else "NOT retrieved")
            if change == "added"
            else ("STILL retrieved" if found else "gone")
        )
        print(f"{change:7} {article_id}: {verdict} for {question!r}")


# -- checks and report ----------------------------------------------------------------------------


def listed_ids(index: Path) -> set[str] | None:
    """The article ids `newsqa list` shows for the index (None when it fails)."""
    result = newsqa("list", "--index", str(index), "--json")
    if result.returncode != 0:
        print(f"newsqa list failed ({result.returncode}): {result.stderr[-500:]}")
        return None
    return {article["id"] for article in json.loads(result.stdout)}


def check_index(index: Path, expected: set[str]) -> list[str]:
    """What is wrong with the index after the run (empty when consistent)."""
    problems = []
    listed = listed_ids(index)
    if listed is None or expected - listed:
        problems.append(f"lost: {sorted(expected - (listed or set()))} are not listed by `newsqa list`")
    try:
        store = Store.load(index)
    except Exception as error:
        return [f"the index does not open: {type(error).__name__}: {error}"]
    stored = {article.id for article in store.articles()}
    if stored != expected:
        problems.append(f"articles: missing {sorted(expected - stored)}, unexpected {sorted(stored - expected)}")
    owned = 0
    for article in store.articles():
        chunks = store.chunks_of(article.id)
        owned += len(chunks)
        if not chunks or any(article.text[c.start : c.end] != c.text for c in chunks):
            problems.append(f"article {article.id}: missing chunks or chunk offsets off")
    if owned != store.chunk_count:
        problems.append(f"{store.chunk_count - owned} chunks belong to no stored article")
    result = newsqa("check", "--index", str(index), "--json")
    if result.returncode == 2 and "invalid choice" in result.stderr:
        print("(newsqa check is not available in this version; skipped)")
    elif result.returncode != 0:
        problems.append(f"newsqa check failed ({result.returncode}): {(result.stdout + result.stderr)[-1500:]}")
    return problems


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def report(requests: list[Request], ops: list[WriterOp], elapsed: float, clients: int, fresh_ids: set[str]) -> None:
    """Print the figures."""
    done = [r for r in requests if r.error is None]
    failed = [r for r in requests if r.error is not None]
    latencies = [r.latency for r in done]
    answering = [r.answering or 0.0 for r in done]
    waiting = [max(0.0, r.latency - (r.answering or 0.0)) for r in done]
    print(f"\n== /ask under load: {clients} clients, {elapsed:.0f} s ==")
    print(f"answers          {len(done)} ({sum(bool(r.abstained) for r in done)} abstained)")
    print(f"errors           {len(failed)}")
    print(f"citations        {sum(r.citations for r in done)}, all resolved (a citation that did not is an error)")
    print(f"throughput       {60 * len(done) / elapsed:.2f} answers/min")
    for name, values in (("latency", latencies), ("  answering", answering), ("  queue wait", waiting)):
        print(f"{name:16} p50 {percentile(values, 0.5):6.1f} s   p95 {percentile(values, 0.95):6.1f} s")
    if done:
        share = 100 * sum(waiting) / max(sum(latencies), 1e-9)
        print(f"queueing         {share:.0f}% of the total latency was waiting for the one model slot")
        print(f"per client       {[sum(1 for r in done if r.client == c) for c in range(clients)]} answers")
    for request in failed[:10]:
        print(f"  error: client {request.client}: {request.question!r}: {request.error[:300]}")
    seen_new = sorted({i for r in done for i in r.hit_ids} & fresh_ids)
    print(f"articles written by other processes that answers retrieved: {seen_new or 'none'}")
    print("\n== writers (concurrent newsqa ingest / delete) ==")
    for kind in ("ingest", "delete"):
        runs = [op for op in ops if op.kind == kind]
        if runs:
            mean = statistics.mean(op.seconds for op in runs)
            print(f"{kind:7} {len(runs)} runs, {sum(op.exit_code != 0 for op in runs)} failed, {mean:.1f} s each")
    for op in ops:
        print(f"  {op.kind:7} {op.seconds:5.1f} s  {'ok' if op.exit_code == 0 else 'FAILED'}  {op.detail[:200]}")


def main(argv: list[str] | None = None) -> int:
    """Run the load test; returns 1 on any failed request or an inconsistent index."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent client sessions (default 8)")
    parser.add_argument("--seconds", type=float, default=600, help="how long clients keep asking (default 600)")
    parser.add_argument(
        "--extra", type=int, default=400, help="generated articles the writers may ingest, 3 a batch (default 400)"
    )
    parser.add_argument("--embedding-model", help="embedding model of the index (default: newsqa's default)")
    parser.add_argument("--articles", type=Path, default=ROOT / "samples" / "news")
    parser.add_argument("--questions", type=Path, default=ROOT / "samples" / "gold" / "dev" / "questions.jsonl")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (index, server log)")
    parser.add_argument(
        "--no-probe", action="store_true", help="skip asking afterwards about the writers' changes (saves answers)"
    )
    args = parser.parse_args(argv)
    global EMBEDDING_MODEL
    EMBEDDING_MODEL = args.embedding_model
    rng = random.Random(args.seed)
    questions = [
        json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines() if line
    ]
    rng.shuffle(questions)

    # A SIGTERM (a `timeout`, a CI limit) unwinds through `finally`, which stops the server it started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    work = Path(tempfile.mkdtemp(prefix="newsqa-load-"))
    server: subprocess.Popen | None = None
    try:
        base = work / "base-index"
        print(f"building an index of {args.articles} …", flush=True)
        built = newsqa("ingest", str(args.articles), "--index", str(base))
        if built.returncode != 0:
            sys.exit(f"newsqa ingest failed ({built.returncode}):\n{built.stderr[-3000:]}")
        served = work / "served-index"
        shutil.copytree(base, served)
        base_ids = {article.id for article in Store.load(served).articles()}
        fresh = generated_articles(work / "extra", args.extra, rng)
        garbage = work / "extra" / "broken.jsonl"
        garbage.write_text('{"id": "load-bad", "title": "no text"}\n{not json\n', encoding="utf-8")

        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        log = work / "server.log"
        command = [sys.executable, "-m", "qa.cli", "serve", "--index", str(served), "--port", str(port)]
        with log.open("w") as output:
            server = subprocess.Popen(
                command, cwd=ROOT, env=env(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        print(f"starting the server on {url} (loading the models) …", flush=True)
        wait_until_up(url, server, log)

        requests: list[Request] = []
        started = time.monotonic()
        deadline = started + args.seconds
        victims = pick_victims(args.questions, base_ids, rng)
        writers = Writers(served, base_ids, fresh, garbage, list(victims))
        known_ids = base_ids | {article_id for article_id, _ in fresh}
        threads = writers.run(deadline)
        askers = [
            threading.Thread(target=asker, args=(n, url, questions, deadline, requests, known_ids), daemon=True)
            for n in range(args.clients)
        ]
        for thread in askers:
            thread.start()
        print(f"{args.clients} clients asking for {args.seconds:.0f} s while writers ingest and delete …", flush=True)
        for thread in askers + threads:
            thread.join()
        elapsed = time.monotonic() - started

        report(requests, writers.ops, elapsed, args.clients, {article_id for article_id, _ in fresh})
        if writers.busy_retries:
            print(f"writers retried {writers.busy_retries} time(s) after the 30 s index-lock wait ran out")
        if not args.no_probe:
            probe_freshness(url, writers, fresh, victims)
        server_errors = [line for line in log.read_text().splitlines() if "Traceback" in line or " ERROR " in line]
        print(f"\nserver log: {len(server_errors)} error lines ({log if args.keep else 'removed'})")
        stop(server)
        server = None

        problems = check_index(served, writers.expected)
        lost = len(writers.expected - (listed_ids(served) or set()))
        print("\n== the index afterwards ==")
        print(f"expected {len(writers.expected)} articles ({len(base_ids)} samples + the writers' net additions)")
        print(f"articles lost    {lost} (ingested or sampled, never deleted, and not listed at the end)")
        for problem in problems:
            print(f"  PROBLEM: {problem}")
        print("consistent: yes (opens, expected articles, every chunk owned, newsqa check ok)" if not problems else "")
        failed = any(r.error for r in requests) or any(op.exit_code for op in writers.ops) or problems
        return 1 if failed or not requests else 0
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def stop(server: subprocess.Popen) -> None:
    """Stop the server's process group (it was started in its own session)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


if __name__ == "__main__":
    sys.exit(main())

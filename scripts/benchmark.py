"""Benchmark newsqa as a reader meets it: ingestion of long articles, a cold `ask`, warm answers, peak memory.

Every figure is measured in its own fresh process, for this code and (with `--compare REV`) for the code at
git revision REV, checked out into a temporary worktree, in the same run, so the ratio column compares like
with like on a shared machine. Prints a table; asserts nothing. Run it under the heavy-run lock:

    flock /tmp/newsqa-heavy.lock .venv/bin/python scripts/benchmark.py --compare main [--long 40] [--questions 15]

- ingest: passages/s (and per CPU-second of the process) embedding `--long` synthetic ~850-word articles
  (scripts/longnews.py) into a fresh index with a fresh embedding cache, the model already loaded (a one-time
  export is excluded; the load itself, from OpenVINO's compiled-model cache, is a row of its own).
- cold ask: `newsqa ask` in a new process under a terminal, from its start to the first answer byte and to its
  exit; with a `newsqa serve` running on the same index too, when the code has one to use (`cold ask (serve)`);
  each run puts a dev question no other run put.
- warm: time to first token and total per question (self-check included), p50 over the first `--questions`
  dev questions on samples/news, after one untimed question.
- peak RSS of each process.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "news"
QUESTIONS = ROOT / "samples" / "gold" / "dev" / "questions.jsonl"
COLD_QUESTION = "Who did Zuckerberg meet in Korea?"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dev_questions(count: int) -> list[str]:
    """The first `count` dev questions asked over samples/news (ids q…)."""
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["question"] for row in rows if row["id"].startswith("q")][:count]


def cold_questions(warm: int, colds: int) -> list[str]:
    """A new dev question for each of `colds` cold runs, none of them among the `warm` timed warm: a server asked
    a question twice answers it again from llama.cpp's kept context, without evaluating the prompt."""
    return dev_questions(warm + colds)[warm:]


# -- probes: each runs in a child process with one version's code first on the path ---------------


def probe_ingest(index: Path, folder: Path) -> dict[str, Any]:
    """Embed the articles of `folder` into a fresh index, the model loaded first."""
    from qa import Assistant, Settings

    assistant = Assistant.open(index, Settings.load())
    started = time.perf_counter()
    assistant.embedder.warm_up()
    load_s = time.perf_counter() - started
    before = os.times()
    report = assistant.ingest([folder])
    after = os.times()
    cpu_s = (after.user - before.user) + (after.system - before.system)
    return {
        "passages": report.chunks,
        "ingest_s": report.seconds,
        "passages_per_s": report.chunks / report.seconds,
        "passages_per_cpu_s": report.chunks / cpu_s,
        "embedder_load_s": load_s,
        "rss_mb": peak_rss_mb(),
    }


def probe_warm(index: Path, count: int) -> dict[str, Any]:
    """Ingest samples/news, load both models, ask one question untimed, then `count` timed ones."""
    from qa import Assistant, Settings
    from qa.types import Answer

    assistant = Assistant.open(index, Settings.load())
    assistant.ingest([SAMPLES])
    assistant.warm_up()
    assistant.ask(COLD_QUESTION)
    ttft, total, texts = [], [], []
    for question in dev_questions(count):
        started = time.perf_counter()
        first = None
        answer = None
        for item in assistant.ask_stream(question):
            if isinstance(item, Answer):
                answer = item
            elif first is None and item:
                first = time.perf_counter() - started
        done = time.perf_counter() - started
        assert answer is not None
        ttft.append(first if first is not None else done)
        total.append(done)
        texts.append(answer.text)
    return {
        "warm_ttft_p50": statistics.median(ttft),
        "warm_total_p50": statistics.median(total),
        "warm_total_max": max(total),
        "questions": len(total),
        "answers": texts,
        "rss_mb": peak_rss_mb(),
    }


PROBES = {"ingest": probe_ingest, "warm": probe_warm}


def child_env(root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process running `root`'s code offline, plus `extra`."""
    return {
        **os.environ,
        "PYTHONPATH": str(root),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        **(extra or {}),
    }


def run_probe(root: Path, kind: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one probe in a child process with `root`'s code (and `env`'s settings); its result is the last line
    it prints."""
    command = [sys.executable, str(Path(__file__).resolve()), "--probe", kind, *args]
    environment = child_env(root, env)
    done = subprocess.run(command, env=environment, cwd=Path(args[0]).parent, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"probe {kind} failed for {root} (exit status {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_ask(root: Path, index: Path, question: str = COLD_QUESTION) -> dict[str, Any]:
    """`newsqa ask` in a new process under a terminal: seconds to the first output byte and to exit, peak RSS."""
    env = child_env(root)
    command = [sys.executable, "-m", "qa.cli", "ask", "--index", str(index), question]
    leader, follower = pty.openpty()
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=index.parent, stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    first = None
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            if first is None and chunk.strip():
                first = time.perf_counter() - started
            output += chunk
        elif process.poll() is not None:
            break
    _, status, usage = os.wait4(process.pid, 0)
    total = time.perf_counter() - started
    os.close(leader)
    if status != 0:
        raise RuntimeError(f"cold ask failed for {root}: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    return {"cold_ttft": first or total, "cold_total": total, "rss_mb": usage.ru_maxrss / 1024}


# -- serve-path (this code only, when it has one) ------------------------------------------------


def with_server(root: Path, index: Path) -> subprocess.Popen | None:
    """Start `newsqa serve` on `index` and wait until `ask` would find it; None when this code has no such path."""
    if not (root / "qa" / "web" / "discovery.py").exists():
        return None
    env = child_env(root)
    command = [sys.executable, "-m", "qa.cli", "serve", "--index", str(index), "--port", "0"]
    server = subprocess.Popen(command, env=env, cwd=index.parent, stdout=subprocess.DEVNULL)
    marker = index / ".serve.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        try:
            url = json.loads(marker.read_text(encoding="utf-8"))["url"]
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as response:
                if response.status == 200:
                    return server
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError("newsqa serve did not come up within 5 minutes")


# -- the comparison -------------------------------------------------------------------------------


def measure(
    root: Path, work: Path, long_folder: Path | None, questions: int, colds: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Every figure for the code at `root` (a variant's `env` settings: ingestion and warm answers only);
    scratch files under `work`; no ingestion without `long_folder`."""
    figures: dict[str, Any] = {}
    say = lambda what: print(f"  {what}…", file=sys.stderr, flush=True)  # noqa: E731
    if long_folder is not None:
        say("ingest")
        ingest = run_probe(root, "ingest", str(work / "long-index"), str(long_folder), env=env)
        figures.update({f"ingest_{k}" if k == "rss_mb" else k: v for k, v in ingest.items()})
    index = work / "samples-index"
    if questions and not (env or {}).get("INGEST_ONLY"):
        say("warm answers")
        warm = run_probe(root, "warm", str(index), str(questions), env=env)
        figures.update({f"warm_{k}" if k == "rss_mb" else k: v for k, v in warm.items()})
    if env or not questions or not colds:
        return figures
    say("cold ask")
    asked = cold_questions(questions, colds)
    runs = [cold_ask(root, index, question) for question in asked]
    figures["cold_ttft"] = statistics.median(r["cold_ttft"] for r in runs)
    figures["cold_total"] = statistics.median(r["cold_total"] for r in runs)
    figures["ask_rss_mb"] = max(r["rss_mb"] for r in runs)
    server = with_server(root, index)
    if server is not None:
        say("cold ask with serve")
        try:
            served = [cold_ask(root, index, question) for question in asked]
            figures["served_ttft"] = statistics.median(r["cold_ttft"] for r in served)
            figures["served_total"] = statistics.median(r["cold_total"] for r in served)
        finally:
            server.terminate()
            figures["serve_rss_mb"] = os.wait4(server.pid, 0)[2].ru_maxrss / 1024
    return figures


ROWS = [
    ("ingest passages/s (long articles)", "passages_per_s", "{:.1f}"),
    ("ingest passages per CPU-second (less sensitive to a busy machine)", "passages_per_cpu_s", "{:.1f}"),
    ("ingest: passages embedded", "passages", "{:.0f}"),
    ("embedding model load s (export excluded)", "embedder_load_s", "{:.1f}"),
    ("ingest peak RSS MB", "ingest_rss_mb", "{:.0f}"),
    ("cold ask: first token s", "cold_ttft", "{:.1f}"),
    ("cold ask: total s", "cold_total", "{:.1f}"),
    ("cold ask with serve: first token s", "served_ttft", "{:.1f}"),
    ("cold ask with serve: total s", "served_total", "{:.1f}"),
    ("ask peak RSS MB (cold process)", "ask_rss_mb", "{:.0f}"),
    ("serve peak RSS MB (answering the served asks)", "serve_rss_mb", "{:.0f}"),
    ("warm first token p50 s", "warm_ttft_p50", "{:.2f}"),
    ("warm total p50 s (self-check incl.)", "warm_total_p50", "{:.2f}"),
    ("warm total max s", "warm_total_max", "{:.2f}"),
    ("warm process peak RSS MB", "warm_rss_mb", "{:.0f}"),
]


def print_table(columns: list[tuple[str, dict[str, Any]]], compared: bool) -> None:
    """Figures side by side; when `compared`, the last column is the previous code's and the ratio is the
    first column's to it."""
    names = [name for name, _ in columns]
    header = f"| figure | {' | '.join(names)} |" + (" ratio |" if compared else "")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for label, key, fmt in ROWS:
        values = [figures.get(key) for _, figures in columns]
        if all(v is None for v in values):
            continue
        cells = [fmt.format(v) if v is not None else "–" for v in values]
        line = f"| {label} | {' | '.join(cells)} |"
        if compared:
            ratio = f"{values[0] / values[-1]:.2f}×" if values[0] is not None and values[-1] else "–"
            line += f" {ratio} |"
        print(line)
    first = columns[0][1].get("answers")
    for name, figures in columns[1:]:
        if first and figures.get("answers"):
            same = sum(a == b for a, b in zip(first, figures["answers"]))
            print(f"warm answers word for word the same as {columns[0][0]}'s: {name} {same}/{len(first)}")


def main() -> None:
    """Measure this code (and REV's), print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", metavar="REV", help="also measure the code at this git revision, same run")
    parser.add_argument("--long", type=int, default=40, help="synthetic long articles to ingest (0: no ingestion)")
    parser.add_argument("--questions", type=int, default=15, help="warm dev questions to time")
    parser.add_argument("--cold", type=int, default=2, help="cold `ask` runs (median)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL:NAME=VALUE[,NAME=VALUE]",
        help="also measure this code with these settings (ingestion, warm answers), e.g. ubatch256:llm_ubatch=256",
    )
    parser.add_argument(
        "--ingest-variant", action="append", default=[], metavar="LABEL:NAME=VALUE", help="as --variant, ingestion only"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--probe", choices=sorted(PROBES), help=argparse.SUPPRESS)
    parser.add_argument("probe_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        index, other = args.probe_args
        result = PROBES[args.probe](Path(index), Path(other) if args.probe == "ingest" else int(other))  # type: ignore[operator]
        print(json.dumps(result))
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import longnews

    work = Path(tempfile.mkdtemp(prefix="newsqa-bench-"))
    try:
        long_folder = work / "long" if args.long else None
        if long_folder is not None:
            longnews.write_markdown(long_folder, args.long)
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        versions: list[tuple[str, Path, dict[str, str] | None]] = [(f"this ({head.stdout.strip()})", ROOT, None)]
        for variant in args.variant + args.ingest_variant:
            label, _, assignments = variant.partition(":")
            pairs = (pair.partition("=") for pair in assignments.split(","))
            env = {f"NEWSQA_{name.strip().upper()}": value for name, _, value in pairs}
            versions.append((label, ROOT, {**env, "INGEST_ONLY": "1"} if variant in args.ingest_variant else env))
        if args.compare:
            old = work / "previous"
            subprocess.run(["git", "worktree", "add", "--detach", str(old), args.compare], cwd=ROOT, check=True)
            rev = subprocess.run(
                ["git", "rev-parse", "--short", args.compare], cwd=ROOT, capture_output=True, text=True
            )
            versions.append((f"previous ({rev.stdout.strip()})", old, None))
        columns = []
        try:
            for name, root, env in versions:
                scratch = work / f"run-{len(columns)}"
                scratch.mkdir()
                print(f"measuring {name}…", file=sys.stderr, flush=True)
                try:
                    figures = measure(root, scratch, long_folder, args.questions, args.cold, env)
                except RuntimeError as error:  # one failing variant must not cost the run its other columns
                    print(f"{name} failed: {error}", file=sys.stderr, flush=True)
                    figures = {}
                columns.append((name, figures))
        finally:
            if args.compare:
                subprocess.run(["git", "worktree", "remove", "--force", str(work / "previous")], cwd=ROOT, check=False)
        print(
            f"{os.cpu_count()} cores; {args.long} long articles; {args.questions} warm questions; {args.cold} cold runs"
        )
        print_table(columns, bool(args.compare))
        if args.json:
            args.json.write_text(json.dumps(dict(columns), indent=2), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

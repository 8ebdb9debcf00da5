"""Benchmark newsqa end to end: ingestion rate, index size, peak memory, per-question latency split.

Prints figures; asserts nothing. Usage:
    .venv/bin/python scripts/benchmark.py [--articles samples/news] [--repeat 1]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from qa import Assistant, Settings

QUESTIONS = [
    "Who did Zuckerberg meet in Korea?",
    "How many H100 GPUs does Meta plan to acquire?",
    "Qui Mark Zuckerberg devait-il rencontrer en Corée du Sud ?",
    "When did Zuckerberg arrive in South Korea?",
    "What did Apple announce about the iPhone 17?",
]
STAGES = ["embed_query", "search", "retrieval", "prompt_eval", "ttft", "generation", "citation_check", "total"]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_size_mb(path: Path) -> float:
    """Bytes under `path`, in MB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    """Run the benchmark and print a report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=Path(__file__).resolve().parent.parent / "samples" / "news")
    parser.add_argument("--repeat", type=int, default=1, help="ask each question this many times")
    args = parser.parse_args()

    index = Path(tempfile.mkdtemp(prefix="newsqa-bench-"))
    try:
        assistant = Assistant.open(index, Settings())
        started = time.perf_counter()
        assistant.embedder.warm_up()
        load_s = time.perf_counter() - started
        report = assistant.ingest([args.articles])
        n_articles, n_chunks = len(report.added), report.chunks
        print(f"embedding model load: {load_s:.1f} s")
        print(
            f"ingestion: {n_articles} articles, {n_chunks} chunks in {report.seconds:.1f} s "
            f"= {n_articles / report.seconds:.2f} articles/s, {n_chunks / report.seconds:.1f} chunks/s"
        )
        print(f"index size on disk: {folder_size_mb(index):.2f} MB; peak RSS after ingestion: {peak_rss_mb():.0f} MB")

        started = time.perf_counter()
        assistant.llm.warm_up()
        print(f"LLM load: {time.perf_counter() - started:.1f} s")
        rows = []
        for _ in range(args.repeat):
            for question in QUESTIONS:
                answer = assistant.ask(question)
                rows.append((question, answer))
                print(f"\nQ: {question}\nA: {answer.text}")
                print(
                    "   "
                    + ", ".join(f"{k} {answer.timings[k]:.2f}s" for k in STAGES if k in answer.timings)
                    + f"; prompt {answer.prompt_tokens} tok, output {answer.output_tokens} tok"
                )
        print(f"\npeak RSS after answering: {peak_rss_mb():.0f} MB")
        print("\nmedian over questions that reached the LLM:")
        generated = [a for _, a in rows if "prompt_eval" in a.timings]
        for stage in STAGES:
            values = [a.timings[stage] for a in generated if stage in a.timings]
            if values:
                print(f"  {stage:15} p50 {statistics.median(values):6.2f} s   max {max(values):6.2f} s")
        if generated:
            print(f"  prompt tokens   p50 {statistics.median(a.prompt_tokens for a in generated):6.0f}")
    finally:
        shutil.rmtree(index, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Time to first token against prompt size: prompt tokens and prompt-evaluation time of newsqa's answering
prompt for several passage counts, with the system-prompt prefix still cached (the self-check runs in its own
context) and evicted (the self-check run in the answering context). Variants are interleaved per question,
so machine noise hits them alike. Prints figures; asserts nothing.

Usage: python scripts/benchmark_prompt.py INDEX_DIR [--questions 12] [--passages 3 4 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from qa import Assistant, Settings
from qa.language import detect_language

GOLD = Path(__file__).resolve().parent.parent / "samples" / "gold" / "dev" / "questions.jsonl"
CHECK = [("user", "Passage: The sky was blue.\nQuestion: What colour was the sky?\nAnswer: Blue.\nReply yes or no.")]


def main() -> None:
    """Time the answering prompt for each passage count and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", nargs="?", default="index/news")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--passages", type=int, nargs="+", default=[3, 4, 5])
    args = parser.parse_args()
    assistant = Assistant.open(args.index, Settings())
    assistant.warm_up()
    llm = assistant.llm
    model = llm.model
    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    step = max(1, len(gold) // args.questions)
    questions = [g["question"] for g in gold[::step]][: args.questions]
    seconds: dict[tuple[int, str], list[float]] = {}
    tokens: dict[int, list[int]] = {}
    for question in questions:
        hits = assistant.retrieve(question)
        for count in args.passages:
            answerer = assistant._answerer()
            answerer.context_passages = count
            prompt = llm.render(answerer.messages(question, answerer.select(hits), detect_language(question)))
            tokens.setdefault(count, []).append(llm.count_tokens(prompt))
            for prefix in ("kept", "evicted"):
                # What the previous question leaves in the answering context: its system prompt (the
                # self-check ran in its own context), or the self-check prompt (it ran in this one).
                previous = [("system", assistant.prompts.system), ("user", "Hello.")] if prefix == "kept" else CHECK
                model.create_completion(llm.render(previous), max_tokens=1, temperature=0.0)
                started = time.perf_counter()
                model.create_completion(prompt, max_tokens=1, temperature=0.0)
                seconds.setdefault((count, prefix), []).append(time.perf_counter() - started)
    print(f"{len(questions)} gold questions, prompt evaluation to the first token (p50), 2 threads")
    print("passages  prompt tokens  system prefix cached  prefix evicted")
    for count in args.passages:
        kept = statistics.median(seconds[(count, "kept")])
        evicted = statistics.median(seconds[(count, "evicted")])
        print(f"{count:8d}  {statistics.mean(tokens[count]):13.0f}  {kept:18.2f} s  {evicted:12.2f} s")


if __name__ == "__main__":
    main()

"""Could the prompt carry fewer passage sentences? For each answerable gold question, the passages newsqa
would send are split into sentences and scored by cosine with the question (the embedding model's query
vectors); a policy keeps some of them. Printed: the share of passage characters kept, and how many questions
lose every sentence that contains a gold answer.

Usage: python scripts/sentence_selection_experiment.py INDEX_DIR  (an index of samples/news)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from qa import Assistant, Settings
from qa.text import fold, sentence_spans

GOLD = Path(__file__).resolve().parent.parent / "samples" / "gold" / "dev" / "questions.jsonl"
# One row per question: the passage index, length and question cosine of each sentence, and which hold an answer.
Row = dict[str, list]
Policy = Callable[[Row], list[bool]]


def best_of_each_passage(row: Row, keep: list[bool]) -> list[bool]:
    """`keep`, plus the best-scoring sentence of every passage."""
    keep = list(keep)
    for passage in set(row["passage"]):
        members = [i for i, p in enumerate(row["passage"]) if p == passage]
        keep[max(members, key=lambda i: row["cosine"][i])] = True
    return keep


def rows_for(index_dir: str) -> tuple[list[Row], float]:
    """Sentence rows for every answerable gold question, and the seconds spent encoding sentences."""
    assistant = Assistant.open(index_dir, Settings())
    assistant.embedder.warm_up()
    answerer = assistant._answerer()
    answerer.llm.count_tokens = lambda text: len(text) // 3  # no LLM needed: a character estimate
    rows, encoding = [], 0.0
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        gold = json.loads(line)
        if not gold["answers"]:
            continue
        passages = answerer.select(assistant.retrieve(gold["question"]))
        sentences = [
            (i, hit.chunk.text[s:e]) for i, hit in enumerate(passages) for s, e in sentence_spans(hit.chunk.text)
        ]
        started = time.perf_counter()
        vectors = assistant.embedder.encode_query([gold["question"]] + [text for _, text in sentences])
        encoding += time.perf_counter() - started
        answers = [fold(answer) for answer in gold["answers"]]
        rows.append(
            {
                "passage": [i for i, _ in sentences],
                "chars": [len(text) for _, text in sentences],
                "cosine": (vectors[1:] @ vectors[0]).tolist(),
                "bearing": [any(answer in fold(text) for answer in answers) for _, text in sentences],
            }
        )
    return rows, encoding


def evaluate(rows: list[Row], policy: Policy) -> tuple[float, int]:
    """(share of characters kept, questions whose answer-bearing sentences were all dropped)."""
    kept = total = lost = 0
    for row in rows:
        keep = policy(row)
        total += sum(row["chars"])
        kept += sum(c for c, k in zip(row["chars"], keep, strict=True) if k)
        if any(row["bearing"]) and not any(b and k for b, k in zip(row["bearing"], keep, strict=True)):
            lost += 1
    return kept / total, lost


def main(index_dir: str) -> None:
    """Score every policy on the gold questions and print the table."""
    rows, encoding = rows_for(index_dir)
    sentences = sum(len(row["chars"]) for row in rows)
    with_answer = sum(any(row["bearing"]) for row in rows)
    print(f"{len(rows)} answerable questions ({with_answer} with an answer-bearing sentence), {sentences} sentences")
    print(f"encoding the sentences: {encoding / len(rows) * 1000:.0f} ms per question")
    print("policy                               kept   questions losing their answer")
    for floor in (0.20, 0.25, 0.30, 0.35):
        share, lost = evaluate(rows, lambda row, f=floor: best_of_each_passage(row, [c >= f for c in row["cosine"]]))
        print(f"cosine >= {floor:.2f} (+ best per passage)     {share:5.1%}  {lost}")
    for margin in (0.10, 0.20):
        share, lost = evaluate(
            rows, lambda row, m=margin: best_of_each_passage(row, [c >= max(row["cosine"]) - m for c in row["cosine"]])
        )
        print(f"within {margin:.2f} of the best (+ best/passage) {share:5.1%}  {lost}")
    share, lost = evaluate(rows, lambda row: best_of_each_passage(row, [False] * len(row["chars"])))
    print(f"best sentence of each passage only     {share:5.1%}  {lost}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "index/news")

"""Would sentence-level reranking with the embedding model help? hit@1 and MRR on the gold set for several weights.

Usage: python scripts/rerank_experiment.py INDEX_DIR  (an index of samples/news, e.g. eval-out/<run>/index)
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embedding.embedder import Embedder
from qa.retrieval.retriever import Retriever
from qa.retrieval.timeparse import parse_time_hint
from qa.store.store import Store
from qa.text import sentence_spans
from qa.types import Filters, Hit

GOLD = Path(__file__).resolve().parent.parent / "samples" / "gold" / "dev" / "questions.jsonl"


class CachedQueries:
    """Query vectors computed once, served to the retriever by question text."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[text] for text in texts])


def main(index_dir: str) -> None:
    store = Store.load(Path(index_dir))
    with open(GOLD, encoding="utf-8") as handle:
        questions = [q for q in map(json.loads, handle) if q.get("gold_article_ids")]
    manifest = {"dimension": store.dimension, "embedding_model": store.embedding_model}
    embedder = Embedder.from_settings(Settings(), manifest=manifest)
    queries = dict(zip([q["question"] for q in questions], embedder.encode_query([q["question"] for q in questions])))
    sentences: list[str] = []
    owners: list[str] = []
    for _, chunk in store.chunk_items():
        for start, end in sentence_spans(chunk.text):
            sentences.append(chunk.text[start:end])
            owners.append(chunk.id)
    started = time.perf_counter()
    sentence_vectors = embedder.encode_query(sentences)
    print(f"{len(sentences)} sentences of {store.chunk_count} chunks embedded in {time.perf_counter() - started:.1f} s")
    by_chunk: dict[str, np.ndarray] = {}
    for chunk_id in set(owners):
        by_chunk[chunk_id] = sentence_vectors[[i for i, owner in enumerate(owners) if owner == chunk_id]]
    retriever = Retriever(store, CachedQueries(queries))

    def reranked(hits: list[Hit], vector: np.ndarray, alpha: float) -> list[Hit]:
        def score(hit: Hit) -> float:
            best = float((by_chunk[hit.chunk.id] @ vector).max()) if hit.chunk.id in by_chunk else hit.score
            return (1 - alpha) * hit.score + alpha * best

        return sorted(hits, key=score, reverse=True)

    for alpha in (0.0, 0.3, 0.5, 0.7, 1.0):
        first = reciprocal = 0.0
        for question in questions:
            text = question["question"]
            hint = parse_time_hint(text, date.today())
            filters = Filters(since=hint.since, until=hint.until, keep_undated=True) if hint.has_window else None
            recent = hint.prefer_recent and hint.expression is not None
            hits, _ = retriever.run(text, 10, filters, prefer_recent=recent, period=hint.period)
            if alpha and not (recent or hint.period):
                hits = reranked(hits, queries[text], alpha)
            ids = [hit.article.id for hit in hits]
            rank = next((i + 1 for i, a in enumerate(ids) if a in question["gold_article_ids"]), None)
            first += rank == 1
            reciprocal += 1 / rank if rank else 0
        n = len(questions)
        print(f"alpha {alpha:.1f}: hit@1 {first / n:.3f}  MRR@10 {reciprocal / n:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])

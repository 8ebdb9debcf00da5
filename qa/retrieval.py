"""Question → ranked `Hit`s by dense similarity over the store."""

from __future__ import annotations

import time

from qa.embedding import Embedder
from qa.filters import Filters
from qa.store import Store
from qa.types import Hit


class Retriever:
    """Dense top-k retrieval: embed the question with the query prompt, search the FAISS index."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def run(self, question: str, k: int, filters: Filters | None = None) -> tuple[list[Hit], dict[str, float]]:
        """The `k` best passages for `question` (rank 1 first) among the articles `filters` accepts,
        and the time each step took, in seconds."""
        started = time.perf_counter()
        vector = self.embedder.encode_query([question])[0]
        embedded = time.perf_counter()
        allowed = None
        if filters is not None and filters.active:
            allowed = self.store.vector_ids(a.id for a in self.store.articles() if filters.accepts(a))
        found = self.store.search(vector, k, allowed)
        searched = time.perf_counter()
        hits = []
        for rank, (chunk, score) in enumerate(found, start=1):
            article = self.store.article(chunk.article_id)
            assert article is not None, "store returned a chunk of an unknown article"
            hits.append(Hit(chunk=chunk, article=article, score=score, rank=rank))
        timings = {"embed_query": embedded - started, "search": searched - embedded, "retrieval": searched - started}
        return hits, timings

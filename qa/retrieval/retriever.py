"""Question → ranked `Hit`s: dense and BM25 search fused by reciprocal rank, with an optional recency preference."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.embedding.embedder import Embedder
from qa.retrieval.occasions import Occasion, occasion_of
from qa.retrieval.timeparse import parse_time_hint
from qa.store.protocol import ArticleStore
from qa.text import names
from qa.types import Article, Filters, Hit

if TYPE_CHECKING:
    from qa.retrieval.lexical import LexicalIndex


@dataclass(frozen=True)
class RetrievalOptions:
    """How candidates are found and ordered."""

    hybrid: bool = False  # dense only unless asked: BM25 fusion measured no better on the gold set
    candidates: int = 40  # per retriever, before fusion
    rrf_k: int = 60  # the usual reciprocal-rank-fusion constant
    lexical_weight: float = 0.2  # BM25 ranks count a fifth of dense ranks: more hurt cross-lingual questions
    recency_margin: float = 0.12  # cosine below the best article within which a newer one on the story ranks first
    # The passage after the best one joins the hits: news paragraphs go on with "He met…" that names no one
    # the question names (the reference article's answer to "Who did Zuckerberg meet?" is such a paragraph).
    follow_best: bool = True


class Retriever:
    """Dense top-k retrieval (query prompt, FAISS), fused with BM25 when `hybrid`, over one store."""

    def __init__(self, store: ArticleStore, embedder: Embedder, options: RetrievalOptions | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.options = options or RetrievalOptions()
        self._lexical: LexicalIndex | None = None
        self._duplicate_groups: dict[str, list[Article]] | None = None

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index over the store's chunks (title included), built on first use."""
        if self._lexical is None:
            # Imported here: BM25 and the SciPy it loads cost a cold `ask` time, and only hybrid search uses them.
            from qa.retrieval.lexical import LexicalIndex

            documents = [(v, f"{title}\n{chunk.text}", language) for v, chunk, title, language in self.store.passages()]
            self._lexical = LexicalIndex(documents)
        return self._lexical

    def run_question(
        self, question: str, k: int, filters: Filters | None, today: date
    ) -> tuple[list[Hit], dict[str, float]]:
        """`run` for a question as asked: a time it names (see `qa.retrieval.timeparse`, relative to `today`)
        becomes a publication-date window unless `filters` set dates themselves, only words such as
        "latest" or "now" put the newest articles first, and an edition or year it names
        (`qa.retrieval.occasions`) puts the articles about that occurrence first."""
        hint = parse_time_hint(question, today)
        if hint.has_window and not (filters and (filters.since or filters.until)):
            # A date read from the question narrows the search but must not hide undated articles.
            filters = replace(filters or Filters(), since=hint.since, until=hint.until, keep_undated=True)
        # Only words like "latest" or "now" ask for recency: preferring newer articles for every present-tense
        # question put the wrong article first for cross-lingual questions on the gold set.
        recent = hint.prefer_recent and hint.expression is not None
        return self.run(question, k, filters, prefer_recent=recent, occasion=occasion_of(question, today))

    def run(
        self,
        question: str,
        k: int,
        filters: Filters | None = None,
        prefer_recent: bool = False,
        period: tuple[date, date] | None = None,
        occasion: Occasion | None = None,
    ) -> tuple[list[Hit], dict[str, float]]:
        """The `k` best passages for `question` (rank 1 first) among the articles `filters` accepts,
        and the time each step took, in seconds.

        Among the articles on the leading story, those about the `occasion` (an edition, a time; `period` alone
        is a time) come first (`Occasion.article_rank`), else the newest first when `prefer_recent`. Every read
        sees one state of the store, even while others write."""
        occasion = occasion or Occasion(period=period)
        with self.store.reading():
            return self._run(question, k, filters, prefer_recent, occasion)

    def _run(
        self, question: str, k: int, filters: Filters | None, prefer_recent: bool, occasion: Occasion
    ) -> tuple[list[Hit], dict[str, float]]:
        started = time.perf_counter()
        vector = self.embedder.encode_query([question])[0]
        embedded = time.perf_counter()
        depth = max(k, self.options.candidates)
        dense = dict(self.store.nearest(vector, depth, filters))
        fused: dict[int, float] = {}
        for rank, vector_id in enumerate(dense, start=1):
            fused[vector_id] = 1.0 / (self.options.rrf_k + rank)
        if self.options.hybrid:
            allowed = self.store.allowed_ids(filters) if filters is not None and filters.active else None
            # The BM25 index may be a save behind a shared store: passages deleted since then are skipped.
            lexical = [(v, s) for v, s in self.lexical.search(question, depth, allowed) if self._stored(v)]
            for rank, (vector_id, _) in enumerate(lexical, start=1):
                fused[vector_id] = fused.get(vector_id, 0.0) + self.options.lexical_weight / (self.options.rrf_k + rank)
        searched = time.perf_counter()
        order = sorted(fused, key=lambda v: fused[v], reverse=True)
        similarity = {v: dense[v] if v in dense else float(np.dot(self.store.vector(v), vector)) for v in order}
        if occasion.active:
            order = self._story_first(
                order,
                similarity,
                question,
                # Among reports of the asked occurrence, "latest" still wants the newest.
                lambda a, v: (self._occasion_rank(occasion, a, v), -_timestamp(a) if prefer_recent else 0.0),
                admits=lambda a: occasion.edition is not None and occasion.is_occurrence(a.title, a.text),
            )
        elif prefer_recent:
            order = self._story_first(order, similarity, question, lambda a, v: -_timestamp(a))
        hits = self._one_per_story(order, similarity, vector, k)
        if self.options.follow_best and hits:
            hits = self._with_following(hits, vector, k)
        finished = time.perf_counter()
        timings = {"embed_query": embedded - started, "search": searched - embedded, "retrieval": finished - started}
        return hits, timings

    def _story_first(
        self,
        order: list[int],
        similarity: dict[int, float],
        question: str,
        key: Callable[[Article, int], Any],
        admits: Callable[[Article], bool] | None = None,
    ) -> list[int]:
        """`order` with the articles on the leading story first, sorted by `key` (of the article and the vector
        id of its best passage; stable otherwise).

        An article is on the leading story when its best passage is within `recency_margin` of the best
        passage overall and it mentions a name (a capitalised word or number) of the question, or when
        `admits` it and it is within twice that margin: reports of one event's editions in other languages
        share no name with the question, and a report of another edition often matches it better."""
        best_of: dict[str, int] = {}
        for vector_id in order:
            best_of.setdefault(self.store.chunk(vector_id).article_id, vector_id)
        if len(best_of) < 2:
            return order
        top = max(similarity[v] for v in best_of.values())
        asked = names(question)
        story: list[tuple[Article, int]] = []
        for article_id, vector_id in best_of.items():
            article = self.store.article(article_id)
            if article is None:
                continue
            admitted = admits is not None and admits(article)
            if similarity[vector_id] < top - self.options.recency_margin * (2 if admitted else 1):
                continue
            if not admitted and asked and not asked & names(f"{article.title} {article.text}"):
                continue
            story.append((article, vector_id))
        if len(story) < 2:
            return order
        position = {article.id: i for i, (article, _) in enumerate(sorted(story, key=lambda pair: key(*pair)))}
        leading = [v for v in order if self.store.chunk(v).article_id in position]
        leading.sort(key=lambda v: position[self.store.chunk(v).article_id])  # stable: passage order kept inside
        return leading + [v for v in order if self.store.chunk(v).article_id not in position]

    def _occasion_rank(self, occasion: Occasion, article: Article, vector_id: int) -> int:
        """`Occasion.article_rank` of `article`, whose best passage is `vector_id`."""
        passage = self.store.chunk(vector_id).text
        return occasion.article_rank(article.title, article.text, passage, article.published)

    def _one_per_story(self, order: list[int], similarity: dict[int, float], vector: np.ndarray, k: int) -> list[Hit]:
        """The first `k` hits of `order`, with one article per group of near-duplicates: its earliest
        publication (its best-matching passage takes the place of the copy's), the other outlets noted."""
        hits: list[Hit] = []
        chosen: dict[str, str] = {}  # duplicate group → the article that stands for it
        used: set[str] = set()
        for vector_id in order:
            if len(hits) >= k:
                break
            chunk = self.store.chunk(vector_id)
            article = self.store.article(chunk.article_id)
            assert article is not None, "store returned a chunk of an unknown article"
            group = article.metadata.get("duplicate_group") or article.id
            members = self._groups().get(group, [article])
            score = similarity[vector_id]
            if group not in chosen and len(members) > 1 and members[0].id != article.id:
                chunks = self.store.chunks_of(members[0].id)
                if chunks:  # else the earliest copy was deleted since the groups were read
                    article = members[0]
                    scores = self.store.vectors_of(article.id) @ vector
                    best = int(np.argmax(scores))
                    chunk, score = chunks[best], float(scores[best])
            if chosen.setdefault(group, article.id) != article.id or chunk.id in used:
                continue
            used.add(chunk.id)
            others = tuple(m.source or m.id for m in members if m.id != article.id)
            hits.append(Hit(chunk=chunk, article=article, score=score, rank=len(hits) + 1, also_carried_by=others))
        return hits

    def _stored(self, vector_id: int) -> bool:
        try:
            self.store.chunk(vector_id)
        except KeyError:
            return False
        return True

    def _with_following(self, hits: list[Hit], vector: np.ndarray, k: int) -> list[Hit]:
        """`hits` with the passage that follows the best one in its article second (when not already there),
        scored by its own similarity; still `k` hits."""
        best = hits[0]
        chunks = self.store.chunks_of(best.article.id)
        following = [i for i, chunk in enumerate(chunks) if chunk.position == best.chunk.position + 1]
        if not following or any(hit.chunk.id == chunks[following[0]].id for hit in hits):
            return hits
        score = float(self.store.vectors_of(best.article.id)[following[0]] @ vector)
        added = Hit(
            chunk=chunks[following[0]], article=best.article, score=score, rank=2, also_carried_by=best.also_carried_by
        )
        ranked = [best, added, *hits[1:]][:k]
        return [replace(hit, rank=rank) for rank, hit in enumerate(ranked, start=1)]

    def _groups(self) -> dict[str, list[Article]]:
        """Near-duplicate groups with two or more members, earliest publication first."""
        if self._duplicate_groups is None:
            self._duplicate_groups = self.store.duplicate_groups()
        return self._duplicate_groups


def _timestamp(article: Article) -> float:
    return article.published.timestamp() if article.published else float("-inf")

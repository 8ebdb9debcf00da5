"""The indexing loop: new and changed articles → passages → vectors → the store, saved in batches."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.config import Settings
from qa.errors import StoreError
from qa.ingest.chunking import Chunker
from qa.ingest.dedup import group_near_duplicates
from qa.ingest.records import IngestIssue
from qa.types import Article, Chunk

if TYPE_CHECKING:  # used through the instances passed in: the stages below ingestion are not imported
    from qa.embedding.embedder import Embedder
    from qa.store.protocol import ArticleStore, StoreBackend

_RECORD_POSITION = re.compile(r"(?::\d+|\[\d+\])$")


@dataclass
class IngestReport:
    """What an ingestion changed, and what it could not read."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[IngestIssue] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def skipped(self) -> list[IngestIssue]:
        """Issues that kept an input out of the index."""
        return [issue for issue in self.errors if issue.skipped]

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{len(self.added)} added, {len(self.replaced)} replaced, {len(self.unchanged)} unchanged, "
            f"{len(self.skipped)} skipped ({self.chunks} chunks embedded in {self.seconds:.1f} s)"
        )

    def refuse(self, article_id: str, issue: IngestIssue) -> None:
        """Take an article that could not be stored out of the added/replaced lists, and say why."""
        for kept in (self.added, self.replaced):
            if article_id in kept:
                kept.remove(article_id)
        self.errors.append(issue)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "added": self.added,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "errors": [{"origin": i.origin, "reason": i.reason, "skipped": i.skipped} for i in self.errors],
            "chunks": self.chunks,
            "seconds": self.seconds,
        }


WINDOW_BATCHES = 8  # saving batches read ahead from an article stream (their ids are matched together)


@dataclass
class Indexer:
    """Adds articles to the index of `backend`: chunks them, embeds the passages and stores them."""

    backend: StoreBackend[Any]
    chunker: Chunker
    embedder: Embedder
    settings: Settings

    def run(
        self, articles: Iterable[Article], store: ArticleStore | None, progress: bool = False
    ) -> tuple[IngestReport, ArticleStore | None]:
        """Add or replace `articles`; unchanged ones are skipped. Saved atomically after every
        `ingest_batch_articles` changed articles, so an interrupted run keeps its finished batches
        and running it again resumes where it stopped. `store` is the index as last read; returns the
        report and the index as saved. `articles` is consumed WINDOW_BATCHES batches at a time, so an
        endless stream needs bounded memory."""
        started = time.perf_counter()
        report = IngestReport()
        window = self.settings.ingest_batch_articles * WINDOW_BATCHES
        with self.backend.writing():
            store = self.backend.fresh(store)
            iterator = iter(articles)
            while part := list(itertools.islice(iterator, window)):
                store = self.save_plan(self.plan(part, store, report=report), store, progress)
        report.seconds = time.perf_counter() - started
        return report, store

    def save_plan(self, plan: IngestPlan, store: ArticleStore | None, progress: bool = False) -> ArticleStore | None:
        """Embed and save the changed articles of `plan`, `ingest_batch_articles` at a time; the index as saved."""
        report = plan.report
        chunks = report.chunks
        size = self.settings.ingest_batch_articles
        for start in range(0, len(plan.changed), size):
            part = plan.changed[start : start + size]
            for article in part:
                if article.id in plan.stale and store:
                    store.delete(plan.stale[article.id])  # in the same save as its replacement
            report.chunks = 0
            store = self.embed_into(store, part, report, progress)
            chunks += report.chunks
            store.ann_threshold = self.settings.ann_threshold
            store.save()
        report.chunks = chunks
        return store

    def plan(
        self,
        articles: Iterable[Article],
        store: ArticleStore | None,
        signatures: dict[str, str] | None = None,
        report: IngestReport | None = None,
    ) -> IngestPlan:
        """Which of `articles` are new, changed or unchanged against `store` (the last of several with one id
        wins), the changed ones with their near-duplicate groups, and the older versions they replace.
        `signatures` are MinHash signatures made beforehand (see `group_near_duplicates`); `report`, one to
        add to (a stream planned window by window)."""
        report = IngestReport() if report is None else report
        batch: dict[str, Article] = {}
        for article in articles:
            problem = _unstorable(article)
            if problem:
                report.errors.append(IngestIssue(article.metadata.get("origin", article.id), problem))
                continue
            if article.id in batch:
                report.errors.append(
                    IngestIssue(
                        article.metadata.get("origin", article.id),
                        f"duplicate id {article.id} in this batch; the last one wins",
                        skipped=False,
                    )
                )
            batch[article.id] = article
        changed: list[Article] = []
        stale: dict[str, str] = {}  # new article id → id of the older version it replaces
        for article in batch.values():
            previous = previous_version(store, article, batch, set(stale.values())) if store else None
            if previous is None:
                report.added.append(article.id)
                changed.append(article)
            elif (
                previous.metadata.get("content_hash") == article.metadata.get("content_hash")
                and previous.id == article.id
            ):
                report.unchanged.append(article.id)
            else:
                if previous.id != article.id and store:
                    stale[article.id] = previous.id
                report.replaced.append(article.id)
                changed.append(article)
        if changed:
            replaced = set(stale.values())
            kept = [s for s in store.signatures() if s[0] not in replaced] if store else []
            changed = group_near_duplicates(kept, changed, computed=signatures)
        return IngestPlan(report, changed, stale)

    def embed_into(
        self, store: ArticleStore | None, articles: list[Article], report: IngestReport, progress: bool
    ) -> ArticleStore:
        """Chunk and embed `articles` into `store` (created when None), unsaved; an article the store
        refuses is reported and taken out of the report's added and replaced lists."""
        chunked = self.chunk(articles)
        return self.write(store, chunked, self.embed(chunked, progress), report)

    def chunk(self, articles: list[Article]) -> list[tuple[Article, list[Chunk]]]:
        """Each article with its chunks."""
        return [(article, self.chunker.run(article)) for article in articles]

    def embed(self, chunked: list[tuple[Article, list[Chunk]]], progress: bool = False) -> np.ndarray:
        """One vector per chunk, in order, each embedded with its article's title and date."""
        texts = [chunk.text for _, chunks in chunked for chunk in chunks]
        titles = [context_title(article) for article, chunks in chunked for _ in chunks]
        return self.embedder.encode_documents(texts, titles, progress=progress)

    def write(
        self,
        store: ArticleStore | None,
        chunked: list[tuple[Article, list[Chunk]]],
        vectors: np.ndarray,
        report: IngestReport,
    ) -> ArticleStore:
        """Upsert each article with its chunks and their `vectors` (unsaved), creating the index if `store` is None;
        an article the store refuses goes from the report's added/replaced lists to its errors."""
        if store is None:
            # Vectors taken whole from the cache give the dimension without loading the model.
            dimension = vectors.shape[1] if len(vectors) else self.embedder.dimension
            store = self.backend.create(
                self.settings.embedding_model, dimension, self.settings.ann_threshold, self.embedder.record()
            )
        offset = 0
        for article, chunks in chunked:
            try:
                store.upsert(article, chunks, vectors[offset : offset + len(chunks)])
            except StoreError as error:  # one article's bad vectors must not cost the batch its good articles
                report.refuse(article.id, IngestIssue(article.metadata.get("origin", article.id), str(error)))
            offset += len(chunks)
        report.chunks = offset
        return store


@dataclass
class IngestPlan:
    """What an ingestion will write: the changed articles in order (near-duplicate groups set) and, for an
    article replacing an older version under another id, that id (deleted in the same save)."""

    report: IngestReport
    changed: list[Article]
    stale: dict[str, str]


def previous_version(
    store: ArticleStore, article: Article, batch: dict[str, Article], claimed: set[str]
) -> Article | None:
    """The stored article that `article` is a new version of (itself when unchanged), or None when it is new."""
    existing = store.article(article.id)
    if existing is not None or article.metadata.get("id_source") != "content":
        return existing
    # An article without its own id is known by its content. An older id-less article of the same file whose
    # content is no longer in this batch was edited into this one: the one at the same line if there is
    # one, else the only such article of the file. An older article still present in the batch (a line moved
    # when another was inserted above it) is never replaced.
    origin = str(article.metadata.get("origin"))
    gone = [
        candidate
        for candidate in store.articles()
        if candidate.metadata.get("id_source") == "content"
        and candidate.id not in batch
        and candidate.id not in claimed
        and _origin_file(str(candidate.metadata.get("origin"))) == _origin_file(origin)
    ]
    same_line = [candidate for candidate in gone if candidate.metadata.get("origin") == origin]
    if same_line:
        return same_line[0]
    return gone[0] if len(gone) == 1 else None


def context_title(article: Article) -> str:
    """The title a passage is embedded with: the article's, with its publication date."""
    if article.published is None:
        return article.title
    return f"{article.title} ({article.published.date().isoformat()})"


def _origin_file(origin: str) -> str:
    """The file an origin names, without the line (`:12`) or position (`[3]`) of a record inside it."""
    return _RECORD_POSITION.sub("", origin)


def _unstorable(article: Article) -> str | None:
    """Why `article` cannot be written into the index (None when it can), checked before it joins a batch
    so that one bad article never costs the others their save."""
    try:
        json.dumps(article.to_dict(), ensure_ascii=False, default=str).encode("utf-8")
    except (RecursionError, ValueError, TypeError, OverflowError, UnicodeError) as error:
        return f"cannot be stored ({type(error).__name__}: {str(error)[:120]}); its metadata is too deep or invalid"
    return None

"""The one public façade of newsqa: open an index, ingest articles, ask questions."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.answering.answerer import Answerer
from qa.answering.citations import CitationChecker
from qa.answering.conversation import QuestionRewriter
from qa.answering.prompts import Prompts
from qa.config import Settings
from qa.embedding.cache import cache_key
from qa.embedding.embedder import BACKENDS, Embedder
from qa.errors import InputError, NewsqaError, StoreError
from qa.ingest.chunking import Chunker
from qa.ingest.dedup import group_near_duplicates
from qa.ingest.readers import IngestIssue, ReadOptions, iter_paths
from qa.language import detect_language
from qa.llm.factory import make_llm
from qa.retrieval.filters import Filters
from qa.retrieval.retriever import RetrievalOptions, Retriever
from qa.retrieval.timeparse import parse_time_hint
from qa.store.check import CheckReport, ModelHint, merge
from qa.store.protocol import ArticleStore, StoreBackend, open_backend
from qa.types import Answer, Article, Chunk, Hit

if TYPE_CHECKING:  # the web modules (feeds, fetching) are imported when first used: `ask` starts faster
    from qa.ingest.feeds import FeedState, RefreshReport
    from qa.ingest.fetch import Fetcher

MAX_QUESTION_CHARS = 2000
INGEST_WINDOW_BATCHES = 8  # saving batches read ahead from an article stream (its ids are matched together)
SAME_VECTOR = 0.99  # cosine above which a re-embedded passage gives back its stored vector
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


def _withdraw(report: IngestReport, article_id: str) -> None:
    """Take an article that could not be stored out of the report's added/replaced lists."""
    for kept in (report.added, report.replaced):
        if article_id in kept:
            kept.remove(article_id)


class Assistant:
    """newsqa over one index: a local folder, or a PostgreSQL database given by a `postgresql://` URL.
    Models load on first use; all state lives with the index."""

    def __init__(self, index_dir: str | Path, settings: Settings, prompts: Prompts | None = None) -> None:
        self.backend: StoreBackend = open_backend(index_dir)
        self.index_dir = self.backend.location
        manifest = self.backend.manifest() if self.backend.exists() else None
        if manifest is not None:
            # The index remembers which model embedded it; questions must use the same one.
            settings = settings.with_overrides(embedding_model=manifest["embedding_model"])
        self.settings = settings
        self.prompts = prompts or Prompts.load()
        folder = self.index_dir if isinstance(self.index_dir, Path) else None
        self.embedder = Embedder.from_settings(settings, folder, manifest)
        if settings.embedding_cache and self.embedder.cache is None:
            self.embedder.cache = self.backend.embedding_cache()  # a database keeps its cache in a table
        self.llm = make_llm(settings)
        self.chunker = Chunker(settings.chunk_size, settings.min_chunk_size)
        self._store: ArticleStore | None = self.backend.load() if manifest is not None else None
        self._fetcher: Fetcher | None = None
        self._retriever_cache: tuple[ArticleStore, int, Retriever] | None = None

    @classmethod
    def open(cls, index_dir: str | Path = "index/news", settings: Settings | None = None) -> Assistant:
        """An assistant over the index at `index_dir`, a folder or a `postgresql://` URL (created on first ingest);
        without `settings`, the effective ones: defaults, `newsqa.toml` and `NEWSQA_<NAME>` variables (see
        `Settings.load`)."""
        return cls(index_dir, settings or Settings.load())

    def warm_up(self) -> None:
        """Load both models now instead of on first use."""
        self.embedder.warm_up()
        self.llm.warm_up()

    # -- corpus ------------------------------------------------------------------------------

    @property
    def store(self) -> ArticleStore:
        """The index as last saved (by this or another process); StoreError while nothing has been ingested."""
        self._store = self._fresh_store()
        if self._store is None:
            raise StoreError(f"the index {self.backend.describe()} is empty; add articles with `newsqa ingest PATH`")
        return self._store

    def articles(self) -> list[Article]:
        """Every indexed article, newest first."""
        self._store = self._fresh_store()
        return self._store.articles() if self._store else []

    def stats(self) -> dict[str, Any]:
        """Counts and settings of the index."""
        store = self._store = self._fresh_store()
        languages = store.language_counts() if store else {}
        return {
            "index": self.backend.describe(),
            "articles": sum(languages.values()),
            "chunks": store.chunk_count if store else 0,
            "languages": languages,
            "embedding_model": self.settings.embedding_model,
            "llm_model": self.llm.model_name,
            "version": store.version if store else 0,
        }

    def ingest(self, paths: Iterable[str | Path], progress: bool = False) -> IngestReport:
        """Read articles from files and folders and add them to the index. Line-oriented files (JSON Lines,
        CSV) stream through, so a file of any size is read, chunked and saved batch by batch."""
        issues: list[IngestIssue] = []

        def articles() -> Iterator[Article]:
            for item in iter_paths(paths, self.read_options):
                if isinstance(item, IngestIssue):
                    issues.append(item)
                else:
                    yield item

        report = self.ingest_articles(articles(), progress=progress)
        report.errors[:0] = issues
        return report

    @property
    def read_options(self) -> ReadOptions:
        """The reading limits the settings ask for."""
        return ReadOptions(extract_timeout_s=self.settings.extract_timeout_s)

    def ingest_articles(self, articles: Iterable[Article], progress: bool = False) -> IngestReport:
        """Add or replace articles; unchanged ones are skipped. Saved atomically after every
        `ingest_batch_articles` changed articles, so an interrupted run keeps its finished batches
        and running it again resumes where it stopped. `articles` is consumed a window of
        INGEST_WINDOW_BATCHES batches at a time, so an endless stream needs bounded memory."""
        started = time.perf_counter()
        report = IngestReport()
        window = self.settings.ingest_batch_articles * INGEST_WINDOW_BATCHES
        with self.backend.writing():
            iterator = iter(articles)
            while True:
                part = list(itertools.islice(iterator, window))
                if not part:
                    break
                self._ingest_window(part, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_window(self, articles: list[Article], report: IngestReport, progress: bool) -> None:
        """Add one window of articles (ids and near-duplicates are matched within it and against the index)."""
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
        store = self._fresh_store()
        changed: list[Article] = []
        stale: dict[str, str] = {}  # new article id → id of the older version it replaces
        for article in batch.values():
            previous = self._previous_version(store, article, batch, set(stale.values())) if store else None
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
            changed = group_near_duplicates(kept, changed)
        chunks = report.chunks
        size = self.settings.ingest_batch_articles
        for start in range(0, len(changed), size):
            part = changed[start : start + size]
            for article in part:
                if article.id in stale and store:
                    store.delete(stale[article.id])  # in the same save as its replacement
            report.chunks = 0
            store = self._embed_into(store, part, report, progress)
            chunks += report.chunks
            store.ann_threshold = self.settings.ann_threshold
            store.save()
        report.chunks = chunks
        self._store = store

    def delete(self, article_id: str) -> bool:
        """Remove an article from the index; False if it was not there."""
        with self.backend.writing():
            store = self._fresh_store()
            if store is None or not store.delete(article_id):
                return False
            store.save()
            self._store = store
            return True

    def check(self, repair: bool = False) -> CheckReport:
        """Verify the index (see `qa.store.check.check` and `qa.store.postgres_check.check`); with `repair`,
        also fix it and re-chunk and re-embed the articles whose vectors are missing or damaged."""
        report = _check(self.backend, self.settings, repair)
        if repair and report.missing_vectors:
            with self.backend.writing():
                store = self._fresh_store()
                lost = [a for a in (store.article(i) for i in report.missing_vectors) if a] if store else []
                if store is not None and lost:
                    store = self._embed_into(store, lost, IngestReport(), progress=False)
                    store.save()
                self._store = store
            report = merge(report, self.backend.check())
        return report

    @classmethod
    def check_index(cls, index_dir: str | Path, settings: Settings | None = None, repair: bool = False) -> CheckReport:
        """`check` for an index that may be too damaged to open: the store is repaired first, then
        opened to re-embed the articles whose vectors are missing."""
        settings = settings or Settings.load()
        report = _check(open_backend(index_dir), settings, repair)
        if repair and report.missing_vectors:
            return merge(report, cls.open(index_dir, settings).check(repair=True))
        return report

    # -- the web -----------------------------------------------------------------------------

    @property
    def fetcher(self) -> Fetcher:
        """The fetcher for URLs and feeds when none is given (its allow-list comes from $NEWSQA_ALLOW_HOSTS)."""
        if self._fetcher is None:
            from qa.ingest.fetch import FetchConfig, Fetcher

            self._fetcher = Fetcher(FetchConfig.from_env())
        return self._fetcher

    def ingest_urls(self, urls: Iterable[str], fetcher: Fetcher | None = None, progress: bool = False) -> IngestReport:
        """Fetch web pages and add their articles. A malformed URL raises FetchError before anything is fetched;
        pages that cannot be fetched or hold no article are reported in `errors`."""
        from qa.ingest.fetch import check_url
        from qa.ingest.web_pages import read_urls

        checked = [check_url(url) for url in urls]
        if not checked:
            raise InputError("no URLs given")
        result = read_urls(checked, fetcher or self.fetcher, self.read_options, progress=progress)
        report = self.ingest_articles(result.articles, progress=progress)
        report.errors[:0] = result.issues
        return report

    def add_feed(self, url: str, fetcher: Fetcher | None = None) -> FeedState:
        """Follow an RSS/Atom feed (fetched once to check it); its entries arrive with `refresh_feeds`."""
        from qa.ingest.feeds import FeedRegistry

        state, _ = FeedRegistry(self.backend.feeds()).add(url, fetcher or self.fetcher)
        return state

    def feeds(self) -> list[FeedState]:
        """The feeds this index follows."""
        from qa.ingest.feeds import FeedRegistry

        return FeedRegistry(self.backend.feeds()).list()

    def remove_feed(self, url: str) -> FeedState:
        """Stop following a feed (its articles stay); InputError when it is not followed."""
        from qa.ingest.feeds import FeedRegistry

        return FeedRegistry(self.backend.feeds()).remove(url)

    def refresh_feeds(self, fetcher: Fetcher | None = None, progress: bool = False) -> RefreshReport:
        """Fetch every followed feed and add the articles of its new entries."""
        from qa.ingest.feeds import FeedRegistry

        return FeedRegistry(self.backend.feeds()).refresh(
            fetcher or self.fetcher,
            lambda articles: self.ingest_articles(articles, progress=progress),
            progress=progress,
            options=self.read_options,
        )

    def _fresh_store(self) -> ArticleStore | None:
        """The store as it is now (another process may have written since we opened it)."""
        return self.backend.fresh(self._store)

    @staticmethod
    def _previous_version(
        store: ArticleStore, article: Article, batch: dict[str, Article], claimed: set[str]
    ) -> Article | None:
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

    def _embed_into(
        self, store: ArticleStore | None, articles: list[Article], report: IngestReport, progress: bool
    ) -> ArticleStore:
        chunked = [(article, self.chunker.run(article)) for article in articles]
        texts = [chunk.text for _, chunks in chunked for chunk in chunks]
        titles = [_context_title(article) for article, chunks in chunked for _ in chunks]
        vectors = self.embedder.encode_documents(texts, titles, progress=progress)
        if store is None:
            # Vectors taken whole from the cache give the dimension without loading the model.
            dimension = vectors.shape[1] if len(vectors) else self.embedder.dimension
            store = self.backend.create(self.settings.embedding_model, dimension, self.settings.ann_threshold)
        offset = 0
        for article, chunks in chunked:
            try:
                store.upsert(article, chunks, vectors[offset : offset + len(chunks)])
            except StoreError as error:  # one article's bad vectors must not cost the batch its good articles
                _withdraw(report, article.id)
                report.errors.append(IngestIssue(article.metadata.get("origin", article.id), str(error)))
            offset += len(chunks)
        report.chunks = len(texts)
        return store

    # -- questions ---------------------------------------------------------------------------

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """The best `k` passages for `question`, with similarity scores, among the articles `filters` accepts."""
        hits, _ = self._retrieve(_checked_question(question), k, filters)
        return hits

    def _retrieve(self, question: str, k: int | None, filters: Filters | None) -> tuple[list[Hit], dict[str, float]]:
        k = k or self.settings.top_k
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        hint = parse_time_hint(question, self.today)
        if hint.has_window and not (filters and (filters.since or filters.until)):
            # A date read from the question narrows the search but must not hide undated articles.
            filters = replace(filters or Filters(), since=hint.since, until=hint.until, keep_undated=True)
        # Only words like "latest" or "now" ask for recency: preferring newer articles for every present-tense
        # question put the wrong article first for cross-lingual questions on the gold set.
        recent = hint.prefer_recent and hint.expression is not None
        return self._retriever().run(question, k, filters, prefer_recent=recent, period=hint.period)

    @property
    def today(self) -> date:
        """The date that "latest", "last week"… in questions are relative to."""
        return date.fromisoformat(self.settings.today) if self.settings.today else date.today()

    def _retriever(self) -> Retriever:
        """One retriever per index version, so its BM25 index and near-duplicate groups are built once each."""
        store = self.store
        version = store.version
        cached = self._retriever_cache
        if cached is None or cached[0] is not store or cached[1] != version:
            options = RetrievalOptions(hybrid=self.settings.hybrid)
            cached = self._retriever_cache = (store, version, Retriever(store, self.embedder, options))
        return cached[2]

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        history: list[tuple[str, str]] | None = None,
    ) -> Iterator[str | Answer]:
        """Answer text as it is generated, then the final checked `Answer`.

        `history` holds earlier (question, answer) turns of the conversation; a follow-up question
        is first rewritten into a standalone one.
        """
        started = time.perf_counter()
        question = _checked_question(question)
        standalone = QuestionRewriter(self.llm, self.prompts.rewrite).run(question, history or [])
        rewritten_at = time.perf_counter()
        hits, retrieval_timings = self._retrieve(standalone, k, filters)
        answerer = self._answerer()
        language = detect_language(question)
        for item in answerer.stream(standalone, hits, started=started, language=language):
            if isinstance(item, Answer):
                item.question = question
                item.standalone_question = standalone
                item.timings = {**retrieval_timings, **item.timings}
                if history:
                    item.timings["rewrite"] = rewritten_at - started
            yield item

    def ask(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        history: list[tuple[str, str]] | None = None,
    ) -> Answer:
        """A short answer with verified `[n]` citations, or the articles-don't-say answer."""
        *_, answer = self.ask_stream(question, k, filters, history)
        assert isinstance(answer, Answer)
        return answer

    def _answerer(self) -> Answerer:
        checker = CitationChecker(encode=self.embedder.encode_query)
        return Answerer(
            self.llm,
            self.prompts,
            checker,
            context_passages=self.settings.context_passages,
            context_tokens=self.settings.context_tokens,
            min_score=self.settings.min_score,
            translate_quotes=self.settings.translate_quotes,
            min_support=self.settings.min_support,
        )


def _check(backend: StoreBackend, settings: Settings, repair: bool) -> CheckReport:
    """The backend's check; a folder's repair may need to be told which model embedded it."""
    hint = model_hint(backend.location, settings) if isinstance(backend.location, Path) else None
    return backend.check(repair=repair, model_hint=hint)


def model_hint(index_dir: Path, settings: Settings) -> ModelHint:
    """How `check --repair` learns which model embedded an index whose every manifest is lost: the model
    whose cached vectors hold its passages, else the configured one if re-embedding a few stored
    passages gives their vectors back."""

    def identify(
        samples: list[tuple[Article, Chunk, np.ndarray | None]], dimension: int | None
    ) -> tuple[str, int | None] | None:
        texts = [chunk.text for _, chunk, _ in samples]
        titles = [_context_title(article) for article, _, _ in samples]
        found = _cached_model(index_dir, settings, texts, titles)
        if found is not None:
            return found[0], dimension or found[1]
        stored = [
            (text, title, vector) for text, title, (_, _, vector) in zip(texts, titles, samples) if vector is not None
        ]
        if not stored:
            return settings.embedding_model, dimension  # no vector is left to contradict it: all are re-embedded
        embedder = Embedder(
            settings.embedding_model,
            settings.models_dir,
            settings.embed_batch_size,
            backend=settings.embedding_backend,
            dimension=dimension or 0,
            titles=settings.embed_titles,
        )
        try:
            fresh = embedder.encode_documents([t for t, _, _ in stored], [t for _, t, _ in stored])
        except NewsqaError:
            return None
        if fresh.shape[1] != len(stored[0][2]):
            return None
        agreement = np.sum(fresh * np.stack([v for _, _, v in stored]), axis=1)
        return (settings.embedding_model, dimension) if float(agreement.min()) >= SAME_VECTOR else None

    return identify


def _cached_model(index_dir: Path, settings: Settings, texts: list[str], titles: list[str]) -> tuple[str, int] | None:
    """(model, vector size) of the known embedding model whose cached vectors hold these passages."""
    from qa.models import known_models

    cache_dir = Embedder.from_settings(settings, index_dir).cache_dir
    if not texts or cache_dir is None or not cache_dir.exists():
        return None
    for name in dict.fromkeys([settings.embedding_model, *(spec.name for spec in known_models("embedding"))]):
        embedder = Embedder(name, settings.models_dir, cache_dir=cache_dir)
        for titled in (True, False):
            embedder.titles = titled
            try:
                documents = embedder.document_texts(texts, titles)  # reads the model's prompts from its folder
            except NewsqaError:
                break
            for backend in BACKENDS:
                embedder.backend = backend
                found = embedder.cache.get([cache_key(embedder.cache_space, d) for d in documents])  # type: ignore[union-attr]
                if found:
                    return name, len(next(iter(found.values())))


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


def _context_title(article: Article) -> str:
    if article.published is None:
        return article.title
    return f"{article.title} ({article.published.date().isoformat()})"


def _checked_question(question: str) -> str:
    text = (question or "").strip()
    if not text:
        raise InputError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return text

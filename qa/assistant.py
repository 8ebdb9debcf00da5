"""The one public façade of newsqa: open an index, ingest articles, ask questions."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.answering.answerer import Answerer
from qa.answering.citations import CitationChecker
from qa.answering.conversation import QuestionRewriter
from qa.answering.multihop import MultiHop
from qa.answering.prompts import Prompts
from qa.config import Settings
from qa.embedding.cache import cache_key
from qa.embedding.embedder import BACKENDS, Embedder
from qa.errors import InputError, NewsqaError, StoreError
from qa.ingest.chunking import Chunker
from qa.ingest.indexing import Indexer, IngestReport, context_title
from qa.ingest.readers import IngestIssue, ReadOptions, iter_paths
from qa.language import detect_language
from qa.llm.factory import make_llm
from qa.retrieval.retriever import RetrievalOptions, Retriever
from qa.store.check import CheckReport, ModelHint, merge
from qa.store.local import LocalBackend
from qa.store.protocol import ArticleStore, StoreBackend, open_backend
from qa.types import Answer, Article, Chunk, Filters, Hit

if TYPE_CHECKING:  # the web modules (feeds, fetching) are imported when first used: `ask` starts faster
    from qa.ingest.feeds import RefreshReport
    from qa.ingest.fetch import Fetcher
    from qa.store.feeds import FeedState

MAX_QUESTION_CHARS = 2000
SAME_VECTOR = 0.99  # cosine above which a re-embedded passage gives back its stored vector


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
        self.embedder = Embedder.from_settings(settings, manifest)
        if manifest is not None:
            # It also fixes the backend and titles flag when it records them: the settings show what is used.
            settings = settings.with_overrides(
                embedding_backend=self.embedder.backend, embed_titles=self.embedder.titles
            )
        self.settings = settings
        self.prompts = prompts or Prompts.load()
        if settings.embedding_cache and self.embedder.cache is None:
            self.embedder.cache = self.backend.embedding_cache()  # a folder's `embcache`, a database's table
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
        and running it again resumes where it stopped."""
        report, self._store = self._indexer().run(articles, self._store, progress)
        return report

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
                    store = self._indexer().embed_into(store, lost, IngestReport(), progress=False)
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

    def _indexer(self) -> Indexer:
        return Indexer(self.backend, self.chunker, self.embedder, self.settings)

    # -- questions ---------------------------------------------------------------------------

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """The best `k` passages for `question`, with similarity scores, among the articles `filters` accepts."""
        hits, _ = self._retrieve(_checked_question(question), k, filters)
        return hits

    def _retrieve(self, question: str, k: int | None, filters: Filters | None) -> tuple[list[Hit], dict[str, float]]:
        k = k or self.settings.top_k
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        return self._retriever().run_question(question, k, filters, self.today)

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
    ) -> Generator[str | Answer, None, None]:
        """Answer text as it is generated, then the final checked `Answer` (close it to stop early).

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
        decomposed = multihop = None
        if self.settings.decompose:
            multihop = MultiHop(
                self.llm, self.prompts, answerer, lambda text, n: self._retrieve(text, n or k, filters)[0]
            )
            decomposed = multihop.answer(standalone, hits, language, started)
        stream = [decomposed] if decomposed else answerer.stream(standalone, hits, started=started, language=language)
        for item in stream:
            if isinstance(item, Answer):
                if multihop is not None and decomposed is None:
                    item = multihop.retry(standalone, item, language, started) or item
                item.question = question
                item.standalone_question = item.standalone_question or standalone
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
        checker = CitationChecker(encode=self.embedder.encode_query, today=self.today)
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
        titles = [context_title(article) for article, _, _ in samples]
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

    if not texts or not settings.embedding_cache:
        return None
    cache_dir = Embedder.from_settings(settings).cache_dir or LocalBackend(index_dir).embedding_cache().folder
    if not cache_dir.exists():
        return None
    for name in dict.fromkeys([settings.embedding_model, *(spec.name for spec in known_models("embedding"))]):
        embedder = Embedder(name, settings.models_dir, cache_dir=cache_dir)
        cache = embedder.cache
        assert cache is not None  # a cache folder was given
        for titled in (True, False):
            embedder.titles = titled
            try:
                documents = embedder.document_texts(texts, titles)  # reads the model's prompts from its folder
            except NewsqaError:
                break
            for backend in BACKENDS:
                embedder.backend = backend
                found = cache.get([cache_key(embedder.cache_space, d) for d in documents])
                if found:
                    return name, len(next(iter(found.values())))
    return None


def _checked_question(question: str) -> str:
    text = (question or "").strip()
    if not text:
        raise InputError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return text

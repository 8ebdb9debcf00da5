"""Copy an index between backends (a folder and a PostgreSQL database, either way), resumably."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

from qa.errors import StoreError
from qa.store.feeds import FeedState
from qa.store.protocol import ArticleStore, StoreBackend

DEFAULT_BATCH = 256


@dataclass
class MigrationReport:
    """What a migration copied, found already there (from an earlier, interrupted run) and removed."""

    source: str
    target: str
    copied: list[str] = field(default_factory=list)
    already_there: int = 0
    pruned: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # in the target, not in the source, kept (no --prune)
    chunks: int = 0
    feeds: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people."""
        line = (
            f"{self.source} → {self.target}: {len(self.copied)} articles copied ({self.chunks} passages), "
            f"{self.already_there} already there, {self.feeds} feeds, {len(self.pruned)} pruned "
            f"in {self.seconds:.1f} s"
        )
        if self.extra:
            line += f"; the target also holds {len(self.extra)} articles the source lacks (--prune removes them)"
        return line

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def migrate(
    source: StoreBackend,
    target: StoreBackend,
    batch: int = DEFAULT_BATCH,
    prune: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> MigrationReport:
    """Copy every article of `source` with its passages and their vectors (no re-embedding) into `target`,
    and the followed feeds. Saved every `batch` articles: an interrupted run keeps its saved batches, and
    running it again copies only what is missing or different. `on_batch` is called with the running
    count after each save. With `prune`, articles of the target that the source lacks are deleted."""
    if batch < 1:
        raise StoreError(f"the batch size must be at least 1, got {batch}")
    started = time.perf_counter()
    report = MigrationReport(source.describe(), target.describe())
    if not source.exists():
        raise StoreError(f"no index at {source.describe()} to migrate")
    manifest = source.manifest()
    origin = source.load()
    with target.writing():
        store = _target_store(target, manifest)
        there = {article.id: article for article in store.articles()}
        with origin.reading():
            articles = sorted(origin.articles(), key=lambda a: a.id)
            todo = []
            for article in articles:
                chunks = origin.chunks_of(article.id)
                if there.get(article.id) == article and store.chunks_of(article.id) == chunks:
                    report.already_there += 1
                else:
                    todo.append((article, chunks))
            # Loading at least doubles the target: the backend may build its vector index once, at the end.
            bulk = sum(len(chunks) for _, chunks in todo) >= max(1, store.chunk_count)
            with store.bulk_loading() if bulk else nullcontext():
                for number, (article, chunks) in enumerate(todo, start=1):
                    store.upsert(article, chunks, origin.vectors_of(article.id))
                    report.copied.append(article.id)
                    report.chunks += len(chunks)
                    if number % batch == 0 or number == len(todo):
                        store.save()
                        if on_batch:
                            on_batch(number)
        report.extra = sorted(set(there) - {article.id for article in articles})
        if prune and report.extra:
            for article_id in report.extra:
                store.delete(article_id)
            store.save()
            report.pruned, report.extra = report.extra, []
        if not there and not todo:
            store.save()  # an empty source still gives an index at the target
    report.feeds = _copy_feeds(source, target)
    report.seconds = time.perf_counter() - started
    return report


def _target_store(target: StoreBackend, manifest: dict[str, Any]) -> ArticleStore:
    model, dimension = manifest["embedding_model"], int(manifest["dimension"])
    if not target.exists():
        return target.create(model, dimension, int(manifest.get("ann_threshold") or 50_000), manifest.get("embedder"))
    found = target.manifest()
    if (found["embedding_model"], int(found["dimension"])) != (model, dimension):
        raise StoreError(
            f"{target.describe()} holds {found['dimension']}-dimension vectors of {found['embedding_model']}, "
            f"the source {dimension}-dimension vectors of {model}: migrate into an empty index"
        )
    made, found_made = manifest.get("embedder"), found.get("embedder")
    if made is not None and found_made is not None and made != found_made:
        raise StoreError(
            f"{target.describe()} holds vectors made by {found_made}, the source vectors made by {made}: "
            "migrate into an empty index"
        )
    return target.load()


def _copy_feeds(source: StoreBackend, target: StoreBackend) -> int:
    feeds = source.feeds().read()
    if not feeds:
        return 0

    def merge(stored: dict[str, FeedState]) -> None:
        stored.update(feeds)

    target.feeds().update(merge)
    return len(feeds)

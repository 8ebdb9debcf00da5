"""Ingestion on a Ray cluster (`newsqa ingest --ray`): read, chunk and embed with Ray Data, write to PostgreSQL.

The pipeline runs newsqa's own steps, spread over the cluster:

1. read: one Ray task per block of files runs `read_file` and makes each article's MinHash signature;
2. plan (on the driver): which articles are new, changed or unchanged, and their near-duplicate groups,
   exactly as `Indexer.plan` decides for a local ingest;
3. chunk: Ray tasks run the chunker;
4. embed: `map_batches` with `PassageEmbedder` on an actor pool, so each actor loads the model once;
5. write: Ray tasks upsert their block's articles into the PostgreSQL store and save them in one
   transaction that replaces each article's passages as a whole.

Each changed article is one row of the dataset, so exactly one write task holds it. A task or actor that dies
is run again, as Ray Data does by default (tasks `max_retries=-1` on system failures; actors `max_restarts=-1`
and `max_task_retries=-1`: the restarted actor loads the model again and gets the lost batch); a retried write
replaces the same articles with the same passages under the same ids, so it never doubles one, and a write
that died before its commit left nothing behind. Only a `postgresql://` index is accepted: every node must
reach the same store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import InputError, NewsqaError
from qa.ingest.dedup import article_signature
from qa.ingest.indexing import Indexer, IngestReport
from qa.ingest.readers import IngestIssue, ReadOptions, list_inputs, read_file
from qa.store.protocol import is_database_url

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.types import Article, Chunk

OBJECT_STORE_MB = 512  # Ray takes 30% of the memory for its object store unless told; articles and vectors need little
FILES_PER_READ_TASK = 16
EMBED_BATCH_ARTICLES = 8  # articles per call of an embedding actor
EMBEDDER_NAME = "PassageEmbedder"  # the embedding actors' class, as Ray's state API names them
log = logging.getLogger("newsqa.ingest")


class RayIngestOptions:
    """Where and how wide the pipeline runs."""

    def __init__(
        self,
        address: str | None = None,
        actors: int | None = None,
        object_store_mb: int = OBJECT_STORE_MB,
        embed_batch_articles: int = EMBED_BATCH_ARTICLES,
    ) -> None:
        if actors is not None and actors < 1:
            raise InputError(f"--ray-actors must be at least 1, got {actors}")
        if embed_batch_articles < 1:
            raise InputError(f"the embedding batch must hold at least 1 article, got {embed_batch_articles}")
        self.address = address  # None: start a Ray on this machine; "auto" or host:port: join that cluster
        self.actors = actors  # embedding actors; None: one per node
        self.object_store_mb = object_store_mb
        self.embed_batch_articles = embed_batch_articles


def ingest_on_ray(
    assistant: Assistant, paths: Iterable[str | Path], options: RayIngestOptions | None = None, progress: bool = False
) -> IngestReport:
    """Read, chunk and embed the articles of `paths` on a Ray cluster and write them into the assistant's
    PostgreSQL index; the report says what a local `Assistant.ingest` would say."""
    options = options or RayIngestOptions()
    if not is_database_url(assistant.index_dir):
        raise InputError(
            f"--ray writes into a shared PostgreSQL index, and {assistant.index_dir} is a folder: give "
            "--index postgresql://user@host:port/db (every Ray node must reach it), or ingest without --ray"
        )
    ray = _import_ray()
    started = time.perf_counter()
    owned = not ray.is_initialized()
    if owned:
        _connect(ray, options)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = progress
        if not progress:  # Ray Data's per-stage lines are progress too, and it warns that its bars are off
            logging.getLogger("ray.data").setLevel(logging.WARNING)
            logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
        files, issues = list_inputs(paths)
        articles, signatures, read_issues = _read(ray, files, assistant)
        store = assistant.backend.fresh(None)
        plan = _indexer(assistant).plan(articles, store, signatures)
        report = plan.report
        report.errors[:0] = [*issues, *read_issues]
        if plan.changed:
            for row in _write(ray, assistant, plan.changed, plan.stale, options):
                report.chunks += int(row["chunks"])
                if row["reason"]:
                    report.refuse(row["article_id"], IngestIssue(row["origin"], row["reason"]))
    finally:
        if owned:
            ray.shutdown()
    report.seconds = time.perf_counter() - started
    return report


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise NewsqaError(f'--ray needs Ray Data: pip install "newsqa[ray]" ({error})') from None
    return ray


def _connect(ray: Any, options: RayIngestOptions) -> None:
    """Start a Ray on this machine (its object store capped), or join the cluster at `options.address`."""
    if options.address is None:
        ray.init(
            object_store_memory=options.object_store_mb * 2**20,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
        return
    try:
        ray.init(address=options.address, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError) as error:
        raise NewsqaError(
            f"cannot join the Ray cluster at {options.address}: {error}; start it with `ray start --head` "
            "(with RAY_AUTH_MODE=token and its token on every node), or leave out the address to start one here"
        ) from None


# -- stage 1: read -------------------------------------------------------------------------


def _read(ray: Any, files: list[Path], assistant: Assistant) -> tuple[list[Article], dict[str, str], list[IngestIssue]]:
    """The articles of `files` in reading order, their MinHash signatures by id, and the reading issues."""
    if not files:
        return [], {}, []
    items = [{"position": position, "path": str(path)} for position, path in enumerate(files)]
    blocks = max(1, min(len(files) // FILES_PER_READ_TASK, 256))
    rows = (
        ray.data.from_items(items, override_num_blocks=blocks)
        .flat_map(
            _read_one,
            fn_kwargs={"options": assistant.read_options, "cwd": os.getcwd()},
        )
        .take_all()
    )
    rows.sort(key=lambda row: (row["position"], row["record"]))
    articles: list[Article] = []
    signatures: dict[str, str] = {}
    issues: list[IngestIssue] = []
    for row in rows:
        value = pickle.loads(row["payload"])
        if row["signature"]:
            articles.append(value)
            signatures[value.id] = row["signature"]  # the last article with an id is the one kept
        else:
            issues.append(value)
    return articles, signatures, issues


def _read_one(item: dict[str, Any], options: ReadOptions, cwd: str) -> list[dict[str, Any]]:
    """The articles and issues of one file, each with its signature (articles) or none (issues)."""
    path = Path(item["path"])
    # Relative paths name files from the directory `newsqa ingest` ran in, so origins read as in a local ingest.
    if not path.is_absolute() and Path.cwd() != Path(cwd):
        with contextlib.suppress(OSError):  # a node without that directory reports the file as missing
            os.chdir(cwd)
    result = read_file(path, options)
    rows = [
        {"position": item["position"], "record": n, "payload": pickle.dumps(a), "signature": article_signature(a)}
        for n, a in enumerate(result.articles)
    ]
    rows += [
        {"position": item["position"], "record": len(rows) + n, "payload": pickle.dumps(issue), "signature": ""}
        for n, issue in enumerate(result.issues)
    ]
    return rows


# -- stages 3-5: chunk, embed, write ------------------------------------------------------------------


def _write(
    ray: Any, assistant: Assistant, changed: list[Article], stale: dict[str, str], options: RayIngestOptions
) -> list[dict[str, Any]]:
    """Chunk, embed and write `changed`; one row per article: id, origin, chunks, and why it was refused."""
    settings = assistant.settings
    location = str(assistant.index_dir)
    actors = options.actors or max(1, sum(1 for node in ray.nodes() if node.get("Alive")))
    items = [{"article": pickle.dumps(a), "replaces": stale.get(a.id, "")} for a in changed]
    blocks = max(1, min(len(items) // options.embed_batch_articles, 1024))
    dataset = (
        ray.data.from_items(items, override_num_blocks=blocks)
        .map_batches(
            _chunk_batch,
            batch_size=options.embed_batch_articles,
            fn_kwargs={"location": location, "settings": settings},
            batch_format="numpy",
        )
        .map_batches(
            PassageEmbedder,
            batch_size=options.embed_batch_articles,
            fn_constructor_kwargs={"location": location, "settings": settings},
            compute=ray.data.ActorPoolStrategy(size=actors),
            batch_format="numpy",
            num_cpus=1,
        )
        .map_batches(
            _write_batch,
            batch_size=settings.ingest_batch_articles,
            fn_kwargs={"location": location, "settings": settings},
            batch_format="numpy",
        )
    )
    return dataset.take_all()


def _chunked(batch: dict[str, np.ndarray]) -> list[tuple[Article, list[Chunk]]]:
    return [(pickle.loads(a), pickle.loads(c)) for a, c in zip(batch["article"], batch["chunks"])]


def _chunk_batch(batch: dict[str, np.ndarray], location: str, settings: Settings) -> dict[str, np.ndarray]:
    """Chunk a block's articles (a Ray task)."""
    chunked = _indexer(_assistant(location, settings)).chunk([pickle.loads(a) for a in batch["article"]])
    return {**batch, "chunks": np.array([pickle.dumps(chunks) for _, chunks in chunked], dtype=object)}


class PassageEmbedder:
    """An embedding actor: loads the index's embedding model once, then embeds batch after batch of articles."""

    def __init__(self, location: str, settings: Settings) -> None:
        self.indexer = _indexer(_assistant(location, settings))
        self.indexer.embedder.warm_up()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each article's passage vectors, as float32 bytes in chunk order."""
        chunked = _chunked(batch)
        vectors = self.indexer.embed(chunked)
        counts = np.cumsum([0, *(len(chunks) for _, chunks in chunked)])
        rows = [vectors[counts[i] : counts[i + 1]].astype(np.float32).tobytes() for i in range(len(chunked))]
        return {**batch, "vectors": np.array(rows, dtype=object), "dimension": np.full(len(rows), vectors.shape[1])}


def _write_batch(batch: dict[str, np.ndarray], location: str, settings: Settings) -> dict[str, np.ndarray]:
    """Upsert a block's articles (each replacing its older version, and any it was renamed from) and save them
    in one transaction (a Ray task); one row per article: its id, origin, chunks and why it was refused."""
    assistant = _assistant(location, settings)
    chunked = _chunked(batch)
    dimension = int(batch["dimension"][0])
    vectors = np.concatenate(
        [np.frombuffer(v, dtype=np.float32).reshape(-1, dimension) for v in batch["vectors"]]
    ).reshape(-1, dimension)
    store = assistant.backend.fresh(None)
    for replaces in batch["replaces"]:
        if replaces and store is not None:
            store.delete(str(replaces))  # in the same save as its replacement
    ids = [article.id for article, _ in chunked]
    report = IngestReport(added=list(ids))
    store = _indexer(assistant).write(store, chunked, vectors, report)
    store.save()
    refused = dict(zip([i for i in ids if i not in report.added], report.errors))  # in the order refused
    return {
        "article_id": np.array(ids, dtype=object),
        "origin": np.array([refused[i].origin if i in refused else "" for i in ids], dtype=object),
        "chunks": np.array([len(chunks) for _, chunks in chunked]),
        "reason": np.array([refused[i].reason if i in refused else "" for i in ids], dtype=object),
    }


def _indexer(assistant: Assistant) -> Indexer:
    """The indexing steps of `assistant`'s index, as its own ingestion runs them."""
    return Indexer(assistant.backend, assistant.chunker, assistant.embedder, assistant.settings)


_assistants: dict[tuple[str, bytes], Assistant] = {}


def _assistant(location: str, settings: Settings) -> Assistant:
    """One assistant per index and settings in each Ray worker process (tasks reuse their processes)."""
    from qa.assistant import Assistant

    key = (location, pickle.dumps(settings))
    if key not in _assistants:
        _assistants[key] = Assistant(location, settings)
    return _assistants[key]

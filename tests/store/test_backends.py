"""The store protocol's behaviour, the same tests on both backends: a local folder and a real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest

from qa.assistant import Assistant
from qa.cli import main
from qa.errors import StoreError
from qa.ingest.feeds import FeedRegistry
from qa.store.feeds import FEEDS_FILE, FeedState
from qa.store.postgres import SCHEMA
from qa.store.protocol import ArticleStore, StoreBackend, open_backend
from qa.types import Article, Chunk, Filters

DIM = 16
MODEL = "test-model"


def make_article(
    article_id: str, n_chunks: int, seed: int, **fields: object
) -> tuple[Article, list[Chunk], np.ndarray]:
    """An article of `n_chunks` sentences, its chunks and random unit vectors."""
    pieces = [f"sentence {i} of {article_id}." for i in range(n_chunks)]
    text = " ".join(pieces)
    chunks, cursor = [], 0
    for i, piece in enumerate(pieces):
        start = text.index(piece, cursor)
        chunks.append(Chunk(f"{article_id}#{i}", article_id, i, piece, start, start + len(piece)))
        cursor = start + len(piece)
    vectors = np.random.default_rng(seed).normal(size=(n_chunks, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Article(id=article_id, title=f"Title {article_id}", text=text, **fields), chunks, vectors


def new_store(location: str | Path) -> tuple[StoreBackend, ArticleStore]:
    backend = open_backend(location)
    return backend, backend.create(MODEL, DIM, 1000)


def test_upsert_search_replace_delete(index_location: str | Path) -> None:
    _, store = new_store(index_location)
    assert isinstance(store, ArticleStore)
    a, b = make_article("a", 3, 1), make_article("b", 2, 2)
    store.upsert(*a)
    store.upsert(*b)
    store.save()
    assert len(store) == 2 and store.chunk_count == 5
    vector_id, score = store.nearest(b[2][1], k=1)[0]
    assert store.chunk(vector_id).id == "b#1" and score == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(store.vector(vector_id), b[2][1], atol=1e-6)

    store.upsert(*make_article("a", 1, 3))
    store.save()
    assert store.chunk_count == 3 and [c.id for c in store.chunks_of("a")] == ["a#0"]
    assert {store.chunk(v).id for v, _ in store.nearest(a[2][2], k=10)} == {"a#0", "b#0", "b#1"}

    assert store.delete("b") and not store.delete("b")
    store.save()
    assert [store.chunk(v).article_id for v, _ in store.nearest(b[2][0], k=10)] == ["a"]
    assert store.article("b") is None and store.chunks_of("b") == []


def test_saved_index_reopens_with_everything(index_location: str | Path) -> None:
    backend, store = new_store(index_location)
    published = datetime(2024, 2, 28, 9, 30, tzinfo=UTC)
    article, chunks, vectors = make_article(
        "fr-1",
        3,
        4,
        url="https://example.com/fr",
        source="Le Courrier",
        published=published,
        language="fr",
        author="Anne",
        metadata={"origin": "a.md", "content_hash": "abc", "tags": ["x", "y"]},
    )
    store.upsert(article, chunks, vectors)
    store.save()
    version = store.version

    reopened = open_backend(index_location).load()
    assert reopened.article("fr-1") == article
    assert reopened.article("fr-1").published.isoformat() == published.isoformat()
    assert reopened.chunks_of("fr-1") == chunks
    np.testing.assert_allclose(reopened.vectors_of("fr-1"), vectors, atol=1e-6)
    assert reopened.embedding_model == MODEL and reopened.dimension == DIM
    assert open_backend(index_location).manifest()["embedding_model"] == MODEL
    assert reopened.version == version

    reopened.upsert(*make_article("two", 1, 5))
    reopened.save()
    assert reopened.version > version
    assert backend.fresh(store).article("two") is not None, "a reader sees another writer's save"


def test_reupserting_never_duplicates_passages(index_location: str | Path) -> None:
    _, store = new_store(index_location)
    for _ in range(3):
        store.upsert(*make_article("same", 4, 7))
        store.save()
    store.upsert(*make_article("same", 4, 7))
    store.upsert(*make_article("same", 4, 7))
    store.save()
    assert len(store) == 1 and store.chunk_count == 4
    ids = [chunk.id for _, chunk, _, _ in store.passages()]
    assert sorted(ids) == ["same#0", "same#1", "same#2", "same#3"]


def test_mismatched_vectors_are_refused(index_location: str | Path) -> None:
    _, store = new_store(index_location)
    article, chunks, vectors = make_article("a", 2, 1)
    with pytest.raises(StoreError, match="2 chunks but 1 vectors"):
        store.upsert(article, chunks, vectors[:1])
    with pytest.raises(StoreError, match="dimensions"):
        store.upsert(article, chunks, np.zeros((2, DIM + 1), dtype=np.float32))
    store.upsert(article, chunks, vectors)
    store.save()
    with pytest.raises(StoreError, match="dimensions"):
        store.nearest(np.zeros(DIM + 2, dtype=np.float32), k=1)


def test_a_non_finite_vector_is_refused_before_anything_changes(index_location: str | Path) -> None:
    _, store = new_store(index_location)
    store.upsert(*make_article("broken", 1, 3))
    store.save()
    article, chunks, vectors = make_article("broken", 3, 2)
    vectors[1, 4] = np.nan
    with pytest.raises(StoreError, match="article broken: 1 of 3 passage vectors are not finite"):
        store.upsert(article, chunks, vectors)
    store.upsert(*make_article("kept", 2, 1))
    store.save()
    assert [c.id for c in store.chunks_of("broken")] == ["broken#0"] and len(store) == 2


HOSTILE = ["x' OR '1'='1", "l'Italie", 'quote " and ; DROP TABLE articles; --', "back\\slash"]


def test_filter_values_are_data_not_sql(index_location: str | Path) -> None:
    _, store = new_store(index_location)
    for number, outlet in enumerate(HOSTILE):
        store.upsert(*make_article(f"art-{number}", 2, number, source=outlet, language="it"))
    store.upsert(*make_article("plain", 2, 9, source="Plain Post", language="en"))
    store.save()
    query = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)

    def outlets(filters: Filters) -> set[str | None]:
        return {store.article(store.chunk(v).article_id).source for v, _ in store.nearest(query, 20, filters)}

    for outlet in HOSTILE:
        assert outlets(Filters.build(sources=[outlet])) == {outlet}
    assert outlets(Filters.build(sources=["L'ITALIE"])) == {"l'Italie"}, "outlets match case-insensitively"
    assert outlets(Filters.build(sources=["x' OR '1'='1'--"])) == set()
    assert outlets(Filters.build(languages=["en' OR '1'='1"])) == set()
    assert outlets(Filters.build(article_ids=["plain' OR 'a'='a"])) == set()
    assert outlets(Filters.build(article_ids=["art-1"])) == {"l'Italie"}
    assert len(store) == 5, "nothing was dropped"
    assert sorted(store.allowed_ids(Filters.build(sources=["l'Italie"]))) == sorted(
        v for v, chunk, _, _ in store.passages() if chunk.article_id == "art-1"
    )


def test_filtered_search_returns_k_passages(index_location: str | Path) -> None:
    _, store = new_store(index_location)
    rng = np.random.default_rng(0)
    languages = ["en"] * 19 + ["fr"]  # one article in twenty is French
    for number in range(400):
        article, chunks, _ = make_article(f"n{number:03d}", 2, number, language=languages[number % 20])
        vectors = rng.normal(size=(2, DIM)).astype(np.float32)
        store.upsert(article, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    store.save()
    french = Filters.build(languages=["fr"])
    allowed = store.allowed_ids(french)
    assert len(allowed) == 40
    query = rng.normal(size=DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    found = store.nearest(query, 10, french)
    assert len(found) == 10, "a filter passing 5% of the passages still gives k results"
    assert all(store.article(store.chunk(v).article_id).language == "fr" for v, _ in found)
    exact = sorted(allowed, key=lambda v: -float(store.vector(v) @ query))[:10]
    assert len({v for v, _ in found} & set(exact)) >= 9
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)


def test_date_filters_and_undated_articles(index_location: str | Path) -> None:
    _, store = new_store(index_location)
    store.upsert(*make_article("march", 1, 1, published=datetime(2024, 3, 10, 23, 30, tzinfo=UTC)))
    store.upsert(*make_article("april", 1, 2, published=datetime(2024, 4, 1, 0, 0, tzinfo=UTC)))
    store.upsert(*make_article("undated", 1, 3))
    store.save()
    query = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)

    def ids(filters: Filters) -> set[str]:
        return {store.chunk(v).article_id for v, _ in store.nearest(query, 10, filters)}

    assert ids(Filters.build(since="2024-03-10", until="2024-03-10")) == {"march"}
    assert ids(Filters.build(since="2024-03-11")) == {"april"}
    assert ids(Filters(since=date(2024, 3, 11), keep_undated=True)) == {"april", "undated"}
    assert ids(Filters.build(until="2024-03-31")) == {"march"}
    assert [a.id for a in store.articles()] == ["april", "march", "undated"]


def test_helpers_for_retrieval_and_ingestion(index_location: str | Path) -> None:
    _, store = new_store(index_location)
    early = datetime(2024, 1, 1, tzinfo=UTC)
    store.upsert(*make_article("orig", 1, 1, published=early, source="A", language="en", metadata={"minhash": "00"}))
    store.upsert(
        *make_article("copy", 1, 2, source="B", language="en", metadata={"minhash": "01", "duplicate_group": "orig"})
    )
    store.upsert(*make_article("file", 1, 3, metadata={"origin": "notes.txt", "id_source": "content"}))
    store.upsert(*make_article("given", 1, 4, language="", metadata={"origin": "given.md", "id_source": "given"}))
    store.save()
    groups = store.duplicate_groups()
    assert list(groups) == ["orig"] and [a.id for a in groups["orig"]] == ["orig", "copy"]
    assert sorted(store.signatures()) == [
        ("copy", "01", "orig"),
        ("file", None, None),
        ("given", None, None),
        ("orig", "00", None),
    ]
    assert store.language_counts() == {"?": 2, "en": 2}
    titles = {chunk.article_id: (title, language) for _, chunk, title, language in store.passages()}
    assert titles["orig"] == ("Title orig", "en")


def test_reading_sees_one_state(index_location: str | Path) -> None:
    backend, reader = new_store(index_location)
    reader.upsert(*make_article("first", 2, 1))
    reader.save()
    reader = backend.load()
    writer = open_backend(index_location).load()
    with reader.reading():
        assert reader.article("first") is not None
        writer.delete("first")
        writer.upsert(*make_article("second", 2, 2))
        writer.save()
        assert reader.article("second") is None and len(reader) == 1
        assert [c.id for c in reader.chunks_of("first")] == ["first#0", "first#1"]
    now = backend.fresh(reader)
    assert now.article("second") is not None and now.article("first") is None


def test_feeds_live_with_the_index(index_location: str | Path) -> None:
    backend = open_backend(index_location)
    registry = FeedRegistry(backend.feeds())
    assert registry.list() == []

    def add(url: str):
        def change(feeds: dict[str, FeedState]) -> None:
            feeds.setdefault(url, FeedState(url=url, title=f"feed {url[-1]}"))

        return change

    for url in ("https://a.example/rss", "https://b.example/atom", "https://c.example/rss"):
        backend.feeds().update(add(url))
    registry.remove("https://b.example/atom")
    listed = FeedRegistry(open_backend(index_location).feeds()).list()
    assert [f.url for f in listed] == ["https://a.example/rss", "https://c.example/rss"]
    assert listed[1].title == "feed s"


def _break_a_feed(location: str | Path, broken_url: str) -> None:
    """Store a feed with no URL in its state (a hand-edited feeds.json, a row written by hand)."""
    if isinstance(location, Path):
        data = json.loads((location / FEEDS_FILE).read_text())
        data["feeds"].append({"title": "no url", "seen": []})
        (location / FEEDS_FILE).write_text(json.dumps(data))
        return
    with psycopg.connect(location, autocommit=True) as connection:
        connection.execute(
            f"INSERT INTO {SCHEMA}.feeds (url, state) VALUES (%s, %s)", [broken_url, json.dumps({"title": "no url"})]
        )


def test_check_reports_a_feed_without_a_url_that_the_feed_commands_skip(
    index_location: str | Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend, store = new_store(index_location)
    store.upsert(*make_article("a", 2, 1))
    store.save()
    good, broken = "https://a.example/rss", "https://broken.example/rss"
    backend.feeds().update(lambda feeds: feeds.setdefault(good, FeedState(url=good, title="A")))
    assert main(["check", "--index", str(index_location)]) == 0
    capsys.readouterr()

    _break_a_feed(index_location, broken)
    assert main(["feeds", "list", "--index", str(index_location)]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith(good) and listed.count("\n") == 1, listed
    assert main(["check", "--index", str(index_location)]) == 1
    out = capsys.readouterr()
    lines = [line for line in (out.out + out.err).splitlines() if "unusable" in line]
    assert len(lines) == 1 and lines[0].startswith("error:"), out
    assert ("without a URL" if isinstance(index_location, Path) else broken) in lines[0]
    report = Assistant.check_index(index_location)
    assert [p.kind for p in report.remaining] == ["feeds"]


def test_embedding_cache_lives_with_the_index(index_location: str | Path) -> None:
    cache = open_backend(index_location).embedding_cache()
    vectors = {bytes([i]) * 32: np.full(DIM, i, dtype=np.float32) for i in range(5)}
    cache.put(vectors)
    found = open_backend(index_location).embedding_cache().get([bytes([3]) * 32, b"missing"], dimension=DIM)
    assert list(found) == [bytes([3]) * 32]
    np.testing.assert_array_equal(found[bytes([3]) * 32], vectors[bytes([3]) * 32])
    assert cache.get([bytes([3]) * 32], dimension=DIM + 1) == {}


def test_check_passes_on_a_healthy_index(index_location: str | Path) -> None:
    backend, store = new_store(index_location)
    for number in range(5):
        store.upsert(*make_article(f"h{number}", 3, number, language="en"))
    store.save()
    report = backend.check()
    assert report.ok, report.summary()
    assert (report.articles, report.chunks, report.vectors) == (5, 15, 15)

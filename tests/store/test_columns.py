"""ArticleColumns admits exactly the articles `Filters.accepts` accepts, whatever the mix of conditions."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from qa.store.columns import ArticleColumns
from qa.types import Article, Filters

SOURCES = ["Le Monde", "le monde", "Reuters", "Der Spiegel", None]
LANGUAGES = ["fr", "en", "de", None]


def _articles(rng: random.Random, count: int) -> list[Article]:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    return [
        Article(
            id=f"a{i}",
            title="t",
            text="x",
            source=rng.choice(SOURCES),
            language=rng.choice(LANGUAGES),
            published=None if rng.random() < 0.2 else start + timedelta(hours=rng.randrange(0, 3 * 365 * 24)),
        )
        for i in range(count)
    ]


def _filters(rng: random.Random, ids: list[str]) -> Filters:
    since = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 900)) if rng.random() < 0.5 else None
    until = date(2023, 6, 1) + timedelta(days=rng.randrange(0, 900)) if rng.random() < 0.5 else None
    if since and until and since > until:
        since, until = until, since
    filters = Filters.build(
        since=since,
        until=until,
        sources=rng.sample(["le monde", "REUTERS", "der spiegel", "absent"], rng.randrange(0, 3)),
        languages=rng.sample(["fr", "en", "de", "it"], rng.randrange(0, 3)),
        article_ids=rng.sample([*ids, "missing"], rng.randrange(0, 4)) if rng.random() < 0.3 else None,
    )
    return Filters(**{**filters.__dict__, "keep_undated": rng.random() < 0.5})


def test_columns_admit_what_the_filter_accepts() -> None:
    rng = random.Random(7)
    articles = _articles(rng, 300)
    columns = ArticleColumns(articles)
    checked = 0
    for _ in range(400):
        filters = _filters(rng, [a.id for a in articles])
        expected = [a.id for a in articles if filters.accepts(a)]
        assert columns.admitted(filters) == expected, filters
        checked += bool(expected) and len(expected) < len(articles)
    assert checked > 100  # most draws admit some articles and refuse others


def test_a_store_filters_the_articles_it_holds_after_changes(tmp_path: Path) -> None:
    import numpy as np

    from qa.store.store import Store
    from qa.types import Chunk

    store = Store(tmp_path / "index", "model", 4)
    day = datetime(2024, 3, 1, tzinfo=UTC)
    for i, language in enumerate(["fr", "en", "fr"]):
        article = Article(id=f"a{i}", title="t", text="some text", language=language, published=day)
        chunk = Chunk(id=f"a{i}#0", article_id=f"a{i}", position=0, text="some text", start=0, end=9)
        store.upsert(article, [chunk], np.eye(4, dtype=np.float32)[i : i + 1])
    french = Filters.build(languages=["fr"])
    assert [store.chunk(v).article_id for v in store.allowed_ids(french)] == ["a0", "a2"]
    store.delete("a0")
    assert [store.chunk(v).article_id for v in store.allowed_ids(french)] == ["a2"]
    store.upsert(
        Article(id="a1", title="t", text="some text", language="fr", published=day),
        [Chunk(id="a1#0", article_id="a1", position=0, text="some text", start=0, end=9)],
        np.eye(4, dtype=np.float32)[1:2],
    )
    assert sorted(store.chunk(v).article_id for v in store.allowed_ids(french)) == ["a1", "a2"]

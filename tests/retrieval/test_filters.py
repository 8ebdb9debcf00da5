"""Filters restrict retrieval to matching articles: FAISS id selectors on a folder, bound SQL on PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import InputError
from qa.types import Filters
from tests.conftest import write_article


@pytest.fixture(scope="module", params=["local", "postgres"])
def assistant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    folder = tmp_path_factory.mktemp("filtered")
    stories = [
        (
            "flood-1",
            "Flood in Valencia",
            "Heavy rain flooded Valencia; 12 people died.",
            "2024-10-30",
            "Wire One",
            "en",
        ),
        (
            "flood-2",
            "Flood toll rises",
            "The Valencia flood toll rose to 19 on Friday.",
            "2024-11-01",
            "Wire Two",
            "en",
        ),
        (
            "flood-3",
            "Inondations",
            "Le bilan des inondations à Valence atteint 23 morts.",
            "2024-11-03",
            "Le Journal",
            "fr",
        ),
    ]
    for article_id, title, text, published, source, language in stories:
        write_article(
            folder,
            f"{article_id}.md",
            title,
            text,
            id=article_id,
            published=published,
            source=source,
            language=language,
        )
    index = (
        folder / "index" if request.param == "local" else request.getfixturevalue("postgres_server").create_database()
    )
    assistant = Assistant.open(index, Settings(embedding_model="all-minilm-l6-v2"))
    assistant.ingest([folder])
    return assistant


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), {"flood-1", "flood-2", "flood-3"}),
        (Filters.build(since="2024-11-01"), {"flood-2", "flood-3"}),
        (Filters.build(until="2024-11-01"), {"flood-1", "flood-2"}),
        (Filters.build(sources=["wire one", "Le Journal"]), {"flood-1", "flood-3"}),
        (Filters.build(languages=["fr"]), {"flood-3"}),
        (Filters.build(article_ids=["flood-2"]), {"flood-2"}),
        (Filters(since=date(2025, 1, 1)), set()),
    ],
)
def test_filters_restrict_hits(assistant: Assistant, filters: Filters, expected: set[str]) -> None:
    hits = assistant.retrieve("How many people died in the Valencia flood?", k=10, filters=filters)
    assert {hit.article.id for hit in hits} == expected


def test_bad_filters_fail_fast() -> None:
    with pytest.raises(InputError, match="date like"):
        Filters.build(since="last tuesday")
    with pytest.raises(InputError, match="date range is empty"):
        Filters.build(since="2024-12-01", until="2024-11-01")

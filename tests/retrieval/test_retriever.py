"""Hybrid retrieval, time-aware ordering and near-duplicate grouping, on the real embedding model, with the
index in a local folder (FAISS) and in PostgreSQL (pgvector)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.retrieval.lexical import LexicalIndex, query_tokens, tokens
from qa.types import Filters
from tests.conftest import FAST_EMBEDDING, write_article

WIRE = (
    "The harbour authority of Porto Selvo confirmed on Tuesday that the new container terminal will open in "
    "April after a two-year delay. The terminal cost 410 million euros and will handle 900,000 containers a "
    "year, director Ilse Varga told reporters. Dock workers' unions welcomed the opening but asked for "
    "guarantees on night shifts. The first ship expected is the Marlin Star, from Singapore."
)
STORIES = [
    # id, title, text, published, source
    (
        "strike-day1",
        "Dock strike begins at Nordvik",
        "About 1,200 dock workers at Nordvik walked out.",
        "2024-03-05",
        "Nord Daily",
    ),
    (
        "strike-day3",
        "Nordvik dock strike grows",
        "The Nordvik dock strike now involves 2,600 workers.",
        "2024-03-07",
        "Baltic Wire",
    ),
    (
        "strike-day9",
        "Nordvik strike talks resume",
        "Talks resumed at Nordvik; 2,100 workers remain on strike.",
        "2024-03-13",
        "Nord Daily",
    ),
    (
        "bakery",
        "Bakery prize in Lunden",
        "A Lunden bakery won the national croissant prize.",
        "2024-03-06",
        "Lunden Post",
    ),
    ("wire-a", "Porto Selvo terminal to open in April", WIRE, "2024-02-01", "Agencia Costa"),
    (
        "wire-b",
        "Porto Selvo container terminal opens in April",
        WIRE.replace("told reporters", "said"),
        "2024-02-02",
        "Harbour Times",
    ),
    ("wire-c", "New terminal for Porto Selvo", WIRE.replace("on Tuesday", "this week"), "2024-02-03", "Coastal Herald"),
]


@pytest.fixture(scope="module", params=["local", "postgres"])
def assistant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    folder = tmp_path_factory.mktemp("stories")
    for article_id, title, text, published, source in STORIES:
        write_article(folder, f"{article_id}.md", title, text, id=article_id, published=published, source=source)
    index = (
        folder / "index" if request.param == "local" else request.getfixturevalue("postgres_server").create_database()
    )
    assistant = Assistant.open(index, Settings(embedding_model=FAST_EMBEDDING, today="2024-03-20"))
    assistant.ingest([folder])
    return assistant


def test_stemming_follows_the_article_language() -> None:
    assert tokens("Les inondations ont détruit les maisons", "fr") == tokens("inondation détruite maison", "fr")
    assert "haus" in tokens("Die Häuser", "de") or "hau" in tokens("Die Häuser", "de")
    assert tokens("the and of", "en") == []


def test_a_question_matches_names_across_languages() -> None:
    index = LexicalIndex(
        [
            (1, "Mark Zuckerberg a rencontré William Cho à Séoul.", "fr"),
            (2, "Le marché du vin recule en Bourgogne.", "fr"),
            (3, "Samsung presents a new phone in Seoul.", "en"),
        ]
    )
    assert [key for key, _ in index.search("Who did Zuckerberg meet in Korea?", 3)] == [1]
    assert "zuckerberg" in query_tokens("Zuckerberg?", {"fr", "de"})


def test_lexical_search_respects_the_allowed_keys() -> None:
    index = LexicalIndex([(1, "Nordvik strike", "en"), (2, "Nordvik strike grows", "en")])
    assert [key for key, _ in index.search("Nordvik strike", 5, allowed=[2])] == [2]
    assert index.search("unrelated words entirely", 5) == []


def test_latest_puts_the_newest_article_on_the_story_first(assistant: Assistant) -> None:
    hits = assistant.retrieve("What is the latest number of workers on strike at Nordvik?", k=3)
    assert hits[0].article.id == "strike-day9"
    plain = assistant._retriever().run("How many workers were on strike at Nordvik?", 3)[0]
    assert {h.article.id for h in plain} <= {"strike-day1", "strike-day3", "strike-day9"}


def test_a_named_date_prefers_articles_of_that_day(assistant: Assistant) -> None:
    hits = assistant.retrieve("How many Nordvik dock workers were on strike on March 7, 2024?", k=3)
    assert hits[0].article.id == "strike-day3"


def test_a_relative_window_is_relative_to_the_configured_today(assistant: Assistant) -> None:
    # today is 2024-03-20: "last week" is 11–17 March, so only the day-9 report (13 March) qualifies.
    hits = assistant.retrieve("What happened at the Nordvik strike last week?", k=5)
    assert [h.article.id for h in hits] == ["strike-day9"]


def test_user_dates_win_over_dates_in_the_question(assistant: Assistant) -> None:
    filters = Filters.build(since="2024-03-01", until="2024-03-05")
    hits = assistant.retrieve("What happened at the Nordvik strike last week?", k=5, filters=filters)
    assert [h.article.id for h in hits] == ["strike-day1"]


def test_syndicated_copies_are_grouped_at_ingestion(assistant: Assistant) -> None:
    groups = {a.id: a.metadata.get("duplicate_group") for a in assistant.articles()}
    assert groups["wire-b"] == groups["wire-c"] == "wire-a"
    assert groups["wire-a"] is None and groups["strike-day3"] is None


def test_retrieval_returns_one_passage_per_story_citing_the_earliest(assistant: Assistant) -> None:
    hits = assistant.retrieve("When will the Porto Selvo container terminal open?", k=5)
    wire = [h for h in hits if h.article.id.startswith("wire-")]
    assert len(wire) == 1
    assert wire[0].article.id == "wire-a"
    assert sorted(wire[0].also_carried_by) == ["Coastal Herald", "Harbour Times"]


def test_a_group_survives_deleting_its_first_member(tmp_path, index_location) -> None:
    for article_id, title, text, published, source in STORIES[4:]:
        write_article(tmp_path, f"{article_id}.md", title, text, id=article_id, published=published, source=source)
    assistant = Assistant.open(index_location, Settings(embedding_model=FAST_EMBEDDING))
    assistant.ingest([tmp_path])
    assert assistant.delete("wire-a")
    hits = assistant.retrieve("When will the Porto Selvo terminal open?", k=5)
    assert [h.article.id for h in hits] == ["wire-b"]
    assert hits[0].also_carried_by == ("Coastal Herald",)


def test_hybrid_search_fuses_bm25_when_switched_on(assistant: Assistant) -> None:
    hybrid = Assistant(assistant.index_dir, replace(assistant.settings, hybrid=True))
    retriever = hybrid._retriever()
    assert retriever.options.hybrid and len(retriever.lexical) == assistant.store.chunk_count
    hits = hybrid.retrieve("Nordvik dock strike 2,600 workers", k=3)
    assert hits[0].article.id == "strike-day3"


def test_a_date_in_the_question_does_not_hide_undated_articles(tmp_path) -> None:
    write_article(
        tmp_path, "prize.md", "Lunden bakery prize", "A Lunden bakery won the 2022 croissant prize.", id="prize"
    )
    assistant = Assistant.open(tmp_path / "index", Settings(embedding_model=FAST_EMBEDDING))
    assistant.ingest([tmp_path])
    hits = assistant.retrieve("Which bakery won the croissant prize in 2022?", k=3)
    assert [h.article.id for h in hits] == ["prize"]
    # A date the user sets is strict: undated articles do not pass it.
    assert assistant.retrieve("croissant prize", k=3, filters=Filters.build(since="2022-01-01")) == []

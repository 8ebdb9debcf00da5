"""The `/ask` API of the web app through `gradio_client`: cited answers, filters, errors, concurrent askers."""

from __future__ import annotations

import pytest
from gradio_client import Client

from qa.text import fold

pytestmark = pytest.mark.slow

KOREA = "Who did Zuckerberg meet in Korea?"
LG_ARTICLE = "fr-meta-lg-2024"
# Four people ask at once; each answer must carry its own question's fact.
CONCURRENT = {
    "How much does the Apple Vision Pro cost?": ("3,499", "3499", "3 499"),
    "How many jobs will Veyra's second shift in Győr create?": ("600",),
    "Which Japanese company did Northwind's chief executive meet in Osaka?": ("panasonic",),
    "Wie groß ist das neue Ersatzteillager von Northwind in Duisburg?": ("12.000", "12,000", "12 000"),
}


def test_ask_returns_the_answer_with_its_citations(app_url: str) -> None:
    result = Client(app_url, verbose=False).predict(KOREA, 5, "", "", [], [], api_name="/ask")
    assert result["question"] == KOREA and not result["abstained"]
    text = fold(result["answer"])
    assert "william cho" in text or "cho joo-wan" in text, result["answer"]
    assert LG_ARTICLE in {citation["article_id"] for citation in result["citations"]}
    assert {"title", "source", "published", "url", "language", "passage", "quote"} <= set(result["citations"][0])
    assert result["hits"] and "total" in result["timings"]


def test_ask_applies_filters_and_reports_bad_input(app_url: str) -> None:
    client = Client(app_url, verbose=False)
    # Optional arguments may be left out; a date range with no article abstains.
    future = client.predict(KOREA, since="2031-01-01", api_name="/ask")
    assert future["abstained"] and future["citations"] == [] and future["hits"] == []
    with pytest.raises(Exception, match="since must be a date"):
        client.predict(KOREA, since="last week", api_name="/ask")
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("   ", api_name="/ask")


def test_concurrent_askers_each_get_their_own_answer(app_url: str) -> None:
    # One client per asker (separate sessions, as separate people have); all four questions sent at once.
    clients = [Client(app_url, verbose=False) for _ in CONCURRENT]
    jobs = [client.submit(question, api_name="/ask") for client, question in zip(clients, CONCURRENT)]
    results = [job.result(timeout=600) for job in jobs]
    for (question, facts), result in zip(CONCURRENT.items(), results):
        assert result["question"] == question
        assert not result["abstained"] and result["citations"], result["answer"]
        assert any(fact in fold(result["answer"]) for fact in facts), (question, result["answer"])

"""Two writers and two readers on one PostgreSQL index at once: no error, no lost article, no passage twice."""

from __future__ import annotations

import pytest

from tests.store.concurrency_harness import Outcome, run


def _assert_clean(outcome: Outcome) -> None:
    assert [w["returncode"] for w in outcome.writers] == [0, 0], [w["stderr"] for w in outcome.writers]
    assert all(r["queries"] > 0 for r in outcome.readers), "every reader searched while the writers wrote"
    assert outcome.errors == 0, [r.get("errors") for r in outcome.readers]
    assert outcome.lost_articles == [] and outcome.articles == outcome.expected_articles
    assert outcome.passages == outcome.expected_passages and outcome.duplicate_passages == 0
    assert outcome.articles_without_passages == 0
    assert outcome.check_ok, outcome.check_summary


def test_concurrent_store_writers_and_readers(postgres_url: str) -> None:
    outcome = run(postgres_url, mode="store", count=160, batch=8, overlap=0.5)
    _assert_clean(outcome)
    shared = outcome.expected_articles // 2
    assert sum(w["report"]["saved"] for w in outcome.writers) == outcome.expected_articles + shared


@pytest.mark.slow
def test_concurrent_ingest_processes_and_readers(postgres_url: str) -> None:
    outcome = run(postgres_url, mode="cli", count=60, batch=8, overlap=0.3)
    _assert_clean(outcome)
    reports = [w["report"] for w in outcome.writers]
    assert sum(len(r["added"]) + len(r["replaced"]) + len(r["unchanged"]) for r in reports) == 60 + 18

"""A real `newsqa ingest` process killed with SIGKILL at random points, again and again: the index
always opens and passes `check`, nothing stored before a kill is lost, and re-running resumes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.store.check import check
from qa.store.layout import manifest_of
from qa.store.store import Store
from tests.store.folders import rows
from tests.store.kill_harness import LANDINGS, finish, run_round, stored, write_corpus

ARTICLES = 3000  # enough that the corpus outlasts the killed rounds on a fast machine
BATCH = 8
ROUNDS = 8


@pytest.mark.slow
def test_killed_ingestion_keeps_every_saved_article_and_resumes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    texts = write_corpus(corpus, ARTICLES, seed=7)
    index = tmp_path / "index"
    rng = np.random.default_rng(2024)
    rounds = [run_round(n, corpus, index, texts, BATCH, rng) for n in range(ROUNDS)]
    for result in rounds:
        context = f"round {result.number} ({result.mode}): {result.check_summary}"
        assert result.opens, context
        assert result.check_ok, context
        assert result.lost == [], context
        assert result.altered == [], context
        assert result.whole_batches, f"{context}: a kill lost more than the batch in progress"
        assert not result.failed, f"{context}: a run that was not killed failed: {result.failed}"
    assert sum(r.killed for r in rounds) >= ROUNDS // 2, "most rounds were killed before finishing"
    assert any(r.mid_save for r in rounds), "at least one kill landed in the middle of a save"
    killed = [r for r in rounds if r.killed]
    # every kill says where it landed: a stack, or (kills of a process stopped inside a save) the save's marker
    assert all(r.landing in LANDINGS and (r.stack or r.mid_save) for r in killed), [
        (r.mode, r.landing, r.stack) for r in killed
    ]
    assert len({r.landing for r in killed}) >= 2, "the kills landed at varied points"

    code, report = finish(corpus, index, BATCH)
    assert code == 0, report
    assert sorted(report["added"] + report["unchanged"]) == sorted(texts) and report["replaced"] == []
    assert len(report["unchanged"]) == rounds[-1].after
    assert stored(index) == texts
    assert len(rows(index, "articles")) == ARTICLES, "every article exactly once"
    store = Store.load(index)
    assert store.chunk_count == sum(len(store.chunks_of(article_id)) for article_id in texts)
    final = check(index)
    assert final.ok and final.missing_vectors == [], final.summary()
    assert manifest_of(index)["articles"] == ARTICLES


def test_ingestion_commits_in_batches(tmp_path: Path, fast_settings: Settings) -> None:
    corpus = tmp_path / "corpus.jsonl"
    texts = write_corpus(corpus, 7, seed=3)
    index = tmp_path / "index"
    assistant = Assistant.open(index, fast_settings.with_overrides(ingest_batch_articles=3))
    report = assistant.ingest([corpus])
    store = Store.load(index)
    assert store.version == 3, "7 articles in batches of 3: three saves"
    assert len(report.added) == 7 and report.chunks == store.chunk_count
    assert stored(index) == texts
    again = assistant.ingest([corpus])
    assert len(again.unchanged) == 7 and again.chunks == 0 and Store.load(index).version == 3

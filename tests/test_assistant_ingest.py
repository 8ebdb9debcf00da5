"""Ingestion through the façade with a real (small) embedding model: dedup, replace, delete, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import InputError, StoreError
from qa.store.store import Store
from tests.conftest import write_article

TRAM = "Lyon opened a new tram line on Monday. It links the station to the university in twenty minutes."
BRIDGE = "Leeds approved a new cycling bridge on Tuesday. Construction starts in 2025 and costs 12 million pounds."


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "tram.md", "Lyon tram", TRAM, id="tram", published="2024-03-04", source="City Post")
    write_article(folder, "bridge.md", "Leeds bridge", BRIDGE, id="bridge", published="2024-05-07")
    (folder / "notes.txt").write_text("Untitled note\n\nThe harbour in Bergen will get shore power for cruise ships.")
    return folder


def test_ingest_is_idempotent_and_replaces_changed_articles(
    tmp_path: Path, corpus: Path, fast_settings: Settings
) -> None:
    index = tmp_path / "index"
    assistant = Assistant.open(index, fast_settings)
    first = assistant.ingest([corpus])
    assert sorted(first.added) == sorted(
        ["tram", "bridge", next(a.id for a in assistant.articles() if a.id.startswith("doc-"))]
    )
    chunks_before = assistant.store.chunk_count

    again = Assistant.open(index, fast_settings).ingest([corpus])
    assert again.added == [] and again.replaced == [] and len(again.unchanged) == 3
    assert Store.load(index).chunk_count == chunks_before

    write_article(corpus, "tram.md", "Lyon tram", TRAM + " Tickets cost two euros.", id="tram", published="2024-03-04")
    (corpus / "notes.txt").write_text("Untitled note\n\nThe harbour in Bergen will get shore power in 2026.")
    changed = Assistant.open(index, fast_settings).ingest([corpus])
    assert "tram" in changed.replaced and len(changed.replaced) == 2 and changed.added == []
    reopened = Assistant.open(index, fast_settings)
    assert len(reopened.articles()) == 3
    assert "two euros" in reopened.store.article("tram").text
    assert "2026" in next(a for a in reopened.articles() if a.id.startswith("doc-")).text


def test_retrieval_and_delete(tmp_path: Path, corpus: Path, fast_settings: Settings) -> None:
    assistant = Assistant.open(tmp_path / "index", fast_settings)
    assistant.ingest([corpus])
    hits = assistant.retrieve("How much does the cycling bridge in Leeds cost?", k=3)
    assert hits[0].article.id == "bridge" and hits[0].rank == 1
    assert hits[0].score > hits[-1].score
    assert hits[0].article.text[hits[0].chunk.start : hits[0].chunk.end] == hits[0].chunk.text

    assert assistant.delete("bridge") and not assistant.delete("bridge")
    reopened = Assistant.open(tmp_path / "index", fast_settings)
    assert reopened.store.article("bridge") is None
    assert all(hit.article.id != "bridge" for hit in reopened.retrieve("cycling bridge Leeds", k=5))


def test_bad_input_is_reported_and_index_kept(tmp_path: Path, corpus: Path, fast_settings: Settings) -> None:
    index = tmp_path / "index"
    Assistant.open(index, fast_settings).ingest([corpus])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "lines.jsonl").write_text('{"id": "ok", "title": "Fine", "text": "Oslo opened a library."}\n{oops\n')
    report = Assistant.open(index, fast_settings).ingest([bad, tmp_path / "nowhere"])
    assert report.added == ["ok"]
    assert {issue.reason for issue in report.skipped} >= {"empty file", "no such file or folder"}
    assert any("invalid JSON line" in issue.reason for issue in report.skipped)
    assert {a.id for a in Assistant.open(index, fast_settings).articles()} >= {"tram", "bridge", "ok"}


def test_questions_are_validated(tmp_path: Path, fast_settings: Settings) -> None:
    assistant = Assistant.open(tmp_path / "index", fast_settings)
    with pytest.raises(StoreError, match="empty"):
        assistant.retrieve("anything?")
    with pytest.raises(InputError, match="question is empty"):
        assistant.ask("   ")


def test_a_long_running_assistant_sees_writes_of_other_processes(
    tmp_path: Path, corpus: Path, fast_settings: Settings
) -> None:
    index = tmp_path / "index"
    server = Assistant.open(index, fast_settings)
    assert server.articles() == []
    writer = Assistant.open(index, fast_settings)
    writer.ingest([corpus])
    assert {a.id for a in server.articles()} >= {"tram", "bridge"}
    assert server.retrieve("cycling bridge in Leeds", k=1)[0].article.id == "bridge"
    assert writer.delete("bridge")
    assert all(hit.article.id != "bridge" for hit in server.retrieve("cycling bridge in Leeds", k=5))
    assert server.stats()["articles"] == 2

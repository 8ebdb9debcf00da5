"""Ingestion through the façade with a real (small) embedding model: dedup, replace, delete, bad input; on a
local folder and on PostgreSQL alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.embedding.embedder import Embedder
from qa.errors import InputError, StoreError
from qa.ingest.indexing import context_title
from qa.store.layout import TMP_MARK
from qa.store.protocol import open_backend
from qa.types import Article
from tests.conftest import FAST_EMBEDDING, write_article

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
    index_location: str | Path, corpus: Path, fast_settings: Settings
) -> None:
    index = index_location
    assistant = Assistant.open(index, fast_settings)
    first = assistant.ingest([corpus])
    assert sorted(first.added) == sorted(
        ["tram", "bridge", next(a.id for a in assistant.articles() if a.id.startswith("doc-"))]
    )
    chunks_before = assistant.store.chunk_count

    again = Assistant.open(index, fast_settings).ingest([corpus])
    assert again.added == [] and again.replaced == [] and len(again.unchanged) == 3
    assert open_backend(index).load().chunk_count == chunks_before

    write_article(corpus, "tram.md", "Lyon tram", TRAM + " Tickets cost two euros.", id="tram", published="2024-03-04")
    (corpus / "notes.txt").write_text("Untitled note\n\nThe harbour in Bergen will get shore power in 2026.")
    changed = Assistant.open(index, fast_settings).ingest([corpus])
    assert "tram" in changed.replaced and len(changed.replaced) == 2 and changed.added == []
    reopened = Assistant.open(index, fast_settings)
    assert len(reopened.articles()) == 3
    assert "two euros" in reopened.store.article("tram").text
    assert "2026" in next(a for a in reopened.articles() if a.id.startswith("doc-")).text


def test_retrieval_and_delete(index_location: str | Path, corpus: Path, fast_settings: Settings) -> None:
    assistant = Assistant.open(index_location, fast_settings)
    assistant.ingest([corpus])
    hits = assistant.retrieve("How much does the cycling bridge in Leeds cost?", k=3)
    assert hits[0].article.id == "bridge" and hits[0].rank == 1
    assert hits[0].score > hits[-1].score
    assert hits[0].article.text[hits[0].chunk.start : hits[0].chunk.end] == hits[0].chunk.text

    assert assistant.delete("bridge") and not assistant.delete("bridge")
    reopened = Assistant.open(index_location, fast_settings)
    assert reopened.store.article("bridge") is None
    assert all(hit.article.id != "bridge" for hit in reopened.retrieve("cycling bridge Leeds", k=5))


def test_bad_input_is_reported_and_index_kept(
    tmp_path: Path, index_location: str | Path, corpus: Path, fast_settings: Settings
) -> None:
    index = index_location
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


def test_questions_are_validated(index_location: str | Path, fast_settings: Settings) -> None:
    assistant = Assistant.open(index_location, fast_settings)
    with pytest.raises(StoreError, match="empty"):
        assistant.retrieve("anything?")
    with pytest.raises(InputError, match="question is empty"):
        assistant.ask("   ")


def test_a_long_running_assistant_sees_writes_of_other_processes(
    index_location: str | Path, corpus: Path, fast_settings: Settings
) -> None:
    index = index_location
    server = Assistant.open(index, fast_settings)
    assert server.articles() == []
    writer = Assistant.open(index, fast_settings)
    writer.ingest([corpus])
    assert {a.id for a in server.articles()} >= {"tram", "bridge"}
    assert server.retrieve("cycling bridge in Leeds", k=1)[0].article.id == "bridge"
    assert writer.delete("bridge")
    assert all(hit.article.id != "bridge" for hit in server.retrieve("cycling bridge in Leeds", k=5))
    assert server.stats()["articles"] == 2


def test_inserting_a_line_above_id_less_records_keeps_every_article(tmp_path: Path, fast_settings: Settings) -> None:
    rows = [
        {"title": "Tram", "text": TRAM},
        {"title": "Bridge", "text": BRIDGE},
        {"title": "Harbour", "text": "Bergen's harbour will get shore power for cruise ships in 2026."},
    ]
    path = tmp_path / "wire.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    index = tmp_path / "index"
    first = Assistant.open(index, fast_settings).ingest([path])
    assert len(first.added) == 3

    inserted = {"title": "Museum", "text": "Turin's Egyptian museum reopened its second floor on Sunday."}
    path.write_text("\n".join(json.dumps(row) for row in [inserted, *rows]) + "\n")
    again = Assistant.open(index, fast_settings).ingest([path])
    assert (len(again.added), again.replaced, len(again.unchanged)) == (1, [], 3)
    titles = sorted(a.title for a in Assistant.open(index, fast_settings).articles())
    assert titles == ["Bridge", "Harbour", "Museum", "Tram"]

    rows[1]["text"] = BRIDGE.replace("12 million", "14 million")  # an edit in place replaces the old version
    path.write_text("\n".join(json.dumps(row) for row in [inserted, *rows]) + "\n")
    edited = Assistant.open(index, fast_settings).ingest([path])
    assert (edited.added, len(edited.replaced), len(edited.unchanged)) == ([], 1, 3)
    texts = [a.text for a in Assistant.open(index, fast_settings).articles()]
    assert len(texts) == 4 and any("14 million" in t for t in texts) and not any("12 million" in t for t in texts)


def test_an_article_that_cannot_be_saved_costs_only_itself(tmp_path: Path, fast_settings: Settings) -> None:
    deep: object = "bottom"
    for _ in range(2000):  # deeper than Python's recursion limit: asdict() and json.dumps() fail on it
        deep = [deep]
    good = [Article(id=f"ok-{n}", title=f"Ok {n}", text=TRAM + f" Line {n}.") for n in range(4)]
    broken = Article(id="deep", title="Deep", text=BRIDGE, metadata={"origin": "feed entry 7", "extra": deep})
    index = tmp_path / "index"
    report = Assistant.open(index, fast_settings).ingest_articles([good[0], broken, *good[1:]])
    assert sorted(report.added) == [a.id for a in good]
    (issue,) = report.skipped
    assert issue.origin == "feed entry 7" and "cannot be stored" in issue.reason
    assert sorted(a.id for a in Assistant.open(index, fast_settings).articles()) == [a.id for a in good]
    assert not [entry for entry in index.iterdir() if TMP_MARK in entry.name]  # no staging folder left


def test_an_index_keeps_the_backend_and_titles_it_was_made_with(
    tmp_path: Path, index_location: str | Path, corpus: Path
) -> None:
    made_with = Settings(embedding_model=FAST_EMBEDDING, embedding_backend="torch", embed_titles=False)
    Assistant.open(index_location, made_with).ingest([corpus])
    assert open_backend(index_location).manifest()["embedder"] == {"backend": "torch", "titles": False}

    reopened = Assistant.open(index_location, Settings(embedding_model=FAST_EMBEDDING))  # openvino, titles on
    assert (reopened.embedder.backend, reopened.embedder.titles) == ("torch", False)
    assert (reopened.settings.embedding_backend, reopened.settings.embed_titles) == ("torch", False)
    more = tmp_path / "more"
    more.mkdir()
    write_article(more, "museum.md", "Turin museum", "Turin's Egyptian museum reopened its second floor.", id="museum")
    assert reopened.ingest([more]).added == ["museum"]
    assert open_backend(index_location).manifest()["embedder"] == {"backend": "torch", "titles": False}

    store = open_backend(index_location).load()
    article, (chunk,) = store.article("museum"), store.chunks_of("museum")
    assert article is not None
    stored = store.vectors_of("museum")[0]
    plain, titled = (
        Embedder(FAST_EMBEDDING, made_with.models_dir, backend="torch", titles=titles).encode_documents(
            [chunk.text], [context_title(article)]
        )[0]
        for titles in (False, True)
    )
    assert float(stored @ plain) > 0.999 and float(stored @ titled) < 0.99  # embedded without its title
    assert reopened.retrieve("Which museum reopened a floor?", k=1)[0].article.id == "museum"


def test_an_index_that_records_no_embedder_follows_the_settings(index_location: str | Path) -> None:
    open_backend(index_location).create(FAST_EMBEDDING, 384, 1000).save()  # as newsqa made indexes before
    assert "embedder" not in open_backend(index_location).manifest()
    for backend, titles in (("torch", False), ("openvino", True)):
        settings = Settings(embedding_model=FAST_EMBEDDING, embedding_backend=backend, embed_titles=titles)
        assistant = Assistant.open(index_location, settings)
        assert (assistant.embedder.backend, assistant.embedder.titles) == (backend, titles)

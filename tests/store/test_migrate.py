"""`newsqa migrate`: a folder index to PostgreSQL and back, resumed after an interruption, checked at both ends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.cli import main
from qa.errors import StoreError
from qa.store.feeds import FeedState
from qa.store.migrate import migrate
from qa.store.protocol import StoreBackend, open_backend
from tests.store.test_backends import DIM, MODEL, make_article


def _filled(location: str | Path, count: int) -> StoreBackend:
    backend = open_backend(location)
    store = backend.create(MODEL, DIM, 1000)
    for number in range(count):
        store.upsert(*make_article(f"m{number:03d}", 1 + number % 3, number, language="en", source=f"Outlet {number}"))
    store.save()

    def follow(feeds: dict[str, FeedState]) -> None:
        feeds["https://news.example/rss"] = FeedState(url="https://news.example/rss", title="News", articles=3)

    backend.feeds().update(follow)
    return backend


def _same(first: StoreBackend, second: StoreBackend) -> None:
    a, b = first.load(), second.load()
    assert [x.id for x in a.articles()] == [x.id for x in b.articles()]
    for article in a.articles():
        assert b.article(article.id) == article
        assert b.chunks_of(article.id) == a.chunks_of(article.id)
        np.testing.assert_allclose(b.vectors_of(article.id), a.vectors_of(article.id), atol=1e-6)
    assert a.chunk_count == b.chunk_count
    assert [f.to_dict() for f in first.feeds().read().values()] == [f.to_dict() for f in second.feeds().read().values()]


def test_folder_to_database_and_back(tmp_path: Path, postgres_url: str) -> None:
    folder = _filled(tmp_path / "index", 40)
    database = open_backend(postgres_url)
    report = migrate(folder, database, batch=16)
    assert len(report.copied) == 40 and report.already_there == 0 and report.feeds == 1
    _same(folder, database)
    assert folder.check().ok and database.check().ok

    back = open_backend(tmp_path / "back")
    assert len(migrate(database, back, batch=1000).copied) == 40
    _same(database, back)
    assert back.check().ok
    again = migrate(database, back)
    assert again.copied == [] and again.already_there == 40


def test_an_interrupted_migration_resumes(tmp_path: Path, postgres_url: str) -> None:
    folder = _filled(tmp_path / "index", 50)
    database = open_backend(postgres_url)

    def stop_after_first_batch(count: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate(folder, database, batch=20, on_batch=stop_after_first_batch)
    assert len(database.load()) == 20, "the first batch was saved before the interruption"
    interrupted = database.check()
    assert [p.subject for p in interrupted.remaining] == ["passages_embedding"], "the bulk load's index is not built"
    report = migrate(folder, database, batch=20)
    assert report.already_there == 20 and len(report.copied) == 30
    _same(folder, database)
    assert database.check().ok


def test_targets_of_another_model_are_refused_and_extras_pruned(tmp_path: Path, postgres_url: str) -> None:
    folder = _filled(tmp_path / "index", 5)
    other = open_backend(postgres_url)
    other.create("another-model", DIM, 1000).save()
    with pytest.raises(StoreError, match=r"another-model.*migrate into an empty index"):
        migrate(folder, other)

    target = open_backend(tmp_path / "target")
    store = target.create(MODEL, DIM, 1000)
    store.upsert(*make_article("stray", 1, 99))
    store.save()
    kept = migrate(folder, target)
    assert kept.extra == ["stray"] and len(target.load()) == 6
    pruned = migrate(folder, target, prune=True)
    assert pruned.pruned == ["stray"] and len(target.load()) == 5


def test_migrate_command_checks_both_ends(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _filled(tmp_path / "index", 12)
    assert main(["migrate", "--from", str(tmp_path / "index"), "--to", postgres_url, "--batch", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["source"]["ok"] and result["target"]["ok"]
    assert result["source"]["articles"] == result["target"]["articles"] == 12
    assert result["source"]["chunks"] == result["target"]["chunks"] == 24
    assert main(["migrate", "--from", postgres_url, "--to", str(tmp_path / "copy")]) == 0
    out = capsys.readouterr().out
    assert "12 articles copied (24 passages)" in out and out.count("consistent") == 2
    assert main(["migrate", "--from", postgres_url, "--to", postgres_url]) == 2


def test_the_embedder_record_goes_across(tmp_path: Path, postgres_url: str) -> None:
    made = {"backend": "torch", "titles": False}
    folder = open_backend(tmp_path / "index")
    store = folder.create(MODEL, DIM, 1000, made)
    store.upsert(*make_article("a", 2, 1))
    store.save()
    database = open_backend(postgres_url)
    migrate(folder, database)
    assert database.manifest()["embedder"] == made
    back = open_backend(tmp_path / "back")
    migrate(database, back)
    assert back.manifest()["embedder"] == made

    other = open_backend(tmp_path / "other")
    other.create(MODEL, DIM, 1000, {"backend": "openvino", "titles": True}).save()
    with pytest.raises(StoreError, match="vectors made by"):
        migrate(folder, other)

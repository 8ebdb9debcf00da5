"""`newsqa check`: real indexes damaged on disk in the ways a crash, a full disk or a stray edit can,
then checked and repaired without losing an article."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.errors import StoreError
from qa.store.check import check
from qa.store.layout import CURRENT
from qa.store.records import SEAL, seal
from qa.store.store import Store
from tests.conftest import write_article
from tests.store.test_store import DIM, _article

IDS = {"a", "b", "c", "d"}


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    """Two saves: v000001 holds a, b, c; v000002 (current) adds d, which the fallback lacks."""
    path = tmp_path / "index"
    store = Store(path, "test-model", DIM)
    for seed, article_id in enumerate(["a", "b", "c"], start=1):
        store.upsert(*_article(article_id, 3, seed))
    store.save()
    store.upsert(*_article("d", 2, 9))
    store.save()
    return path


def _snapshot(path: Path) -> Path:
    return path / (path / CURRENT).read_text().strip()


def _edit_vectors(path: Path, change) -> None:
    file = _snapshot(path) / "vectors.faiss"
    vectors = faiss.read_index(str(file))
    change(vectors)
    faiss.write_index(vectors, str(file))


def _lines(file: Path) -> list[dict]:
    return [json.loads(line) for line in file.read_text().splitlines()]


def _write_lines(file: Path, records: list[dict]) -> None:
    """Rewrite a JSON Lines file of the snapshot, each line sealed again (as newsqa would write it)."""
    file.write_text("".join(seal(json.dumps({k: v for k, v in r.items() if k != SEAL})) + "\n" for r in records))


def _assert_all_articles(path: Path, embedded: set[str] = IDS) -> Store:
    store = Store.load(path)
    assert {a.id for a in store.articles()} == IDS, "no article may be lost"
    assert {a.id for a in store.articles() if store.chunks_of(a.id)} == embedded
    return store


def test_a_healthy_index_passes(index: Path) -> None:
    report = check(index)
    assert report.ok and report.problems == [] and report.missing_vectors == []
    assert (report.snapshot, report.articles, report.chunks, report.vectors) == ("v000002", 4, 11, 11)
    assert report.index["kind"] == "flat"
    assert sorted(p.name for p in index.iterdir() if p.is_dir()) == ["v000001", "v000002"], "the fallback is kept"


def test_a_deleted_vector_is_restored_from_the_previous_snapshot(index: Path) -> None:
    lost = Store.load(index).vector_ids(["b"])[1]
    _edit_vectors(index, lambda v: v.remove_ids(np.array([lost], dtype=np.int64)))
    with pytest.raises(StoreError, match="newsqa check"):
        Store.load(index)
    found = check(index)
    assert not found.ok and [p.kind for p in found.remaining] == ["checksum", "missing-vector"]
    repaired = check(index, repair=True)
    assert repaired.ok and all(p.repaired for p in repaired.problems)
    store = _assert_all_articles(index)
    np.testing.assert_allclose(store.vectors_of("b"), _article("b", 3, 2)[2], atol=1e-6)
    assert check(index).problems == []


def test_a_vector_with_no_copy_leaves_its_article_for_re_embedding(index: Path) -> None:
    lost = Store.load(index).vector_ids(["d"])[0]
    _edit_vectors(index, lambda v: v.remove_ids(np.array([lost], dtype=np.int64)))
    report = check(index, repair=True)
    assert not report.ok and report.missing_vectors == ["d"]
    assert [p.kind for p in report.remaining] == ["missing-vectors"]
    _assert_all_articles(index, embedded={"a", "b", "c"})


@pytest.mark.parametrize("damage", ["garbage", "5,000 digits", "non-ASCII digits", "missing snapshot", "deleted"])
def test_a_damaged_current_falls_back_to_the_newest_intact_snapshot(index: Path, damage: str) -> None:
    if damage == "garbage":
        (index / CURRENT).write_bytes(b"\x00\xffnot a name")
    elif damage == "5,000 digits":  # past Python's limit for int(): must not raise ValueError
        (index / CURRENT).write_text("v" + "9" * 5000)
    elif damage == "non-ASCII digits":
        (index / CURRENT).write_text("v\u0660\u0660\u0660\u0660\u0660\u0663")
        (index / "v\u0660\u0660\u0660\u0660\u0660\u0663").mkdir()
    elif damage == "missing snapshot":
        (index / CURRENT).write_text("v000009")
    else:
        (index / CURRENT).unlink()
    with pytest.raises(StoreError):
        Store.load(index)
    found = check(index)
    assert not found.ok and found.remaining[0].kind == "current" and "v000002" in found.remaining[0].message
    repaired = check(index, repair=True)
    assert repaired.ok, repaired.summary()
    assert (index / CURRENT).read_text() == "v000003"
    _assert_all_articles(index)


def test_leftovers_of_an_interrupted_save_are_warnings_and_removed(index: Path) -> None:
    (index / ".v000003.tmp-4242").mkdir()
    (index / ".v000003.tmp-4242" / "articles.jsonl").write_text("{}\n")
    (index / ".CURRENT.tmp-4242").write_text("v000003")
    report = check(index)
    assert report.ok, "leftovers do not make the index unusable"
    assert sorted(p.subject for p in report.problems if p.kind == "leftover") == [
        ".CURRENT.tmp-4242",
        ".v000003.tmp-4242",
    ]
    repaired = check(index, repair=True)
    assert all(p.repaired for p in repaired.problems)
    assert not any(".tmp-" in p.name for p in index.iterdir())
    assert check(index).problems == []
    _assert_all_articles(index)


def test_a_corrupt_manifest_is_rebuilt(index: Path) -> None:
    (_snapshot(index) / "manifest.json").write_text('{"format": 1, "version": ')
    with pytest.raises(StoreError, match="damaged"):
        Store.load(index)
    assert check(index).remaining[0].kind == "manifest"
    assert check(index, repair=True).ok
    store = _assert_all_articles(index)
    assert store.embedding_model == "test-model" and store.next_vector_id == 11
    store.upsert(*_article("e", 1, 20))
    assert Store.load(index).next_vector_id == 11 and store.vector_ids(["e"]) == [11]


def test_a_manifest_without_any_copy_cannot_be_guessed(tmp_path: Path) -> None:
    store = Store(tmp_path, "test-model", DIM)
    store.upsert(*_article("a", 2, 1))
    store.save()
    (_snapshot(tmp_path) / "manifest.json").write_text("[]")
    report = check(tmp_path, repair=True)
    assert not report.ok and "which model" in report.remaining[0].message


def test_orphans_and_bad_offsets(index: Path) -> None:
    snapshot = _snapshot(index)
    chunks = _lines(snapshot / "chunks.jsonl")
    chunks.append({**chunks[0], "id": "ghost#0", "article_id": "ghost", "vector_id": 500})
    bad = next(c for c in chunks if c["article_id"] == "c")
    bad["end"] = 10_000
    _write_lines(snapshot / "chunks.jsonl", chunks)
    extra = np.ones((1, DIM), dtype=np.float32) / np.sqrt(DIM)
    _edit_vectors(index, lambda v: v.add_with_ids(extra, np.array([777], dtype=np.int64)))
    found = check(index)
    assert {p.kind for p in found.remaining} == {"checksum", "orphan-chunk", "orphan-vector", "offsets"}
    report = check(index, repair=True)
    assert report.ok and report.missing_vectors == [], "c's chunks come back from v000001, which holds them whole"
    store = _assert_all_articles(index)
    assert store.chunk_count == 11 and store._index.ntotal == 11


def test_a_damaged_vector_file_is_salvaged_from_the_previous_snapshot(index: Path) -> None:
    file = _snapshot(index) / "vectors.faiss"
    file.write_bytes(file.read_bytes()[:100])
    report = check(index, repair=True)
    assert report.missing_vectors == ["d"], "d was saved only in the damaged snapshot"
    _assert_all_articles(index, embedded={"a", "b", "c"})


def test_a_broken_feeds_file_is_reported_not_deleted(index: Path) -> None:
    (index / "feeds.json").write_text('{"feeds": [')
    report = check(index, repair=True)
    assert [p.kind for p in report.remaining] == ["feeds"]
    assert (index / "feeds.json").exists()
    assert main(["check", "--index", str(index)]) == 1


def test_cli_exit_codes_and_json(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--index", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    (index / CURRENT).write_text("v000042")
    assert main(["check", "--index", str(index)]) == 1
    assert "names 'v000042'" in capsys.readouterr().out
    assert main(["check", "--index", str(index), "--repair"]) == 0
    assert "[repaired]" in capsys.readouterr().out
    assert main(["check", "--index", str(index / "nowhere")]) == 1


def test_the_assistant_re_embeds_articles_whose_vectors_are_lost(tmp_path: Path, fast_settings: Settings) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "tram.md", "Lyon tram", "Lyon opened a new tram line to the university on Monday.", id="tram")
    write_article(
        folder, "bridge.md", "Leeds bridge", "Leeds approved a cycling bridge costing 12 million.", id="bridge"
    )
    index = tmp_path / "index"
    Assistant.open(index, fast_settings).ingest([folder])
    lost = Store.load(index).vector_ids(["bridge"])
    _edit_vectors(index, lambda v: v.remove_ids(np.asarray(lost, dtype=np.int64)))

    assert main(["check", "--index", str(index), "--embedding-model", "all-minilm-l6-v2"]) == 1
    assert main(["check", "--index", str(index), "--repair"]) == 0

    assistant = Assistant.open(index, fast_settings)
    assert assistant.check().problems == []
    assert assistant.retrieve("How much does the cycling bridge in Leeds cost?", k=1)[0].article.id == "bridge"


def test_an_unreadable_article_line_is_restored_from_the_previous_snapshot(index: Path) -> None:
    file = _snapshot(index) / "articles.jsonl"
    lines = file.read_text().splitlines()
    file.write_text("\n".join('{"id": "b", "title": ' if '"id": "b"' in line else line for line in lines) + "\n")
    found = check(index)
    assert [p.kind for p in found.remaining] == ["checksum", "damaged-article"]
    assert "line 2 of articles.jsonl is damaged; restored from v000001" in found.remaining[1].message
    assert check(index, repair=True).ok
    _assert_all_articles(index)


def test_a_snapshot_left_by_a_writer_killed_before_its_swap_is_not_reused(index: Path) -> None:
    (index / ".CURRENT.tmp-4242").write_text("v000003")  # a save writes its pointer before the rename
    shutil.copytree(index / "v000002", index / "v000003")  # renamed into place, CURRENT not yet switched
    report = check(index)
    assert report.ok and [(p.kind, p.subject) for p in report.problems] == [
        ("leftover", ".CURRENT.tmp-4242"),
        ("leftover", "v000003"),
    ]
    store = Store.load(index)
    store.upsert(*_article("e", 1, 30))
    store.save()
    assert (index / CURRENT).read_text() == "v000004"
    assert sorted(p.name for p in index.iterdir() if p.is_dir()) == ["v000002", "v000004"]
    assert check(index).problems == []


def test_an_index_saved_without_checksums_opens_and_repair_adds_them(index: Path) -> None:
    snapshot = _snapshot(index)
    store = Store.load(index)
    (snapshot / "articles.jsonl").write_text("".join(json.dumps(a.to_dict()) + "\n" for a in store.articles()))
    chunks = "".join(json.dumps({**c.to_dict(), "vector_id": v}) + "\n" for v, c in store.chunk_items())
    (snapshot / "chunks.jsonl").write_text(chunks)
    manifest = json.loads((snapshot / "manifest.json").read_text())
    legacy = {k: v for k, v in manifest.items() if k not in ("files", SEAL)}
    (snapshot / "manifest.json").write_text(json.dumps({**legacy, "format": 1}, indent=2))
    assert {a.id for a in Store.load(index).articles()} == IDS, "an index saved by the previous format opens"
    report = check(index)
    assert report.ok and [(p.kind, p.severity) for p in report.problems] == [("unsealed", "warning")]
    assert check(index, repair=True).ok
    assert check(index).problems == [] and json.loads((_snapshot(index) / "manifest.json").read_text())["format"] == 2
    _assert_all_articles(index)

"""`newsqa check`: real indexes damaged on disk in the ways a crash, a full disk or a stray edit can,
then checked and repaired without losing an article; format-2 folders upgraded, damaged or not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.errors import StoreError
from qa.store.check import check
from qa.store.layout import (
    CURRENT,
    FAISS_FILE,
    FEEDS,
    RECORDS,
    SAVING,
    TMP_MARK,
    VECTORS,
    manifest_of,
    snapshot_version,
)
from qa.store.records import seal
from qa.store.store import Store
from tests.conftest import write_article
from tests.store.folders import execute, manifest_text, rows, set_manifest_text, write_format2, write_vector
from tests.store.test_store import DIM, _article

IDS = {"a", "b", "c", "d"}


def _same_model(samples, dimension):
    return "test-model", dimension


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    """Two saves: a, b, c, then d."""
    path = tmp_path / "index"
    store = Store(path, "test-model", DIM)
    for seed, article_id in enumerate(["a", "b", "c"], start=1):
        store.upsert(*_article(article_id, 3, seed))
    store.save()
    store.upsert(*_article("d", 2, 9))
    store.save()
    return path


def _assert_all_articles(path: Path, embedded: set[str] = IDS) -> Store:
    store = Store.load(path)
    assert {a.id for a in store.articles()} == IDS, "no article may be lost"
    assert {a.id for a in store.articles() if store.chunks_of(a.id)} == embedded
    for article_id in embedded:
        seed = {"a": 1, "b": 2, "c": 3, "d": 9}[article_id]
        np.testing.assert_allclose(
            store.vectors_of(article_id),
            _article(article_id, 3, seed)[2][: len(store.chunks_of(article_id))],
            atol=1e-6,
        )
    return store


def test_a_healthy_index_passes(index: Path) -> None:
    report = check(index)
    assert report.ok and report.problems == [] and report.missing_vectors == []
    assert (report.snapshot, report.articles, report.chunks, report.vectors) == ("v000002", 4, 11, 11)
    assert report.index["kind"] == "flat"
    assert sorted(p.name for p in index.iterdir() if not p.name.startswith(".")) == [RECORDS, VECTORS]


def test_a_damaged_vector_leaves_its_article_for_re_embedding(index: Path) -> None:
    damaged = Store.load(index).vector_ids(["b"])[1]
    write_vector(index, damaged, np.ones(DIM))
    with pytest.raises(StoreError, match="newsqa check"):
        Store.load(index)
    found = check(index)
    assert [p.kind for p in found.remaining] == ["vector-checksum", "missing-vectors"]
    report = check(index, repair=True)
    assert not report.ok and report.missing_vectors == ["b"]
    assert [p.kind for p in report.remaining] == ["missing-vectors"]
    _assert_all_articles(index, embedded={"a", "c", "d"})


def test_rows_past_the_committed_count_are_ignored_then_cut_off(index: Path) -> None:
    """What a save killed after appending its vectors, before its commit, leaves."""
    with open(index / VECTORS, "ab") as handle:
        handle.write(np.full((5, DIM), np.nan, dtype=np.float32).tobytes())
    assert check(index).problems == []
    store = _assert_all_articles(index)
    store.upsert(*_article("e", 1, 20))
    store.save()
    assert (index / VECTORS).stat().st_size == 12 * 4 * DIM and store.vector_ids(["e"]) == [11]
    assert check(index).problems == []


def test_leftovers_of_an_interrupted_save_are_warnings_and_removed(index: Path) -> None:
    leftovers = [f"{SAVING}{TMP_MARK}4242", f"{VECTORS}{TMP_MARK}4242", "ann-v000009.faiss", "v000001"]
    for name in leftovers[:3]:
        (index / name).write_text("3")
    (index / "v000001").mkdir()
    (index / CURRENT).write_text("v000001")
    report = check(index)
    assert report.ok, "leftovers do not make the index unusable"
    assert sorted(p.subject for p in report.problems if p.kind == "leftover") == sorted([*leftovers, CURRENT])
    repaired = check(index, repair=True)
    assert all(p.repaired for p in repaired.problems)
    assert sorted(p.name for p in index.iterdir() if not p.name.startswith(".")) == [RECORDS, VECTORS]
    assert check(index).problems == []
    _assert_all_articles(index)


def test_a_corrupt_manifest_is_rebuilt_with_the_model_named(index: Path) -> None:
    set_manifest_text(index, '{"format": 3, "version": ')
    with pytest.raises(StoreError, match="damaged"):
        Store.load(index)
    assert check(index).remaining[0].kind == "manifest"
    report = check(index, repair=True)
    assert not report.ok and "which model" in report.remaining[0].message, "no copy tells the model"
    assert check(index, repair=True, model_hint=_same_model).ok
    store = _assert_all_articles(index)
    assert store.embedding_model == "test-model" and store.next_vector_id == 11
    store.upsert(*_article("e", 1, 20))
    assert store.vector_ids(["e"]) == [11]


def test_one_flipped_bit_in_the_manifest_is_corrected(index: Path) -> None:
    text = manifest_text(index)
    at = text.index('"articles"') + 2
    set_manifest_text(index, text[:at] + chr(ord(text[at]) ^ 0x01) + text[at + 1 :])
    found = check(index)
    assert [p.kind for p in found.remaining] == ["flipped-bit"]
    assert check(index, repair=True).ok and check(index).problems == []
    _assert_all_articles(index)


def test_orphans_and_bad_offsets(index: Path) -> None:
    line = rows(index, "chunks")[0][1]
    chunk = json.loads(line)
    ghost = {k: v for k, v in chunk.items() if k != "sha256"}
    execute(
        index,
        "INSERT INTO chunks VALUES (?, ?, ?)",
        500,
        "ghost",
        seal(json.dumps({**ghost, "id": "ghost#0", "article_id": "ghost", "vector_id": 500})),
    )
    key, line = next((k, x) for k, x in rows(index, "chunks") if json.loads(x)["article_id"] == "c")
    bad = {k: v for k, v in json.loads(line).items() if k != "sha256"}
    execute(index, "UPDATE chunks SET line = ? WHERE vector_id = ?", seal(json.dumps({**bad, "end": 10_000})), key)
    found = check(index)
    assert {p.kind for p in found.remaining} == {"orphan-chunk", "offsets", "missing-vectors", "counts"}
    report = check(index, repair=True)
    assert report.missing_vectors == ["c"], "no older copy of c's passages: it is re-chunked and re-embedded"
    store = _assert_all_articles(index, embedded={"a", "b", "d"})
    assert store.chunk_count == 8 and store._index.ntotal == 8


def test_a_truncated_vector_file_leaves_every_article_for_re_embedding(index: Path) -> None:
    file = index / VECTORS
    file.write_bytes(file.read_bytes()[:100])
    with pytest.raises(StoreError, match="newsqa check"):
        Store.load(index)
    report = check(index, repair=True)
    assert report.missing_vectors == sorted(IDS)
    _assert_all_articles(index, embedded=set())


def test_a_database_sqlite_cannot_read_is_rebuilt_from_its_bytes(index: Path) -> None:
    file = index / RECORDS
    data = file.read_bytes()
    file.write_bytes(b"\x00" * 100 + data[100:])  # the header: SQLite no longer knows the file
    with pytest.raises(StoreError, match="check --repair"):
        Store.load(index)
    found = check(index)
    assert not found.ok and "SQLite cannot read it" in found.summary()
    report = check(index, repair=True)
    assert report.ok, report.summary()
    _assert_all_articles(index)
    assert check(index).problems == []


def test_a_broken_feeds_file_is_reported_not_deleted(index: Path) -> None:
    (index / FEEDS).write_text('{"feeds": [')
    report = check(index, repair=True)
    assert [p.kind for p in report.remaining] == ["feeds"]
    assert (index / FEEDS).exists()
    assert main(["check", "--index", str(index)]) == 1


def test_cli_exit_codes_and_json(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--index", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    key, line = rows(index, "articles")[1]
    at = line.index('"title"') + 3
    execute(
        index, "UPDATE articles SET line = ? WHERE id = ?", line[:at] + chr(ord(line[at]) ^ 0x01) + line[at + 1 :], key
    )
    assert main(["check", "--index", str(index)]) == 1
    assert "row 2 of the articles table had one flipped bit" in capsys.readouterr().out
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
    for vector_id in Store.load(index).vector_ids(["bridge"]):
        write_vector(index, vector_id, np.zeros(384))

    assert main(["check", "--index", str(index), "--embedding-model", "all-minilm-l6-v2"]) == 1
    assert main(["check", "--index", str(index), "--repair", "--embedding-model", "all-minilm-l6-v2"]) == 0

    assistant = Assistant.open(index, fast_settings)
    assert assistant.check().problems == []
    assert assistant.retrieve("How much does the cycling bridge in Leeds cost?", k=1)[0].article.id == "bridge"


def test_an_unreadable_article_row_is_rebuilt_from_its_passages(index: Path) -> None:
    execute(index, "UPDATE articles SET line = ? WHERE id = 'b'", '{"id": "b", "title": ')
    found = check(index)
    assert [p.kind for p in found.remaining] == ["damaged-article"]
    assert "row 2 of the articles table is damaged; no intact copy" in found.remaining[0].message
    report = check(index, repair=True)
    assert [line for line in report.lost if "article b" in line], "what its passages do not hold is named as lost"
    store = _assert_all_articles(index)
    assert store.article("b").text == _article("b", 3, 2)[0].text


# -- format 2 (snapshot folders) ---------------------------------------------------------------


def _format2(path: Path, sealed: bool = True) -> Path:
    """v000001 holds a, b, c; v000002 (current) adds d."""
    first = [_article(a, 3, seed) for seed, a in enumerate(["a", "b", "c"], start=1)]
    write_format2(path, [(1, first), (2, [*first, _article("d", 2, 9)])], "test-model", sealed)
    return path


@pytest.mark.parametrize("sealed", [True, False], ids=["format-2", "format-1"])
def test_an_older_folder_is_upgraded_once_when_opened(tmp_path: Path, sealed: bool) -> None:
    index = _format2(tmp_path / "index", sealed)
    assert Store.exists(index)
    assert manifest_of(index)["format"] == (2 if sealed else 1), "reading the manifest changes nothing"
    store = _assert_all_articles(index)
    assert store.version == 3 and store.next_vector_id == 11
    assert sorted(p.name for p in index.iterdir() if not p.name.startswith(".")) == [RECORDS, VECTORS]
    assert manifest_of(index)["format"] == 3
    assert Store.load(index).version == 3, "upgraded once"
    assert check(index).problems == []
    store.upsert(*_article("e", 1, 20))
    store.save()
    assert Store.load(index).vector_ids(["e"]) == [11]


@pytest.mark.parametrize("damage", ["garbage", "missing snapshot", "deleted"])
def test_a_damaged_current_falls_back_to_the_newest_intact_snapshot(tmp_path: Path, damage: str) -> None:
    index = _format2(tmp_path / "index")
    if damage == "garbage":
        (index / CURRENT).write_bytes(b"\x00\xffnot a name")
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
    assert not (index / CURRENT).exists() and manifest_of(index)["format"] == 3
    _assert_all_articles(index)


def test_a_deleted_vector_of_a_format2_folder_is_restored_from_the_previous_snapshot(tmp_path: Path) -> None:
    import faiss

    index = _format2(tmp_path / "index")
    file = index / "v000002" / FAISS_FILE
    vectors = faiss.read_index(str(file))
    vectors.remove_ids(np.array([4], dtype=np.int64))  # b's second passage
    faiss.write_index(vectors, str(file))
    with pytest.raises(StoreError, match="newsqa check"):
        Store.load(index)
    found = check(index)
    assert not found.ok and [p.kind for p in found.remaining] == ["checksum", "missing-vector"]
    repaired = check(index, repair=True)
    assert repaired.ok and all(p.repaired for p in repaired.problems)
    _assert_all_articles(index)
    assert check(index).problems == [] and manifest_of(index)["format"] == 3


def test_a_snapshot_name_is_v_and_six_to_eighteen_ascii_digits() -> None:
    """A damaged CURRENT may hold anything: 5,000 digits (past int()'s limit) or non-ASCII digits name nothing."""
    assert snapshot_version("v000012") == 12
    assert snapshot_version("v" + "9" * 5000) is None
    assert snapshot_version("v\u0660\u0660\u0660\u0660\u0660\u0663") is None
    assert snapshot_version("v000012\n") is None


def test_a_repair_keeps_the_embedder_record(tmp_path: Path) -> None:
    made = {"backend": "torch", "titles": False}
    path = tmp_path / "index"
    store = Store(path, "test-model", DIM, embedder=made)
    for seed, article_id in enumerate(["a", "b"], start=1):
        store.upsert(*_article(article_id, 3, seed))
    store.save()
    data = (path / RECORDS).read_bytes()
    (path / RECORDS).write_bytes(b"\x00" * 100 + data[100:])  # one rebuilt from the database's bytes
    assert check(path, repair=True).ok
    assert manifest_of(path)["embedder"] == made
    write_vector(path, Store.load(path).vector_ids(["b"])[1], np.ones(DIM))  # one that rewrites the index
    assert check(path, repair=True).missing_vectors == ["b"]
    assert manifest_of(path)["embedder"] == made

"""The FAISS-backed store: upsert, delete, persistence and atomic saves, on real indexes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa.errors import StoreError
from qa.store.layout import RECORDS, VECTORS, manifest_of, write_lock
from qa.store.store import Store
from qa.types import Article, Chunk

DIM = 16


def _article(article_id: str, n_chunks: int, seed: int) -> tuple[Article, list[Chunk], np.ndarray]:
    text = " ".join(f"sentence {i} of {article_id}." for i in range(n_chunks))
    chunks = []
    cursor = 0
    for i in range(n_chunks):
        piece = f"sentence {i} of {article_id}."
        start = text.index(piece, cursor)
        chunks.append(Chunk(f"{article_id}#{i}", article_id, i, piece, start, start + len(piece)))
        cursor = start + len(piece)
    vectors = np.random.default_rng(seed).normal(size=(n_chunks, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Article(id=article_id, title=article_id, text=text), chunks, vectors


def test_upsert_search_replace_delete(tmp_path: Path) -> None:
    store = Store(tmp_path, "test-model", DIM)
    a = _article("a", 3, 1)
    b = _article("b", 2, 2)
    store.upsert(*a)
    store.upsert(*b)
    assert store.chunk_count == 5
    top_chunk, score = store.search(b[2][1], k=1)[0]
    assert top_chunk.id == "b#1" and score == pytest.approx(1.0, abs=1e-5)

    replacement = _article("a", 1, 3)
    store.upsert(*replacement)
    assert store.chunk_count == 3 and [c.id for c in store.chunks_of("a")] == ["a#0"]
    assert all(chunk.article_id != "a" or chunk.id == "a#0" for chunk, _ in store.search(a[2][2], k=10))

    assert store.delete("b") and not store.delete("b")
    assert [c.article_id for c, _ in store.search(b[2][0], k=10)] == ["a"]
    assert store.article("b") is None


def test_save_and_load_roundtrip(tmp_path: Path) -> None:
    store = Store(tmp_path, "test-model", DIM)
    article, chunks, vectors = _article("a", 4, 1)
    store.upsert(article, chunks, vectors)
    store.save()
    store.delete("a")
    store.upsert(*_article("c", 2, 5))
    store.save()
    loaded = Store.load(tmp_path)
    assert loaded.version == 2 and len(loaded) == 1 and loaded.chunk_count == 2
    assert loaded.embedding_model == "test-model"
    np.testing.assert_allclose(loaded.vectors_of("c"), _article("c", 2, 5)[2], atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [RECORDS, VECTORS]
    rows = (tmp_path / VECTORS).stat().st_size // (4 * DIM)
    assert rows == 6, "vector rows are only appended: the deleted article's four stay, unused"
    loaded.upsert(*_article("d", 1, 7))
    loaded.save()
    again = Store.load(tmp_path)
    assert again.version == 3 and sorted(a.id for a in again.articles()) == ["c", "d"]
    assert (tmp_path / VECTORS).stat().st_size // (4 * DIM) == 7


def test_mismatched_vectors_are_refused(tmp_path: Path) -> None:
    store = Store(tmp_path, "m", DIM)
    article, chunks, vectors = _article("a", 2, 1)
    with pytest.raises(StoreError, match="2 chunks but 1 vectors"):
        store.upsert(article, chunks, vectors[:1])
    with pytest.raises(StoreError, match="dimensions"):
        store.upsert(article, chunks, np.zeros((2, DIM + 1), dtype=np.float32))
    with pytest.raises(StoreError, match="no index"):
        Store.load(tmp_path / "missing")


def test_writers_are_exclusive(tmp_path: Path) -> None:
    code = f"from qa.store import write_lock\nwith write_lock({str(tmp_path)!r}, timeout_s=0.5): print('got it')\n"
    with write_lock(tmp_path):
        blocked = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert blocked.returncode != 0 and "being written by another process" in blocked.stderr
    free = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert free.returncode == 0 and "got it" in free.stdout


KILL_LOOP = """
import sys, numpy as np
from qa.store.store import Store
from qa.types import Article, Chunk
path = sys.argv[1]
store = Store.load(path)
i = 0
while True:
    i += 1
    text = "x" * 50
    chunks = [Chunk(f"k{i}#{j}", f"k{i}", j, text, 0, 50) for j in range(200)]
    vectors = np.random.default_rng(i).normal(size=(200, 16)).astype(np.float32)
    store.upsert(Article(id=f"k{i}", title="k", text=text), chunks, vectors)
    store.save()
    print(i, flush=True)
"""


def test_killed_writer_never_damages_the_index(tmp_path: Path) -> None:
    store = Store(tmp_path, "m", DIM)
    store.upsert(*_article("keep", 3, 1))
    store.save()
    rng = np.random.default_rng(0)
    for _ in range(6):
        process = subprocess.Popen(
            [sys.executable, "-c", KILL_LOOP, str(tmp_path)], stdout=subprocess.PIPE, env={**os.environ}
        )
        assert process.stdout is not None
        process.stdout.readline()  # the first save is done: start-up time varies a lot on a busy machine
        time.sleep(float(rng.uniform(0, 0.6)))
        process.send_signal(signal.SIGKILL)
        process.wait()
        loaded = Store.load(tmp_path)
        assert loaded.article("keep") is not None, "a previously stored article was lost"
        assert loaded.chunk_count == sum(len(loaded.chunks_of(a.id)) for a in loaded.articles())
        saved = manifest_of(tmp_path)
        assert (tmp_path / VECTORS).stat().st_size >= saved["vector_rows"] * 4 * DIM
        assert saved["chunks"] == loaded.chunk_count and saved["version"] == loaded.version
    assert Store.load(tmp_path).version > 1, "the writer made progress between kills"


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_vector_is_refused_and_nothing_else_is_touched(tmp_path: Path, bad: float) -> None:
    store = Store(tmp_path, "test-model", DIM)
    kept = _article("kept", 2, 1)
    store.upsert(*kept)
    article, chunks, vectors = _article("broken", 3, 2)
    vectors[1, 4] = bad
    with pytest.raises(StoreError, match="article broken: 1 of 3 passage vectors are not finite"):
        store.upsert(article, chunks, vectors)
    assert store.article("broken") is None and store.chunk_count == 2
    # an older, finite version of the same article survives a refused replacement
    store.upsert(*_article("broken", 1, 3))
    with pytest.raises(StoreError):
        store.upsert(article, chunks, vectors)
    assert [c.id for c in store.chunks_of("broken")] == ["broken#0"]
    assert store.search(kept[2][0], k=1)[0][0].id == "kept#0"


def test_a_save_writes_only_what_changed(tmp_path: Path) -> None:
    """A save appends the batch's vectors and replaces only the rows of the articles it touched."""
    store = Store(tmp_path, "test-model", DIM)
    for number in range(5):
        store.upsert(*_article(f"a{number}", 3, number))
    store.save()
    vectors = (tmp_path / VECTORS).read_bytes()

    def rowids() -> dict[str, int]:
        with sqlite3.connect(tmp_path / RECORDS) as connection:
            return dict(connection.execute("SELECT id, rowid FROM articles"))

    before = rowids()
    loaded = Store.load(tmp_path)
    loaded.upsert(*_article("new", 2, 9))
    loaded.upsert(*_article("a3", 1, 10))  # replaced
    loaded.delete("a1")
    loaded.save()
    after = rowids()
    assert {k: after[k] for k in ("a0", "a2", "a4")} == {k: before[k] for k in ("a0", "a2", "a4")}, "rewritten"
    assert "a1" not in after and after["a3"] != before["a3"] and "new" in after
    grown = (tmp_path / VECTORS).read_bytes()
    assert grown[: len(vectors)] == vectors and len(grown) == len(vectors) + 3 * 4 * DIM
    np.testing.assert_allclose(Store.load(tmp_path).vectors_of("new"), _article("new", 2, 9)[2], atol=1e-6)

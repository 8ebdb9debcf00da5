"""Past `ann_threshold` vectors the store switches to an IVF-SQ8 index re-ranked exactly: recall against
exact search, persistence, deletes, filtered search, the switch back, IVF-Flat files saved before, and
check/repair of the index file, on real FAISS indexes."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.errors import StoreError
from qa.store import database
from qa.store.ann import EXACT_BELOW, FLAT, IVF, IVF_SQ8
from qa.store.check import check
from qa.store.layout import ann_name, manifest_of
from qa.store.records import file_digest
from qa.store.store import Store
from qa.types import Article, Chunk

DIM = 32
THRESHOLD = 2_000


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _corpus(count: int, seed: int) -> np.ndarray:
    """Random vectors around 80 random topics, normalised."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(80, DIM)))
    return _unit(centres[rng.integers(0, 80, count)] + 0.6 * rng.normal(size=(count, DIM)) / np.sqrt(DIM))


def _fill(store: Store, vectors: np.ndarray, first: int = 0) -> None:
    """Two chunks per article, article ids `a<number>`."""
    for offset in range(0, len(vectors), 2):
        number = first + offset // 2
        article_id = f"a{number}"
        text = f"first part of {article_id}. second part of {article_id}."
        half = text.index(" second")
        chunks = [
            Chunk(f"{article_id}#0", article_id, 0, text[:half], 0, half),
            Chunk(f"{article_id}#1", article_id, 1, text[half + 1 :], half + 1, len(text)),
        ]
        store.upsert(Article(id=article_id, title=article_id, text=text), chunks, vectors[offset : offset + 2])


def _recall(store: Store, queries: np.ndarray, allowed: list[int] | None = None) -> float:
    """Mean recall@10 of `store.search_ids` against a brute-force search over the stored vectors."""
    ids = np.asarray(sorted(allowed) if allowed is not None else sorted(v for v, _ in store.chunk_items()))
    vectors = np.stack([store.vector(int(i)) for i in ids])
    found = []
    for query in queries:
        exact = set(ids[np.argsort(-(vectors @ query))[:10]].tolist())
        found.append(len({v for v, _ in store.search_ids(query, 10, allowed)} & exact) / 10)
    return float(np.mean(found))


def _queries(vectors: np.ndarray, seed: int, count: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = vectors[rng.choice(len(vectors), count, replace=False)]
    return _unit(picks + 0.8 * rng.normal(size=picks.shape) / np.sqrt(DIM))


def test_past_the_threshold_the_store_uses_an_ivf_sq8_index(tmp_path: Path) -> None:
    vectors = _corpus(2_400, seed=1)
    store = Store(tmp_path, "m", DIM, ann_threshold=THRESHOLD)
    _fill(store, vectors)
    assert store.index_info["kind"] == FLAT, "the switch happens when saving"
    store.save()
    info = store.index_info
    assert info["kind"] == IVF_SQ8 and info["trained_at"] == 2_400 and 1 <= info["nprobe"] <= info["nlist"]
    assert manifest_of(tmp_path)["index"]["kind"] == IVF_SQ8
    queries = _queries(vectors, seed=2)
    assert _recall(store, queries) >= 0.95
    scores = dict(store.search_ids(queries[0], 10))
    assert all(abs(score - float(vectors[v] @ queries[0])) < 1e-5 for v, score in scores.items()), "exact scores"

    loaded = Store.load(tmp_path)
    assert loaded.index_info == info
    assert [loaded.search_ids(q, 10) for q in queries[:10]] == [store.search_ids(q, 10) for q in queries[:10]]
    np.testing.assert_allclose(loaded.vectors_of("a7"), vectors[14:16], atol=1e-6)

    gone = [f"a{n}" for n in range(0, 1_200, 7)]
    gone_ids = set(loaded.vector_ids(gone))
    for article_id in gone:
        assert loaded.delete(article_id)
    assert all(v not in gone_ids for q in queries for v, _ in loaded.search_ids(q, 10))
    with pytest.raises(RuntimeError):
        loaded.vector(min(gone_ids))
    assert _recall(loaded, queries) >= 0.9

    tenth = loaded.vector_ids(f"a{n}" for n in range(1, 1_200, 10) if f"a{n}" not in gone)
    assert all(v in set(tenth) for q in queries for v, _ in loaded.search_ids(q, 10, tenth))
    assert _recall(loaded, queries, tenth) >= 0.9
    one = loaded.vector_ids(["a3"])
    assert {v for v, _ in loaded.search_ids(queries[0], 10, one)} == set(one), "a tiny filter is searched exactly"

    loaded.save()
    again = Store.load(tmp_path)
    assert again.index_info["kind"] == IVF_SQ8 and again.chunk_count == 2_400 - 2 * len(gone)
    assert check(tmp_path).problems == []


def test_the_index_is_retrained_as_the_corpus_grows_and_dropped_as_it_shrinks(tmp_path: Path) -> None:
    vectors = _corpus(6_000, seed=3)
    store = Store(tmp_path, "m", DIM, ann_threshold=THRESHOLD)
    _fill(store, vectors[:2_200])
    store.save()
    assert store.index_info["trained_at"] == 2_200
    _fill(store, vectors[2_200:4_000], first=1_100)
    store.save()
    assert store.index_info["trained_at"] == 2_200, "less than double: new vectors join the trained lists"
    _fill(store, vectors[4_000:], first=2_000)
    store.save()
    assert store.index_info["trained_at"] == 6_000 and store.index_info["nlist"] > 55
    assert _recall(store, _queries(vectors, seed=4)) >= 0.9

    for number in range(2_600):
        store.delete(f"a{number}")
    store.save()
    assert store.index_info["kind"] == FLAT and store.chunk_count == 800
    assert Store.load(tmp_path).index_info["kind"] == FLAT
    assert _recall(store, _queries(vectors[5_200:], seed=5)) == 1.0


def test_the_threshold_has_a_floor(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="ann_threshold"):
        Store(tmp_path, "m", DIM, ann_threshold=10)


def test_a_filter_too_wide_for_an_exact_scan_searches_the_codes_of_admitted_rows_only(tmp_path: Path) -> None:
    vectors = _corpus(6_000, seed=6)
    store = Store(tmp_path, "m", DIM, ann_threshold=THRESHOLD)
    _fill(store, vectors)
    store.save()
    store = Store.load(tmp_path)
    assert store.index_info["kind"] == IVF_SQ8
    admitted = store.vector_ids(f"a{n}" for n in range(3_000) if n % 5)
    assert len(admitted) > EXACT_BELOW, "past the exact scan: the IVF lists are scanned with a selector"
    queries = _queries(vectors, seed=7)
    for query in queries:
        found = store.search_ids(query, 10, admitted)
        assert len(found) == 10 and {v for v, _ in found} <= set(admitted)
    assert _recall(store, queries, admitted) >= 0.95
    few = store.vector_ids(f"a{n}" for n in range(0, 3_000, 50))
    assert all({v for v, _ in store.search_ids(q, 10, few)} <= set(few) for q in queries)
    assert _recall(store, queries, few) == 1.0, "a narrow filter is an exact scan of its rows"


def test_an_ivf_flat_file_saved_before_still_opens_and_is_replaced_when_retrained(tmp_path: Path) -> None:
    vectors = _corpus(3_000, seed=8)
    store = Store(tmp_path, "m", DIM, ann_threshold=THRESHOLD)
    _fill(store, vectors[:2_400])
    store.save()
    # What an earlier newsqa saved: an IVF-Flat file named in the manifest with its checksum.
    flat = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, 40, faiss.METRIC_INNER_PRODUCT)
    flat.train(vectors[:2_400])
    flat.set_direct_map_type(faiss.DirectMap.Hashtable)
    flat.add_with_ids(vectors[:2_400], np.arange(2_400, dtype=np.int64))
    manifest = manifest_of(tmp_path)
    name = ann_name(manifest["version"])
    (tmp_path / manifest["index"]["file"]).unlink()
    faiss.write_index(flat, str(tmp_path / name))
    manifest["index"] = {
        "kind": IVF,
        "nlist": 40,
        "nprobe": 40,
        "trained_at": 2_400,
        "file": name,
        "rows": 2_400,
        "sha256": file_digest(tmp_path / name),
        "bytes": (tmp_path / name).stat().st_size,
    }
    connection = database.connect(tmp_path)
    with connection:
        connection.execute(
            "UPDATE meta SET value = ? WHERE key = ?", (database.manifest_row(manifest), database.MANIFEST_KEY)
        )
    connection.close()
    assert check(tmp_path).problems == []

    old = Store.load(tmp_path)
    assert old.index_info["kind"] == IVF
    queries = _queries(vectors[:2_400], seed=9)
    assert _recall(old, queries) == 1.0, "every list scanned: exact"
    _fill(old, vectors[2_400:], first=1_200)
    old.save()
    assert Store.load(tmp_path).index_info["kind"] == IVF, "not yet doubled: the old file is kept"
    for number in range(1_200):
        old.delete(f"a{number}")
    _fill(old, _corpus(5_000, seed=10), first=10_000)
    old.save()
    assert old.index_info["kind"] == IVF_SQ8 and old.index_info["trained_at"] == 5_600
    assert Store.load(tmp_path).index_info == old.index_info
    assert check(tmp_path).problems == []


def test_a_damaged_ivf_file_is_reported_and_rebuilt_by_repair(tmp_path: Path) -> None:
    vectors = _corpus(2_400, seed=11)
    store = Store(tmp_path, "m", DIM, ann_threshold=THRESHOLD)
    _fill(store, vectors)
    store.save()
    file = tmp_path / manifest_of(tmp_path)["index"]["file"]
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))
    queries = _queries(vectors, seed=12)
    assert _recall(Store.load(tmp_path), queries) == 1.0, "opened with an exact index instead"
    found = check(tmp_path)
    assert [p.kind for p in found.problems] == ["ann"]
    check(tmp_path, repair=True)
    assert check(tmp_path).problems == []
    repaired = Store.load(tmp_path)
    assert repaired.index_info["kind"] == IVF_SQ8 and repaired.chunk_count == 2_400
    assert _recall(repaired, queries) >= 0.95

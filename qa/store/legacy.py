"""Formats 1 and 2 (a whole snapshot folder per save, `CURRENT` naming the live one): read once, to upgrade."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.errors import StoreError
from qa.store.ann import index_vectors
from qa.store.layout import (
    ARTICLES_FILE,
    CHUNKS_FILE,
    CURRENT,
    FAISS_FILE,
    TMP_MARK,
    current_name,
    fsync_dir,
    has_records,
    has_snapshots,
    read_manifest,
    snapshot_names,
    write_lock,
)
from qa.store.records import digest, file_digest, load_article, load_chunk
from qa.types import Article, Chunk

Snapshot = tuple[dict[str, Any], list[Article], list[tuple[int, Chunk]], np.ndarray, np.ndarray, dict[int, int]]


def read_snapshot(path: Path) -> Snapshot:
    """(manifest, articles, (vector id, chunk) pairs, vector ids, vectors, vector CRCs) of the snapshot
    `CURRENT` names, every file checked against the checksum its manifest recorded."""
    name = current_name(path)
    snapshot = path / name
    manifest = read_manifest(snapshot)
    try:
        articles = [load_article(line) for line in _lines(_verified(snapshot, ARTICLES_FILE, manifest, True))]
        chunks, crcs = [], {}
        for line in _lines(_verified(snapshot, CHUNKS_FILE, manifest, True)):
            vector_id, chunk, crc = load_chunk(line)
            chunks.append((vector_id, chunk))
            if crc is not None:
                crcs[vector_id] = crc
        _verified(snapshot, FAISS_FILE, manifest, False)
        index = faiss.read_index(str(snapshot / FAISS_FILE))
        ids, vectors = index_vectors(index)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, StoreError) as error:
        raise StoreError(f"index {path} is damaged (snapshot {name}: {error}); run `newsqa check --repair`") from error
    if len(ids) != len(chunks):
        raise StoreError(
            f"index {path} is inconsistent: {len(ids)} vectors for {len(chunks)} chunks; run `newsqa check --repair`"
        )
    return manifest, articles, chunks, ids, vectors, crcs


def upgrade(path: Path) -> None:
    """Rewrite a format-1 or -2 index folder as format 3, once, under the writer lock; the snapshot
    folders are removed only after the new records are committed."""
    from qa.store.store import Store

    path = Path(path)
    with write_lock(path):
        if has_snapshots(path):
            manifest, articles, chunks, ids, vectors, crcs = read_snapshot(path)
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(int(manifest["dimension"])))
            if len(ids):
                index.add_with_ids(vectors, ids)
            manifest = {**manifest, "index": {"kind": "flat"}}
            Store.assemble(path, manifest, articles, chunks, index, crcs).save()
        if has_records(path):
            remove_snapshots(path)


def remove_snapshots(path: Path) -> None:
    """Remove the snapshot folders, `CURRENT` and their leftovers once a format-3 index replaced them."""
    for name in snapshot_names(path):
        shutil.rmtree(path / name, ignore_errors=True)
    for entry in path.iterdir():
        if entry.name.startswith((".v", f".{CURRENT}")) and TMP_MARK in entry.name:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
    (path / CURRENT).unlink(missing_ok=True)
    fsync_dir(path)


def _lines(data: bytes) -> list[str]:
    return [line for line in data.decode("utf-8").splitlines() if line.strip()]


def _verified(snapshot: Path, name: str, manifest: dict[str, Any], read: bool) -> bytes:
    """A snapshot file's bytes (when `read`); ValueError when they differ from the recorded checksum."""
    file = snapshot / name
    expected = (manifest.get("files") or {}).get(name)
    data = file.read_bytes() if read else b""
    if expected is not None:
        size = len(data) if read else file.stat().st_size
        found = digest(data) if read else file_digest(file)
        if size != expected.get("bytes") or found != expected.get("sha256"):
            raise ValueError(f"{name} changed after it was saved (its checksum differs)")
    return data

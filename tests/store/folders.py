"""Index folders for the store tests: reach into a format-3 folder's records and vectors the way damage
would (bypassing newsqa), and write a format-2 folder (snapshots and `CURRENT`) as older newsqa saved it."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np

from qa.store.layout import (
    ARTICLES_FILE,
    CHUNKS_FILE,
    CURRENT,
    FAISS_FILE,
    MANIFEST,
    RECORDS,
    VECTORS,
)
from qa.store.records import FILE_DIGEST, article_line, chunk_line, digest, file_digest, seal, surroundings, vector_crc
from qa.types import Article, Chunk

Stored = tuple[Article, list[Chunk], np.ndarray]


def rows(path: Path, table: str) -> list[tuple[object, str]]:
    """(key, line) of every row of `articles` or `chunks`, in key order."""
    key = "id" if table == "articles" else "vector_id"
    with sqlite3.connect(path / RECORDS) as connection:
        return list(connection.execute(f"SELECT {key}, line FROM {table} ORDER BY {key}"))


def execute(path: Path, sql: str, *args: object) -> None:
    """Run one statement on the records database, as a stray tool would."""
    connection = sqlite3.connect(path / RECORDS)
    try:
        connection.execute(sql, args)
        connection.commit()
    finally:
        connection.close()


def manifest_text(path: Path) -> str:
    """The stored manifest row."""
    with sqlite3.connect(path / RECORDS) as connection:
        return connection.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0]


def set_manifest_text(path: Path, text: str) -> None:
    """Overwrite the manifest row."""
    execute(path, "UPDATE meta SET value = ? WHERE key = 'manifest'", text)


def write_vector(path: Path, vector_id: int, vector: np.ndarray) -> None:
    """Overwrite one row of the vectors file in place."""
    data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
    with open(path / VECTORS, "r+b") as handle:
        handle.seek(vector_id * len(data))
        handle.write(data)


def write_format2(path: Path, snapshots: Iterable[tuple[int, list[Stored]]], model: str, sealed: bool = True) -> None:
    """A folder of format-2 snapshots (format 1 when not `sealed`): (version, articles) each; the last is
    current. Vector ids run on across snapshots for new articles, as the old store gave them."""
    path.mkdir(parents=True, exist_ok=True)
    ids: dict[str, list[int]] = {}
    next_id = 0
    name = ""
    for version, stored in snapshots:
        name = f"v{version:06d}"
        folder = path / name
        folder.mkdir()
        articles, chunks, pairs = [], [], []
        for article, article_chunks, vectors in stored:
            if article.id not in ids:
                ids[article.id] = list(range(next_id, next_id + len(article_chunks)))
                next_id += len(article_chunks)
            own = list(zip(ids[article.id], article_chunks, vectors))
            around = surroundings(article.text, [(v, c) for v, c, _ in own])
            articles.append(article_line(article) if sealed else json.dumps(article.to_dict()))
            for vector_id, chunk, vector in own:
                line = chunk_line(vector_id, chunk, vector_crc(vector), *around[vector_id])
                chunks.append(line if sealed else json.dumps({**chunk.to_dict(), "vector_id": vector_id}))
                pairs.append((vector_id, vector))
        dimension = stored[0][2].shape[1]
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        if pairs:
            index.add_with_ids(
                np.stack([v for _, v in pairs]).astype(np.float32), np.array([i for i, _ in pairs], dtype=np.int64)
            )
        data = {ARTICLES_FILE: "".join(x + "\n" for x in articles), CHUNKS_FILE: "".join(x + "\n" for x in chunks)}
        for file, text in data.items():
            (folder / file).write_text(text, encoding="utf-8")
        faiss.write_index(index, str(folder / FAISS_FILE))
        manifest = {
            "format": 2 if sealed else 1,
            "version": version,
            "embedding_model": model,
            "dimension": dimension,
            "next_vector_id": next_id,
            "articles": len(articles),
            "chunks": len(chunks),
            "index": {"kind": "flat"},
        }
        if sealed:
            files = {f: {"sha256": digest(t.encode()), "bytes": len(t.encode())} for f, t in data.items()}
            vectors = folder / FAISS_FILE
            files[FAISS_FILE] = {"sha256": file_digest(vectors), "bytes": os.path.getsize(vectors)}
            text = seal(json.dumps({**manifest, "files": files}, indent=2), FILE_DIGEST, indent=True)
        else:
            text = json.dumps(manifest, indent=2)
        (folder / MANIFEST).write_text(text)
    (path / CURRENT).write_text(name)

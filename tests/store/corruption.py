"""Damage done to a stored index the way a disk, a crash or a stray edit does, per store backend.

tests/store/test_corruption.py runs every scenario against each backend listed in `BACKENDS`; a backend
says where its index lives and how to damage it, and the scenarios judge the outcome only through
the Assistant, the `newsqa` command line and what the index holds afterwards.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.assistant import Assistant
from qa.config import Settings
from qa.store.layout import EMBEDDING_CACHE, RECORDS, VECTORS
from qa.store.records import SEAL, seal, seal_state, vector_crc
from qa.store.store import Store

GARBAGE = bytes([0x00, 0xFF, 0x22, 0x7B, 0x5C, 0xC3, 0x28, 0x0A]) * 2  # NUL, bad UTF-8, a quote, a brace, a newline


@dataclass
class Stored:
    """What an index holds: each article's fields, its passages (text and offsets) and their vectors."""

    articles: dict[str, dict]
    passages: dict[str, list[tuple[str, int, int]]]
    vectors: dict[str, np.ndarray]


def read_stored(location: str, settings: Settings) -> Stored:
    """Everything an index holds, read through the Assistant."""
    store = Assistant.open(location, settings).store
    articles = {a.id: a.to_dict() for a in store.articles()}
    passages = {i: [(c.text, c.start, c.end) for c in store.chunks_of(i)] for i in articles}
    return Stored(articles, passages, {i: store.vectors_of(i) for i in articles})


class FolderBackend:
    """newsqa's local folder store: damage is done to the rows of its records database (bypassing their
    seals, as a disk or a stray tool would) and to its vectors file."""

    name = "folder"

    def __init__(self, root: Path) -> None:
        self.index = root / "index"

    @property
    def location(self) -> str:
        """What `--index` is given."""
        return str(self.index)

    def copy_to(self, root: Path) -> FolderBackend:
        """The same index, copied under `root` (scenarios start from one built index)."""
        other = FolderBackend(root)
        shutil.copytree(self.index, other.index)
        return other

    # -- raw bytes ---------------------------------------------------------------------------

    def parts(self) -> list[str]:
        """The pieces of the stored index whose bytes can be damaged: the manifest row, the article rows,
        the chunk rows (each piece: its rows' bytes one after the other), the vectors file."""
        return ["manifest", "articles", "chunks", VECTORS]

    def read_part(self, part: str) -> bytes:
        """The bytes of one piece."""
        if part == VECTORS:
            return (self.index / VECTORS).read_bytes()
        return b"".join(self.records(part))

    def records(self, part: str) -> list[bytes]:
        """The stored bytes of each row of a piece, in order."""
        return [line for _, line in self._rows(part)]

    def write_part(self, part: str, data: bytes) -> None:
        """Replace the bytes of one piece (rows keep their lengths: a changed byte stays in its row)."""
        if part == VECTORS:
            (self.index / VECTORS).write_bytes(data)
            return
        cursor = 0
        for key, line in self._rows(part):
            changed = data[cursor : cursor + len(line)]
            cursor += len(line)
            if changed != line:
                self._set(part, key, changed)

    def _rows(self, part: str) -> list[tuple[object, bytes]]:
        table, key = {"manifest": ("meta", "key"), "articles": ("articles", "id"), "chunks": ("chunks", "vector_id")}[
            part
        ]
        column = "value" if table == "meta" else "line"
        with sqlite3.connect(self.index / RECORDS) as connection:
            connection.text_factory = bytes
            found = connection.execute(f"SELECT {key}, CAST({column} AS BLOB) FROM {table} ORDER BY rowid")
            return [(k.decode() if isinstance(k, bytes) else k, bytes(line)) for k, line in found]

    def _set(self, part: str, key: object, line: bytes | None) -> None:
        table, column, name = {
            "manifest": ("meta", "value", "key"),
            "articles": ("articles", "line", "id"),
            "chunks": ("chunks", "line", "vector_id"),
        }[part]
        connection = sqlite3.connect(self.index / RECORDS)
        try:
            if line is None:
                connection.execute(f"DELETE FROM {table} WHERE {name} = ?", (key,))
            else:  # stored as text whatever the bytes, as a damaged disk block would leave them
                connection.execute(f"UPDATE {table} SET {column} = CAST(? AS TEXT) WHERE {name} = ?", (line, key))
            connection.commit()
        finally:
            connection.close()

    # -- damage ------------------------------------------------------------------------------

    def forget_cache(self) -> None:
        """Remove the embedding cache."""
        shutil.rmtree(self.index / EMBEDDING_CACHE, ignore_errors=True)

    def delete_chunk(self, article_id: str, position: int) -> None:
        """Remove the row of one passage."""
        self._edit_rows("chunks", lambda r: r["article_id"] == article_id and r["position"] == position, None)

    def garble_chunk(self, article_id: str, position: int) -> None:
        """Overwrite bytes in the middle of one passage's row."""
        self._edit_rows("chunks", lambda r: r["article_id"] == article_id and r["position"] == position, "mid")

    def garble_article(self, article_id: str, field: str) -> None:
        """Overwrite bytes inside one field of an article's row."""
        self._edit_rows("articles", lambda r: r["id"] == article_id, field)

    def edit_article(self, article_id: str, old: str, new: str) -> None:
        """Change the article's text in place, as an editor would (the row's checksum left as it was)."""
        for key, line in self._rows("articles"):
            if key == article_id:
                assert old.encode() in line
                self._set("articles", key, line.replace(old.encode(), new.encode()))

    def remove_manifest(self) -> None:
        """Delete the manifest row."""
        self._set("manifest", "manifest", None)

    def set_dimension(self, dimension: int) -> None:
        """Change the dimension the manifest records, by hand."""
        ((key, text),) = self._rows("manifest")
        recorded = json.loads(text)["dimension"]
        self._set(
            "manifest", key, text.replace(f'"dimension": {recorded},'.encode(), f'"dimension": {dimension},'.encode())
        )

    def poison_vectors(self, article_id: str) -> None:
        """Store NaN vectors for one article, everything else consistent (each chunk row records the CRC
        of its NaN vector): what a faulty embedder leaves."""
        store = Store.load(self.index)
        poison = np.full(store.dimension, np.nan, dtype=np.float32)
        wanted = set(store.vector_ids([article_id]))
        with open(self.index / VECTORS, "r+b") as handle:
            for vector_id in wanted:
                handle.seek(vector_id * 4 * store.dimension)
                handle.write(poison.tobytes())
        for key, line in self._rows("chunks"):
            if key in wanted:
                record = {k: v for k, v in json.loads(line).items() if k != SEAL}
                record["vector_crc"] = vector_crc(poison)
                self._set("chunks", key, seal(json.dumps(record, ensure_ascii=False)).encode())

    def _edit_rows(self, part: str, match, how: str | None) -> None:
        found = self._rows(part)
        hits = [(key, line) for key, line in found if match(json.loads(line))]
        assert len(hits) == 1, f"{len(hits)} rows match in {part}"
        key, line = hits[0]
        if how is None:
            self._set(part, key, None)
            return
        assert seal_state(line.decode())[1], "the row was intact before"
        if how == "mid":
            at = len(line) // 2
        else:
            value = json.dumps(json.loads(line)[how], ensure_ascii=False).encode()
            at = line.index(b'"' + how.encode() + b'": ') + len(how) + 4 + len(value) // 2
        self._set(part, key, line[:at] + GARBAGE + line[at + len(GARBAGE) :])


BACKENDS = {"folder": FolderBackend}

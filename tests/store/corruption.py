"""Damage done to a stored index the way a disk, a crash or a stray edit does, per store backend.

tests/store/test_corruption.py runs every scenario against each backend listed in `BACKENDS`; a backend
says where its index lives and how to damage it, and the scenarios judge the outcome only through
the Assistant, the `newsqa` command line and what the index holds afterwards.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.assistant import Assistant
from qa.config import Settings
from qa.store.layout import CURRENT, read_manifest, snapshot_names
from qa.store.records import seal_state
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
    """newsqa's local folder store: damage is done to the files of its current snapshot."""

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
        """The pieces of the stored index whose bytes can be damaged."""
        return [CURRENT, "manifest.json", "articles.jsonl", "chunks.jsonl", "vectors.faiss"]

    def read_part(self, part: str) -> bytes:
        """The bytes of one piece."""
        return self._file(part).read_bytes()

    def write_part(self, part: str, data: bytes) -> None:
        """Replace the bytes of one piece."""
        self._file(part).write_bytes(data)

    def _file(self, part: str) -> Path:
        return self.index / CURRENT if part == CURRENT else self.snapshot / part

    @property
    def snapshot(self) -> Path:
        """The current snapshot folder."""
        return self.index / (self.index / CURRENT).read_text().strip()

    # -- damage ------------------------------------------------------------------------------

    def forget_history(self) -> None:
        """Remove every snapshot but the current one: nothing older holds a copy."""
        for name in snapshot_names(self.index):
            if name != self.snapshot.name:
                shutil.rmtree(self.index / name)

    def forget_cache(self) -> None:
        """Remove the embedding cache."""
        shutil.rmtree(self.index / "embcache", ignore_errors=True)

    def delete_chunk(self, article_id: str, position: int) -> None:
        """Remove the line of one passage."""
        self._edit_lines("chunks.jsonl", lambda r: r["article_id"] == article_id and r["position"] == position, None)

    def garble_chunk(self, article_id: str, position: int) -> None:
        """Overwrite bytes in the middle of one passage's line."""
        self._edit_lines("chunks.jsonl", lambda r: r["article_id"] == article_id and r["position"] == position, "mid")

    def garble_article(self, article_id: str, field: str) -> None:
        """Overwrite bytes inside one field of an article's line."""
        self._edit_lines("articles.jsonl", lambda r: r["id"] == article_id, field)

    def edit_article(self, article_id: str, old: str, new: str) -> None:
        """Change the article's text in place, as an editor would (the line's checksum left as it was)."""
        file = self.snapshot / "articles.jsonl"
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        for number, line in enumerate(lines):
            if json.loads(line)["id"] == article_id:
                assert old in line
                lines[number] = line.replace(old, new)
        file.write_text("".join(lines), encoding="utf-8")

    def remove_manifest(self) -> None:
        """Delete the current snapshot's manifest."""
        (self.snapshot / "manifest.json").unlink()

    def set_dimension(self, dimension: int) -> None:
        """Change the dimension the manifest records, by hand."""
        file = self.snapshot / "manifest.json"
        text = file.read_text()
        recorded = json.loads(text)["dimension"]
        file.write_text(text.replace(f'"dimension": {recorded},', f'"dimension": {dimension},'))

    def poison_vectors(self, article_id: str) -> None:
        """Store NaN vectors for one article, everything else consistent: what a faulty embedder leaves."""
        store = Store.load(self.index)
        manifest = read_manifest(self.snapshot)
        vectors = {v: store.vector(v) for v, _ in store.chunk_items()}
        for vector_id in store.vector_ids([article_id]):
            vectors[vector_id] = np.full(store.dimension, np.nan, dtype=np.float32)
        index = Store(self.index, store.embedding_model, store.dimension)._index
        ids = np.array(sorted(vectors), dtype=np.int64)
        index.add_with_ids(np.stack([vectors[int(v)] for v in ids]), ids)
        Store.assemble(self.index, manifest, store.articles(), store.chunk_items(), index).save()

    def _edit_lines(self, name: str, match, how: str | None) -> None:
        file = self.snapshot / name
        lines = file.read_bytes().split(b"\n")
        hits = [n for n, line in enumerate(lines) if line and match(json.loads(line))]
        assert len(hits) == 1, f"{len(hits)} lines match in {name}"
        line = lines[hits[0]]
        if how is None:
            del lines[hits[0]]
        else:
            assert seal_state(line.decode())[1], "the line was intact before"
            if how == "mid":
                at = len(line) // 2
            else:
                value = json.dumps(json.loads(line)[how], ensure_ascii=False).encode()
                at = line.index(b'"' + how.encode() + b'": ') + len(how) + 4 + len(value) // 2
            lines[hits[0]] = line[:at] + GARBAGE + line[at + len(GARBAGE) :]
        file.write_bytes(b"\n".join(lines))


BACKENDS = {"folder": FolderBackend}

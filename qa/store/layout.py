"""An index folder on disk: the names of its files, its manifest, the writer lock, and the snapshot folders
with their `CURRENT` pointer that formats 1 and 2 kept (read to upgrade them)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from qa.errors import StoreError
from qa.files import TMP_MARK, file_lock
from qa.store.records import SEAL, seal_state

# 3: records in SQLite, vectors appended to one file (saves cost the batch, not the corpus);
# 2: whole snapshots with sealed lines and manifest, file checksums, vector CRCs (see qa.store.records).
FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)

# Every file of an index folder is named here, and only here.
RECORDS = "records.sqlite"  # articles, chunks and the manifest (SQLite, write-ahead log)
RECORDS_SIDE = ("-wal", "-shm")  # SQLite's own files beside it
VECTORS = "vectors.f32"  # float32 rows, row n holding the vector with id n; appended to, never rewritten in place
ANN_PREFIX = "ann-"  # `ann-v000012.faiss`: the IVF index trained at save 12 (derived from the vectors)
ANN_SUFFIX = ".faiss"
SAVING = ".saving"  # `.saving.tmp-PID` holds the version a save in progress will commit
LOCK = ".lock"
FEEDS = "feeds.json"  # the feeds the index follows (qa.store.feeds)
EMBEDDING_CACHE = "embcache"  # passage vectors by content (qa.embedding.cache)
# Formats 1 and 2: numbered snapshot folders, the one `CURRENT` names is live.
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
ARTICLES_FILE = "articles.jsonl"
CHUNKS_FILE = "chunks.jsonl"
FAISS_FILE = "vectors.faiss"
SNAPSHOT_FILES = (ARTICLES_FILE, CHUNKS_FILE, FAISS_FILE)
SNAPSHOT_NAME = re.compile(r"v([0-9]{6,18})")  # ASCII digits, bounded: a damaged CURRENT may hold anything


def ann_name(version: int) -> str:
    """The name of the IVF index file trained at save `version`."""
    return f"{ANN_PREFIX}v{version:06d}{ANN_SUFFIX}"


def is_ann_name(name: str) -> bool:
    """True for the name of an IVF index file."""
    return name.startswith(ANN_PREFIX) and name.endswith(ANN_SUFFIX) and TMP_MARK not in name


def has_records(path: Path) -> bool:
    """True when the folder holds a format-3 index (its records database)."""
    return (Path(path) / RECORDS).is_file()


def has_snapshots(path: Path) -> bool:
    """True when the folder holds a format-1 or -2 index and no format-3 one: it is to be upgraded."""
    path = Path(path)
    return not has_records(path) and ((path / CURRENT).is_file() or bool(snapshot_names(path)))


def fsync_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` and flush it to disk."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def snapshot_version(name: str) -> int | None:
    """The version of a snapshot folder name (`v000012` → 12); None for any other name."""
    match = SNAPSHOT_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def snapshot_names(path: Path) -> list[str]:
    """The snapshot folders of an index folder, oldest first."""
    path = Path(path)
    if not path.is_dir():
        return []
    names = [p.name for p in path.iterdir() if p.is_dir() and snapshot_version(p.name) is not None]
    return sorted(names, key=lambda name: snapshot_version(name) or 0)


def readable_current(path: Path) -> str | None:
    """The snapshot CURRENT names, if CURRENT is readable and the folder exists."""
    try:
        name = (path / CURRENT).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if snapshot_version(name) is not None and (path / name).is_dir() else None


def current_name(path: Path) -> str:
    """The snapshot folder CURRENT names; StoreError if it is missing or names no snapshot."""
    path = Path(path)
    name = readable_current(path)
    if name is None:
        raise StoreError(f"index {path} is damaged: {CURRENT} names no snapshot; run `newsqa check --repair`")
    return name


def read_manifest(snapshot: Path) -> dict[str, Any]:
    """A snapshot's manifest, checked for format, its seal and the keys newsqa needs."""
    try:
        text = (snapshot / MANIFEST).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(
            f"index {snapshot.parent} is damaged (snapshot {snapshot.name}: {error}); run `newsqa check --repair`"
        ) from error
    return parse_manifest(text, snapshot.parent, f"manifest of {snapshot.name}")


def parse_manifest(text: str, path: Path, what: str = "manifest") -> dict[str, Any]:
    """A manifest read from `text`, checked for format, its seal and the keys newsqa needs (`what`
    names it in messages)."""
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise StoreError(f"index {path} is damaged ({what}: {error}); run `newsqa check --repair`") from error
    if not isinstance(manifest, dict):
        raise StoreError(f"index {path} is damaged: {what} is not an object; run `newsqa check --repair`")
    found = manifest.get("format")
    if isinstance(found, bool) or found not in READABLE_FORMATS:
        newer = isinstance(found, int) and not isinstance(found, bool) and found > FORMAT_VERSION
        raise StoreError(
            f"index {path} has format {found}, this newsqa reads formats up to {FORMAT_VERSION}"
            + ("; upgrade newsqa to read it" if newer else "; run `newsqa check --repair`")
        )
    if found >= 2:
        if not seal_state(text)[1] or not isinstance(manifest.get("files"), dict):
            raise StoreError(
                f"index {path} is damaged: {what} changed after it was saved "
                "(its checksum differs); run `newsqa check --repair`"
            )
        manifest.pop(SEAL, None)
    problems = [
        key
        for key, kind in (("version", int), ("embedding_model", str), ("dimension", int), ("next_vector_id", int))
        if not isinstance(manifest.get(key), kind)
    ]
    if problems:
        raise StoreError(f"index {path} is damaged: {what} lacks {', '.join(problems)}; run `newsqa check --repair`")
    return manifest


@contextmanager
def write_lock(path: Path, timeout_s: float = 600.0) -> Iterator[None]:
    """Hold the index's exclusive writer lock; StoreError if another writer keeps it past `timeout_s`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with ExitStack() as held:
        try:
            held.enter_context(file_lock(path / LOCK, timeout_s))
        except TimeoutError:
            raise StoreError(f"index {path} is being written by another process; try again when it finishes") from None
        yield


def manifest_of(path: Path) -> dict[str, Any]:
    """The index's manifest (cheap: reads no article, chunk or vector)."""
    path = Path(path)
    if has_records(path):
        from qa.store.database import read_manifest_row

        return read_manifest_row(path)
    return read_manifest(path / current_name(path))

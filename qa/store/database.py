"""The records database of an index folder: articles, chunks and the manifest as sealed JSON rows in SQLite.

Each row holds the same sealed line a format-2 snapshot file held (see `qa.store.records`), so every
changed byte of a record is found by its seal; `PRAGMA integrity_check` finds damage to the database's
own structure. Pages are large (an article usually fits in one) and deleted rows are zeroed, so the
records of a database SQLite no longer opens can still be read from its bytes (`salvage_lines`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from qa.errors import StoreError
from qa.store.layout import RECORDS, parse_manifest
from qa.store.records import FILE_DIGEST, seal, seal_state

PAGE_SIZE = 65_536
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (vector_id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, line TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks (article_id);
"""
MANIFEST_KEY = "manifest"
_LINE_END = re.compile(rb'"sha256": "[0-9a-f]{16}"\}')
_LINE_START = b'{"id": "'
MAX_LINE = 1 << 22  # how far back from its seal a salvaged record may start


def connect(path: Path, create: bool = False, writing: bool = True) -> sqlite3.Connection:
    """A connection to the records database of the index folder `path` (made, with its schema, when
    `create`); one not `writing` sets nothing, so reading never changes the file."""
    file = Path(path) / RECORDS
    if not create and not file.is_file():
        raise StoreError(f"no index at {path}; build one with `newsqa ingest PATH --index {path}`")
    connection = sqlite3.connect(file, timeout=60.0, isolation_level=None, check_same_thread=False)
    # A damaged byte may leave text that is not UTF-8: read it anyway (its seal then fails), never raise.
    connection.text_factory = lambda data: data.decode("utf-8", "surrogateescape")
    if not writing:
        return connection
    try:
        connection.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only takes effect on a new database
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")  # a commit is on disk when it returns
        connection.execute("PRAGMA secure_delete = ON")  # deleted records leave zeros, not stale copies
        if create:
            connection.executescript(SCHEMA)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise StoreError(f"index {path} is damaged ({RECORDS}: {error}); run `newsqa check --repair`") from error
    return connection


HEADER = b"SQLite format 3\x00"
_HEADER_FIELDS = {18: 2, 19: 2, 20: 0, 21: 64, 22: 32, 23: 32}  # WAL, no reserved bytes, the fixed fractions


def header_problem(path: Path) -> str | None:
    """What is wrong with the first bytes of the records database, None when they are as newsqa writes
    them (SQLite reads on through some changes there that a damaged disk makes)."""
    try:
        with open(Path(path) / RECORDS, "rb") as handle:
            header = handle.read(100)
    except OSError as error:
        return f"{RECORDS}: {error.strerror or error}"
    if len(header) < 100 or not header.startswith(HEADER):
        return f"{RECORDS}: it does not start as an SQLite database"
    changed = [f"byte {at} is {header[at]}, not {value}" for at, value in _HEADER_FIELDS.items() if header[at] != value]
    return f"{RECORDS}: its header was changed ({', '.join(changed)})" if changed else None


def row_text(value: object) -> str:
    """A stored line as text, whatever type damage left it with."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)


def line_bytes(lines: list[str]) -> bytes:
    """Lines read from the database joined into the bytes of a JSON Lines file, undecodable bytes kept."""
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def manifest_row(manifest: dict[str, Any]) -> str:
    """The sealed text stored for a manifest."""
    return seal(json.dumps(manifest, indent=2), FILE_DIGEST, indent=True)


def read_manifest_text(connection: sqlite3.Connection) -> str | None:
    """The manifest row's text, None when there is none."""
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (MANIFEST_KEY,)).fetchone()
    return row_text(row[0]) if row else None


def read_manifest_row(path: Path, connection: sqlite3.Connection | None = None) -> dict[str, Any]:
    """The manifest of the index folder `path`, checked (see `qa.store.layout.parse_manifest`)."""
    own = connection is None
    connection = connection or connect(path, writing=False)
    try:
        text = read_manifest_text(connection)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"index {path} is damaged ({RECORDS}: {error}); run `newsqa check --repair`") from error
    finally:
        if own:
            connection.close()
    if text is None:
        raise StoreError(f"index {path} is damaged: its manifest is missing; run `newsqa check --repair`")
    manifest = parse_manifest(text, path)
    manifest.pop("sha256", None)
    return manifest


def salvage_lines(data: bytes) -> tuple[list[str], str | None]:
    """The sealed record lines (articles and chunks) found in the bytes of a damaged database, and the
    manifest text when one is found; only lines that match their seal are returned."""
    lines: list[str] = []
    manifest = None
    for match in _LINE_END.finditer(data):
        end = match.end()
        start = data.rfind(_LINE_START, max(0, end - MAX_LINE), end)
        while start >= 0:
            try:
                text = data[start:end].decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            if text and seal_state(text)[1]:
                lines.append(text)
                break
            start = data.rfind(_LINE_START, max(0, end - MAX_LINE), start)
    for match in re.finditer(rb'\{\n  "format"', data):
        end = data.find(b"\n}", match.start())
        if end < 0:
            continue
        try:
            text = data[match.start() : end + 2].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if seal_state(text)[1]:
            manifest = text
    return list(dict.fromkeys(lines)), manifest

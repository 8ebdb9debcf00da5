"""Passage vectors kept by content, so a passage already embedded is never embedded again."""

from __future__ import annotations

import hashlib
import sqlite3
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Protocol

import numpy as np

CACHE_FILE = "vectors.sqlite"
DEFAULT_MAX_ENTRIES = 200_000  # about 600 MB of 768-dimension vectors
_QUERY_CHUNK = 500  # keys per SELECT, below SQLite's limit on bound parameters


class EmbeddingCacheLike(Protocol):
    """Passage vectors kept by content: this folder's SQLite cache, or a table of a database backend."""

    def get(self, keys: list[bytes], dimension: int | None = None) -> dict[bytes, np.ndarray]: ...

    def put(self, vectors: dict[bytes, np.ndarray]) -> None: ...


class EmbeddingCacheWarning(UserWarning):
    """The cache could not be read or written; ingestion went on without it."""


def cache_key(space: str, text: str) -> bytes:
    """The key of one passage: sha256 of what produced its vector (`space`: model and backend) and the
    exact text embedded (prompt, title and chunk)."""
    return hashlib.sha256(f"{space}\x00{text}".encode()).digest()


class EmbeddingCache:
    """A bounded SQLite table of vectors keyed by `cache_key`; least recently used entries go first.

    Every failure (an unreadable file, a full disk, a lock held too long) is reported as an
    `EmbeddingCacheWarning` and treated as a miss: the cache never stops an ingestion. A file that
    is not a readable database is replaced by an empty one.
    """

    def __init__(self, folder: Path, max_entries: int = DEFAULT_MAX_ENTRIES, timeout_s: float = 30.0) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.folder = Path(folder)
        self.path = self.folder / CACHE_FILE
        self.max_entries = max_entries
        self.timeout_s = timeout_s

    def get(self, keys: list[bytes], dimension: int | None = None) -> dict[bytes, np.ndarray]:
        """The cached vectors among `keys` (those of another `dimension` count as missing)."""
        if not keys or not self.path.exists():
            return {}
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        try:
            with self._connection() as db:
                for start in range(0, len(unique), _QUERY_CHUNK):
                    part = unique[start : start + _QUERY_CHUNK]
                    marks = ",".join("?" * len(part))
                    rows = db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part).fetchall()
                    for key, blob in rows:
                        vector = np.frombuffer(blob, dtype=np.float32)
                        # A non-finite vector (a damaged entry, or one a faulty backend made) is a miss.
                        if (dimension is None or vector.shape[0] == dimension) and np.isfinite(vector).all():
                            found[bytes(key)] = vector
                if found:
                    stamp = time.time_ns()
                    # A read-only or busy cache still answers; only its eviction order goes stale.
                    with suppress(sqlite3.OperationalError):
                        db.executemany("UPDATE vectors SET used = ? WHERE key = ?", [(stamp, k) for k in found])
        except sqlite3.Error as error:
            self._trouble("read", error)
            return {}
        return found

    def put(self, vectors: dict[bytes, np.ndarray]) -> None:
        """Store vectors, then drop the least recently used entries beyond `max_entries`."""
        if not vectors:
            return
        stamp = time.time_ns()
        rows = [(key, np.ascontiguousarray(v, dtype=np.float32).tobytes(), stamp) for key, v in vectors.items()]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._connection() as db:
                db.executemany("INSERT OR REPLACE INTO vectors (key, vector, used) VALUES (?, ?, ?)", rows)
                excess = db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] - self.max_entries
                if excess > 0:
                    db.execute(
                        "DELETE FROM vectors WHERE key IN (SELECT key FROM vectors ORDER BY used LIMIT ?)", (excess,)
                    )
        except (OSError, sqlite3.Error) as error:
            self._trouble("write", error)

    def __len__(self) -> int:
        if not self.path.exists():
            return 0
        try:
            with self._connection() as db:
                return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
        except sqlite3.Error as error:
            self._trouble("read", error)
            return 0

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=self.timeout_s)
        try:
            with db:  # one transaction: committed on success, rolled back on error
                db.execute(
                    "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL, used INTEGER)"
                )
                db.execute("CREATE INDEX IF NOT EXISTS vectors_used ON vectors (used)")
                yield db
        finally:
            db.close()

    def _trouble(self, action: str, error: sqlite3.Error | OSError) -> None:
        damaged = isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError)
        if damaged:
            for suffix in ("", "-journal", "-wal", "-shm"):
                with suppress(OSError):  # the next write reports it again
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            message = f"the embedding cache {self.path} is damaged ({error}); it was replaced by an empty one"
        else:
            message = f"could not {action} the embedding cache {self.path} ({error}); ingestion goes on without it"
        warnings.warn(message, EmbeddingCacheWarning, stacklevel=3)

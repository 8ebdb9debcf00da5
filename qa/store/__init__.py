"""Stage 3, store: articles, chunks and vectors in a folder (SQLite records, appended vectors, exact or IVF search)
or in PostgreSQL with pgvector (`open_backend`), checked, repaired, migrated between the two."""

from __future__ import annotations

from qa.store.check import CheckReport, check
from qa.store.layout import manifest_of, write_lock
from qa.store.protocol import ArticleStore, StoreBackend, open_backend
from qa.store.store import Store

__all__ = [
    "ArticleStore",
    "CheckReport",
    "Store",
    "StoreBackend",
    "check",
    "manifest_of",
    "open_backend",
    "write_lock",
]

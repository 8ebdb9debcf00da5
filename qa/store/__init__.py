"""Stage 3, store: articles, chunks and vectors on disk (atomic snapshots, exact or IVF search), checked, repaired."""

from __future__ import annotations

from qa.store.check import CheckReport, check
from qa.store.layout import manifest_of, write_lock
from qa.store.store import Store

__all__ = ["CheckReport", "Store", "check", "manifest_of", "write_lock"]

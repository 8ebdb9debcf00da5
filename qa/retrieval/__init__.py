"""Stage 4, retrieval: a question → ranked passages (dense, optional BM25), with filters and time read from it."""

from __future__ import annotations

from qa.retrieval.retriever import RetrievalOptions, Retriever
from qa.retrieval.timeparse import TimeHint, parse_time_hint
from qa.types import Filters

__all__ = ["Filters", "RetrievalOptions", "Retriever", "TimeHint", "parse_time_hint"]

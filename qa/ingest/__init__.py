"""Stage 1, ingest: files, web pages and feeds → normalised `Article`s, then chunks, with near-duplicates grouped."""

from __future__ import annotations

from qa.ingest.chunking import Chunker
from qa.ingest.dedup import group_near_duplicates
from qa.ingest.feeds import FeedRegistry, RefreshReport
from qa.ingest.fetch import FetchConfig, Fetcher, FetchError
from qa.ingest.readers import read_file, read_paths
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult
from qa.ingest.web_pages import read_urls

__all__ = [
    "Chunker",
    "FeedRegistry",
    "FetchConfig",
    "FetchError",
    "Fetcher",
    "IngestIssue",
    "ReadOptions",
    "ReadResult",
    "RefreshReport",
    "group_near_duplicates",
    "read_file",
    "read_paths",
    "read_urls",
]

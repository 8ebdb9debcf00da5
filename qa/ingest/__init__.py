"""Stage 1, ingest: files, web pages and feeds → normalised `Article`s, then chunks, with near-duplicates grouped."""

from __future__ import annotations

from qa.lazy import lazy_getattr

# Imported on first use: the web modules (feeds, fetching) take seconds and most commands never need them.
_HOMES = {
    "Chunker": "qa.ingest.chunking",
    "group_near_duplicates": "qa.ingest.dedup",
    "FeedRegistry": "qa.ingest.feeds",
    "RefreshReport": "qa.ingest.feeds",
    "FetchConfig": "qa.ingest.fetch",
    "Fetcher": "qa.ingest.fetch",
    "FetchError": "qa.ingest.fetch",
    "read_file": "qa.ingest.readers",
    "read_paths": "qa.ingest.readers",
    "IngestIssue": "qa.ingest.records",
    "ReadOptions": "qa.ingest.records",
    "ReadResult": "qa.ingest.records",
    "read_urls": "qa.ingest.web_pages",
}


__getattr__ = lazy_getattr(__name__, _HOMES)


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

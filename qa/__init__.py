"""newsqa: ask questions about news articles and get short answers with verified citations."""

from __future__ import annotations

# The one copy of the version (pyproject.toml reads it from here); set before the imports below, which use it.
__version__ = "0.1.0"

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import NewsqaError
from qa.ingest.indexing import IngestReport
from qa.types import Answer, Article, Chunk, Citation, Hit

__all__ = ["Answer", "Article", "Assistant", "Chunk", "Citation", "Hit", "IngestReport", "NewsqaError", "Settings"]

"""newsqa: ask questions about news articles and get short answers with verified citations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.lazy import lazy_getattr

# The one copy of the version (pyproject.toml reads it from here).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.errors import NewsqaError
    from qa.ingest.indexing import IngestReport
    from qa.integrations.llama_index import NewsqaQueryEngine, NewsqaRetriever
    from qa.types import Answer, Article, Chunk, Citation, Hit

# Imported on first use, so that `newsqa --version` or an `ask` answered by a running server starts quickly
# (and `import qa` never loads llama-index).
_HOMES = {
    "Assistant": "qa.assistant",
    "IngestReport": "qa.ingest.indexing",
    "Settings": "qa.config",
    "NewsqaError": "qa.errors",
    **{name: "qa.types" for name in ("Answer", "Article", "Chunk", "Citation", "Hit")},
    **{name: "qa.integrations.llama_index" for name in ("NewsqaQueryEngine", "NewsqaRetriever")},
}


__getattr__ = lazy_getattr(__name__, _HOMES)


__all__ = [
    "Answer",
    "Article",
    "Assistant",
    "Chunk",
    "Citation",
    "Hit",
    "IngestReport",
    "NewsqaError",
    "NewsqaQueryEngine",
    "NewsqaRetriever",
    "Settings",
]

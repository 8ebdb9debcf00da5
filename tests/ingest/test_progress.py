"""Progress bars on stderr while web pages and feeds are fetched (the CLI shows them on a terminal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest.feeds import FeedRegistry
from qa.ingest.fetch import Fetcher
from qa.ingest.indexing import IngestReport
from qa.ingest.web_pages import read_urls
from qa.types import Article
from tests.ingest.conftest import NewsSite


def test_fetching_pages_shows_progress(site: NewsSite, fetcher: Fetcher, capsys: pytest.CaptureFixture[str]) -> None:
    urls = [site.url("/articles/ferry-shore-power"), site.url("/articles/library-opening-hours")]
    assert len(read_urls(urls, fetcher, progress=True).articles) == 2
    err = capsys.readouterr().err
    assert "Fetching pages" in err and "2/2" in err
    read_urls(urls, fetcher)
    assert capsys.readouterr().err == "", "no progress unless asked for"


def test_refreshing_feeds_shows_progress(
    tmp_path: Path, site: NewsSite, fetcher: Fetcher, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = FeedRegistry(tmp_path)
    registry.add(site.url("/feed.rss"), fetcher)
    registry.add(site.url("/feed.atom"), fetcher)
    stored: list[str] = []
    capsys.readouterr()

    def store(articles: list[Article]) -> IngestReport:
        stored.extend(article.id for article in articles)
        return IngestReport(added=[article.id for article in articles])

    report = registry.refresh(fetcher, store, progress=True)
    err = capsys.readouterr().err
    assert report.ok and len(stored) == 3
    assert "Fetching feeds" in err and "2/2" in err and "entries" in err

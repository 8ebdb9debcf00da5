"""URL → Article: trafilatura extraction, canonical URLs, languages, URL lists and unusable pages."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qa.errors import IngestError
from qa.ingest.fetch import Fetcher
from qa.ingest.web_pages import read_url, read_url_list, read_urls
from tests.ingest.conftest import NewsSite


def test_an_article_page_becomes_an_article(site: NewsSite, fetcher: Fetcher) -> None:
    url = site.url("/articles/ferry-shore-power?utm_source=newsletter")
    result = read_url(url, fetcher)
    assert result.issues == []
    (article,) = result.articles
    canonical = site.url("/articles/ferry-shore-power")
    assert article.url == canonical  # the page's canonical link, not the tracking URL
    assert article.id == "url-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert article.title == "Island ferries switch to shore power"
    assert article.author == "Maren Holt"
    assert article.published == datetime(2024, 4, 2, tzinfo=UTC)
    assert article.language == "en"
    assert article.source == "Harbour Gazette"
    assert article.text.startswith("Ferries berthed overnight in the harbour of Kestrel Island")
    assert "Harbour master Ivo Brandt" in article.text
    assert "Home" not in article.text and "©" not in article.text  # navigation and footer are not article text
    assert article.metadata["origin"] == url
    assert article.metadata["fetched_url"] == url
    assert article.metadata["id_source"] == "url"


def test_without_a_canonical_link_the_final_url_after_redirects_is_used(site: NewsSite, fetcher: Fetcher) -> None:
    (article,) = read_url(site.url("/redirect/2"), fetcher).articles
    assert article.url == site.url("/plain/bike-lanes-vote")
    assert article.language == "en"  # no lang attribute: detected from the text
    assert article.title == "Council approves protected bike lanes on Market Street"


def test_the_page_language_is_kept(site: NewsSite, fetcher: Fetcher) -> None:
    (article,) = read_url(site.url("/articles/marche-nocturne"), fetcher).articles
    assert article.language == "fr" and article.author == "Claire Dubois"


def test_plain_text_pages_are_read_as_text(site: NewsSite, fetcher: Fetcher) -> None:
    (article,) = read_url(site.url("/notes.txt"), fetcher).articles
    assert article.title == "Library hours" and "Millbrook" in article.text


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/empty", "no article text could be extracted"),
        ("/feed.rss", "is an RSS/Atom feed, not an article page; add it with `newsqa feeds add URL`"),
        ("/image.png", "content type image/png"),
        ("/private/memo", "robots.txt"),
        ("/to-private", "10.0.0.1 is a private address"),
        ("/missing", "HTTP 404"),
    ],
)
def test_unusable_pages_are_issues_naming_the_url(site: NewsSite, fetcher: Fetcher, path: str, reason: str) -> None:
    result = read_url(site.url(path), fetcher)
    assert result.articles == []
    (issue,) = result.issues
    assert issue.origin == site.url(path) and issue.skipped and reason in issue.reason


def test_many_urls_keep_going_past_failures(site: NewsSite, fetcher: Fetcher) -> None:
    urls = [site.url("/articles/library-opening-hours"), site.url("/image.png"), site.url("/articles/bike-lanes-vote")]
    result = read_urls(urls, fetcher)
    assert [a.title for a in result.articles] == [
        "Town library extends its opening hours",
        "Council approves protected bike lanes on Market Street",
    ]
    assert [issue.origin for issue in result.issues] == [site.url("/image.png")]


def test_url_lists_skip_blank_lines_and_comments(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "# morning reading\nhttps://news.example/a\n\n   https://news.example/b   # the long one\n#https://skip.example\n",
        encoding="utf-8",
    )
    assert read_url_list(listing) == ["https://news.example/a", "https://news.example/b"]
    with pytest.raises(IngestError, match="no URL list at"):
        read_url_list(tmp_path / "missing.txt")

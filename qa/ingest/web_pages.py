"""Web pages by URL: fetched with the safe fetcher, main text and metadata extracted with trafilatura."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree
from tqdm import tqdm

from qa.errors import IngestError
from qa.ingest.fetch import Fetcher, FetchError, FetchResult, join_url
from qa.ingest.html_files import html_to_record
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult, build_article, unexpected_issue
from qa.types import Article

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml")
XML_TYPES = ("application/xml", "text/xml")
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


def read_url_list(path: str | Path) -> list[str]:
    """The URLs listed in a text file: one per line; blank lines and `#` comments are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise IngestError(f"no URL list at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise IngestError(f"cannot read the URL list {path}: {error}") from None
    urls = []
    for line in lines:
        text = line.split(" #", 1)[0].strip()
        if text and not text.startswith("#"):
            urls.append(text)
    return urls


def _page_links(html: str, base_url: str) -> tuple[str | None, str | None]:
    """The page's canonical URL (absolute http(s) only) and its declared language."""
    try:
        tree = lxml.html.fromstring(_XML_DECLARATION.sub("", html, count=1))
    except (ValueError, etree.ParserError):
        return None, None
    canonical = None
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href:
            try:
                canonical = join_url(base_url, href)
            except FetchError:  # malformed ("http://["), or not http(s): the fetched URL stands
                canonical = None
            break
    language = (tree.get("lang") or tree.get("xml:lang") or "").strip()
    match = re.match(r"[A-Za-z]{2,3}\b", language)
    return canonical, match.group(0).lower() if match else None


def page_record(result: FetchResult, options: ReadOptions | None = None) -> dict[str, Any]:
    """Article fields from a fetched page; IngestError when it is a feed or holds no article text."""
    options = options or ReadOptions()
    body_start = result.body[:2048].lstrip()
    is_feed = result.content_type in FEED_TYPES or (
        result.content_type in XML_TYPES and _FEED_ROOT.search(body_start) is not None
    )
    if is_feed:
        raise IngestError("this URL is an RSS/Atom feed, not an article page; add it with `newsqa feeds add URL`")
    text = result.text()
    fetched = {"fetched_url": result.final_url, "fetched_at": datetime.now(UTC).isoformat(timespec="seconds")}
    if result.content_type == "text/plain":
        return {"text": text, "url": result.final_url, **fetched}
    canonical, language = _page_links(text, result.final_url)
    url = canonical or result.final_url
    try:
        record = html_to_record(text, url=url, timeout_s=options.extract_timeout_s)
    except IngestError as error:
        if "no article text" not in str(error):
            raise
        raise IngestError(
            "no article text could be extracted from the page (it is empty, built by scripts, or only a list)"
        ) from None
    record["url"] = url
    if language and not record.get("language"):
        record["language"] = language
    return {**record, **fetched}


def article_from_page(
    result: FetchResult,
    origin: str,
    defaults: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    options: ReadOptions | None = None,
) -> tuple[Article, list[IngestIssue]]:
    """An Article from a fetched page (IngestError when unusable).

    `defaults` fill fields the page lacks; `overrides` replace what the page says (None values are ignored).
    """
    record = {key: value for key, value in page_record(result, options).items() if value not in (None, "")}
    for key, value in (defaults or {}).items():
        if value not in (None, "") and key not in record:
            record[key] = value
    record.update({key: value for key, value in (overrides or {}).items() if value not in (None, "")})
    return build_article(record, origin)


def read_url(url: str, fetcher: Fetcher, options: ReadOptions | None = None) -> ReadResult:
    """One article from a web page; what went wrong, if anything, is an issue naming the URL."""
    result = ReadResult()
    try:
        page = fetcher.fetch(url)
        article, warnings = article_from_page(page, origin=url, options=options)
    except IngestError as error:
        reason = error.reason if isinstance(error, FetchError) else str(error)
        result.issues.append(IngestIssue(url, reason))
        return result
    except Exception as error:  # an unforeseen failure on a hostile page costs this URL only, not the run
        result.issues.append(unexpected_issue(url, error))
        return result
    result.articles.append(article)
    result.issues.extend(warnings)
    return result


def read_urls(
    urls: Iterable[str], fetcher: Fetcher, options: ReadOptions | None = None, progress: bool = False
) -> ReadResult:
    """Articles from many web pages, one at a time (the fetcher spaces requests to the same host);
    with `progress`, a progress bar on stderr."""
    result = ReadResult()
    for url in tqdm(list(urls), desc="Fetching pages", unit="page", disable=not progress):
        result.extend(read_url(url, fetcher, options))
    return result

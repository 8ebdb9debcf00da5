"""HTML pages: main text and metadata extracted with trafilatura."""

from __future__ import annotations

from pathlib import Path

import trafilatura

from qa.errors import IngestError
from qa.ingest.decoding import read_into
from qa.ingest.records import IngestIssue, ReadResult, read_record

SUFFIXES = (".html", ".htm")


def html_to_record(html: str, url: str | None = None) -> dict:
    """Article fields extracted from an HTML page; raises IngestError when no main text is found."""
    document = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    if document is None or not (document.text or "").strip():
        raise IngestError("no article text found in the HTML")
    title = (document.title or "").strip() or None
    lines = [line.strip() for line in document.text.splitlines() if line.strip()]
    if title and lines and lines[0] == title:
        lines = lines[1:]
    return {
        "title": title,
        "text": "\n\n".join(lines),
        "url": document.url or url,
        "source": document.sitename or document.hostname,
        "published": document.date,
        "author": document.author,
        "language": document.language,
        "description": document.description,
    }


def read_html_file(path: Path) -> ReadResult:
    """One article from an .html file."""
    result = ReadResult()
    origin = str(path)
    html = read_into(path, result)
    if html is None:
        return result
    try:
        record = html_to_record(html)
    except IngestError as error:
        result.issues.append(IngestIssue(origin, str(error)))
        return result
    read_record({k: v for k, v in record.items() if v is not None}, origin, result)
    return result

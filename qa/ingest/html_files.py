"""HTML pages: main text and metadata extracted with trafilatura (in a worker process with a time limit)."""

from __future__ import annotations

from pathlib import Path

from qa.config import EXTRACT_TIMEOUT_S
from qa.errors import IngestError
from qa.ingest.decoding import read_into
from qa.ingest.html_extract import ExtractionError, extract_with_limit
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult, read_record

SUFFIXES = (".html", ".htm")


def html_to_record(html: str, url: str | None = None, timeout_s: float = EXTRACT_TIMEOUT_S) -> dict:
    """Article fields extracted from an HTML page; IngestError when no main text is found in `timeout_s`."""
    try:
        return extract_with_limit(html, url, timeout_s)
    except ExtractionError as error:
        raise IngestError(str(error)) from None


def read_html_file(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """One article from an .html file."""
    options = options or ReadOptions()
    result = ReadResult()
    origin = str(path)
    html = read_into(path, result)
    if html is None:
        return result
    try:
        record = html_to_record(html, timeout_s=options.extract_timeout_s)
    except IngestError as error:
        result.issues.append(IngestIssue(origin, str(error)))
        return result
    read_record({k: v for k, v in record.items() if v is not None}, origin, result)
    return result

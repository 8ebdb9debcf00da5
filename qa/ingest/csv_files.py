"""CSV files with a header row naming the article fields."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from qa.ingest.decoding import MAX_FILE_BYTES, text_lines
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult, drain, read_record
from qa.types import Article

SUFFIXES = (".csv", ".tsv")
MAX_FIELD_CHARS = 16 * 1024 * 1024


def read_csv_file(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """One article per row; the header must include a text column."""
    return ReadResult.collect(iter_csv_rows(path, options))


def iter_csv_rows(path: Path, options: ReadOptions | None = None) -> Iterator[Article | IngestIssue]:
    """Articles and issues of a CSV file as its rows are read (any size; a field is held whole, up to its limit)."""
    origin = str(path)
    issues: list[IngestIssue] = []
    articles = skipped = 0
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # The csv module's own limit would end the whole read at the first long field; no field of a file within
    # MAX_FILE_BYTES can reach this one, and fields over MAX_FIELD_CHARS are refused row by row below.
    # The limit also bounds what one field of a larger file, read line by line, holds in memory.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES + 1))
    reader = csv.DictReader(text_lines(path, issues), delimiter=delimiter)
    while True:
        line = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            skipped += 1
            yield from drain(issues)
            yield IngestIssue(f"{origin}:{reader.line_num}", f"malformed CSV row: {error}")
            if reader.line_num == line:  # no progress: the rest cannot be read
                break
            continue
        yield from drain(issues)
        row_origin = f"{origin}:{reader.line_num}"
        if None in row:
            skipped += 1
            yield IngestIssue(row_origin, "row has more cells than the header")
            continue
        longest = max(row, key=lambda key: len(row[key] or ""), default=None)
        if longest is not None and len(row[longest] or "") > MAX_FIELD_CHARS:
            skipped += 1
            size = len(row[longest]) / 1024 / 1024
            limit = MAX_FIELD_CHARS >> 20
            yield IngestIssue(row_origin, f"field {longest!r} is {size:.0f} MB; the limit is {limit} MB")
            continue
        one = ReadResult()
        read_record({k: v for k, v in row.items() if k}, row_origin, one)
        articles += len(one.articles)
        skipped += sum(issue.skipped for issue in one.issues)
        yield from one.items()
    skipped += sum(issue.skipped for issue in issues)
    yield from drain(issues)
    if not articles and not skipped:
        yield IngestIssue(origin, "no rows under the header")

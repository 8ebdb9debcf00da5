"""CSV files with a header row naming the article fields."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from qa.ingest.decoding import MAX_FILE_BYTES, read_into
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult, read_record

SUFFIXES = (".csv", ".tsv")
MAX_FIELD_CHARS = 16 * 1024 * 1024


def read_csv_file(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """One article per row; the header must include a text column."""
    result = ReadResult()
    origin = str(path)
    text = read_into(path, result)
    if text is None:
        return result
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # The csv module's own limit would end the whole read at the first long field; no field of a file within
    # MAX_FILE_BYTES can reach this one, and fields over MAX_FIELD_CHARS are refused row by row below.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES + 1))
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    while True:
        line = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            result.issues.append(IngestIssue(f"{origin}:{reader.line_num}", f"malformed CSV row: {error}"))
            if reader.line_num == line:  # no progress: the rest cannot be read
                break
            continue
        row_origin = f"{origin}:{reader.line_num}"
        if None in row:
            result.issues.append(IngestIssue(row_origin, "row has more cells than the header"))
            continue
        longest = max(row, key=lambda key: len(row[key] or ""), default=None)
        if longest is not None and len(row[longest] or "") > MAX_FIELD_CHARS:
            size = len(row[longest]) / 1024 / 1024
            result.issues.append(
                IngestIssue(row_origin, f"field {longest!r} is {size:.0f} MB; the limit is {MAX_FIELD_CHARS >> 20} MB")
            )
            continue
        read_record({k: v for k, v in row.items() if k}, row_origin, result)
    if not result.articles and not any(issue.skipped for issue in result.issues):
        result.issues.append(IngestIssue(origin, "no rows under the header"))
    return result

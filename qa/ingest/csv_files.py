"""CSV files with a header row naming the article fields."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from qa.ingest.decoding import read_into
from qa.ingest.records import IngestIssue, ReadResult, read_record

SUFFIXES = (".csv", ".tsv")


def read_csv_file(path: Path) -> ReadResult:
    """One article per row; the header must include a text column."""
    result = ReadResult()
    origin = str(path)
    text = read_into(path, result)
    if text is None:
        return result
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(16 * 1024 * 1024)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        for row in reader:
            row_origin = f"{origin}:{reader.line_num}"
            if None in row:
                result.issues.append(IngestIssue(row_origin, "row has more cells than the header"))
                continue
            read_record({k: v for k, v in row.items() if k}, row_origin, result)
    except csv.Error as error:
        result.issues.append(IngestIssue(f"{origin}:{reader.line_num}", f"malformed CSV: {error}"))
    if not result.articles and not any(issue.skipped for issue in result.issues):
        result.issues.append(IngestIssue(origin, "no rows under the header"))
    return result

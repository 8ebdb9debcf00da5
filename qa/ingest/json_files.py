"""JSON and JSON Lines: one article per object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from qa.ingest.decoding import read_into, text_lines
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult, drain, read_record
from qa.types import Article

SUFFIXES = (".json", ".jsonl", ".ndjson")
LINE_SUFFIXES = (".jsonl", ".ndjson")  # read line by line, any size


def read_json_file(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """Articles from a .json file (an object, a list, or {"articles": [...]}) or a .jsonl file."""
    result = ReadResult()
    origin = str(path)
    if path.suffix.lower() == ".json":
        text = read_into(path, result)
        if text is None:
            return result
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            result.issues.append(IngestIssue(origin, f"invalid JSON: {error.msg} at line {error.lineno}"))
            return result
        except (ValueError, RecursionError) as error:
            result.issues.append(IngestIssue(origin, f"invalid JSON: {_unreadable(error)}"))
            return result
        if isinstance(data, dict) and isinstance(data.get("articles"), list):
            data = data["articles"]
        records = data if isinstance(data, list) else [data]
        if not records:
            result.issues.append(IngestIssue(origin, "no articles: the JSON list is empty"))
        for index, record in enumerate(records):
            read_record(record, f"{origin}[{index}]" if len(records) > 1 else origin, result)
        return result
    return ReadResult.collect(iter_json_lines(path, options))


def iter_json_lines(path: Path, options: ReadOptions | None = None) -> Iterator[Article | IngestIssue]:
    """Articles and issues of a JSON Lines file as they are read, one line at a time (any size)."""
    origin = str(path)
    issues: list[IngestIssue] = []
    # Only "\n" ends a JSON line: str.splitlines would also split inside strings holding U+2028 or \x1e.
    for number, line in enumerate(text_lines(path, issues), start=1):
        yield from drain(issues)
        if not line.strip():
            continue
        line_origin = f"{origin}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield IngestIssue(line_origin, f"invalid JSON line: {error.msg}")
            continue
        except (ValueError, RecursionError) as error:
            yield IngestIssue(line_origin, f"invalid JSON line: {_unreadable(error)}")
            continue
        one = ReadResult()
        read_record(record, line_origin, one)
        yield from one.items()
    yield from drain(issues)


def _unreadable(error: ValueError | RecursionError) -> str:
    """Why valid-looking JSON could not be loaded: too deep, or a number too long to convert."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).split(";")[0]

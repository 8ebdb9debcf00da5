"""JSON and JSON Lines: one article per object."""

from __future__ import annotations

import json
from pathlib import Path

from qa.ingest.decoding import read_into
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult, read_record

SUFFIXES = (".json", ".jsonl", ".ndjson")


def read_json_file(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """Articles from a .json file (an object, a list, or {"articles": [...]}) or a .jsonl file."""
    result = ReadResult()
    origin = str(path)
    text = read_into(path, result)
    if text is None:
        return result
    if path.suffix.lower() == ".json":
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
    # Only "\n" ends a JSON line: str.splitlines would also split inside strings holding U+2028 or \x1e.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        line_origin = f"{origin}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            result.issues.append(IngestIssue(line_origin, f"invalid JSON line: {error.msg}"))
            continue
        except (ValueError, RecursionError) as error:
            result.issues.append(IngestIssue(line_origin, f"invalid JSON line: {_unreadable(error)}"))
            continue
        read_record(record, line_origin, result)
    return result


def _unreadable(error: ValueError | RecursionError) -> str:
    """Why valid-looking JSON could not be loaded: too deep, or a number too long to convert."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).split(";")[0]

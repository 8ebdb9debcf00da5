"""Plain-text and Markdown articles: optional front matter, else the first line is the title."""

from __future__ import annotations

from pathlib import Path

import yaml

from qa.errors import IngestError
from qa.ingest.decoding import read_into
from qa.ingest.records import MAX_TITLE_CHARS, IngestIssue, ReadOptions, ReadResult, read_record

SUFFIXES = (".txt", ".md", ".markdown")
_KEPT_TAGS = ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")


class _TextLoader(yaml.SafeLoader):
    """Safe YAML whose plain scalars stay the text they were written as (only `null` and `~` are read as
    nothing): a title like 1984 or No stays text, and dates are read by newsqa's own date parser."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag in _KEPT_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def split_front_matter(text: str) -> tuple[dict, str]:
    """(front matter fields, body) for text that starts with a `---` YAML block; ({}, text) otherwise."""
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines(keepends=True)
    for index in range(1, len(lines)):
        # The closing line starts at column 0: an indented '---' belongs to a multi-line value.
        if lines[index].rstrip() == "---":
            try:
                fields = yaml.load("".join(lines[1:index]), Loader=_TextLoader) or {}
            except yaml.YAMLError as error:
                raise IngestError(f"front matter is not valid YAML: {error}") from None
            except ValueError as error:  # e.g. a date like 2024-02-30, or an integer of 5000 digits
                raise IngestError(f"front matter has an impossible value: {str(error).split(';')[0]}") from None
            except RecursionError:
                raise IngestError("front matter is nested too deeply") from None
            if not isinstance(fields, dict):
                raise IngestError("front matter must be 'key: value' lines")
            return fields, "".join(lines[index + 1 :])
    raise IngestError("front matter opened with '---' but never closed")


def _title_line(body: str) -> tuple[str | None, str]:
    """Take the first line as the title when it looks like one (short, not a sentence)."""
    stripped = body.strip()
    first, _, rest = stripped.partition("\n")
    candidate = first.strip().lstrip("#").strip()
    if rest.strip() and candidate and len(candidate) <= MAX_TITLE_CHARS and not candidate.endswith((".", ":")):
        return candidate, rest.strip()
    return None, stripped


def read_text_file(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """One article from a .txt or .md file."""
    result = ReadResult()
    origin = str(path)
    raw = read_into(path, result)
    if raw is None:
        return result
    try:
        fields, body = split_front_matter(raw)
    except IngestError as error:
        result.issues.append(IngestIssue(origin, str(error)))
        return result
    record = {str(k): v for k, v in fields.items()}
    if "title" in record:
        record["text"] = body.strip()
    else:
        record["title"], record["text"] = _title_line(body)
    read_record(record, origin, result)
    return result

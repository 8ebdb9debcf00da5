"""Readers that turn files and folders into `Article`s, reporting bad input per file, line or row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from qa.ingest import csv_files, html_files, json_files, text_files
from qa.ingest.records import IngestIssue, ReadResult, build_article

Reader = Callable[[Path], ReadResult]

READERS: dict[str, Reader] = {
    **{suffix: text_files.read_text_file for suffix in text_files.SUFFIXES},
    **{suffix: html_files.read_html_file for suffix in html_files.SUFFIXES},
    **{suffix: json_files.read_json_file for suffix in json_files.SUFFIXES},
    **{suffix: csv_files.read_csv_file for suffix in csv_files.SUFFIXES},
}


def read_file(path: Path) -> ReadResult:
    """Articles from one file, chosen by its suffix."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        supported = ", ".join(sorted(READERS))
        return ReadResult(
            issues=[IngestIssue(str(path), f"unsupported file type {path.suffix or '(none)'}; supported: {supported}")]
        )
    return reader(path)


def read_paths(paths: Iterable[str | Path]) -> ReadResult:
    """Articles from files and folders (searched recursively; hidden files skipped)."""
    result = ReadResult()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in READERS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                result.issues.append(IngestIssue(str(path), "folder holds no supported article files"))
            for file in files:
                result.extend(read_file(file))
        elif path.is_file():
            result.extend(read_file(path))
        else:
            result.issues.append(IngestIssue(str(path), "no such file or folder"))
    return result


__all__ = ["READERS", "IngestIssue", "ReadResult", "build_article", "read_file", "read_paths"]

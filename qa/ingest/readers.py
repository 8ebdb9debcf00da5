"""Readers that turn files and folders into `Article`s, reporting bad input per file, line or row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from qa.ingest import csv_files, html_files, json_files, text_files
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult, build_article, unexpected_issue

Reader = Callable[[Path, ReadOptions], ReadResult]

READERS: dict[str, Reader] = {
    **{suffix: text_files.read_text_file for suffix in text_files.SUFFIXES},
    **{suffix: html_files.read_html_file for suffix in html_files.SUFFIXES},
    **{suffix: json_files.read_json_file for suffix in json_files.SUFFIXES},
    **{suffix: csv_files.read_csv_file for suffix in csv_files.SUFFIXES},
}


def read_file(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """Articles from one file, chosen by its suffix; whatever goes wrong is an issue of this file only."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        supported = ", ".join(sorted(READERS))
        return ReadResult(
            issues=[IngestIssue(str(path), f"unsupported file type {path.suffix or '(none)'}; supported: {supported}")]
        )
    try:
        return reader(path, options or ReadOptions())
    except (OSError, UnicodeError) as error:
        return ReadResult(issues=[IngestIssue(str(path), f"cannot be read: {error}")])
    except Exception as error:  # an unforeseen failure on hostile input costs this file only, not the run
        return ReadResult(issues=[unexpected_issue(str(path), error)])


def list_inputs(paths: Iterable[str | Path]) -> tuple[list[Path], list[IngestIssue]]:
    """The article files that `paths` name (folders searched recursively; hidden files skipped), in reading
    order, and an issue for each path that names none."""
    files: list[Path] = []
    issues: list[IngestIssue] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in READERS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                issues.append(IngestIssue(str(path), "folder holds no supported article files"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            issues.append(IngestIssue(str(path), "no such file or folder"))
    return files, issues


def read_paths(paths: Iterable[str | Path], options: ReadOptions | None = None) -> ReadResult:
    """Articles from files and folders (searched recursively; hidden files skipped)."""
    files, issues = list_inputs(paths)
    result = ReadResult(issues=issues)
    for file in files:
        result.extend(read_file(file, options))
    return result


__all__ = [
    "READERS",
    "IngestIssue",
    "ReadOptions",
    "ReadResult",
    "build_article",
    "list_inputs",
    "read_file",
    "read_paths",
]

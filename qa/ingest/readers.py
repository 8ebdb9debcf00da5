"""Readers that turn files and folders into `Article`s, reporting bad input per file, line or row."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from qa.ingest import csv_files, html_files, json_files, text_files
from qa.ingest.records import IngestIssue, ReadOptions, ReadResult, build_article, unexpected_issue
from qa.types import Article

Reader = Callable[[Path, ReadOptions], ReadResult]
Item = Article | IngestIssue

READERS: dict[str, Reader] = {
    **{suffix: text_files.read_text_file for suffix in text_files.SUFFIXES},
    **{suffix: html_files.read_html_file for suffix in html_files.SUFFIXES},
    **{suffix: json_files.read_json_file for suffix in json_files.SUFFIXES},
    **{suffix: csv_files.read_csv_file for suffix in csv_files.SUFFIXES},
}

# Line-oriented formats, read as a stream: any size, bounded memory.
STREAMING: dict[str, Callable[[Path, ReadOptions], Iterator[Item]]] = {
    **{suffix: json_files.iter_json_lines for suffix in json_files.LINE_SUFFIXES},
    **{suffix: csv_files.iter_csv_rows for suffix in csv_files.SUFFIXES},
}


def iter_file(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    """Articles and issues of one file; line-oriented files yield them as they are read, others all at once."""
    streamer = STREAMING.get(path.suffix.lower())
    if streamer is None:
        yield from read_file(path, options).items()
        return
    try:
        yield from streamer(path, options or ReadOptions())
    except (OSError, UnicodeError) as error:
        yield IngestIssue(str(path), f"cannot be read: {error}")
    except Exception as error:  # an unforeseen failure on hostile input costs the rest of this file only
        yield unexpected_issue(str(path), error)


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


def iter_paths(paths: Iterable[str | Path], options: ReadOptions | None = None) -> Iterator[Item]:
    """Articles and issues from files and folders (searched recursively; hidden files skipped), as they are read."""
    files, issues = list_inputs(paths)
    yield from issues
    for file in files:
        yield from iter_file(file, options)


def read_paths(paths: Iterable[str | Path], options: ReadOptions | None = None) -> ReadResult:
    """Articles from files and folders (searched recursively; hidden files skipped), all in memory."""
    return ReadResult.collect(iter_paths(paths, options))


__all__ = [
    "READERS",
    "IngestIssue",
    "ReadOptions",
    "ReadResult",
    "build_article",
    "iter_file",
    "iter_paths",
    "list_inputs",
    "read_file",
    "read_paths",
]

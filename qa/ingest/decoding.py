"""Read a file's bytes as text, refusing binary and empty files with a reason."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path

from qa.errors import IngestError
from qa.ingest.records import IngestIssue, ReadResult

MAX_FILE_BYTES = 50 * 1024 * 1024  # for files read whole; line-oriented files past it are read line by line
# UTF-32 first: its little-endian mark begins with UTF-16's.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_text(path: Path) -> tuple[str, str | None]:
    """The file's text and, if it was not UTF-8, a note naming the encoding it was decoded with."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError("empty file")
    if size > MAX_FILE_BYTES:
        raise IngestError(
            f"file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB for this format "
            "(JSON Lines and CSV files of any size are read line by line: split it or convert it to one of those)"
        )
    data = path.read_bytes()
    marked = _decode_marked(data)
    if marked is not None:
        text, note = marked
    elif b"\x00" in data[:8192]:
        raise IngestError("binary file (contains NUL bytes), not text")
    else:
        try:
            text = data.decode("utf-8-sig")
            note = None
        except UnicodeDecodeError as error:
            legacy, encoding = _decode_legacy(data)
            if legacy is None:
                raise IngestError(
                    f"not valid UTF-8 ({error.reason} at byte {error.start}) and no other encoding fits"
                ) from None
            text = legacy
            note = f"not UTF-8; decoded as {encoding}"
    if not text.strip():
        raise IngestError("file contains only white space")
    return text, note


def _decode_marked(data: bytes) -> tuple[str, str] | None:
    """Text that starts with a UTF-16 or UTF-32 byte-order mark, and a note; None without such a mark."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                return data.decode(encoding), f"not UTF-8; decoded as {encoding.upper()} (byte-order mark)"
            except UnicodeDecodeError as error:
                raise IngestError(
                    f"starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()} "
                    f"({error.reason} at byte {error.start}); re-save it as UTF-8"
                ) from None
    return None


def _decode_legacy(data: bytes) -> tuple[str | None, str | None]:
    """Decode non-UTF-8 bytes: Windows-1252 first (the usual legacy encoding of Western European news,
    where detectors often guess a Central European code page), else the detector's best guess."""
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return (str(best), best.encoding) if best is not None else (None, None)


def read_into(path: Path, result: ReadResult) -> str | None:
    """The file's text; None, with the reason added to `result`, when it cannot be read."""
    try:
        text, note = read_text(path)
    except IngestError as error:
        result.issues.append(IngestIssue(str(path), str(error)))
        return None
    if note:
        result.issues.append(IngestIssue(str(path), note, skipped=False))
    return text


def text_lines(path: Path, issues: list[IngestIssue]) -> Iterator[str]:
    """The lines of a line-oriented file (JSON Lines, CSV), each with its "\\n", split on "\\n" only.

    A file within MAX_FILE_BYTES is decoded whole like any other (`read_text`); a larger one is read line by
    line with bounded memory, as UTF-8, a line that is not UTF-8 as Windows-1252. Why the file or a line
    could not be read, or how it was decoded, is appended to `issues` as it is found."""
    try:
        size = path.stat().st_size
    except OSError as error:
        issues.append(IngestIssue(str(path), f"cannot be read: {error}"))
        return
    if size <= MAX_FILE_BYTES:
        result = ReadResult()
        text = read_into(path, result)
        issues.extend(result.issues)
        if text is not None:
            yield from io.StringIO(text, newline="\n")
        return
    with path.open("rb") as stream:
        head = stream.read(8192)
        stream.seek(0)
        if any(head.startswith(mark) for mark, _ in BYTE_ORDER_MARKS):
            issues.append(IngestIssue(str(path), _too_big_to_stream(size, "is UTF-16 or UTF-32; re-save it as UTF-8")))
            return
        if b"\x00" in head:
            issues.append(IngestIssue(str(path), "binary file (contains NUL bytes), not text"))
            return
        noted = False
        for number, raw in enumerate(stream, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                line = raw.decode("cp1252", errors="replace")
                if not noted:
                    issues.append(IngestIssue(f"{path}:{number}", "not UTF-8; decoded as cp1252", skipped=False))
                    noted = True
            yield line


def _too_big_to_stream(size: int, why: str) -> str:
    return f"file is {size / 1e6:.0f} MB and {why}; files read whole are limited to {MAX_FILE_BYTES / 1e6:.0f} MB"

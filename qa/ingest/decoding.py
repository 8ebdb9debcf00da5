"""Read a file's bytes as text, refusing binary and empty files with a reason."""

from __future__ import annotations

import codecs
from pathlib import Path

from qa.errors import IngestError
from qa.ingest.records import IngestIssue, ReadResult

MAX_FILE_BYTES = 50 * 1024 * 1024
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
        raise IngestError(f"file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB")
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

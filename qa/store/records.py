"""How a snapshot's files are written so that any changed byte can be found: sealed JSON lines and files.

Every JSON object a snapshot holds (each line of `articles.jsonl` and `chunks.jsonl`, and
`manifest.json`) ends with a `"sha256"` key: the digest of the text before it. An article line also
carries a short digest of each field, so the intact fields of a damaged line can still be trusted,
and a chunk line carries the CRC of its vector and the text between it and the previous passage, so
an article's chunks spell its text exactly. The manifest records the sha256 and size of each file.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.types import Article, Chunk

SEAL = "sha256"
LINE_DIGEST = 16  # hex characters of a line's digest: 64 bits, plenty against accidental change
FILE_DIGEST = 64
ARTICLE_FIELDS = ("id", "title", "text", "url", "source", "published", "language", "author", "metadata")
_SEALED = re.compile(r',\s*"sha256": "([0-9a-f]{16,64})"\s*\}\s*$')
_SEALED_BYTES = re.compile(rb',\s*"sha256": "([0-9a-f]{16,64})"\s*\}\s*$')
MAX_CORRECTED_LINE = 16_384  # bytes; trying every bit of a line costs time quadratic in its length
_SUFFIX_BYTES = 96  # the seal at the end of a line, and a little more
_BLOCK = 1 << 20
# FAISS's file layout of an exact index with ids (IndexIDMap2 over IndexFlat): a tag, a header, the
# inner index's tag and header, the vector count and vectors, the id count and ids.
_FLAT_TAGS = (b"IxM2", (b"IxFI", b"IxF2"))
_HEADER = struct.Struct("<iqqq?i")  # dimension, count, two unused sizes, trained, metric
_VECTORS_AT = 2 * (4 + _HEADER.size)
MAX_DIMENSION = 1 << 16


def digest(text: str | bytes, chars: int = FILE_DIGEST) -> str:
    """The first `chars` hex characters of the sha256 of `text` (UTF-8 when a str; bytes that were not
    UTF-8 when read, kept as surrogates, count as themselves)."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:chars]


def file_digest(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            hasher.update(block)
    return hasher.hexdigest()


def seal(core: str, chars: int = LINE_DIGEST, indent: bool = False) -> str:
    """A JSON object's text with a last `"sha256"` key holding the digest of everything before it."""
    prefix = core.rstrip()
    if not prefix.endswith("}") or prefix == "{}":
        raise ValueError("only a non-empty JSON object can be sealed")
    return _sealed(prefix[:-1].rstrip(), digest(prefix[:-1].rstrip(), chars), indent)


def _sealed(prefix: str, recorded: str, indent: bool) -> str:
    separator, end = (",\n  ", "\n}") if indent else (", ", "}")
    return f'{prefix}{separator}"{SEAL}": "{recorded}"{end}'


def seal_state(text: str) -> tuple[str | None, bool | None]:
    """(recorded digest, whether the text is exactly what sealing its content gives); (None, None) for
    text without a seal."""
    match = _SEALED.search(text)
    if match is None:
        return None, None
    recorded, prefix = match.group(1), text[: match.start()]
    exact = text in (_sealed(prefix, recorded, False), _sealed(prefix, recorded, True))
    return recorded, exact and digest(prefix, len(recorded)) == recorded


def correct_flipped_bit(line: bytes) -> bytes | None:
    """The line as it was sealed, when exactly one bit of it was flipped (the usual bit rot); None when
    no single flip gives back a line that matches its seal, or the line is too long to try."""
    if len(line) > MAX_CORRECTED_LINE:
        return None
    match = _SEALED_BYTES.search(line)
    if match is not None:
        # A flip before the seal: find the one whose digest matches the recorded one, hashing the
        # common beginning of all candidates only once.
        recorded, end = match.group(1).decode(), match.start()
        running = hashlib.sha256()
        for position in range(end):
            rest = line[position + 1 : end]
            for bit in range(8):
                hasher = running.copy()
                hasher.update(bytes([line[position] ^ (1 << bit)]))
                hasher.update(rest)
                if hasher.hexdigest()[: len(recorded)] == recorded:
                    fixed = line[:position] + bytes([line[position] ^ (1 << bit)]) + line[position + 1 :]
                    if _seals(fixed):
                        return fixed
            running.update(line[position : position + 1])
    start = match.start() if match is not None else max(0, len(line) - _SUFFIX_BYTES)
    for position in range(start, len(line)):
        for bit in range(8):
            fixed = line[:position] + bytes([line[position] ^ (1 << bit)]) + line[position + 1 :]
            if _seals(fixed):
                return fixed
    return None


def _seals(line: bytes) -> bool:
    try:
        return seal_state(line.decode("utf-8"))[1] is True
    except UnicodeDecodeError:
        return False


def field_digest(value: Any) -> str:
    """A short digest of one field's JSON text (what a damaged line's intact fields are checked against)."""
    return f"{zlib.crc32(json.dumps(value, ensure_ascii=False, default=str).encode('utf-8')):08x}"


def vector_crc(vector: np.ndarray) -> int:
    """The CRC-32 of one float32 vector's bytes."""
    return zlib.crc32(np.ascontiguousarray(vector, dtype=np.float32).tobytes())


# -- writing -----------------------------------------------------------------------------------


def article_line(article: Article) -> str:
    """One sealed line of `articles.jsonl` (without its newline)."""
    data = article.to_dict()
    digests = {name: field_digest(value) for name, value in data.items()}
    return seal(json.dumps({**data, "digests": digests}, ensure_ascii=False, default=str))


def chunk_line(vector_id: int, chunk: Chunk, crc: int, before: str, after: str = "") -> str:
    """One sealed line of `chunks.jsonl`: the chunk, its vector id and CRC, and the article text just
    before it (and after it, for an article's last chunk) that no chunk holds."""
    data: dict[str, Any] = {**chunk.to_dict(), "vector_id": vector_id, "vector_crc": crc, "before": before}
    if after:
        data["after"] = after
    return seal(json.dumps(data, ensure_ascii=False))


def surroundings(text: str, chunks: list[tuple[int, Chunk]]) -> dict[int, tuple[str, str]]:
    """vector id → (text before the chunk, text after it when last) for one article's chunks."""
    ordered = sorted(chunks, key=lambda item: item[1].position)
    found: dict[int, tuple[str, str]] = {}
    cursor = 0
    for number, (vector_id, chunk) in enumerate(ordered):
        before = text[cursor : chunk.start] if chunk.start >= cursor else ""
        after = text[chunk.end :] if number == len(ordered) - 1 else ""
        found[vector_id] = (before, after)
        cursor = max(cursor, chunk.end)
    return found


def spelled_text(parts: list[tuple[Chunk, str, str]]) -> str | None:
    """An article's text rebuilt from its chunks with the text around them (`(chunk, before, after)`, in
    position order); None when the offsets do not line up."""
    pieces, cursor = [], 0
    for chunk, before, _ in parts:
        if chunk.start != cursor + len(before) or chunk.end - chunk.start != len(chunk.text):
            return None
        pieces += [before, chunk.text]
        cursor = chunk.end
    if parts:
        pieces.append(parts[-1][2])
    return "".join(pieces)


# -- reading -----------------------------------------------------------------------------------


@dataclass
class ArticleRecord:
    """One line of `articles.jsonl` as read: the article when the line is intact, else what was salvaged."""

    line: int
    article: Article | None = None
    sealed: str | None = None  # the digest the line recorded
    intact: bool = True  # False: the line does not match its seal, or does not parse
    fields: dict[str, Any] = field(default_factory=dict)  # salvaged values of a damaged line
    digests: dict[str, str] = field(default_factory=dict)  # salvaged field digests of a damaged line

    @property
    def article_id(self) -> str | None:
        """The article's id: the article's, else a salvaged id that matches its digest."""
        if self.article is not None:
            return self.article.id
        value = self.fields.get("id")
        return value if isinstance(value, str) and self.verified("id") else None

    def verified(self, name: str) -> bool:
        """True when the salvaged field `name` matches its salvaged digest."""
        return name in self.fields and self.digests.get(name) == field_digest(self.fields[name])


@dataclass
class ChunkRecord:
    """One line of `chunks.jsonl` as read."""

    line: int
    vector_id: int | None = None
    chunk: Chunk | None = None
    crc: int | None = None
    before: str | None = None
    after: str = ""
    sealed: str | None = None
    intact: bool = True


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _parsed(text: str, value: Any) -> Any:
    """`value`, parsed from `text`, with lone surrogates (what a damaged line's `\\udXXX` escape decodes to) made
    U+FFFD: they cannot be written as UTF-8, and newsqa never stores them, so such a field is damaged anyway."""
    if not _SURROGATE_ESCAPE.search(text):
        return value
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_parsed(text, item) for item in value]
    if isinstance(value, dict):
        return {_parsed(text, key): _parsed(text, item) for key, item in value.items()}
    return value


def read_article_line(number: int, text: str) -> ArticleRecord:
    """Parse one `articles.jsonl` line; a damaged line keeps whatever fields can still be read."""
    recorded, matches = seal_state(text)
    record = ArticleRecord(number, sealed=recorded, intact=matches is not False)
    try:
        data = _parsed(text, json.loads(text))
        if not isinstance(data, dict):
            raise TypeError("not an object")
    except (ValueError, TypeError):
        record.intact = False
        record.fields, record.digests = _salvage(text)
        return record
    digests = data.pop("digests", None)
    data.pop(SEAL, None)
    if not record.intact:
        record.fields = {k: data[k] for k in ARTICLE_FIELDS if k in data}
        record.digests = digests if isinstance(digests, dict) else {}
        return record
    try:
        record.article = Article.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        record.intact = False
        record.fields = {k: data[k] for k in ARTICLE_FIELDS if k in data}
        record.digests = digests if isinstance(digests, dict) else {}
    return record


def read_chunk_line(number: int, text: str) -> ChunkRecord:
    """Parse one `chunks.jsonl` line; a damaged line keeps its vector id when that still reads."""
    recorded, matches = seal_state(text)
    record = ChunkRecord(number, sealed=recorded, intact=matches is not False)
    try:
        data = _parsed(text, json.loads(text))
        if not isinstance(data, dict):
            raise TypeError("not an object")
    except (ValueError, TypeError):
        record.intact = False
        return record
    data.pop(SEAL, None)
    vector_id = data.pop("vector_id", None)
    crc = data.pop("vector_crc", None)
    before = data.pop("before", None)
    after = data.pop("after", "")
    if isinstance(vector_id, int) and not isinstance(vector_id, bool):
        record.vector_id = vector_id
    try:
        if record.vector_id is None:
            raise TypeError("vector_id is not an integer")
        record.chunk = Chunk.from_dict(data)
        if not (isinstance(crc, int) or crc is None) or not (isinstance(before, str) or before is None):
            raise TypeError("bad vector_crc or before")
        if not isinstance(after, str):
            raise TypeError("bad after")
    except (ValueError, TypeError, KeyError):
        record.intact, record.chunk = False, None
        return record
    record.crc, record.before, record.after = crc, before, after
    return record


def _salvage(text: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of a damaged article line that still parse on their own, and its field digests."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] = {}
    for name in (*ARTICLE_FIELDS, "digests"):
        # The digests come last, after any metadata that might hold a key of the same name.
        position = text.rfind(f'"{name}": ') if name == "digests" else text.find(f'"{name}": ')
        if position < 0:
            continue
        try:
            value, _ = decoder.raw_decode(text, position + len(name) + 4)
        except ValueError:
            continue
        found[name] = _parsed(text, value)
    digests = found.pop("digests", None)
    return found, {k: v for k, v in digests.items() if isinstance(v, str)} if isinstance(digests, dict) else {}


def load_article(line: str) -> Article:
    """The article of an `articles.jsonl` line whose file checksum already matched."""
    data = json.loads(line)
    data.pop(SEAL, None)
    data.pop("digests", None)
    return Article.from_dict(data)


def load_chunk(line: str) -> tuple[int, Chunk, int | None]:
    """(vector id, chunk, vector CRC) of a `chunks.jsonl` line whose file checksum already matched."""
    data = json.loads(line)
    for key in (SEAL, "before", "after"):
        data.pop(key, None)
    crc = data.pop("vector_crc", None)
    return int(data.pop("vector_id")), Chunk.from_dict(data), crc


def salvage_flat(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """(ids, vectors) read from the bytes of a damaged exact index file, None when its layout is gone.

    FAISS itself would trust the sizes written in a damaged file (and may try to allocate terabytes);
    here every size must agree with the length of the data, so damage can only spoil ids and vectors,
    which the CRCs of the chunk lines then catch."""
    if len(data) < _VECTORS_AT + 16 or (
        data[:4] != _FLAT_TAGS[0] and data[4 + _HEADER.size : 8 + _HEADER.size] not in _FLAT_TAGS[1]
    ):
        return None
    outer = _HEADER.unpack_from(data, 4)
    inner = _HEADER.unpack_from(data, 8 + _HEADER.size)
    (stored,) = struct.unpack_from("<Q", data, _VECTORS_AT)
    payload = len(data) - _VECTORS_AT - 16  # count × (4 × dimension + 8) bytes of vectors and ids
    for dimension in dict.fromkeys((outer[0], inner[0])):
        if not 0 < dimension <= MAX_DIMENSION or payload % (4 * dimension + 8):
            continue
        count = payload // (4 * dimension + 8)
        if count not in (outer[1], inner[1], stored // dimension if dimension else -1):
            continue
        vectors = np.frombuffer(data, dtype="<f4", count=count * dimension, offset=_VECTORS_AT + 8)
        ids = np.frombuffer(data, dtype="<i8", count=count, offset=_VECTORS_AT + 16 + 4 * count * dimension)
        return ids.astype(np.int64), vectors.astype(np.float32).reshape(count, dimension)
    return None

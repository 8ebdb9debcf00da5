"""Shared pieces of the property tests: example budgets, input generators, and the checks every reader must pass.

`NEWSQA_FUZZ_EXAMPLES=N` runs N examples per parser property (and N/10 per index property) instead of the
small defaults that keep the fast suite fast.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from qa.ingest.records import ReadResult
from qa.types import Article

_EXAMPLES = int(os.environ.get("NEWSQA_FUZZ_EXAMPLES", "0") or 0)
_COMMON = {
    "deadline": None,
    "database": None,
    # CI runs the same examples every time; locally each run explores new ones.
    "derandomize": bool(os.environ.get("CI")),
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

PARSERS = settings(max_examples=_EXAMPLES or 60, **_COMMON)
"""Budget for properties of pure parsers (milliseconds per example)."""

SLOW_PARSERS = settings(max_examples=max(_EXAMPLES // 2, 25) if _EXAMPLES else 25, **_COMMON)
"""Budget for parsers that call heavier libraries (HTML extraction, written-date parsing)."""

INDEX = settings(max_examples=max(_EXAMPLES // 10, 6) if _EXAMPLES else 6, **_COMMON)
"""Budget for end-to-end properties that embed into a real index."""


@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder for one example's files (pytest's tmp_path is per test, not per example)."""
    with tempfile.TemporaryDirectory(prefix="newsqa-fuzz-") as folder:
        yield Path(folder)


# -- text -------------------------------------------------------------------------------------

# Any Unicode text a file could hold: no lone surrogates (not encodable), no NUL (binary).
ANY_CHAR = st.characters(codec="utf-8", exclude_characters="\x00")
ANY_TEXT = st.text(ANY_CHAR, max_size=300)
# Characters of one line of prose: letters, digits, punctuation, symbols and plain spaces.
_LINE_CHAR = st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S"), include_characters=" ")
# Common news punctuation and quotes, so sentence and number rules are exercised often.
_PROSE_PIECE = st.sampled_from(
    [" ", " ", ". ", "! ", "? ", "… ", ", ", "« ", " »", '"', "”", "“", "(", ")", "Dr. ", "M. ", "z. B. ",
     '."', ".”", "!)", "?»", ".'", "The", "Él", "Der", "«", "350 000", "3,499", "12.000", "2024", "’s", "l'", "—",
     "\n", "\n\n", "\t"]
)  # fmt: skip
_WORD = st.text(st.characters(categories=("L",)), min_size=1, max_size=10)


def _stripped_nonempty(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return strategy.map(str.strip).filter(bool)


LINE = _stripped_nonempty(st.text(_LINE_CHAR, min_size=1, max_size=80))
"""One non-empty line without surrounding white space (a title, an outlet)."""

_SOUP = st.lists(st.one_of(_WORD, _PROSE_PIECE, st.text(_LINE_CHAR, max_size=6)), max_size=120).map("".join)
_SENTENCE = st.tuples(
    st.sampled_from(["", "", "", '"', "«", "“", "(", "¿", "¡"]),
    _WORD.map(str.capitalize) | st.sampled_from(["Dr.", "M.", "350 000", "2024", "É"]),
    st.lists(st.one_of(_WORD, _PROSE_PIECE, st.sampled_from(["Dr.", "z.", "B.", "No.", "3.5", "U.S."])), max_size=25),
    st.sampled_from([".", ".", "!", "?", "…", ".", "...", ":"]),
    st.sampled_from(["", "", "", '"', "»", "”", ")", "')", "]"]),
).map(lambda parts: parts[0] + parts[1] + " " + " ".join(parts[2]) + "".join(parts[3:]))
_SENTENCES = st.lists(
    st.tuples(_SENTENCE, st.sampled_from([" ", " ", "  ", "\n", "\n\n", "\n \n", "\t", "\u00a0", " \n\n "])),
    max_size=20,
).map(lambda pairs: "".join(sentence + gap for sentence, gap in pairs))

PROSE = st.one_of(_SENTENCES, _SOUP)
"""Text shaped like news prose: sentences with quotes and abbreviations, numbers, line and paragraph breaks."""

ARTICLE_TEXT = _stripped_nonempty(PROSE)
"""A non-empty article body without surrounding white space."""


# -- dates ------------------------------------------------------------------------------------

DATETIMES = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)).map(
    lambda value: value.replace(microsecond=0)
)
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@st.composite
def written_dates(draw: st.DrawFn) -> tuple[str, datetime]:
    """(a date as a news file writes it, the instant it means)."""
    moment = draw(DATETIMES).astimezone(draw(OFFSETS))
    style = draw(st.sampled_from(["iso", "iso-z", "date", "rfc2822"]))
    if style == "date":
        return moment.date().isoformat(), datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if style == "iso-z":
        utc = moment.astimezone(UTC)
        return utc.replace(tzinfo=None).isoformat() + "Z", utc
    if style == "rfc2822":
        return format_datetime(moment), moment
    return moment.isoformat(), moment


# -- records ----------------------------------------------------------------------------------


@st.composite
def valid_records(draw: st.DrawFn, with_id: bool = True) -> dict[str, Any]:
    """A record every reader must accept, with the fields it must keep exactly."""
    record: dict[str, Any] = {"title": draw(LINE), "text": draw(ARTICLE_TEXT)}
    if with_id:
        record["id"] = "fz-" + draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12))
    if draw(st.booleans()):
        written, instant = draw(written_dates())
        record["published"] = written
        record["_instant"] = instant
    if draw(st.booleans()):
        record["source"] = draw(LINE)
    return record


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A generated record without its test-only keys."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def assert_round_trip(article: Article, record: dict[str, Any]) -> None:
    """The article keeps the record's title, text and date (as an instant) exactly."""
    assert article.title == record["title"]
    assert article.text == record["text"]
    assert article.published == record.get("_instant")
    if "id" in record:
        assert article.id == record["id"]
    if "source" in record:
        assert article.source == record["source"]


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_TEXT,
    st.sampled_from(["", " ", "2024-02-30", "2024-13-45", "Wed, 31 Feb 2024 09:00 GMT", "yesterday", "\u2028"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    ["id", "title", "text", "url", "source", "published", "language", "author", "content", "body", "article",
     "headline", "link", "date", "pubdate", "outlet", "Title", "TEXT", "origin", "content_hash", "id_source"]
)  # fmt: skip
RECORDS = st.dictionaries(st.one_of(FIELD_NAMES, ANY_TEXT), JSON_VALUES, max_size=8)
"""Arbitrary JSON objects, biased toward article field names."""


# -- bytes ------------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` after a few random edits: flipped, deleted, duplicated or inserted bytes, or a truncation."""
    data = bytearray(data)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        size = len(data)
        kind = draw(st.sampled_from(["flip", "delete", "duplicate", "insert", "truncate"]))
        at = draw(st.integers(min_value=0, max_value=size))
        if kind == "flip" and size:
            index = min(at, size - 1)
            data[index] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=16))]
        elif kind == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(min_value=1, max_value=32))]
        elif kind == "insert":
            data[at:at] = draw(
                st.sampled_from([b"\x00", b"\xff\xfe", b"\xe9", b"\x81", b"---\n", b'"', b"\n", b"{", b"<", b","])
                | st.binary(max_size=8)
            )
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


# -- the checks -------------------------------------------------------------------------------

_ORIGIN_SUFFIX = re.compile(r"(:\d+|\[\d+\])?")


def assert_well_formed(result: ReadResult, path: Path) -> None:
    """Every issue names the file (and line or record) with a reason; every article is storable."""
    for issue in result.issues:
        assert issue.reason.strip(), issue
        assert issue.origin.startswith(str(path)), issue
        assert _ORIGIN_SUFFIX.fullmatch(issue.origin[len(str(path)) :]), issue
    for article in result.articles:
        assert_storable(article)
    if not result.articles:
        assert any(issue.skipped for issue in result.issues), f"{path} gave nothing and no reason"


def assert_storable(article: Article) -> None:
    """The article has its required fields, and survives the index's JSON encoding unchanged."""
    assert article.id and article.title, article
    assert article.text and article.text == article.text.strip(), article
    assert "\x00" not in article.text
    assert article.published is None or article.published.tzinfo is not None
    stored = json.dumps(article.to_dict(), ensure_ascii=False, default=str).encode("utf-8")
    back = Article.from_dict(json.loads(stored))
    assert (back.id, back.title, back.text, back.published) == (
        article.id,
        article.title,
        article.text,
        article.published,
    )

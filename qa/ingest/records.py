"""Turn one raw record (fields from any reader) into a normalised `Article`."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from qa.config import EXTRACT_TIMEOUT_S
from qa.errors import IngestError
from qa.ingest.dates import parse_date
from qa.language import detect_language
from qa.text import UNSAFE_CHARS
from qa.types import Article

log = logging.getLogger("newsqa.ingest")

ARTICLE_FIELDS = ("id", "title", "text", "url", "source", "published", "language", "author")
# Other names that news exports commonly use for the same fields.
FIELD_ALIASES = {
    "text": ("content", "body", "article"),
    "title": ("headline",),
    "url": ("link",),
    "published": ("date", "pubdate", "published_at", "publication_date"),
    "source": ("outlet", "publisher", "site"),
}
MAX_TITLE_CHARS = 160
# Enough for any real record; past it a record is hostile or refers to itself (a YAML alias cycle).
MAX_RECORD_VALUES = 100_000
# Real metadata is a few levels deep; deeper values cost recursion when the index is saved.
MAX_NESTING = 32
# Ids are stored with every passage and shown in listings: short, and free of invisible characters.
MAX_ID_CHARS = 200
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class ReadOptions:
    """Limits that apply while reading inputs."""

    extract_timeout_s: float = EXTRACT_TIMEOUT_S  # per HTML document; 0: no limit


@dataclass(frozen=True)
class IngestIssue:
    """A problem with one file, line or row; `skipped` is False when the article was kept anyway."""

    origin: str
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        verb = "skipped" if self.skipped else "warning"
        return f"{self.origin}: {verb}: {self.reason}"


@dataclass
class ReadResult:
    """What a reader produced: the good articles and the issues met on the way."""

    articles: list[Article] = field(default_factory=list)
    issues: list[IngestIssue] = field(default_factory=list)

    def extend(self, other: ReadResult) -> None:
        """Append another result's articles and issues."""
        self.articles.extend(other.articles)
        self.issues.extend(other.issues)

    def items(self) -> Iterator[Article | IngestIssue]:
        """The issues, then the articles (the shape of a streaming reader's output)."""
        yield from self.issues
        yield from self.articles

    @classmethod
    def collect(cls, items: Iterable[Article | IngestIssue]) -> ReadResult:
        """All of a streaming reader's articles and issues, in memory."""
        result = cls()
        for item in items:
            if isinstance(item, IngestIssue):
                result.issues.append(item)
            else:
                result.articles.append(item)
        return result


def drain(issues: list[IngestIssue]) -> Iterator[IngestIssue]:
    """The issues gathered so far, emptying the list (how a line source hands its issues to a streaming reader)."""
    while issues:
        yield issues.pop(0)


def unexpected_issue(origin: str, error: BaseException) -> IngestIssue:
    """The issue for an input that failed in a way newsqa did not foresee (logged with its traceback)."""
    log.info("reading %s failed", origin, exc_info=error)  # the report names the input; the log keeps the trace
    detail = f"{type(error).__name__}: {str(error)[:200]}"
    return IngestIssue(origin, f"could not be read ({detail}); the rest of the input was read; please report this")


def content_hash(title: str, text: str) -> str:
    """A short, stable hash of an article's content."""
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]


def _pick(record: dict[str, Any], name: str) -> Any:
    lowered = {str(k).lower(): v for k, v in record.items()}
    for key in (name, *FIELD_ALIASES.get(name, ())):
        value = lowered.get(key)
        if value not in (None, ""):
            return value
    return None


def _kind(value: Any) -> str:
    """How a value that is not text is named in a message."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple | set):
        return "a list"
    return type(value).__name__


def _text_field(record: dict[str, Any], name: str) -> str | None:
    """Field `name` (or an alias) as stripped text; IngestError when it holds another type (a list, a number…)."""
    value = _pick(record, name)
    if value is None:
        return None
    if name == "id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # numeric ids are common in exports
    if not isinstance(value, str):
        raise IngestError(f"field {name!r} must be text, not {_kind(value)}")
    return value.strip() or None


def _checked_id(value: str) -> str:
    """A given id, if it is short and has no invisible or reordering characters; IngestError otherwise."""
    if len(value) > MAX_ID_CHARS:
        raise IngestError(f"id is {len(value):,} characters long; the limit is {MAX_ID_CHARS}")
    bad = UNSAFE_CHARS.search(value)
    if bad:
        raise IngestError(
            f"id contains the control or text-direction character U+{ord(bad.group()):04X}; use printable text"
        )
    return value


def title_from_text(text: str) -> str:
    """A title for an untitled article: its first line, cut at a word boundary."""
    first = text.strip().splitlines()[0].strip()
    if len(first) <= MAX_TITLE_CHARS:
        return first
    return first[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def _check_values(record: dict[str, Any]) -> None:
    """Refuse what the index could not store: lone surrogates (not UTF-8), deep nesting, self-referencing or
    huge values."""
    pending: list[tuple[Any, int]] = [(record, 0)]
    for _ in range(MAX_RECORD_VALUES + 1):
        if not pending:
            return
        value, depth = pending.pop()
        if isinstance(value, str) and _SURROGATE.search(value):
            raise IngestError("invalid Unicode: a lone surrogate such as \\ud800; re-save the input as UTF-8")
        if isinstance(value, dict | list | tuple | set) and depth >= MAX_NESTING:
            raise IngestError(f"a field is nested more than {MAX_NESTING} levels deep; flatten its metadata")
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in (*value.keys(), *value.values()))
        elif isinstance(value, list | tuple | set):
            pending.extend((item, depth + 1) for item in value)
    raise IngestError(f"record holds over {MAX_RECORD_VALUES} values, or refers to itself (a YAML alias loop?)")


def build_article(record: dict[str, Any], origin: str) -> tuple[Article, list[IngestIssue]]:
    """Normalise a raw record; raises IngestError when it cannot be an article (e.g. no text)."""
    _check_values(record)
    text = _text_field(record, "text")
    if text is None:
        raise IngestError("no article text (expected a 'text' field or body)")
    if "\x00" in text:
        raise IngestError("text contains NUL bytes: binary data, not an article")
    title = _text_field(record, "title") or title_from_text(text)
    warnings: list[IngestIssue] = []

    published = None
    raw_date = _pick(record, "published")
    if raw_date is not None:
        try:
            if not isinstance(raw_date, str | date):
                raise ValueError(f"{_kind(raw_date)} is not a date (use e.g. 2024-02-28)")
            published = parse_date(raw_date)
        except ValueError as error:
            warnings.append(IngestIssue(origin, f"date ignored: {error}", skipped=False))

    language = _text_field(record, "language")
    language = language.lower()[:2] if language else detect_language(f"{title}\n{text[:2000]}")

    given_id = _text_field(record, "id")
    if given_id is not None:
        given_id = _checked_id(given_id)
    url = _text_field(record, "url")
    source, author = _text_field(record, "source"), _text_field(record, "author")
    digest = content_hash(title, text)
    if given_id:
        article_id, id_source = given_id, "given"
    elif url:
        article_id, id_source = "url-" + hashlib.sha256(url.encode()).hexdigest()[:16], "url"
    else:
        article_id, id_source = "doc-" + digest, "content"

    used = {k.lower() for k in ARTICLE_FIELDS}
    used |= {alias for aliases in FIELD_ALIASES.values() for alias in aliases}
    extra = {str(k): v for k, v in record.items() if str(k).lower() not in used}
    metadata = {**extra, "origin": origin, "content_hash": digest, "id_source": id_source}
    article = Article(
        id=article_id,
        title=title,
        text=text,
        url=url,
        source=source,
        published=published,
        language=language,
        author=author,
        metadata=metadata,
    )
    return article, warnings


def read_record(record: Any, origin: str, result: ReadResult) -> None:
    """Build one article from `record` into `result`, or record why it was skipped."""
    if not isinstance(record, dict):
        result.issues.append(IngestIssue(origin, f"expected a JSON object, got {type(record).__name__}"))
        return
    try:
        article, warnings = build_article(record, origin)
    except IngestError as error:
        result.issues.append(IngestIssue(origin, str(error)))
        return
    except Exception as error:  # an unforeseen failure on hostile input costs this record only
        result.issues.append(unexpected_issue(origin, error))
        return
    result.articles.append(article)
    result.issues.extend(warnings)

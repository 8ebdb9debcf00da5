"""Turn one raw record (fields from any reader) into a normalised `Article`."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from qa.errors import IngestError
from qa.ingest.dates import parse_date
from qa.language import detect_language
from qa.types import Article

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
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def title_from_text(text: str) -> str:
    """A title for an untitled article: its first line, cut at a word boundary."""
    first = text.strip().splitlines()[0].strip()
    if len(first) <= MAX_TITLE_CHARS:
        return first
    return first[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def _check_values(record: dict[str, Any]) -> None:
    """Refuse what the index could not store: lone surrogates (not UTF-8), and self-referencing or huge values."""
    pending: list[Any] = [record]
    for _ in range(MAX_RECORD_VALUES + 1):
        if not pending:
            return
        value = pending.pop()
        if isinstance(value, str) and _SURROGATE.search(value):
            raise IngestError("invalid Unicode: a lone surrogate such as \\ud800; re-save the input as UTF-8")
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list | tuple | set):
            pending.extend(value)
    raise IngestError(f"record holds over {MAX_RECORD_VALUES} values, or refers to itself (a YAML alias loop?)")


def build_article(record: dict[str, Any], origin: str) -> tuple[Article, list[IngestIssue]]:
    """Normalise a raw record; raises IngestError when it cannot be an article (e.g. no text)."""
    _check_values(record)
    text = _clean(_pick(record, "text"))
    if text is None:
        raise IngestError("no article text (expected a 'text' field or body)")
    if "\x00" in text:
        raise IngestError("text contains NUL bytes: binary data, not an article")
    title = _clean(_pick(record, "title")) or title_from_text(text)
    warnings: list[IngestIssue] = []

    published = None
    raw_date = _pick(record, "published")
    if raw_date is not None:
        try:
            published = parse_date(raw_date)
        except ValueError as error:
            warnings.append(IngestIssue(origin, f"date ignored: {error}", skipped=False))

    language = _clean(_pick(record, "language"))
    language = language.lower()[:2] if language else detect_language(f"{title}\n{text[:2000]}")

    given_id = _clean(_pick(record, "id"))
    url = _clean(_pick(record, "url"))
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
        source=_clean(_pick(record, "source")),
        published=published,
        language=language,
        author=_clean(_pick(record, "author")),
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
    result.articles.append(article)
    result.issues.extend(warnings)

"""The plain dataclasses that carry data through newsqa: article → chunk → hit → answer, and search filters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from qa.errors import InputError


def _date_to_str(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date_from_str(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Article:
    """One news article, as ingested."""

    id: str
    title: str
    text: str
    url: str | None = None
    source: str | None = None
    published: datetime | None = None
    language: str | None = None
    author: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        data = asdict(self)
        data["published"] = _date_to_str(self.published)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """The inverse of `to_dict`."""
        return cls(**{**data, "published": _date_from_str(data.get("published"))})


@dataclass(frozen=True, slots=True)  # no per-instance dict: ~270 bytes less per chunk, a million are held
class Chunk:
    """A passage of an article; `start`/`end` are character offsets into `Article.text`."""

    id: str
    article_id: str
    position: int
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        """The inverse of `to_dict`."""
        return cls(**data)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its article and similarity score (rank 1 is best)."""

    chunk: Chunk
    article: Article
    score: float
    rank: int
    also_carried_by: tuple[str, ...] = ()  # other outlets that published a near-copy of this article

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "rank": self.rank,
            "score": self.score,
            "also_carried_by": list(self.also_carried_by),
            "chunk": self.chunk.to_dict(),
            "article": {k: v for k, v in self.article.to_dict().items() if k != "text"},
        }


@dataclass(frozen=True)
class Citation:
    """What an inline `[n]` marker points to: one passage, and the span in it that supports the answer."""

    number: int
    article_id: str
    chunk_id: str
    title: str
    source: str | None
    url: str | None
    published: datetime | None
    language: str | None
    passage: str
    start: int
    end: int
    quote: str
    quote_start: int
    quote_end: int
    also_carried_by: tuple[str, ...] = ()
    translation: str | None = None  # the quote in the answer's language, when asked for and the languages differ

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["published"] = _date_to_str(self.published)
        return data


@dataclass
class Answer:
    """newsqa's reply: text with `[n]` markers, the citations they map to, and how it was made."""

    question: str
    text: str
    citations: list[Citation]
    hits: list[Hit]
    abstained: bool
    language: str
    timings: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int = 0
    output_tokens: int = 0
    standalone_question: str | None = None
    abstention_reason: str | None = None  # why newsqa declined, when `abstained`
    support: float | None = None  # the self-check's P(yes): the lower of 'states this answer' and 'answers it'

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "abstained": self.abstained,
            "abstention_reason": self.abstention_reason,
            "support": self.support,
            "language": self.language,
            "citations": [c.to_dict() for c in self.citations],
            "hits": [h.to_dict() for h in self.hits],
            "timings": self.timings,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
        }


def _start_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def _end_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.max, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """Conditions an article must meet; empty fields mean no condition. Dates are inclusive."""

    since: date | datetime | None = None
    until: date | datetime | None = None
    sources: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    article_ids: frozenset[str] = frozenset()
    keep_undated: bool = False  # True: undated articles pass the date conditions (dates read from a question)

    def __post_init__(self) -> None:
        if self.since and self.until and _start_of(self.since) > _end_of(self.until):
            raise InputError(f"the date range is empty: since {self.since} is after until {self.until}")

    @classmethod
    def build(
        cls,
        since: str | date | None = None,
        until: str | date | None = None,
        sources: list[str] | None = None,
        languages: list[str] | None = None,
        article_ids: list[str] | None = None,
    ) -> Filters:
        """Filters from plain values (dates as YYYY-MM-DD strings allowed)."""
        return cls(
            since=_as_date(since, "since"),
            until=_as_date(until, "until"),
            sources=frozenset(s.strip().casefold() for s in sources or [] if s.strip()),
            languages=frozenset(code.strip().lower() for code in languages or [] if code.strip()),
            article_ids=frozenset(article_ids or []),
        )

    @property
    def active(self) -> bool:
        """True when any condition is set."""
        return bool(self.since or self.until or self.sources or self.languages or self.article_ids)

    def accepts(self, article: Article) -> bool:
        """True when `article` meets every condition (undated articles fail any date condition unless
        `keep_undated`)."""
        if self.article_ids and article.id not in self.article_ids:
            return False
        if self.languages and (article.language or "") not in self.languages:
            return False
        if self.sources and (article.source or "").casefold() not in self.sources:
            return False
        if self.since or self.until:
            if article.published is None:
                return self.keep_undated
            start, end = self.bounds()
            if start and article.published < start:
                return False
            if end and article.published > end:
                return False
        return True

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The date conditions as timezone-aware instants, both inclusive (dates cover their whole day)."""
        return (_start_of(self.since) if self.since else None, _end_of(self.until) if self.until else None)


def _as_date(value: str | date | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{name} must be a date like 2024-02-28, got {value!r}") from None

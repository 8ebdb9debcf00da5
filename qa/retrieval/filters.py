"""Which articles a search may return: date range, outlets, languages, article ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from qa.errors import InputError
from qa.types import Article


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

"""The plain dataclasses that carry data through newsqa: article → chunk → hit → answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


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


@dataclass(frozen=True)
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
    support: float | None = None  # the self-check's probability that the passages state the answer

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

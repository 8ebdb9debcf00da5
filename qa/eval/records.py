"""The per-question record of one system's run, and how it is scored."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from qa.eval import metrics
from qa.eval.gold import GoldQuestion

FULL = "full"
RETRIEVAL = "retrieval"
VERDICTS = (
    "correct",
    "wrong",
    "correct_abstention",
    "missed_abstention",
    "false_abstention",
    "unscored",
    "error",
)


@dataclass
class QuestionRecord:
    """What one system did on one question; the fields after `error` are derived by `score_record`."""

    id: str
    question: str
    type: str
    language: str
    answers: list[str]
    gold_article_ids: list[str]
    answer_groups: list[list[str]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    as_of: str | None = None
    mode: str = FULL
    ranked_article_ids: list[str] = field(default_factory=list)
    context_article_ids: list[str] = field(default_factory=list)
    answer: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    abstained: bool | None = None
    abstention_reason: str | None = None
    support: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None
    answerable: bool = True
    gold_rank: int | None = None
    answer_correct: bool | None = None
    answer_f1: float | None = None
    gold_citations: int | None = None
    evidence_citations: int | None = None
    invalid_citations: int | None = None
    verdict: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuestionRecord:
        """The inverse of `to_dict` (unknown keys are ignored, so older results files still load)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def new_record(question: GoldQuestion, **values: Any) -> QuestionRecord:
    """A record for `question` with the run's `values` (ranked ids, answer, ...), scored."""
    record = QuestionRecord(
        id=question.id,
        question=question.question,
        type=question.type,
        language=question.language,
        answers=list(question.answers),
        gold_article_ids=list(question.gold_article_ids),
        answer_groups=[list(group) for group in question.answer_groups],
        evidence=list(question.evidence),
        as_of=question.as_of,
        **values,
    )
    return score_record(record)


def score_record(record: QuestionRecord) -> QuestionRecord:
    """A copy of `record` with its derived fields (gold rank, answer match, F1, citations, verdict) set."""
    gold = set(record.gold_article_ids)
    answerable = bool(record.answers or record.gold_article_ids)
    derived: dict[str, Any] = {
        "answerable": answerable,
        "gold_rank": metrics.gold_rank(record.ranked_article_ids, gold) if gold else None,
        "answer_correct": None,
        "answer_f1": None,
        "gold_citations": None,
        "evidence_citations": None,
        "invalid_citations": None,
        "verdict": None,
    }
    if record.mode == FULL:
        text = record.answer or ""
        abstained = bool(record.abstained)
        if record.answers:
            correct = not abstained and metrics.answer_is_correct(
                text, record.answers, record.answer_groups, record.language
            )
            derived["answer_correct"] = correct
            derived["answer_f1"] = 0.0 if abstained else metrics.token_f1(text, record.answers, record.language)
        cited = [str(c.get("article_id")) for c in record.citations]
        derived["gold_citations"] = metrics.gold_citation_count(cited, gold)
        if record.evidence:
            quotes = [str(c.get("quote") or "") for c in record.citations]
            derived["evidence_citations"] = sum(metrics.quote_matches_evidence(q, record.evidence) for q in quotes)
        numbers = {int(c["number"]) for c in record.citations if c.get("number") is not None}
        derived["invalid_citations"] = metrics.invalid_citation_markers(text, numbers)
        if record.error:
            derived["verdict"] = "error"
        elif answerable and not record.answers and not abstained:
            derived["verdict"] = "unscored"  # gold articles but no acceptable answers to compare with
        else:
            derived["verdict"] = metrics.verdict(answerable, abstained, bool(derived["answer_correct"]))
    return replace(record, **derived)

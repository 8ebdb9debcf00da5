"""Aggregate per-question records into summary figures, overall and broken down by type and language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from qa.eval import metrics
from qa.eval.records import FULL, QuestionRecord

RETRIEVAL_KEYS = ("hit@1", "hit@5", "hit@10", "mrr@10", "recall@5", "recall@10")
ANSWER_KEYS = ("answer_accuracy", "answer_f1", "overall_accuracy", "abstention_accuracy", "false_abstention")
CITATION_KEYS = ("citation_precision", "citation_sentence_precision", "citation_recall", "invalid_citations")
SPEED_KEYS = (
    "retrieval_p50_s",
    "retrieval_p95_s",
    "ttft_p50_s",
    "ttft_p95_s",
    "total_p50_s",
    "total_p95_s",
    "prompt_tokens_mean",
    "output_tokens_mean",
)
COUNT_KEYS = ("n_questions", "n_answerable", "n_unanswerable", "n_errors")
SUMMARY_KEYS = COUNT_KEYS + RETRIEVAL_KEYS + ANSWER_KEYS + CITATION_KEYS + SPEED_KEYS


def _retrieval(records: Sequence[QuestionRecord]) -> dict[str, float | None]:
    scored = [(r.ranked_article_ids, set(r.gold_article_ids)) for r in records if r.gold_article_ids]

    def average(fn: Callable[[list[str], set[str]], float]) -> float | None:
        return metrics.mean(fn(ranked, gold) for ranked, gold in scored)

    return {
        "hit@1": average(lambda ranked, gold: float(metrics.hit_at_k(ranked, gold, 1))),
        "hit@5": average(lambda ranked, gold: float(metrics.hit_at_k(ranked, gold, 5))),
        "hit@10": average(lambda ranked, gold: float(metrics.hit_at_k(ranked, gold, 10))),
        "mrr@10": average(lambda ranked, gold: metrics.reciprocal_rank(ranked, gold, 10)),
        "recall@5": average(lambda ranked, gold: float(metrics.recall_at_k(ranked, gold, 5))),
        "recall@10": average(lambda ranked, gold: float(metrics.recall_at_k(ranked, gold, 10))),
    }


def _answers(full: Sequence[QuestionRecord]) -> dict[str, float | None]:
    with_answers = [r for r in full if r.answers]
    judged = [r for r in full if r.verdict not in (None, "unscored")]
    cases = [(r.answerable, bool(r.abstained)) for r in full]
    return {
        "answer_accuracy": metrics.mean(float(bool(r.answer_correct)) for r in with_answers),
        "answer_f1": metrics.mean(r.answer_f1 or 0.0 for r in with_answers),
        "overall_accuracy": metrics.mean(float(r.verdict in ("correct", "correct_abstention")) for r in judged),
        "abstention_accuracy": metrics.abstention_accuracy(cases),
        "false_abstention": metrics.false_abstention(cases),
    }


def _citations(full: Sequence[QuestionRecord]) -> dict[str, float | int | None]:
    cases = [
        ([str(c.get("article_id")) for c in r.citations], set(r.gold_article_ids))
        for r in full
        if r.answerable and r.gold_article_ids
    ]
    with_evidence = [r for r in full if r.evidence and r.evidence_citations is not None]
    return {
        "citation_precision": metrics.citation_precision(cases),
        "citation_sentence_precision": metrics.sentence_citation_precision(
            (r.evidence_citations or 0, len(r.citations)) for r in with_evidence
        ),
        "citation_recall": metrics.citation_recall(cases),
        "invalid_citations": sum(r.invalid_citations or 0 for r in full) if full else None,
    }


def _speed(records: Sequence[QuestionRecord]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in ("retrieval", "ttft", "total"):
        values = [float(r.timings[name]) for r in records if r.timings.get(name) is not None]
        out[f"{name}_p50_s"] = metrics.percentile(values, 50)
        out[f"{name}_p95_s"] = metrics.percentile(values, 95)
    for name in ("prompt_tokens", "output_tokens"):
        out[f"{name}_mean"] = metrics.mean(
            float(getattr(r, name)) for r in records if r.mode == FULL and getattr(r, name) is not None
        )
    return out


def summarize(records: Sequence[QuestionRecord], *, answers: bool = True, citations: bool = True) -> dict[str, Any]:
    """Every summary figure over `records` (None where it cannot be computed or does not apply).

    `answers=False` (retrieval-only runs) nulls the answer and citation figures; `citations=False`
    (systems that do not cite, like the baselines) nulls the citation figures.
    """
    full = [r for r in records if r.mode == FULL] if answers else []
    summary: dict[str, Any] = {
        "n_questions": len(records),
        "n_answerable": sum(1 for r in records if r.answerable),
        "n_unanswerable": sum(1 for r in records if not r.answerable),
        "n_errors": sum(1 for r in records if r.error),
    }
    summary.update(_retrieval(records))
    summary.update(_answers(full) if answers else dict.fromkeys(ANSWER_KEYS))
    summary.update(_citations(full) if answers and citations else dict.fromkeys(CITATION_KEYS))
    summary.update(_speed(records))
    return {key: summary[key] for key in SUMMARY_KEYS}


def breakdown(
    records: Sequence[QuestionRecord], key: str, *, answers: bool = True, citations: bool = True
) -> dict[str, dict[str, Any]]:
    """`summarize` per value of a record field (`type` or `language`), values in sorted order."""
    groups: dict[str, list[QuestionRecord]] = {}
    for record in records:
        groups.setdefault(str(getattr(record, key) or "unknown"), []).append(record)
    return {value: summarize(group, answers=answers, citations=citations) for value, group in sorted(groups.items())}


def system_figures(
    records: Sequence[QuestionRecord], *, answers: bool = True, citations: bool = True
) -> dict[str, Any]:
    """`summary`, `by_type` and `by_language` for one system's records."""
    return {
        "summary": summarize(records, answers=answers, citations=citations),
        "by_type": breakdown(records, "type", answers=answers, citations=citations),
        "by_language": breakdown(records, "language", answers=answers, citations=citations),
    }

"""Tests for per-question scoring and the aggregated summaries."""

from __future__ import annotations

from typing import Any

import pytest

from qa.eval.gold import GoldQuestion
from qa.eval.records import RETRIEVAL, QuestionRecord, new_record, score_record
from qa.eval.summary import SUMMARY_KEYS, breakdown, summarize


def test_verdicts(records: list[QuestionRecord]) -> None:
    assert [r.verdict for r in records] == [
        "correct",
        "wrong",
        "false_abstention",
        "correct_abstention",
        "missed_abstention",
    ]
    correct, wrong = records[0], records[1]
    assert correct.gold_rank == 1 and correct.gold_citations == 1 and correct.invalid_citations == 0
    assert wrong.gold_rank == 2 and wrong.gold_citations == 0 and wrong.invalid_citations == 1
    assert correct.answer_f1 == pytest.approx(2 / 3)


def test_record_round_trip(records: list[QuestionRecord]) -> None:
    for record in records:
        assert score_record(QuestionRecord.from_dict(record.to_dict())) == record


def test_retrieval_only_record_has_no_verdict() -> None:
    q = GoldQuestion(id="r", question="?", language="en", answers=("x",), gold_article_ids=("a",))
    record = new_record(q, mode=RETRIEVAL, ranked_article_ids=["b", "a"], timings={"retrieval": 0.1})
    assert record.verdict is None and record.answer_correct is None and record.gold_rank == 2


def test_errors_and_unscored() -> None:
    q = GoldQuestion(id="e", question="?", language="en", answers=("x",), gold_article_ids=("a",))
    assert new_record(q, answer="", abstained=False, error="LLMError: boom").verdict == "error"
    no_answers = GoldQuestion(id="u", question="?", language="en", gold_article_ids=("a",))
    assert new_record(no_answers, answer="something", abstained=False).verdict == "unscored"


def test_summary(records: list[QuestionRecord]) -> None:
    summary = summarize(records)
    assert list(summary) == list(SUMMARY_KEYS)
    assert summary["n_questions"] == 5 and summary["n_answerable"] == 3 and summary["n_unanswerable"] == 2
    assert summary["hit@1"] == pytest.approx(1 / 3)
    assert summary["hit@5"] == pytest.approx(2 / 3)
    assert summary["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert summary["answer_accuracy"] == pytest.approx(1 / 3)
    assert summary["overall_accuracy"] == pytest.approx(2 / 5)
    assert summary["abstention_accuracy"] == 0.5
    assert summary["false_abstention"] == pytest.approx(1 / 3)
    assert summary["citation_precision"] == 0.5
    assert summary["citation_recall"] == pytest.approx(1 / 3)
    assert summary["invalid_citations"] == 1
    assert summary["total_p50_s"] == 1.2 and summary["ttft_p50_s"] == 0.4
    assert summary["prompt_tokens_mean"] == pytest.approx((300 + 320 + 280) / 5)


def test_summary_without_answers_or_citations(records: list[QuestionRecord]) -> None:
    retrieval_only = summarize(records, answers=False)
    assert retrieval_only["hit@5"] == pytest.approx(2 / 3)
    assert retrieval_only["answer_accuracy"] is None and retrieval_only["citation_precision"] is None
    baseline = summarize(records, citations=False)
    assert baseline["answer_accuracy"] is not None and baseline["invalid_citations"] is None


def test_breakdowns(records: list[QuestionRecord]) -> None:
    by_type = breakdown(records, "type")
    assert list(by_type) == ["entity", "numeric", "unanswerable"]
    assert by_type["numeric"]["answer_accuracy"] == 1.0
    assert by_type["unanswerable"]["answer_accuracy"] is None
    assert by_type["unanswerable"]["abstention_accuracy"] == 0.5
    by_language: dict[str, Any] = breakdown(records, "language")
    assert by_language["fr"]["n_questions"] == 2 and by_language["en"]["n_questions"] == 3

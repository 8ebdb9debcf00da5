"""Tests for resume bookkeeping: which questions a previous results.json already covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.eval.errors import EvalError
from qa.eval.formats import load_gold
from qa.eval.records import RETRIEVAL, new_record
from qa.eval.results import SystemRun, build_results
from qa.eval.resume import (
    check_same_questions,
    completed_records,
    file_sha256,
    pending_questions,
)


def _previous(gold_file: Path, *, mode: str = "full", error: str | None = None) -> dict:
    questions = load_gold(gold_file).questions
    done = {
        q.id: new_record(q, mode=mode, ranked_article_ids=["a1"], answer="x", abstained=False, error=error)
        for q in questions[:2]
    }
    baseline = SystemRun("bm25", "", {questions[0].id: done[questions[0].id]}, citations=False)
    meta = {"questions_sha256": file_sha256(gold_file)}
    return build_results(meta, SystemRun("newsqa", "", done), [baseline], [q.id for q in questions])


def test_two_of_three_done_leaves_the_third(gold_file: Path) -> None:
    questions = load_gold(gold_file).questions
    previous = _previous(gold_file)
    done = completed_records(previous, "newsqa", questions, retrieval_only=False)
    assert set(done) == {"q1", "q2"}
    assert [q.id for q in pending_questions(questions, done)] == ["q3"]
    bm25_done = completed_records(previous, "bm25", questions, retrieval_only=False)
    assert [q.id for q in pending_questions(questions, bm25_done)] == ["q2", "q3"]
    assert completed_records(previous, "vanilla_llamaindex", questions, retrieval_only=False) == {}
    assert completed_records(None, "newsqa", questions, retrieval_only=False) == {}


def test_errored_and_retrieval_only_records_are_redone(gold_file: Path) -> None:
    questions = load_gold(gold_file).questions
    errored = _previous(gold_file, error="LLMError: boom")
    assert completed_records(errored, "newsqa", questions, retrieval_only=False) == {}
    retrieval = _previous(gold_file, mode=RETRIEVAL)
    assert completed_records(retrieval, "newsqa", questions, retrieval_only=False) == {}
    assert set(completed_records(retrieval, "newsqa", questions, retrieval_only=True)) == {"q1", "q2"}
    full = _previous(gold_file)
    assert set(completed_records(full, "newsqa", questions, retrieval_only=True)) == {"q1", "q2"}


def test_changed_question_text_is_redone(gold_file: Path) -> None:
    questions = load_gold(gold_file).questions
    previous = _previous(gold_file)
    previous["questions"][0]["question"] = "An older wording?"
    assert set(completed_records(previous, "newsqa", questions, retrieval_only=False)) == {"q2"}


def test_other_questions_file_is_refused(gold_file: Path, tmp_path: Path) -> None:
    previous = _previous(gold_file)
    check_same_questions(previous, file_sha256(gold_file), tmp_path / "results.json")
    with pytest.raises(EvalError, match="another questions file"):
        check_same_questions(previous, "0" * 64, tmp_path / "results.json")

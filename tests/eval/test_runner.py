"""Tests for the evaluation runner against a fake assistant (no models): outputs, resume, modes, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa.errors import InputError, LLMError
from qa.eval.config import EvalConfig, default_out_dir
from qa.eval.errors import EvalError, GoldFormatError
from qa.eval.runner import run_eval


def _config(gold_file: Path, articles_file: Path | None, out: Path, **changes: Any) -> EvalConfig:
    return EvalConfig(questions=gold_file, articles=articles_file, out_dir=out, progress=False, **changes)


def test_full_run_writes_results_report_and_plots(
    gold_file: Path, articles_file: Path, tmp_path: Path, fake_assistant: Any
) -> None:
    out = tmp_path / "out"
    report = run_eval(_config(gold_file, articles_file, out), assistant=fake_assistant)
    assert report.n_questions == 3 and report.n_run == 3 and report.n_resumed == 0
    assert fake_assistant.ingested == [[articles_file]]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    verdicts = {q["id"]: q["verdict"] for q in results["questions"]}
    assert verdicts == {"q1": "correct", "q2": "wrong", "q3": "correct_abstention"}
    q2 = results["questions"][1]
    assert q2["citations"] == [{"number": 1, "article_id": "a3", "chunk_id": "a3-0", "quote": ""}]
    assert q2["invalid_citations"] == 1 and q2["ranked_article_ids"][0] == "a2"
    summary = results["summary"]
    assert summary["answer_accuracy"] == 0.5 and summary["abstention_accuracy"] == 1.0
    assert summary["citation_precision"] == 0.5 and summary["invalid_citations"] == 1
    assert summary["ttft_p50_s"] == 0.2 and summary["n_questions"] == 3
    assert set(results["by_language"]) == {"en", "fr"}
    assert results["meta"]["questions_sha256"] and results["meta"]["n_articles"] == 3
    assert results["baselines"] == {}
    assert report.report_path.read_text(encoding="utf-8").startswith("# newsqa evaluation")
    assert all(p.exists() for p in report.plot_paths)


def test_resume_only_runs_what_is_missing(
    gold_file: Path, articles_file: Path, tmp_path: Path, fake_assistant: Any
) -> None:
    out = tmp_path / "out"
    run_eval(_config(gold_file, articles_file, out, limit=2), assistant=fake_assistant)
    assert len(fake_assistant.asked) == 2
    fake_assistant.asked.clear()
    report = run_eval(_config(gold_file, articles_file, out), assistant=fake_assistant)
    assert fake_assistant.asked == ["What did the mayor of Atlantis say?"]
    assert report.n_resumed == 2 and report.n_run == 1
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [q["id"] for q in results["questions"]] == ["q1", "q2", "q3"]


def test_a_kill_loses_at_most_the_current_question(
    gold_file: Path, articles_file: Path, tmp_path: Path, fake_assistant: Any
) -> None:
    out = tmp_path / "out"
    original_ask = fake_assistant.ask

    def dying_ask(question: str) -> Any:
        if question.startswith("Qui"):
            raise KeyboardInterrupt
        return original_ask(question)

    fake_assistant.ask = dying_ask
    with pytest.raises(KeyboardInterrupt):
        run_eval(_config(gold_file, articles_file, out), assistant=fake_assistant)
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [q["id"] for q in saved["questions"]] == ["q1"]
    fake_assistant.ask = original_ask
    fake_assistant.asked.clear()
    run_eval(_config(gold_file, articles_file, out), assistant=fake_assistant)
    assert len(fake_assistant.asked) == 2


def test_retrieval_only_never_asks(gold_file: Path, articles_file: Path, tmp_path: Path, fake_assistant: Any) -> None:
    report = run_eval(
        _config(gold_file, articles_file, tmp_path / "out", retrieval_only=True), assistant=fake_assistant
    )
    assert fake_assistant.asked == []
    assert report.summary["hit@1"] == 1.0 and report.summary["answer_accuracy"] is None
    assert report.summary["citation_precision"] is None and report.summary["retrieval_p50_s"] is not None


def test_llm_errors_are_recorded_and_the_run_goes_on(
    gold_file: Path, articles_file: Path, tmp_path: Path, fake_assistant: Any
) -> None:
    original_ask = fake_assistant.ask

    def failing_ask(question: str) -> Any:
        if question.startswith("Qui"):
            raise LLMError("the model crashed")
        return original_ask(question)

    fake_assistant.ask = failing_ask
    report = run_eval(_config(gold_file, articles_file, tmp_path / "out"), assistant=fake_assistant)
    results = json.loads(report.results_path.read_text(encoding="utf-8"))
    assert [q["verdict"] for q in results["questions"]] == ["correct", "error", "correct_abstention"]
    assert results["questions"][1]["error"] == "LLMError: the model crashed"
    assert report.summary["n_errors"] == 1


def test_bad_questions_are_recorded_in_retrieval_only_runs_too(
    gold_file: Path, articles_file: Path, tmp_path: Path, fake_assistant: Any
) -> None:
    original_retrieve = fake_assistant.retrieve

    def picky_retrieve(question: str, k: int = 10) -> Any:
        if question.startswith("Qui"):
            raise InputError("the question is too long")
        return original_retrieve(question, k)

    fake_assistant.retrieve = picky_retrieve
    config = _config(gold_file, articles_file, tmp_path / "out", retrieval_only=True)
    report = run_eval(config, assistant=fake_assistant)
    results = json.loads(report.results_path.read_text(encoding="utf-8"))
    failed = results["questions"][1]
    assert failed["error"] == "InputError: the question is too long" and failed["ranked_article_ids"] == []
    assert failed["verdict"] is None and report.summary["n_errors"] == 1 and report.summary["hit@1"] == 0.5


def test_gold_with_its_own_passages_is_ingested(tmp_path: Path, fake_assistant: Any, jsonl: Any) -> None:
    rgb = jsonl(
        tmp_path / "rgb.json",
        [
            {
                "id": 0,
                "query": "Who acquired Instagram?",
                "answer": ["Facebook"],
                "positive": ["Facebook acquired Instagram in 2012."],
                "negative": ["Instagram is an app."],
            }
        ],
    )
    fake_assistant.replies["Who acquired Instagram?"] = ("Facebook did [1].", [], False)
    report = run_eval(_config(rgb, None, tmp_path / "out"), assistant=fake_assistant)
    assert fake_assistant.ingested == [[tmp_path / "out" / "gold-articles.jsonl"]]
    assert report.summary["hit@1"] == 1.0 and report.summary["answer_accuracy"] == 1.0


def test_refusals(gold_file: Path, articles_file: Path, tmp_path: Path, fake_assistant: Any, jsonl: Any) -> None:
    with pytest.raises(EvalError, match="holds no articles"):
        run_eval(_config(gold_file, None, tmp_path / "a"), assistant=fake_assistant)
    with pytest.raises(EvalError, match="no such articles"):
        run_eval(_config(gold_file, tmp_path / "missing.jsonl", tmp_path / "b"), assistant=fake_assistant)
    out = tmp_path / "c"
    run_eval(_config(gold_file, articles_file, out, retrieval_only=True), assistant=fake_assistant)
    other = jsonl(tmp_path / "other.jsonl", [{"id": "z", "question": "Another?", "answers": []}])
    with pytest.raises(EvalError, match="another questions file"):
        run_eval(_config(other, articles_file, out), assistant=fake_assistant)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match="line 1"):
        run_eval(_config(bad, articles_file, tmp_path / "d"), assistant=fake_assistant)
    with pytest.raises(EvalError, match="--limit"):
        EvalConfig(questions=gold_file, limit=0)


def test_missing_gold_articles_are_warned_about(
    gold_file: Path, tmp_path: Path, fake_assistant: Any, jsonl: Any
) -> None:
    articles = jsonl(tmp_path / "few.jsonl", [{"id": "a1", "title": "t", "text": "350 000 people marched."}])
    report = run_eval(_config(gold_file, articles, tmp_path / "out"), assistant=fake_assistant)
    assert any("a2" in warning for warning in report.warnings)
    assert "a2" in report.report_path.read_text(encoding="utf-8")


def test_default_out_dir_is_timestamped(gold_file: Path) -> None:
    from datetime import datetime

    assert default_out_dir(gold_file, datetime(2025, 1, 2, 3, 4, 5)) == Path("eval-out/questions-20250102-030405")


def test_a_question_with_as_of_is_asked_on_that_day_and_the_day_is_restored(tmp_path: Path) -> None:
    from datetime import date

    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.eval.runner import asked_on

    assistant = Assistant.open(tmp_path / "index", Settings(today="2025-01-01"))
    with asked_on(assistant, "2024-03-20"):
        assert assistant.today == date(2024, 3, 20)
    assert assistant.today == date(2025, 1, 1)
    with asked_on(assistant, None):
        assert assistant.today == date(2025, 1, 1)

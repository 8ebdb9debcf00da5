"""Tests for writing results.json, report.md and the PNG plots from hand-made records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa.eval.plots import write_plots
from qa.eval.records import QuestionRecord
from qa.eval.report import format_delta, format_value, render_report, write_report
from qa.eval.results import SystemRun, build_results, read_results, write_json_atomic
from qa.eval.summary import SUMMARY_KEYS
from qa.files import TMP_MARK

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _document(records: list[QuestionRecord], *, baselines: bool = True, answers: bool = True) -> dict[str, Any]:
    ids = [r.id for r in records]
    main = SystemRun("newsqa", "newsqa itself", {r.id: r for r in records})
    others = []
    if baselines:
        worse = {r.id: r for r in records[:3]}  # a baseline that has only run some questions so far
        others = [SystemRun("bm25", "BM25 baseline", worse, citations=False)]
    meta = {"questions_file": "q.jsonl", "questions_sha256": "ab" * 32, "warnings": ["2 gold ids missing"]}
    return build_results(meta, main, others, ids, answers=answers)


def test_results_document_has_every_key(records: list[QuestionRecord], tmp_path: Path) -> None:
    document = _document(records)
    path = tmp_path / "results.json"
    write_json_atomic(path, document)
    loaded = read_results(path)
    assert loaded is not None
    for key in (
        "hit@1",
        "hit@5",
        "hit@10",
        "mrr@10",
        "answer_accuracy",
        "answer_f1",
        "abstention_accuracy",
        "false_abstention",
        "citation_precision",
        "citation_recall",
        "invalid_citations",
        "ttft_p50_s",
        "total_p50_s",
        "n_questions",
        "recall@5",
        "recall@10",
        "retrieval_p50_s",
        "total_p95_s",
        "prompt_tokens_mean",
        "output_tokens_mean",
    ):
        assert key in loaded["summary"]
    assert set(loaded["by_type"]) == {"entity", "numeric", "unanswerable"}
    assert set(loaded["by_language"]) == {"en", "fr"}
    for figures in [*loaded["by_type"].values(), *loaded["by_language"].values()]:
        assert list(figures) == list(SUMMARY_KEYS)
    assert [q["id"] for q in loaded["questions"]] == [r.id for r in records]
    assert set(loaded["questions"][0]) >= {
        "id",
        "question",
        "type",
        "language",
        "answers",
        "gold_article_ids",
        "ranked_article_ids",
        "answer",
        "citations",
        "abstained",
        "verdict",
        "timings",
        "prompt_tokens",
        "output_tokens",
    }
    bm25 = loaded["baselines"]["bm25"]
    assert set(bm25) == {"description", "summary", "by_type", "by_language", "questions"}
    assert bm25["summary"]["n_questions"] == 3 and bm25["summary"]["citation_precision"] is None
    assert not [p for p in tmp_path.iterdir() if TMP_MARK in p.name]


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write_json_atomic(path, {"ok": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert not [p for p in tmp_path.iterdir() if TMP_MARK in p.name]


def test_report_markdown(records: list[QuestionRecord], tmp_path: Path) -> None:
    document = _document(records)
    plots = write_plots(document, tmp_path)
    path = write_report(document, tmp_path, plots)
    text = path.read_text(encoding="utf-8")
    assert "| metric | newsqa | bm25 | Δ newsqa−bm25 |" in text
    assert "| hit@5 | 66.7% | 66.7% | +0.0 pp |" in text
    assert "## By question type" in text and "## By language" in text
    assert "| unanswerable |" in text and "| fr |" in text
    assert "![Accuracy by question type](accuracy_by_type.png)" in text
    assert "2 gold ids missing" in text
    table = text.split("## Questions (failures first)")[1]
    verdict_order = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")][1:]
    assert verdict_order == [
        "wrong",
        "missed_abstention",
        "false_abstention",
        "correct",
        "correct_abstention",
    ]
    assert "Pierre Curie [1] [2] \\| pipe" in table
    assert "[1] a1 ✓" in table
    assert "bm25 verdict" in table


def test_plots_are_valid_pngs(records: list[QuestionRecord], tmp_path: Path) -> None:
    from PIL import Image

    plots = write_plots(_document(records), tmp_path)
    assert [p.name for p in plots] == ["accuracy_by_type.png", "latency.png"]
    for plot in plots:
        assert plot.read_bytes()[:8] == PNG_MAGIC
        with Image.open(plot) as image:
            image.verify()


def test_retrieval_only_and_empty_documents_still_render(records: list[QuestionRecord], tmp_path: Path) -> None:
    document = _document(records, baselines=False, answers=False)
    assert document["summary"]["answer_accuracy"] is None
    text = render_report(document, write_plots(document, tmp_path))
    assert "| answer accuracy (normalised match) | – |" in text
    empty = build_results({}, SystemRun("newsqa", ""), [], [])
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    for plot in write_plots(empty, empty_dir):
        assert plot.read_bytes()[:8] == PNG_MAGIC
    assert "## Summary" in render_report(empty)


def test_value_and_delta_formatting() -> None:
    assert format_value("hit@5", 0.5) == "50.0%"
    assert format_value("mrr@10", 0.5) == "0.500"
    assert format_value("total_p50_s", 1.234) == "1.23 s"
    assert format_value("n_questions", 3) == "3"
    assert format_value("answer_f1", None) == "–"
    assert format_delta("hit@5", 0.75, 0.5) == "+25.0 pp"
    assert format_delta("total_p50_s", 1.0, 1.5) == "-0.50 s"
    assert format_delta("answer_accuracy", None, 0.5) == "–"

"""A small evaluation on real models: RGB-style and SQuAD-style gold files, through `newsqa eval`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.eval.summary import SUMMARY_KEYS
from tests.conftest import GOLD

pytestmark = pytest.mark.slow


def _eval(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "qa.cli", "eval", "--out", str(out), *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "report.md").is_file()
    return json.loads((out / "results.json").read_text())


def test_rgb_eval_with_answers_on_real_models(tmp_path: Path) -> None:
    results = _eval(tmp_path, "--questions", str(GOLD / "rgb_sample.jsonl"), "--limit", "3")
    summary = results["summary"]
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["n_questions"] == 3
    assert summary["hit@5"] >= 2 / 3, "positive passages are found among the negatives"
    assert summary["invalid_citations"] == 0
    assert summary["answer_accuracy"] is not None and summary["ttft_p50_s"] > 0
    assert len(results["questions"]) == 3 and all("verdict" in q for q in results["questions"])
    assert list((tmp_path / "out").glob("*.png")), "plots are written"


def test_squad_eval_retrieval_only(tmp_path: Path) -> None:
    results = _eval(tmp_path, "--questions", str(GOLD / "squad_sample.json"), "--retrieval-only")
    summary = results["summary"]
    assert summary["n_questions"] == 8
    assert summary["hit@1"] >= 0.5 and summary["answer_accuracy"] is None

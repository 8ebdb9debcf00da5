"""Command-line conventions: help on every argument, `--json` on every command that reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from qa.cli import _parser, main
from tests.conftest import FAST_EMBEDDING, GOLD, SAMPLES


def _parsers(parser: argparse.ArgumentParser, name: str = "newsqa") -> list[tuple[str, argparse.ArgumentParser]]:
    """`parser` and every sub-command parser below it, with their command lines."""
    found = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                found += _parsers(sub, f"{name} {command}")
    return found


def test_every_argument_of_every_command_has_help() -> None:
    missing = [
        f"{name}: {action.option_strings or action.dest}"
        for name, parser in _parsers(_parser())
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()
    ]
    assert missing == []


def test_every_command_that_reports_takes_json() -> None:
    without = [
        name
        for name, parser in _parsers(_parser())
        if name not in ("newsqa", "newsqa feeds", "newsqa models", "newsqa serve")
        and "--json" not in {option for action in parser._actions for option in action.option_strings}
    ]
    assert without == []


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_delete_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = ["--index", str(tmp_path / "index"), "--embedding-model", FAST_EMBEDDING]
    assert _run(capsys, "ingest", str(SAMPLES / "en-vision-pro-launch-2024.md"), *index)[0] == 0
    code, out, err = _run(capsys, "delete", "en-vision-pro-launch-2024", "no-such-article", "--json", *index)
    assert code == 1 and "no article with id 'no-such-article'" in err
    assert json.loads(out) == {"deleted": ["en-vision-pro-launch-2024"], "missing": ["no-such-article"]}


def test_models_list_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "models", "list", "--json", "--models-dir", str(tmp_path))
    models = json.loads(out)
    assert code == 0 and {"embeddinggemma-300m", "all-minilm-l6-v2"} <= {model["name"] for model in models}
    assert all(not model["present"] and model["path"].startswith(str(tmp_path)) for model in models)
    assert {"kind", "verified", "size_bytes", "description", "licence"} <= set(models[0])


def test_eval_summary_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    code, out, _ = _run(
        capsys,
        "eval",
        "--questions",
        str(GOLD / "squad_sample.json"),
        "--retrieval-only",
        "--json",
        "--out",
        str(out_dir),
        "--embedding-model",
        FAST_EMBEDDING,
    )
    report = json.loads(out)
    assert code == 0 and report["questions"] == report["run"] == 8 and report["resumed"] == 0
    assert 0 <= report["summary"]["hit@1"] <= 1 and report["summary"]["answer_accuracy"] is None
    assert report["report"] == str(out_dir / "report.md") and Path(report["results"]).is_file()
    assert report["baselines"] == {}

"""Settings: typed `name=value` assignments from the command line, and fail-fast validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.cli import main
from qa.config import Settings
from qa.errors import ConfigError


def test_assignments_are_typed_like_the_defaults() -> None:
    settings = Settings().with_assignments(
        ["top_k=8", "min_score=0.4", "hybrid=true", "today=2024-03-20", "models-dir=/tmp/m"]
    )
    assert settings.top_k == 8 and settings.min_score == 0.4 and settings.hybrid is True
    assert settings.today == "2024-03-20" and settings.models_dir == Path("/tmp/m")


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("top_k", "name=value"),
        ("colour=blue", "name=value"),
        ("top_k=many", "takes a whole number"),
        ("hybrid=maybe", "takes true or false"),
        ("today=yesterday", "today must be a date"),
        ("top_k=0", "at least 1"),
    ],
)
def test_bad_assignments_say_what_is_wrong(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings().with_assignments([assignment])


def test_the_cli_reports_a_bad_setting_as_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["stats", "--index", str(tmp_path / "none"), "--set", "top_k=lots"])
    assert code == 1
    assert "top_k takes a whole number" in capsys.readouterr().err

"""Settings: one source (defaults, newsqa.toml, NEWSQA_<NAME>, options, --set), typed and validated early."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.cli import _parser, main
from qa.config import Settings, resolve_settings
from qa.errors import ConfigError
from qa.eval.config import EvalConfig


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


# -- one settings source: defaults < newsqa.toml < $NEWSQA_<NAME> < options < --set -----------------


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No NEWSQA_ variables from the outside, and a working folder without a newsqa.toml."""
    for name in [name for name in os.environ if name.startswith("NEWSQA_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_every_setting_comes_from_the_file_the_environment_or_the_command(clean_env: pytest.MonkeyPatch) -> None:
    Path("newsqa.toml").write_text('top_k = 9\ncontext_passages = 2\nhybrid = true\nmodels_dir = "~/m"\n')
    clean_env.setenv("NEWSQA_TOP_K", "7")
    clean_env.setenv("NEWSQA_TODAY", "2024-03-20")
    clean_env.setenv("NEWSQA_MIN_SCORE", "0.25")
    settings, origins = resolve_settings({"min_score": 0.5, "llm_model": None}, ["context_passages=3"])
    assert (settings.top_k, settings.today, settings.hybrid, settings.min_score) == (7, "2024-03-20", True, 0.5)
    assert settings.context_passages == 3 and settings.models_dir == Path("~/m").expanduser()
    assert origins["top_k"] == "$NEWSQA_TOP_K" and origins["hybrid"].endswith("newsqa.toml")
    assert origins["min_score"] == "command-line option" and origins["context_passages"] == "--set"
    assert origins["llm_model"] == "default"


def test_a_bad_value_names_the_setting_and_where_it_came_from(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("NEWSQA_TOP_K", "lots")
    with pytest.raises(ConfigError, match=r"top_k takes a whole number, got 'lots' \(from \$NEWSQA_TOP_K\)"):
        Settings.load()
    clean_env.delenv("NEWSQA_TOP_K")
    Path("newsqa.toml").write_text("topk = 3\n")
    with pytest.raises(ConfigError, match="unknown settings topk"):
        Settings.load()
    clean_env.setenv("NEWSQA_CONFIG", "missing.toml")
    with pytest.raises(ConfigError, match=r"missing\.toml does not exist"):
        Settings.load()


def test_the_assistant_and_the_eval_read_the_same_sources(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    Path("newsqa.toml").write_text("min_support = 0.0\ncontext_passages = 3\n")
    clean_env.setenv("NEWSQA_TOP_K", "3")
    assistant = Assistant.open(tmp_path / "index")
    assert assistant.settings.top_k == 3 and assistant.settings.min_support == 0.0
    config = EvalConfig(questions=tmp_path / "q.jsonl")
    assert config.settings.top_k == 3 and config.settings.min_support == 0.0


def test_newsqa_config_shows_values_and_origins_and_hides_secrets(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("NEWSQA_LLM_BACKEND", "openai")
    clean_env.setenv("NEWSQA_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    clean_env.setenv("NEWSQA_LLM_API_KEY", "sk-very-secret")
    clean_env.setenv("NEWSQA_AUTH", "alice:s3cret")
    assert main(["config", "--json", "--set", "top_k=6"]) == 0
    output = capsys.readouterr().out
    document = json.loads(output)
    assert document["settings"]["llm_backend"] == {"value": "openai", "from": "$NEWSQA_LLM_BACKEND"}
    assert document["settings"]["top_k"] == {"value": 6, "from": "--set"}
    assert document["secrets"]["NEWSQA_LLM_API_KEY"].startswith("set (14 characters")
    assert "sk-very-secret" not in output and "s3cret" not in output


def test_serving_honours_gradio_host_and_port_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    clean_env.setenv("GRADIO_SERVER_PORT", "8123")
    args = _parser().parse_args(["serve"])
    assert (args.host, args.port) == ("0.0.0.0", 8123)
    assert _parser().parse_args(["serve", "--host", "127.0.0.1"]).host == "127.0.0.1"

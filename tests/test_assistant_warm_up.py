"""Both models loaded side by side: the embedder loads while the LLM does, and an LLM that fails to load says so in
the caller's thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import NewsqaError


def test_warm_up_loads_the_embedder_and_raises_the_llm_error_in_the_caller(
    tmp_path: Path, fast_settings: Settings
) -> None:
    settings = fast_settings.with_overrides(llm_model=str(tmp_path / "missing.gguf"))
    assistant = Assistant(tmp_path / "index", settings)
    with pytest.raises(NewsqaError, match=r"missing\.gguf"):
        assistant.warm_up()
    assert assistant.embedder._model is not None, "the embedder was not loaded beside the failing LLM"

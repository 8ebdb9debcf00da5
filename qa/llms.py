"""The language model newsqa answers with: the local llama.cpp model or an OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from qa.config import Settings
from qa.llm import LocalLLM
from qa.remote_llm import OpenAICompatibleLLM


class LLM(Protocol):
    """What the answering stages need from a language model."""

    @property
    def model_name(self) -> str:
        """The model's name, for stats and reports."""

    def warm_up(self) -> None:
        """Load the model or check the endpoint, before the first question."""

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` (exact or a conservative estimate), for budgeting the prompt."""

    def stream_messages(self, messages: Sequence[Any], usage: dict[str, int] | None = None) -> Iterator[str]:
        """Text deltas of the reply to chat messages ((role, content) pairs or llama-index `ChatMessage`s);
        `usage` receives the token counts the model reports (`prompt_tokens`, `completion_tokens`), if any."""

    def yes_probability(self, messages: Sequence[Any]) -> float:
        """The model's probability that its reply to `messages` starts with "yes" rather than "no"."""

    def to_dict(self) -> dict[str, Any]:
        """Plain config, without secrets."""


def make_llm(settings: Settings) -> LocalLLM | OpenAICompatibleLLM:
    """The LLM `settings.llm_backend` selects, configured from `settings`."""
    if settings.llm_backend == "openai":
        assert settings.llm_base_url is not None  # Settings validates this
        return OpenAICompatibleLLM(
            settings.llm_base_url,
            settings.llm_api_model,
            api_key_env=settings.llm_api_key_env,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            timeout_s=settings.llm_timeout_s,
            retries=settings.llm_retries,
        )
    return LocalLLM(
        settings.llm_model,
        settings.models_dir,
        context_window=settings.context_window,
        max_new_tokens=settings.max_new_tokens,
        threads=settings.threads,
        temperature=settings.temperature,
        judge=settings.min_support > 0,
    )

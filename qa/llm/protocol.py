"""What newsqa needs from a language model, whether local (llama.cpp) or behind an OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol


class LLM(Protocol):
    """What the answering stages need from a language model."""

    @property
    def model_name(self) -> str:
        """The model's name, for stats and reports."""

    def warm_up(self) -> None:
        """Load the model or check the endpoint, before the first question."""

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` (exact or a conservative estimate), for budgeting the prompt."""

    def prompt_tokens(self, messages: Sequence[Any]) -> int:
        """Tokens of the whole prompt for chat `messages`, turn markers included (exact or an estimate)."""

    def stream_messages(self, messages: Sequence[Any], usage: dict[str, int] | None = None) -> Iterator[str]:
        """Text deltas of the reply to chat messages ((role, content) pairs or llama-index `ChatMessage`s);
        `usage` receives the token counts the model reports (`prompt_tokens`, `completion_tokens`), if any."""

    def yes_probability(self, messages: Sequence[Any]) -> float:
        """The model's probability that its reply to `messages` starts with "yes" rather than "no"."""

    def to_dict(self) -> dict[str, Any]:
        """Plain config, without secrets."""


def role_and_content(message: Any) -> tuple[str, str]:
    """A chat message ((role, content) pair or llama-index `ChatMessage`) as plain (role, content) strings."""
    if hasattr(message, "role"):
        return str(getattr(message.role, "value", message.role)), str(message.content or "")
    role, content = message
    return str(role), str(content)

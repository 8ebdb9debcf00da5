"""The language models newsqa answers with: the local llama.cpp model or an OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qa.llm.factory import make_llm
from qa.llm.local import LocalLLM
from qa.llm.protocol import LLM

if TYPE_CHECKING:
    from qa.llm.remote import OpenAICompatibleLLM


def __getattr__(name: str) -> Any:
    # The OpenAI client library takes seconds to import; only the openai backend needs it.
    if name == "OpenAICompatibleLLM":
        from qa.llm.remote import OpenAICompatibleLLM

        return OpenAICompatibleLLM
    raise AttributeError(f"module 'qa.llm' has no attribute {name!r}")


__all__ = ["LLM", "LocalLLM", "OpenAICompatibleLLM", "make_llm"]

"""The language models newsqa answers with: the local llama.cpp model or an OpenAI-compatible endpoint."""

from __future__ import annotations

from qa.llm.factory import make_llm
from qa.llm.local import LocalLLM
from qa.llm.protocol import LLM
from qa.llm.remote import OpenAICompatibleLLM

__all__ = ["LLM", "LocalLLM", "OpenAICompatibleLLM", "make_llm"]

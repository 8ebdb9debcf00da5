"""The language model `settings` select: the local llama.cpp model or an OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.config import Settings
from qa.llm.local import LocalLLM

if TYPE_CHECKING:
    from qa.llm.remote import OpenAICompatibleLLM


def make_llm(settings: Settings) -> LocalLLM | OpenAICompatibleLLM:
    """The LLM `settings.llm_backend` selects, configured from `settings`."""
    if settings.llm_backend == "openai":
        assert settings.llm_base_url is not None  # Settings validates this
        from qa.llm.remote import OpenAICompatibleLLM  # seconds to import; only this backend needs it

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
        n_batch=settings.llm_batch,
        n_ubatch=settings.llm_ubatch,
        mmap=settings.llm_mmap,
    )

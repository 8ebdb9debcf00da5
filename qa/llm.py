"""The local llama.cpp language model, driven through llama-index's `LlamaCPP`."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qa.errors import LLMError, ModelError

CHATML_STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]


def chatml(messages: Sequence[Any]) -> str:
    """Messages (llama-index `ChatMessage`s or (role, content) pairs) in ChatML, ready for the assistant's turn."""
    parts = []
    for message in messages:
        role, content = (message.role.value, message.content) if hasattr(message, "role") else message
        parts.append(f"<|im_start|>{role}\n{content}<|im_end|>\n")
    return "".join(parts) + "<|im_start|>assistant\n"


def chatml_completion(prompt: str) -> str:
    """A bare completion prompt as one ChatML user turn."""
    return chatml([("user", prompt)])


class LocalLLM:
    """A GGUF chat model run on the CPU by llama-cpp-python; loaded lazily, one generation at a time."""

    def __init__(
        self,
        model: str,
        models_dir: Path,
        context_window: int = 2048,
        max_new_tokens: int = 160,
        threads: int = 2,
        temperature: float = 0.0,
    ) -> None:
        if context_window < 256:
            raise ModelError(f"context_window must be at least 256 tokens, got {context_window}")
        self.model_name = model
        self.models_dir = Path(models_dir)
        self.context_window = context_window
        self.max_new_tokens = max_new_tokens
        self.threads = threads
        self.temperature = temperature
        self._llm: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model (once)."""
        if self._llm is not None:
            return
        from qa.models import resolve

        path = resolve(self.model_name, "llm", self.models_dir)
        from llama_index.llms.llama_cpp import LlamaCPP

        try:
            self._llm = LlamaCPP(
                model_path=str(path),
                temperature=self.temperature,
                max_new_tokens=self.max_new_tokens,
                context_window=self.context_window,
                generate_kwargs={"stop": CHATML_STOP, "top_k": 1 if self.temperature == 0 else 40},
                model_kwargs={"n_threads": self.threads, "n_batch": 512, "verbose": False},
                messages_to_prompt=chatml,
                completion_to_prompt=chatml_completion,
                verbose=False,
            )
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"could not load the LLM {self.model_name!r} from {path}: {error}") from error

    @property
    def llama_index(self) -> Any:
        """The loaded llama-index `LlamaCPP` (for llama-index query engines)."""
        self.warm_up()
        return self._llm

    def count_tokens(self, text: str) -> int:
        """How many tokens the model sees for `text`."""
        return len(self.llama_index._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, prompt: str) -> Iterator[str]:
        """Text deltas for a fully formatted (ChatML) prompt; holds the model for the whole generation."""
        llm = self.llama_index
        with self._lock:
            try:
                for response in llm.stream_complete(prompt, formatted=True):
                    if response.delta:
                        yield response.delta
            except (RuntimeError, ValueError) as error:
                raise LLMError(f"the local model failed while answering: {error}") from error

    def stream_messages(self, messages: Sequence[Any]) -> Iterator[str]:
        """Text deltas of the reply to chat `messages`, formatted as ChatML (see `chatml`)."""
        return self.stream(chatml(messages))

    def to_dict(self) -> dict[str, Any]:
        """Plain config."""
        return {
            "model": self.model_name,
            "models_dir": str(self.models_dir),
            "context_window": self.context_window,
            "max_new_tokens": self.max_new_tokens,
            "threads": self.threads,
            "temperature": self.temperature,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalLLM:
        """The inverse of `to_dict`."""
        return cls(**{**data, "models_dir": Path(data["models_dir"])})

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
        judge: bool = False,
    ) -> None:
        if context_window < 256:
            raise ModelError(f"context_window must be at least 256 tokens, got {context_window}")
        self.model_name = model
        self.models_dir = Path(models_dir)
        self.context_window = context_window
        self.max_new_tokens = max_new_tokens
        self.threads = threads
        self.temperature = temperature
        self.judge = judge
        self._llm: Any = None
        self._yes_no_ids: tuple[list[int], list[int]] | None = None
        self._judge_model: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model (once), and the context for yes/no checks when `judge` is set."""
        if self._llm is None:
            self._load()
        if self.judge:
            self._judge()

    def _load(self) -> None:
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
        if self._llm is None:
            self._load()
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

    def stream_messages(self, messages: Sequence[Any], usage: dict[str, int] | None = None) -> Iterator[str]:
        """Text deltas of the reply to chat `messages`, formatted as ChatML (see `chatml`). `usage` stays
        empty: `count_tokens` is exact for the local model."""
        return self.stream(chatml(messages))

    def yes_probability(self, messages: Sequence[Any]) -> float:
        """The model's probability that its reply to chat `messages` starts with "yes" rather than "no"."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        model = self._judge()
        if self._yes_no_ids is None:
            yes, no = (
                [model.tokenize(word.encode("utf-8"), add_bos=False)[0] for word in words]
                for words in (("yes", "Yes"), ("no", "No"))
            )
            self._yes_no_ids = (yes, no)
        yes_ids, no_ids = self._yes_no_ids
        seen: list[np.ndarray] = []

        def capture(_ids: Any, scores: np.ndarray) -> np.ndarray:
            seen.append(np.array(scores, dtype=np.float64))
            return scores

        with self._lock:
            try:
                model.create_completion(
                    chatml(messages), max_tokens=1, temperature=0.0, logits_processor=LogitsProcessorList([capture])
                )
            except (RuntimeError, ValueError) as error:
                raise LLMError(f"the local model failed while checking an answer: {error}") from error
        logits = seen[0]
        weights = np.exp(logits[yes_ids + no_ids] - logits.max())
        yes, no = weights[: len(yes_ids)].sum(), weights[len(yes_ids) :].sum()
        return float(yes / (yes + no)) if yes + no > 0 else 0.5

    def _judge(self) -> Any:
        """A second llama.cpp instance of the same model for yes/no checks, so that the answering context
        keeps its cached system-prompt prefix between questions; it costs one more copy of the weights in
        memory (llama.cpp repacks them per instance on AVX-512 CPUs)."""
        if self._judge_model is None:
            from llama_cpp import Llama

            path = self.llama_index._model.model_path
            try:
                self._judge_model = Llama(
                    model_path=path, n_ctx=self.context_window, n_threads=self.threads, n_batch=512, verbose=False
                )
            except (ValueError, RuntimeError) as error:
                raise ModelError(f"could not load the LLM {self.model_name!r} from {path}: {error}") from error
        return self._judge_model

    def to_dict(self) -> dict[str, Any]:
        """Plain config."""
        return {
            "model": self.model_name,
            "models_dir": str(self.models_dir),
            "context_window": self.context_window,
            "max_new_tokens": self.max_new_tokens,
            "threads": self.threads,
            "temperature": self.temperature,
            "judge": self.judge,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalLLM:
        """The inverse of `to_dict`."""
        return cls(**{**data, "models_dir": Path(data["models_dir"])})

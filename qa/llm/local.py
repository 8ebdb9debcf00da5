"""The local llama.cpp language model, prompted in the chat template its GGUF carries."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qa.errors import LLMError, ModelError
from qa.llm.protocol import role_and_content

TEMPLATE_KEY = "tokenizer.chat_template"


class ChatTemplate:
    """How one GGUF model wants a conversation written, and the tokens that end its turn.

    The template is the GGUF's own `tokenizer.chat_template` (Jinja, rendered by llama-cpp-python's
    `Jinja2ChatFormatter`, as llama.cpp's chat handling does), unless the model registry names a llama.cpp
    built-in format `builtin` for that model (a GGUF that ships no template; or the default Qwen, whose
    template adds a default system turn to prompts without one, which moved the self-check's calibrated
    probabilities). `stop_tokens` are the model's end-of-turn and end-of-text tokens; llama.cpp ends a
    generation on them.
    """

    def __init__(self, model: Any, builtin: str = "") -> None:
        vocab = model._model
        self.bos = vocab.token_get_text(model.token_bos()) if model.token_bos() >= 0 else ""
        self.eos = vocab.token_get_text(model.token_eos()) if model.token_eos() >= 0 else ""
        ends = [model.token_eos(), vocab.token_eot()]
        self.stop_tokens = {vocab.token_get_text(token): token for token in ends if token >= 0}
        self.source: str = model.metadata.get(TEMPLATE_KEY, "")
        self.builtin = builtin
        self._formatter: Any = None
        if self.source and not builtin:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            self._formatter = Jinja2ChatFormatter(self.source, eos_token=self.eos, bos_token=self.bos)
        elif not self.builtin:
            raise ModelError(
                f"the GGUF {model.model_path} carries no chat template ({TEMPLATE_KEY}), so newsqa cannot tell how "
                "to prompt it; use an instruct (chat) GGUF, or a known model name (`newsqa models list`)"
            )

    def render(self, messages: Sequence[Any]) -> str:
        """The prompt for chat `messages`, ending where the assistant's reply begins."""
        pairs = [role_and_content(message) for message in messages]
        if self._formatter is not None:
            try:
                return self._formatter(messages=[{"role": r, "content": c} for r, c in pairs]).prompt
            except Exception as error:  # a template may raise anything (raise_exception, undefined names)
                raise LLMError(f"the model's chat template could not render the conversation: {error}") from error
        return _apply_builtin(self.builtin, pairs)


def _apply_builtin(name: str, pairs: list[tuple[str, str]]) -> str:
    """`pairs` written in llama.cpp's built-in chat format `name` (e.g. "gemma"), with the assistant's turn open."""
    import llama_cpp

    encoded = [(role.encode("utf-8"), content.encode("utf-8")) for role, content in pairs]
    chat = (llama_cpp.llama_chat_message * len(encoded))(
        *[llama_cpp.llama_chat_message(role=role, content=content) for role, content in encoded]
    )
    size = llama_cpp.llama_chat_apply_template(name.encode(), chat, len(encoded), True, None, 0)
    if size < 0:
        raise ModelError(f"llama.cpp has no built-in chat template named {name!r}")
    buffer = ctypes.create_string_buffer(size + 1)
    llama_cpp.llama_chat_apply_template(name.encode(), chat, len(encoded), True, buffer, size + 1)
    return buffer.raw[:size].decode("utf-8")


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
        n_batch: int = 512,
        n_ubatch: int = 512,
        mmap: bool = False,
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
        self.n_batch = n_batch
        self.n_ubatch = n_ubatch
        self.mmap = mmap
        self._model: Any = None
        self._template: ChatTemplate | None = None
        self._yes_no_ids: tuple[list[int], list[int]] | None = None
        self._judge_model: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model (once), and the context for yes/no checks when `judge` is set."""
        if self._model is None:
            self._load()
        if self.judge:
            self._judge()

    def _load(self) -> None:
        from qa.models import MODELS, resolve

        path = resolve(self.model_name, "llm", self.models_dir)
        spec = MODELS.get(self.model_name)
        self._model = self._open(path)
        self._template = ChatTemplate(self._model, spec.chat_format if spec else "")

    def _open(self, path: str) -> Any:
        from llama_cpp import Llama

        try:
            return Llama(model_path=path, n_ctx=self.context_window, **self._model_kwargs())
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"could not load the LLM {self.model_name!r} from {path}: {error}") from error

    def _model_kwargs(self) -> dict[str, Any]:
        """llama.cpp's settings for the answering context."""
        return {
            "n_threads": self.threads,
            "n_batch": self.n_batch,
            "n_ubatch": self.n_ubatch,
            # Without a mapping of the file, the weights llama.cpp repacks for this CPU are held once, not twice.
            "use_mmap": self.mmap,
            "verbose": False,
        }

    @property
    def model(self) -> Any:
        """The loaded llama-cpp-python `Llama` (the answering context)."""
        if self._model is None:
            self._load()
        return self._model

    @property
    def template(self) -> ChatTemplate:
        """The loaded model's chat template and stop tokens."""
        if self._template is None:
            self._load()
        assert self._template is not None
        return self._template

    def render(self, messages: Sequence[Any]) -> str:
        """The prompt the model sees for chat `messages`, in its own chat template."""
        return self.template.render(messages)

    def count_tokens(self, text: str) -> int:
        """How many tokens the model sees for `text`."""
        return len(self.model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def prompt_tokens(self, messages: Sequence[Any]) -> int:
        """How many tokens the prompt for chat `messages` takes."""
        return len(self._tokens(self.render(messages)))

    def _tokens(self, prompt: str) -> list[int]:
        # A template that writes the BOS token itself must not get a second one from the tokenizer.
        bos = self.template.bos
        return self.model.tokenize(prompt.encode("utf-8"), add_bos=not (bos and prompt.startswith(bos)), special=True)

    def stream(self, prompt: str, logit_bias: dict[int, float] | None = None) -> Iterator[str]:
        """Text deltas for a fully rendered prompt (see `render`); holds the model for the whole generation.
        `logit_bias` adds to the logits of the given token ids (to favour or forbid tokens).

        llama-cpp-python reuses the longest prefix of the previous prompt already in the context, so a
        fixed system prompt is evaluated once across questions."""
        model = self.model
        with self._lock:
            try:
                for chunk in model.create_completion(
                    self._tokens(prompt),
                    max_tokens=self.max_new_tokens,
                    temperature=self.temperature,
                    top_k=1 if self.temperature == 0 else 40,
                    stop=list(self.template.stop_tokens),
                    logit_bias=logit_bias,
                    stream=True,
                ):
                    delta = chunk["choices"][0]["text"]
                    if delta:
                        yield delta
            except (RuntimeError, ValueError) as error:
                raise LLMError(f"the local model failed while answering: {error}") from error

    def stream_messages(self, messages: Sequence[Any], usage: dict[str, int] | None = None) -> Iterator[str]:
        """Text deltas of the reply to chat `messages`, rendered in the model's chat template. `usage` stays
        empty: `count_tokens` is exact for the local model."""
        return self.stream(self.render(messages))

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
                    self._tokens(self.render(messages)),
                    max_tokens=1,
                    temperature=0.0,
                    logits_processor=LogitsProcessorList([capture]),
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
            self._judge_model = self._open(self.model.model_path)
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
            "n_batch": self.n_batch,
            "n_ubatch": self.n_ubatch,
            "mmap": self.mmap,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalLLM:
        """The inverse of `to_dict`."""
        return cls(**{**data, "models_dir": Path(data["models_dir"])})

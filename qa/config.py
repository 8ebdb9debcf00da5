"""All of newsqa's settings in one typed place."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from qa.errors import ConfigError

DEFAULT_EMBEDDING_MODEL = "embeddinggemma-300m"
DEFAULT_LLM_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"


def default_models_dir() -> Path:
    """Where `newsqa models fetch` puts model files: $NEWSQA_MODELS_DIR, else ~/.cache/newsqa/models."""
    env = os.environ.get("NEWSQA_MODELS_DIR")
    return Path(env) if env else Path.home() / ".cache" / "newsqa" / "models"


@dataclass(frozen=True)
class Settings:
    """How newsqa chunks, embeds, retrieves and answers.

    `embedding_model` and `llm_model` are either a name known to `qa.models` (fetched offline
    from PyPI packages), a local path, or (embeddings only) a model-hub id.
    """

    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    llm_model: str = DEFAULT_LLM_MODEL
    models_dir: Path = field(default_factory=default_models_dir)
    chunk_size: int = 100
    min_chunk_size: int = 25
    embed_batch_size: int = 16
    top_k: int = 5
    context_passages: int = 5
    context_tokens: int = 420
    min_score: float = 0.30
    max_new_tokens: int = 160
    context_window: int = 2048
    threads: int = max(1, min(os.cpu_count() or 1, 8))
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if self.chunk_size < 20:
            raise ConfigError(f"chunk_size must be at least 20 tokens, got {self.chunk_size}")
        if not 0 <= self.min_chunk_size < self.chunk_size:
            raise ConfigError(
                f"min_chunk_size must be between 0 and chunk_size ({self.chunk_size}), got {self.min_chunk_size}"
            )
        if self.context_tokens < 50:
            raise ConfigError(f"context_tokens must be at least 50, got {self.context_tokens}")
        if self.top_k < 1 or self.context_passages < 1:
            raise ConfigError("top_k and context_passages must be at least 1")
        if self.context_passages > self.top_k:
            raise ConfigError(f"context_passages ({self.context_passages}) cannot exceed top_k ({self.top_k})")
        if not -1.0 <= self.min_score <= 1.0:
            raise ConfigError(f"min_score is a cosine similarity in [-1, 1], got {self.min_score}")
        if self.max_new_tokens < 8:
            raise ConfigError(f"max_new_tokens must be at least 8, got {self.max_new_tokens}")

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Plain config (paths as strings)."""
        data = asdict(self)
        data["models_dir"] = str(self.models_dir)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Settings from plain config; unknown keys are an error, missing keys take defaults."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        values = dict(data)
        if "models_dir" in values:
            values["models_dir"] = Path(values["models_dir"])
        return cls(**values)

"""All of newsqa's settings in one typed place."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from qa.errors import ConfigError

DEFAULT_EMBEDDING_MODEL = "embeddinggemma-300m"
DEFAULT_LLM_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
EXTRACT_TIMEOUT_S = 10.0  # HTML extraction time per document; a page that takes longer is skipped


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
    embedding_backend: str = "openvino"  # or "openvino-int8" (needs nncf to export) or "torch"; see qa/embedding.py
    embedding_dimension: int = 0  # 0: the model's own; else keep that many leading components (Matryoshka)
    embed_titles: bool = True  # embed each passage with its article's title and date
    embedding_cache: bool = True  # reuse the vectors of passages already embedded (kept by content)
    embedding_cache_dir: str | None = None  # None: <index>/embcache; a shared folder lets rebuilt indexes reuse it
    ingest_batch_articles: int = 64  # ingestion saves after this many new or changed articles
    extract_timeout_s: float = EXTRACT_TIMEOUT_S  # per HTML document (file or web page); 0: no limit
    ann_threshold: int = 50_000  # past this many vectors the index switches from exact to approximate (IVF) search
    top_k: int = 5
    context_passages: int = 5
    context_tokens: int = 420
    min_score: float = 0.30
    min_support: float = 0.30  # the LLM self-check's P(yes) below which an answer becomes an abstention; 0: off
    translate_quotes: bool = False  # one more LLM call per cited passage in another language (~3–5 s each)
    hybrid: bool = False  # BM25 fused with dense ranks; measured no better than dense alone on the gold set
    today: str | None = None  # YYYY-MM-DD that "latest", "last week"… are relative to; None: the real date
    max_new_tokens: int = 160
    context_window: int = 2048
    threads: int = max(1, min(os.cpu_count() or 1, 8))
    temperature: float = 0.0
    llm_backend: str = "local"  # "local" (llama.cpp, `llm_model`) or "openai" (an OpenAI-compatible endpoint)
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:8080/v1
    llm_api_model: str | None = None  # None: the endpoint's first listed model
    llm_api_key_env: str = "NEWSQA_LLM_API_KEY"  # the variable holding the key; the key itself is never stored
    llm_timeout_s: float = 60.0
    llm_retries: int = 2

    def __post_init__(self) -> None:
        if self.chunk_size < 20:
            raise ConfigError(f"chunk_size must be at least 20 tokens, got {self.chunk_size}")
        if not 0 <= self.min_chunk_size < self.chunk_size:
            raise ConfigError(
                f"min_chunk_size must be between 0 and chunk_size ({self.chunk_size}), got {self.min_chunk_size}"
            )
        if self.ingest_batch_articles < 1:
            raise ConfigError(f"ingest_batch_articles must be at least 1, got {self.ingest_batch_articles}")
        if self.extract_timeout_s < 0:
            raise ConfigError(f"extract_timeout_s must be 0 (no limit) or positive, got {self.extract_timeout_s}")
        if self.ann_threshold < 1000:
            raise ConfigError(f"ann_threshold must be at least 1000 vectors, got {self.ann_threshold}")
        if self.embedding_backend not in ("torch", "openvino", "openvino-int8"):
            raise ConfigError(
                f"embedding_backend must be 'torch', 'openvino' or 'openvino-int8', got {self.embedding_backend!r}"
            )
        if self.embedding_dimension < 0:
            raise ConfigError(f"embedding_dimension must be 0 (full size) or positive, got {self.embedding_dimension}")
        if self.context_tokens < 50:
            raise ConfigError(f"context_tokens must be at least 50, got {self.context_tokens}")
        if self.top_k < 1 or self.context_passages < 1:
            raise ConfigError("top_k and context_passages must be at least 1")
        if self.context_passages > self.top_k:
            raise ConfigError(f"context_passages ({self.context_passages}) cannot exceed top_k ({self.top_k})")
        if not 0.0 <= self.min_support < 1.0:
            raise ConfigError(f"min_support is a probability in [0, 1) (0: no self-check), got {self.min_support}")
        if not -1.0 <= self.min_score <= 1.0:
            raise ConfigError(f"min_score is a cosine similarity in [-1, 1], got {self.min_score}")
        if self.today is not None:
            try:
                date.fromisoformat(self.today)
            except ValueError:
                raise ConfigError(f"today must be a date like 2025-03-14, got {self.today!r}") from None
        if self.max_new_tokens < 8:
            raise ConfigError(f"max_new_tokens must be at least 8, got {self.max_new_tokens}")
        self._check_llm_backend()

    def _check_llm_backend(self) -> None:
        if self.llm_backend not in ("local", "openai"):
            raise ConfigError(f"llm_backend must be 'local' or 'openai', got {self.llm_backend!r}")
        if self.llm_backend == "openai" and not self.llm_base_url:
            raise ConfigError(
                "the openai LLM backend needs llm_base_url (--llm-base-url or $NEWSQA_LLM_BASE_URL), "
                "e.g. http://127.0.0.1:8080/v1"
            )
        if self.llm_base_url and not self.llm_base_url.startswith(("http://", "https://")):
            raise ConfigError(f"llm_base_url must start with http:// or https://, got {self.llm_base_url!r}")
        if not self.llm_api_key_env.replace("_", "").isalnum():
            raise ConfigError(f"llm_api_key_env names an environment variable, got {self.llm_api_key_env!r}")
        if self.llm_timeout_s <= 0:
            raise ConfigError(f"llm_timeout_s must be a positive number of seconds, got {self.llm_timeout_s}")
        if self.llm_retries < 0:
            raise ConfigError(f"llm_retries must be 0 or more, got {self.llm_retries}")

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

    def with_assignments(self, assignments: list[str]) -> Settings:
        """A copy with `name=value` assignments applied (values typed like the defaults: 0.4, 8, true, text)."""
        types = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        changes: dict[str, Any] = {}
        for assignment in assignments:
            name, sep, raw = assignment.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in types:
                known = ", ".join(sorted(types))
                raise ConfigError(f"expected a setting as name=value with a name among {known}; got {assignment!r}")
            changes[name] = _typed(name, raw.strip(), types[name])
        return replace(self, **changes)


def _typed(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            if raw.lower() not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
                raise ValueError(raw)
            return raw.lower() in {"true", "1", "yes", "on"}
        if kind in (int, float):
            return kind(raw)
        if issubclass(kind, Path):
            return Path(raw).expanduser()
    except ValueError:
        expected = {bool: "true or false", int: "a whole number", float: "a number"}.get(kind, kind.__name__)
        raise ConfigError(f"setting {name} takes {expected}, got {raw!r}") from None
    return None if raw.lower() in {"", "none"} else raw

"""All of newsqa's settings in one typed place, and where they come from: defaults, `newsqa.toml`, `NEWSQA_<NAME>`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, get_args, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from qa.errors import ConfigError

DEFAULT_EMBEDDING_MODEL = "embeddinggemma-300m"
DEFAULT_LLM_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
DEFAULT_INDEX = "index/news"
INDEX_ENV = "NEWSQA_INDEX"  # the index folder is chosen per command, not a setting


def default_index() -> str:
    """The index folder commands use without --index: $NEWSQA_INDEX, else index/news."""
    return os.environ.get(INDEX_ENV) or DEFAULT_INDEX


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
    embed_batch_tokens: int = 0  # >0: OpenVINO batches hold this many tokens (padding counted) instead of a count
    embedding_backend: str = "openvino"  # or "openvino-int8" (needs nncf to export) or "torch"; an index keeps its own
    embedding_dimension: int = 0  # 0: the model's own; else keep that many leading components (Matryoshka)
    embed_titles: bool = True  # embed each passage with its article's title and date (an index keeps its own)
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
    decompose: bool = True  # bridge questions get a second retrieval; totals/differences are computed in code
    translate_quotes: bool = False  # one more LLM call per cited passage in another language (~3–5 s each)
    hybrid: bool = False  # BM25 fused with dense ranks; measured no better than dense alone on the gold set
    today: str | None = None  # YYYY-MM-DD that "latest", "last week"… are relative to; None: the real date
    max_new_tokens: int = 160
    context_window: int = 2048
    threads: int = max(1, min(os.cpu_count() or 1, 8))
    llm_batch: int = 512  # llama.cpp n_batch: prompt tokens evaluated per call
    llm_ubatch: int = 512  # llama.cpp n_ubatch: the physical batch within it
    llm_mmap: bool = False  # map the GGUF file instead of reading it: ~0.6 GB more RSS per model copy on this CPU
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
        if self.embed_batch_tokens < 0:
            raise ConfigError(f"embed_batch_tokens must be 0 (batch by count) or more, got {self.embed_batch_tokens}")
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
        if not 1 <= self.llm_ubatch <= self.llm_batch:
            raise ConfigError(f"llm_ubatch must be between 1 and llm_batch ({self.llm_batch}), got {self.llm_ubatch}")
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

    def with_assignments(self, assignments: Sequence[str]) -> Settings:
        """A copy with `name=value` assignments applied (values typed like the defaults: 0.4, 8, true, text)."""
        raw: dict[str, str] = {}
        for assignment in assignments:
            name, sep, value = assignment.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in _NAMES:
                known = ", ".join(_NAMES)
                raise ConfigError(f"expected a setting as name=value with a name among {known}; got {assignment!r}")
            raw[name] = value.strip()
        return replace(self, **_typed(raw, dict.fromkeys(raw, "--set")))

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        assignments: Sequence[str] = (),
        config_file: Path | None = None,
    ) -> Settings:
        """The effective settings: defaults, then `newsqa.toml`, then `NEWSQA_<NAME>` variables, then `overrides`
        (None values ignored), then `name=value` assignments. What the CLI, the web app and the eval all use."""
        return resolve_settings(overrides, assignments, config_file)[0]


# -- where settings come from -------------------------------------------------------------------

ENV_PREFIX = "NEWSQA_"
CONFIG_FILE = "newsqa.toml"
CONFIG_FILE_ENV = "NEWSQA_CONFIG"  # another path for the settings file
_NAMES = tuple(f.name for f in fields(Settings))
_OPTIONAL = frozenset(name for name, hint in get_type_hints(Settings).items() if type(None) in get_args(hint))
_EXPECTED = {"int_parsing": "a whole number", "float_parsing": "a number", "bool_parsing": "true or false"}


def _source_models() -> tuple[type[BaseSettings], type[BaseModel]]:
    """Pydantic models with Settings' fields: one reads the sources, the other types what they hold."""
    hints = get_type_hints(Settings)
    specs: dict[str, Any] = {name: (hints[name], None) for name in _NAMES}
    reader = create_model("NewsqaSources", __base__=BaseSettings, **specs)
    reader.model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_parse_none_str="none", extra="ignore")
    typed = create_model("NewsqaValues", __config__=ConfigDict(extra="forbid"), **specs)
    return reader, typed


_READER, _TYPED = _source_models()


def config_file_path(config_file: Path | None = None) -> Path:
    """The settings file: `config_file`, else $NEWSQA_CONFIG, else `newsqa.toml` in the working folder."""
    return Path(config_file or os.environ.get(CONFIG_FILE_ENV) or CONFIG_FILE).expanduser()


def _typed(raw: Mapping[str, Any], origins: Mapping[str, str]) -> dict[str, Any]:
    """Values from the sources typed like Settings' fields; ConfigError naming the setting and where it came from."""
    # "none" or nothing clears a setting that may be unset (`--set today=none`, NEWSQA_TODAY=).
    raw = {k: None if k in _OPTIONAL and str(v).lower() in ("", "none") else v for k, v in raw.items()}
    try:
        values = _TYPED.model_validate(raw).model_dump(include=set(raw))
    except ValidationError as error:
        problem = error.errors()[0]
        name = str(problem["loc"][0])
        expected = _EXPECTED.get(problem["type"], problem["msg"].lower())
        raise ConfigError(
            f"setting {name} takes {expected}, got {raw.get(name)!r} (from {origins.get(name, 'the call')})"
        ) from None
    return {name: Path(value).expanduser() if isinstance(value, Path) else value for name, value in values.items()}


def resolve_settings(
    overrides: Mapping[str, Any] | None = None, assignments: Sequence[str] = (), config_file: Path | None = None
) -> tuple[Settings, dict[str, str]]:
    """The effective settings and, for each one, where its value came from."""
    path = config_file_path(config_file)
    from_file: dict[str, Any] = {}
    if path.is_file():
        try:
            from_file = TomlConfigSettingsSource(_READER, toml_file=path)()
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read the settings file {path}: {error}") from None
        unknown = sorted(set(from_file) - set(_NAMES))
        if unknown:
            raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(_NAMES)}")
    elif config_file is not None or os.environ.get(CONFIG_FILE_ENV):
        raise ConfigError(f"the settings file {path} does not exist; create it or unset ${CONFIG_FILE_ENV}")
    from_env = {name: value for name, value in EnvSettingsSource(_READER)().items() if name in _NAMES}
    origins = {name: "default" for name in _NAMES}
    origins.update(dict.fromkeys(from_file, str(path)))
    origins.update({name: f"${ENV_PREFIX}{name.upper()}" for name in from_env})
    values = _typed({**from_file, **from_env}, origins)
    explicit = {name: value for name, value in (overrides or {}).items() if value is not None}
    unknown = sorted(set(explicit) - set(_NAMES))
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(unknown)}; known: {', '.join(_NAMES)}")
    values.update(explicit)
    origins.update(dict.fromkeys(explicit, "command-line option"))
    settings = Settings(**values).with_assignments(assignments)
    for assignment in assignments:
        origins[assignment.partition("=")[0].strip().replace("-", "_")] = "--set"
    return settings, origins

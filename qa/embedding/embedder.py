"""Sentence-transformers embeddings for queries and article chunks, loaded lazily, with a content cache."""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.embedding.cache import EmbeddingCache, EmbeddingCacheLike, cache_key
from qa.errors import ModelError

if TYPE_CHECKING:
    from qa.config import Settings

BACKENDS = ("torch", "openvino", "openvino-int8")


class EmbeddingBackendWarning(UserWarning):
    """The requested backend could not be used; the PyTorch one took its place."""


class Embedder:
    """Encodes questions and passages into normalised float32 vectors with a sentence-transformers model.

    Models that define `query`/`document` prompts (EmbeddingGemma) get them; a `title: none` document
    prompt is filled with each chunk's title and date (unless `titles` is False), so passages carry
    their article's context.

    `backend` is "torch" (sentence-transformers on PyTorch), "openvino" (the model exported once to
    OpenVINO IR beside the fetched models, then run by OpenVINO) or "openvino-int8" (the same with int8
    weights and int8 matrix products; exporting needs the `nncf` package); if an OpenVINO backend fails,
    a warning, and PyTorch.
    `batch_tokens` > 0 batches the OpenVINO backend by tokens (rows × longest row) instead of `batch_size` texts.
    `dimension` > 0 keeps only that many leading components (Matryoshka truncation), renormalised.
    With `cache_dir`, passage vectors are kept by content there and reused; `embedded` and `reused`
    count passages encoded and passages taken from the cache.
    """

    def __init__(
        self,
        model: str,
        models_dir: Path,
        batch_size: int = 16,
        device: str = "cpu",
        backend: str = "torch",
        dimension: int = 0,
        titles: bool = True,
        cache_dir: Path | None = None,
        batch_tokens: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ModelError(f"batch_size must be at least 1, got {batch_size}")
        if backend not in BACKENDS:
            raise ModelError(f"embedding backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if dimension < 0:
            raise ModelError(f"embedding dimension must be 0 (the model's own) or positive, got {dimension}")
        self.model_name = model
        self.models_dir = Path(models_dir)
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.device = device
        self.backend = backend
        self.truncate_to = dimension
        self.titles = titles
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.cache: EmbeddingCacheLike | None = EmbeddingCache(self.cache_dir) if self.cache_dir is not None else None
        self.embedded = 0
        self.reused = 0
        self.active_backend: str | None = None
        self._model: Any = None
        self._prompts: dict[str, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, manifest: dict[str, Any] | None = None) -> Embedder:
        """The embedder for an index: `settings` choose, except that an existing index (its `manifest`)
        fixes the model and the vector dimension its vectors were made with, and the backend and titles flag
        when it records them (an index made before they were recorded leaves both to `settings`).
        The cache is `settings.embedding_cache_dir` when set; otherwise the caller gives the index's own
        (its backend's `embedding_cache()`)."""
        recorded = (manifest or {}).get("embedder") or {}
        dimension = settings.embedding_dimension
        if manifest is not None:
            dimension = int(manifest["dimension"])  # truncating to the model's own size changes nothing
        cache_dir = None
        if settings.embedding_cache and settings.embedding_cache_dir:
            cache_dir = Path(settings.embedding_cache_dir).expanduser()
        return cls(
            (manifest or {}).get("embedding_model", settings.embedding_model),
            settings.models_dir,
            settings.embed_batch_size,
            backend=recorded.get("backend", settings.embedding_backend),
            dimension=dimension,
            titles=recorded.get("titles", settings.embed_titles),
            cache_dir=cache_dir,
            batch_tokens=settings.embed_batch_tokens,
        )

    def record(self) -> dict[str, Any]:
        """What an index records of the embedder that made its vectors, beside the model and dimension
        (read back by `from_settings`): the backend and whether titles are embedded with passages."""
        return {"backend": self.backend, "titles": self.titles}

    # -- loading -----------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the model (once); the OpenVINO backend exports it first if it has no current export."""
        if self._model is not None:
            return
        from qa.models import resolve

        location = resolve(self.model_name, "embedding", self.models_dir)
        torch_model = None
        if self.backend.startswith("openvino"):
            from qa.embedding import openvino_backend as ov

            weights = "int8" if self.backend == "openvino-int8" else "fp16"
            folder = ov.export_folder(self.model_name, location, self.models_dir, weights)
            try:
                if not ov.is_current(folder, location):
                    ov.check_no_failed_export(folder, location)
                    torch_model = self._load_torch(location)
                    self._export(torch_model, location, folder, weights)
                self._model = ov.OpenVINOEncoder(folder)
                self.active_backend = self.backend
                return
            except Exception as error:  # an accelerator that fails must not stop ingestion: PyTorch takes over
                warnings.warn(
                    f"the OpenVINO backend is unavailable for {self.model_name} ({error}); using PyTorch",
                    EmbeddingBackendWarning,
                    stacklevel=2,
                )
        self._model = torch_model if torch_model is not None else self._load_torch(location)
        self.active_backend = "torch"

    def _load_torch(self, location: str) -> Any:
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(location, device=self.device)
        except OSError as error:
            raise ModelError(f"could not load embedding model {self.model_name!r} from {location}: {error}") from error

    def _export(self, torch_model: Any, location: str, folder: Path, weights: str) -> None:
        from qa.embedding import openvino_backend as ov

        started = time.perf_counter()
        print(f"newsqa: exporting {self.model_name} to OpenVINO (once; a minute or more)…", file=sys.stderr)
        try:
            ov.export(torch_model, location, folder, weights)
        except Exception as error:
            ov.record_failed_export(folder, location, error)
            raise
        print(f"newsqa: exported in {time.perf_counter() - started:.0f} s to {folder}", file=sys.stderr)

    @property
    def model(self) -> Any:
        """The loaded model: a `SentenceTransformer`, or an `OpenVINOEncoder` (both have `prompts`)."""
        self.warm_up()
        return self._model

    @property
    def prompts(self) -> dict[str, str]:
        """The model's named prompts, read from its folder when possible so a cache hit needs no model."""
        if self._prompts is None:
            if self._model is not None:
                self._prompts = dict(self._model.prompts or {})
            else:
                self._prompts = self._prompts_on_disk()
                if self._prompts is None:
                    self._prompts = dict(self.model.prompts or {})
        return self._prompts

    def _prompts_on_disk(self) -> dict[str, str] | None:
        from qa.models import resolve

        try:
            folder = Path(resolve(self.model_name, "embedding", self.models_dir))
            config = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        except (ModelError, OSError, ValueError):
            return None
        prompts = config.get("prompts") if isinstance(config, dict) else None
        return {str(k): str(v) for k, v in prompts.items()} if isinstance(prompts, dict) else {}

    @property
    def full_dimension(self) -> int:
        """Length of the model's own vectors."""
        model = self.model
        measure = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(measure())

    @property
    def dimension(self) -> int:
        """Length of the vectors this embedder produces."""
        return self.truncate_to or self.full_dimension

    @property
    def cache_space(self) -> str:
        """What, besides the text, the cached vectors depend on."""
        return f"{self.model_name}|{self.backend}"

    # -- encoding ----------------------------------------------------------------------------

    def document_texts(self, texts: list[str], titles: list[str]) -> list[str]:
        """The exact strings embedded for passages (prompt with title and date, or title line + text)."""
        prompt = self.prompts.get("document")
        if prompt and "title: none" in prompt:
            if not self.titles:
                return [prompt + text for text in texts]
            return [prompt.replace("none", title.replace("|", "/"), 1) + text for text, title in zip(texts, titles)]
        if not self.titles:
            return list(texts)
        return [f"{title}\n{text}" for text, title in zip(texts, titles)]

    def encode_documents(self, texts: list[str], titles: list[str], progress: bool = False) -> np.ndarray:
        """Vectors for passages; `titles` (title plus date, say) give each passage its article's context.
        Passages whose exact text is in the cache are not encoded again."""
        if len(texts) != len(titles):
            raise ValueError("encode_documents needs one title per text")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        documents = self.document_texts(texts, titles)
        keys = [cache_key(self.cache_space, d) for d in documents]
        known = self.cache.get(keys) if self.cache is not None else {}
        if len({v.shape[0] for v in known.values()}) > 1:
            known = {}  # vectors of several sizes for one model: the model folder changed; start over
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            first = {k: i for i, k in reversed(list(enumerate(keys)))}
            fresh = self._encode([documents[first[k]] for k in missing], progress)
            if known and next(iter(known.values())).shape[0] != fresh.shape[1]:
                return self.encode_documents_uncached(documents, progress)
            computed = dict(zip(missing, fresh))
            if self.cache is not None:
                self.cache.put({k: v for k, v in computed.items() if np.isfinite(v).all()})
            known = {**known, **computed}
        self.embedded += len(missing)
        self.reused += len(keys) - len(missing)
        return self._fit(np.stack([known[k] for k in keys]))

    def encode_documents_uncached(self, documents: list[str], progress: bool = False) -> np.ndarray:
        """Vectors for passages that already carry their prompts, bypassing the cache."""
        self.embedded += len(documents)
        return self._fit(self._encode(documents, progress))

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """Vectors for questions, with the model's query prompt when it has one."""
        prompt = self.prompts.get("query", "")
        return self._fit(self._encode([prompt + text for text in texts], progress=False))

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        """Full-size normalised vectors for texts that already carry their prompts; never a non-finite one.

        A backend that returns NaN or infinity for a text in a batch gets that text again on its own (no
        padding). A vector still not finite is returned as it is, with a warning: the store refuses it and
        names its article, and the other articles go in."""
        vectors = self._encode_batch(texts, progress)
        broken = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
        for row in broken:
            vectors[row] = self._encode_batch([texts[row]], progress=False)[0]
        still = int((~np.isfinite(vectors).all(axis=1)).sum())
        if len(broken):
            warnings.warn(
                f"the {self.active_backend} backend of {self.model_name} gave {len(broken)} non-finite vectors in a "
                f"batch of {len(texts)}; encoded again alone, {still} still not finite"
                + (" (use --set embedding_backend=torch)" if still else ""),
                EmbeddingBackendWarning,
                stacklevel=2,
            )
        return vectors

    def _encode_batch(self, texts: list[str], progress: bool) -> np.ndarray:
        model = self.model
        if self.active_backend != "torch":
            return np.asarray(
                model.encode(texts, batch_size=self.batch_size, token_budget=self.batch_tokens), dtype=np.float32
            )
        vectors = model.encode(
            texts,
            prompt="",
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _fit(self, vectors: np.ndarray) -> np.ndarray:
        """Truncate to `truncate_to` components and renormalise (a no-op at the full size)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if not self.truncate_to or self.truncate_to == vectors.shape[1]:
            return vectors
        if self.truncate_to > vectors.shape[1]:
            raise ModelError(
                f"{self.model_name} makes {vectors.shape[1]}-dimension vectors; cannot keep {self.truncate_to}"
            )
        kept = vectors[:, : self.truncate_to]
        return kept / np.maximum(np.linalg.norm(kept, axis=1, keepdims=True), 1e-12)

    # -- configuration -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain config: what makes the vectors (model, backend, dimension, titles) and where the cache is."""
        return {
            "model": self.model_name,
            "models_dir": str(self.models_dir),
            "batch_size": self.batch_size,
            "batch_tokens": self.batch_tokens,
            "device": self.device,
            "backend": self.backend,
            "dimension": self.truncate_to,
            "titles": self.titles,
            "cache_dir": str(self.cache_dir) if self.cache_dir is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Embedder:
        """The inverse of `to_dict` (configs written before backends and caches existed load as PyTorch, uncached)."""
        cache_dir = data.get("cache_dir")
        return cls(
            data["model"],
            Path(data["models_dir"]),
            data.get("batch_size", 16),
            data.get("device", "cpu"),
            backend=data.get("backend", "torch"),
            dimension=int(data.get("dimension") or 0),
            titles=bool(data.get("titles", True)),
            cache_dir=Path(cache_dir) if cache_dir else None,
            batch_tokens=int(data.get("batch_tokens") or 0),
        )

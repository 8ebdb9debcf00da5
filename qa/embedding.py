"""Sentence-transformers embeddings for queries and article chunks, loaded lazily."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError


class Embedder:
    """Encodes questions and passages into normalised float32 vectors with a sentence-transformers model.

    Models that define `query`/`document` prompts (EmbeddingGemma) get them; a `title: none` document
    prompt is filled with each chunk's title and date, so passages carry their article's context.
    """

    def __init__(self, model: str, models_dir: Path, batch_size: int = 16, device: str = "cpu") -> None:
        if batch_size < 1:
            raise ModelError(f"batch_size must be at least 1, got {batch_size}")
        self.model_name = model
        self.models_dir = Path(models_dir)
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None

    def warm_up(self) -> None:
        """Load the model (once)."""
        if self._model is not None:
            return
        from qa.models import resolve

        location = resolve(self.model_name, "embedding", self.models_dir)
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(location, device=self.device)
        except OSError as error:
            raise ModelError(f"could not load embedding model {self.model_name!r} from {location}: {error}") from error

    @property
    def model(self) -> Any:
        """The loaded `SentenceTransformer`."""
        self.warm_up()
        return self._model

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        return int(self.model.get_sentence_embedding_dimension())

    def _document_prompt(self) -> str | None:
        return self.model.prompts.get("document")

    def document_texts(self, texts: list[str], titles: list[str]) -> list[str]:
        """The exact strings embedded for passages (prompt with title and date, or title line + text)."""
        prompt = self._document_prompt()
        if prompt and "title: none" in prompt:
            return [prompt.replace("none", title.replace("|", "/"), 1) + text for text, title in zip(texts, titles)]
        return [f"{title}\n{text}" for text, title in zip(texts, titles)]

    def encode_documents(self, texts: list[str], titles: list[str], progress: bool = False) -> np.ndarray:
        """Vectors for passages; `titles` (title plus date, say) give each passage its article's context."""
        if len(texts) != len(titles):
            raise ValueError("encode_documents needs one title per text")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            self.document_texts(texts, titles),
            prompt="",
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """Vectors for questions, with the model's query prompt when it has one."""
        prompt_name = "query" if "query" in self.model.prompts else None
        vectors = self.model.encode(
            texts,
            prompt_name=prompt_name,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Plain config."""
        return {
            "model": self.model_name,
            "models_dir": str(self.models_dir),
            "batch_size": self.batch_size,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Embedder:
        """The inverse of `to_dict`."""
        return cls(data["model"], Path(data["models_dir"]), data.get("batch_size", 16), data.get("device", "cpu"))

"""A llama-index embedding model that delegates to newsqa's own embedder (same loaded model, same prompts)."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr


def blank_title(embedder: Any) -> str:
    """Title for passages that have none: 'none' for models whose document prompt says `title: none`."""
    prompts = getattr(getattr(embedder, "model", None), "prompts", None) or {}
    return "none" if "title: none" in str(prompts.get("document") or "") else ""


class AssistantEmbedding(BaseEmbedding):
    """Wraps `assistant.embedder` (`encode_query(texts)`, `encode_documents(texts, titles)`) for llama-index.

    llama-index already puts node metadata (the article title) into the text it embeds, so passages are
    encoded with the model's plain document prompt (no extra title).
    """

    _embedder: Any = PrivateAttr()
    _title: str = PrivateAttr(default="")

    def __init__(self, embedder: Any, model_name: str = "newsqa-embedder", embed_batch_size: int = 16) -> None:
        super().__init__(model_name=model_name, embed_batch_size=embed_batch_size)
        self._embedder = embedder
        self._title = blank_title(embedder)

    @classmethod
    def class_name(cls) -> str:
        """llama-index's registry name."""
        return "AssistantEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.encode_query([query])[0]]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        vectors = self._embedder.encode_documents(list(texts), [self._title] * len(texts))
        return [[float(x) for x in row] for row in vectors]

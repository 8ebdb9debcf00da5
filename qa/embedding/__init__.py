"""Stage 2, embedding: passages and questions → vectors (sentence-transformers on OpenVINO or PyTorch), cached."""

from __future__ import annotations

from qa.embedding.cache import EmbeddingCache
from qa.embedding.embedder import Embedder

__all__ = ["Embedder", "EmbeddingCache"]

"""A BM25-only llama-index retriever over nodes, on `bm25s`, with accent folding and en/fr/de/es stopwords."""

from __future__ import annotations

import re
from collections.abc import Sequence

import bm25s
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH, STOPWORDS_GERMAN, STOPWORDS_SPANISH
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import BaseNode, MetadataMode, NodeWithScore, QueryBundle

from qa.eval.normalize import strip_accents

_WORD = re.compile(r"\w\w+")
_STOPWORDS = frozenset(
    strip_accents(w).casefold() for w in (*STOPWORDS_EN, *STOPWORDS_FRENCH, *STOPWORDS_GERMAN, *STOPWORDS_SPANISH)
)


def bm25_tokens(text: str) -> list[str]:
    """Lower-case, accent-free word tokens of two characters or more, without common stopwords."""
    return [t for t in _WORD.findall(strip_accents(text).casefold()) if t not in _STOPWORDS]


class BM25Index:
    """A BM25 index over a fixed list of nodes (built once, shared by retrievers of any top-k)."""

    def __init__(self, nodes: Sequence[BaseNode]) -> None:
        self.nodes = list(nodes)
        self._bm25 = bm25s.BM25()
        corpus = [bm25_tokens(node.get_content(metadata_mode=MetadataMode.NONE)) or [""] for node in self.nodes]
        self._bm25.index(corpus, show_progress=False)

    def search(self, query: str, k: int) -> list[NodeWithScore]:
        """The best `k` nodes with a positive BM25 score, best first."""
        terms = bm25_tokens(query)
        if not terms or not self.nodes:
            return []
        ids, scores = self._bm25.retrieve([terms], k=min(k, len(self.nodes)), show_progress=False)
        return [
            NodeWithScore(node=self.nodes[int(i)], score=float(s))
            for i, s in zip(ids[0], scores[0], strict=True)
            if float(s) > 0
        ]


class BM25NodeRetriever(BaseRetriever):
    """A llama-index retriever returning the top `top_k` nodes of a `BM25Index`."""

    def __init__(self, index: BM25Index, top_k: int = 2) -> None:
        super().__init__()
        self._index = index
        self._top_k = top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._index.search(query_bundle.query_str, self._top_k)

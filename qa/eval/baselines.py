"""Baselines on the same articles and models: vanilla llama-index (vector, top-2) and BM25 + llama-index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import BaseNode

from qa.eval.abstention import says_no_answer
from qa.eval.bm25 import BM25Index, BM25NodeRetriever
from qa.eval.embedding import AssistantEmbedding
from qa.eval.gold import GoldQuestion
from qa.eval.metrics import rank_articles
from qa.eval.records import FULL, RETRIEVAL, QuestionRecord, new_record
from qa.types import Article

VANILLA = "vanilla_llamaindex"
BM25 = "bm25"
DESCRIPTIONS = {
    VANILLA: (
        "llama-index VectorStoreIndex over the same articles (default SentenceSplitter nodes), embedded with "
        "newsqa's own embedder (same loaded model and query/document prompts), answered by the default "
        "`as_query_engine()` (top-2 nodes, compact synthesiser) with the same LLM; retrieval figures from a "
        "top-10 retrieval of the same index; abstention = the answer says the context lacks it"
    ),
    BM25: (
        "BM25 only (bm25s, accent-folded, en/fr/de/es stopwords) over the same llama-index nodes; "
        "top-2 nodes answered by llama-index's default (compact) response synthesiser with the same LLM; "
        "retrieval figures from its top-10; abstention = the answer says the context lacks it"
    ),
}
ANSWER_TOP_K = 2  # llama-index's default similarity_top_k


@dataclass
class Baseline:
    """A baseline system: a top-k retriever for retrieval figures and a query engine for answers."""

    name: str
    description: str
    retriever: BaseRetriever
    query_engine: BaseQueryEngine | None


def article_documents(articles: Sequence[Article]) -> list[Document]:
    """One llama-index Document per article: its text, with title and article id as metadata."""
    return [
        Document(
            text=article.text,
            id_=article.id,
            metadata={"article_id": article.id, "title": article.title},
            excluded_embed_metadata_keys=["article_id"],
            excluded_llm_metadata_keys=["article_id"],
        )
        for article in articles
    ]


def article_nodes(articles: Sequence[Article]) -> list[BaseNode]:
    """The articles split by llama-index's default node parser (SentenceSplitter with default settings)."""
    return SentenceSplitter().get_nodes_from_documents(article_documents(articles))


def node_article_id(node: BaseNode) -> str:
    """The article a retrieved node comes from (its `article_id` metadata, else its source document id)."""
    return str(node.metadata.get("article_id") or node.ref_doc_id or node.node_id)


def build_baselines(
    articles: Sequence[Article],
    embedder: Any,
    llm: Any | None,
    *,
    k: int = 10,
    progress: bool = False,
) -> list[Baseline]:
    """Build both baselines once: `embedder` is newsqa's, `llm` a llama-index LLM (None: retrieval only)."""
    if not articles:
        raise ValueError("baselines need at least one article")
    nodes = article_nodes(articles)
    index = VectorStoreIndex(nodes, embed_model=AssistantEmbedding(embedder), show_progress=progress)
    bm25 = BM25Index(nodes)
    return [
        Baseline(
            name=VANILLA,
            description=DESCRIPTIONS[VANILLA],
            retriever=index.as_retriever(similarity_top_k=k),
            query_engine=index.as_query_engine(llm=llm) if llm is not None else None,
        ),
        Baseline(
            name=BM25,
            description=DESCRIPTIONS[BM25],
            retriever=BM25NodeRetriever(bm25, top_k=k),
            query_engine=(
                RetrieverQueryEngine.from_args(BM25NodeRetriever(bm25, top_k=ANSWER_TOP_K), llm=llm)
                if llm is not None
                else None
            ),
        ),
    ]


def run_baseline_question(baseline: Baseline, question: GoldQuestion, *, retrieval_only: bool) -> QuestionRecord:
    """Retrieve top-k for the retrieval figures, then (unless retrieval-only) answer via the query engine."""
    started = perf_counter()
    retrieved = baseline.retriever.retrieve(question.question)
    timings = {"retrieval": perf_counter() - started}
    ranked = rank_articles(node_article_id(n.node) for n in retrieved)
    if retrieval_only or baseline.query_engine is None:
        return new_record(question, mode=RETRIEVAL, ranked_article_ids=ranked, timings=timings)
    started = perf_counter()
    try:
        response = baseline.query_engine.query(question.question)
    except Exception as exc:  # third-party code: record the failure and keep the run going
        timings["total"] = perf_counter() - started
        return new_record(
            question,
            mode=FULL,
            ranked_article_ids=ranked,
            answer="",
            abstained=False,
            timings=timings,
            error=f"{type(exc).__name__}: {exc}",
        )
    timings["total"] = perf_counter() - started
    text = str(getattr(response, "response", None) or "")
    return new_record(
        question,
        mode=FULL,
        ranked_article_ids=ranked,
        context_article_ids=rank_articles(node_article_id(n.node) for n in getattr(response, "source_nodes", [])),
        answer=text,
        abstained=says_no_answer(text),
        timings=timings,
    )

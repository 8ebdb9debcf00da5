"""newsqa inside llama-index pipelines: the retriever and the query engine, driven by llama-index's own tooling."""

from __future__ import annotations

import re
from datetime import date

import pytest
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.tools import QueryEngineTool
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

import qa
from qa.answering.citations import closest_citation
from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import InputError
from qa.integrations.llama_index import NewsqaLLM, NewsqaQueryEngine, NewsqaRetriever, answer_response, to_filters
from qa.retrieval import Filters
from qa.types import Answer
from tests.conftest import FAST_EMBEDDING, SAMPLES, write_article

METADATA_KEYS = {"article_id", "title", "source", "published", "url", "language"}
TRAM = "Lyon opened a new tram line on Monday. It links the station to the university in twenty minutes."
TRAM_UPDATE = "The new Lyon tram line carried 40,000 passengers in its first week, the operator said on Friday."
BRIDGE = "Leeds approved a new cycling bridge on Tuesday. Construction starts in 2025 and costs 12 million pounds."
KOREA = "Who did Zuckerberg meet in Korea?"
LG_ARTICLE = "fr-meta-lg-2024"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """Three short articles indexed with the small English embedder (no LLM is loaded)."""
    folder = tmp_path_factory.mktemp("articles")
    write_article(
        folder, "tram.md", "Lyon tram opens", TRAM, id="tram", published="2024-03-04", source="City Post",
        url="https://example.com/tram", language="en",
    )  # fmt: skip
    write_article(
        folder, "tram2.md", "Lyon tram, first week", TRAM_UPDATE, id="tram-week", published="2024-03-11",
        source="Rhône Daily", language="en",
    )  # fmt: skip
    write_article(folder, "bridge.md", "Leeds bridge", BRIDGE, id="bridge", published="2024-05-07", language="en")
    settings = Settings(embedding_model=FAST_EMBEDDING, today="2024-06-01")
    assistant = Assistant.open(tmp_path_factory.mktemp("index") / "index", settings)
    assert sorted(assistant.ingest([folder]).added) == ["bridge", "tram", "tram-week"]
    return assistant


def test_retriever_returns_passages_with_their_article_metadata(assistant: Assistant) -> None:
    nodes = NewsqaRetriever(assistant, k=3).retrieve(QueryBundle("When did the Lyon tram line open?"))
    assert nodes and all(isinstance(n, NodeWithScore) for n in nodes)
    best = nodes[0]
    assert best.node.metadata["article_id"] == "tram" and set(best.node.metadata) >= METADATA_KEYS
    assert best.node.metadata["title"] == "Lyon tram opens" and best.node.metadata["source"] == "City Post"
    assert best.node.metadata["published"].startswith("2024-03-04") and best.node.metadata["language"] == "en"
    assert best.node.metadata["url"] == "https://example.com/tram"
    article = next(a for a in assistant.articles() if a.id == "tram")
    assert article.text[best.node.start_char_idx : best.node.end_char_idx] == best.node.get_content()
    assert [n.score for n in nodes] == sorted((n.score for n in nodes), reverse=True)
    # What an answering LLM sees: title, outlet and date beside the text, not ids or offsets.
    shown = best.node.get_content(metadata_mode="llm")
    assert "Lyon tram opens" in shown and "City Post" in shown and "article_id" not in shown


def test_retriever_filters_from_newsqa_or_llama_index(assistant: Assistant) -> None:
    question = "How many passengers did the Lyon tram carry?"
    by_newsqa = NewsqaRetriever(assistant, filters=Filters.build(sources=["City Post"])).retrieve(question)
    assert {n.node.metadata["article_id"] for n in by_newsqa} == {"tram"}
    dated = MetadataFilters(
        filters=[
            MetadataFilter(key="published", value="2024-03-05", operator=FilterOperator.GTE),
            MetadataFilter(key="language", value=["en"], operator=FilterOperator.IN),
        ]
    )
    assert {n.node.metadata["article_id"] for n in NewsqaRetriever(assistant, filters=dated).retrieve(question)} == {
        "tram-week",
        "bridge",
    }
    up_to = MetadataFilters(filters=[MetadataFilter(key="published", value="2024-03-04", operator=FilterOperator.LTE)])
    assert to_filters(up_to).until.date() == date(2024, 3, 4)  # a bare date keeps its whole day
    assert {n.node.metadata["article_id"] for n in NewsqaRetriever(assistant, filters=up_to).retrieve(question)} == {
        "tram"
    }
    by_title = MetadataFilters(filters=[MetadataFilter(key="title", value="x")])
    with pytest.raises(InputError, match="cannot filter on 'title'"):
        NewsqaRetriever(assistant, filters=by_title)
    with pytest.raises(InputError, match="cannot filter on 'title'"):
        NewsqaQueryEngine(assistant=assistant, filters=by_title)


def test_retriever_reads_time_from_the_question(assistant: Assistant) -> None:
    # "in May 2024" narrows the search to articles from May on (dates read from the question, as in `ask`).
    nodes = NewsqaRetriever(assistant, k=3).retrieve("What did the city approve in May 2024?")
    assert [n.node.metadata["article_id"] for n in nodes] == ["bridge"]


def test_retriever_inside_llama_index_query_engine_and_tool(assistant: Assistant) -> None:
    from llama_index.core.llms import MockLLM

    engine = RetrieverQueryEngine.from_args(NewsqaRetriever(assistant, k=2), llm=MockLLM(max_tokens=4))
    response = engine.query("When did the Lyon tram line open?")
    assert response.source_nodes[0].node.metadata["article_id"] == "tram"
    tool = QueryEngineTool.from_defaults(engine, name="news", description="Questions about the news articles")
    output = tool.call("When did the Lyon tram line open?")
    assert output.raw_output.source_nodes[0].node.metadata["title"] == "Lyon tram opens"


def test_query_engine_carries_the_abstention(assistant: Assistant) -> None:
    # Passages under the relevance floor are not shown to the model: newsqa declines without generating.
    strict = Assistant.open(assistant.index_dir, Settings(embedding_model=FAST_EMBEDDING, min_score=0.99))
    response = NewsqaQueryEngine(assistant=strict).query(QueryBundle("When did the Lyon tram line open?"))
    assert response.metadata["abstained"] is True and str(response) == "The articles don't say."
    assert response.metadata["abstention_reason"] == "no passage is relevant enough" and response.source_nodes == []


def test_citations_become_source_nodes_with_their_quote_and_score(assistant: Assistant) -> None:
    question = "When did the Lyon tram line open?"
    hits = assistant.retrieve(question)
    citation = closest_citation(hits[:1], question, assistant.embedder.encode_query)
    answer = Answer(question, "It opened on Monday [1].", [citation], hits, abstained=False, language="en")
    response = answer_response(answer)
    assert response.response == "It opened on Monday [1]." and response.metadata["abstained"] is False
    (cited,) = response.source_nodes
    assert cited.score == hits[0].score and cited.node.get_content() == hits[0].chunk.text
    assert cited.node.metadata["citation"] == 1 and cited.node.metadata["quote"] == citation.quote
    assert set(cited.node.metadata) >= METADATA_KEYS and cited.node.metadata["article_id"] == "tram"


def test_qa_exports_the_components_lazily() -> None:
    assert qa.NewsqaRetriever is NewsqaRetriever and qa.NewsqaQueryEngine is NewsqaQueryEngine
    with pytest.raises(AttributeError):
        _ = qa.NoSuchThing


# --- with the real models ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """A few sample articles, the default models."""
    index = tmp_path_factory.mktemp("news") / "index"
    names = ["fr-meta-lg-2024.md", "en-zuckerberg-samsung-lee-2024.md", "de-zuckerberg-japan-2024.md"]
    assistant = Assistant.open(index, Settings())
    assert len(assistant.ingest([SAMPLES / name for name in names]).added) == 3
    return assistant


@pytest.mark.slow
def test_query_engine_answers_with_checked_citations_as_source_nodes(news: Assistant) -> None:
    tool = QueryEngineTool.from_defaults(NewsqaQueryEngine(assistant=news), name="news", description="news")
    response = tool.call(KOREA).raw_output
    assert response.metadata["abstained"] is False and "Cho" in response.response
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", response.response)}
    assert markers == {n.node.metadata["citation"] for n in response.source_nodes}
    assert response.source_nodes[0].node.metadata["article_id"] == LG_ARTICLE
    assert response.source_nodes[0].score is not None


@pytest.mark.slow
def test_llama_index_synthesiser_over_the_newsqa_retriever_and_llm(news: Assistant) -> None:
    engine = RetrieverQueryEngine.from_args(NewsqaRetriever(news, k=2), llm=NewsqaLLM(news.llm))
    response = engine.query(KOREA)
    assert response.source_nodes[0].node.metadata["article_id"] == LG_ARTICLE
    # llama-index's own synthesis (unchecked): measured "…met the presidents of LG Electronics and Samsung…".
    assert "LG" in str(response)

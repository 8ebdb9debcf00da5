"""newsqa as llama-index components: a retriever, a query engine with checked answers, and an LLM adapter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.base.response.schema import Response
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters
from pydantic import Field, PrivateAttr

from qa.errors import InputError
from qa.retrieval import Filters
from qa.types import Answer, Citation, Hit

# Metadata the answering LLM of a llama-index pipeline sees beside a passage; ids and offsets stay out of it.
_HIDDEN_FROM_LLM = ["article_id", "chunk_id", "url", "language", "rank", "also_carried_by", "citation", "quote"]


def hit_node(hit: Hit) -> NodeWithScore:
    """A newsqa search hit as a llama-index node: the passage, its offsets in the article, and the article's
    metadata (`article_id`, `title`, `source` (the outlet), `published` (ISO date-time or None), `url`,
    `language`)."""
    article = hit.article
    metadata: dict[str, Any] = {
        "article_id": article.id,
        "title": article.title,
        "source": article.source,
        "published": article.published.isoformat() if article.published else None,
        "url": article.url,
        "language": article.language,
        "chunk_id": hit.chunk.id,
        "rank": hit.rank,
        "also_carried_by": ", ".join(hit.also_carried_by),
    }
    node = TextNode(
        id_=hit.chunk.id,
        text=hit.chunk.text,
        metadata=metadata,
        start_char_idx=hit.chunk.start,
        end_char_idx=hit.chunk.end,
        excluded_llm_metadata_keys=_HIDDEN_FROM_LLM,
        excluded_embed_metadata_keys=_HIDDEN_FROM_LLM,
    )
    return NodeWithScore(node=node, score=hit.score)


def citation_node(citation: Citation, score: float | None) -> NodeWithScore:
    """A checked citation `[n]` as a llama-index node: the cited passage, with its supporting sentence as
    `quote` (and its offsets as `quote_start`/`quote_end`), the citation's number and the article's metadata."""
    metadata: dict[str, Any] = {
        "citation": citation.number,
        "article_id": citation.article_id,
        "title": citation.title,
        "source": citation.source,
        "published": citation.published.isoformat() if citation.published else None,
        "url": citation.url,
        "language": citation.language,
        "chunk_id": citation.chunk_id,
        "quote": citation.quote,
        "quote_start": citation.quote_start,
        "quote_end": citation.quote_end,
        "also_carried_by": ", ".join(citation.also_carried_by),
    }
    if citation.translation:
        metadata["translation"] = citation.translation
    node = TextNode(
        id_=f"{citation.chunk_id}@{citation.number}",
        text=citation.passage,
        metadata=metadata,
        start_char_idx=citation.start,
        end_char_idx=citation.end,
        excluded_llm_metadata_keys=_HIDDEN_FROM_LLM,
        excluded_embed_metadata_keys=_HIDDEN_FROM_LLM,
    )
    return NodeWithScore(node=node, score=score)


def to_filters(filters: Filters | MetadataFilters | None) -> Filters | None:
    """newsqa `Filters` from llama-index `MetadataFilters` (AND of `source`, `language`, `article_id` with ==
    or `in`, and `published` with >, >=, <, <=); newsqa `Filters` pass through. InputError names what is
    not supported."""
    if filters is None or isinstance(filters, Filters):
        return filters
    if filters.condition not in (None, FilterCondition.AND):
        raise InputError("newsqa filters combine with AND only; give one MetadataFilters with condition AND")
    values: dict[str, set[str]] = {"source": set(), "language": set(), "article_id": set()}
    since: datetime | None = None
    until: datetime | None = None
    for item in filters.filters:
        if not isinstance(item, MetadataFilter):
            raise InputError("nested MetadataFilters are not supported by newsqa; flatten them into one AND list")
        if item.key in values and item.operator in (FilterOperator.EQ, FilterOperator.IN):
            given = item.value if isinstance(item.value, list) else [item.value]
            values[item.key].update(str(value) for value in given)
        elif item.key == "published" and item.operator in (FilterOperator.GT, FilterOperator.GTE):
            since = _moment(item.value, end_of_day=item.operator == FilterOperator.GT)
        elif item.key == "published" and item.operator in (FilterOperator.LT, FilterOperator.LTE):
            until = _moment(item.value, end_of_day=item.operator == FilterOperator.LTE)
        else:
            raise InputError(
                f"newsqa cannot filter on {item.key!r} with {item.operator.value!r}; use source, language or "
                "article_id with == or in, or published with >, >=, <, <="
            )
    return Filters(
        since=since,
        until=until,
        sources=frozenset(values["source"]),
        languages=frozenset(values["language"]),
        article_ids=frozenset(values["article_id"]),
    )


def _moment(value: Any, end_of_day: bool) -> datetime:
    """A filter value (ISO date or date-time string, date, datetime) as an aware datetime; a bare date stands
    for its first moment, or its last when `end_of_day` (so `<= 2024-03-01` keeps that whole day)."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time.max if end_of_day else time.min)
        elif isinstance(value, str) and len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.max if end_of_day else time.min)
        else:
            moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"published filter value {value!r} is not an ISO date (YYYY-MM-DD) or date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class NewsqaRetriever(BaseRetriever):
    """A llama-index retriever over a newsqa index: newsqa's own search (dense or hybrid, near-duplicates
    grouped, time read from the question) returning one `NodeWithScore` per passage with the article's
    metadata. `filters` are newsqa `Filters` or llama-index `MetadataFilters` (see `to_filters`)."""

    def __init__(
        self,
        assistant: Any,
        k: int | None = None,
        filters: Filters | MetadataFilters | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.assistant = assistant
        self.k = k
        self.filters = to_filters(filters)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [hit_node(hit) for hit in self.assistant.retrieve(query_bundle.query_str, self.k, self.filters)]


class NewsqaQueryEngine(CustomQueryEngine):
    """A llama-index query engine that answers with newsqa: the `Response` text is the checked answer (every
    `[n]` verified against its passage, or "The articles don't say."), `source_nodes` are its citations in
    order (see `citation_node`), and `metadata` holds `abstained`, `abstention_reason`, `support`,
    `language`, `standalone_question` and the answer's `timings`."""

    assistant: Any = Field(description="the newsqa Assistant that answers")
    k: int | None = Field(default=None, description="passages to retrieve (None: the assistant's top_k)")
    filters: Any = Field(default=None, description="newsqa Filters or llama-index MetadataFilters")

    def model_post_init(self, context: Any, /) -> None:
        """Turn llama-index `MetadataFilters` into newsqa's once, so that a filter newsqa cannot apply fails here."""
        self.filters = to_filters(self.filters)

    def custom_query(self, query_str: str) -> Response:
        """newsqa's checked answer to `query_str` as a llama-index `Response`."""
        return answer_response(self.assistant.ask(query_str, self.k, self.filters))


def answer_response(answer: Answer) -> Response:
    """A newsqa `Answer` as a llama-index `Response` (see `NewsqaQueryEngine`)."""
    scores = {hit.chunk.id: hit.score for hit in answer.hits}
    return Response(
        response=answer.text,
        source_nodes=[citation_node(citation, scores.get(citation.chunk_id)) for citation in answer.citations],
        metadata={
            "abstained": answer.abstained,
            "abstention_reason": answer.abstention_reason,
            "support": answer.support,
            "language": answer.language,
            "standalone_question": answer.standalone_question,
            "timings": dict(answer.timings),
        },
    )


class NewsqaLLM(CustomLLM):
    """A llama-index LLM that generates with a newsqa LLM (the local GGUF in its own chat template, or an
    OpenAI-compatible endpoint); a completion prompt is sent as one user turn."""

    context_window: int = Field(default=2048, description="the model's context in tokens")
    num_output: int = Field(default=160, description="the most tokens one reply takes")
    model_name: str = Field(default="newsqa", description="the model's name")
    _llm: Any = PrivateAttr()

    def __init__(self, llm: Any, **kwargs: Any) -> None:
        config: dict[str, Any] = llm.to_dict() if hasattr(llm, "to_dict") else {}
        super().__init__(
            context_window=config.get("context_window", 2048),
            num_output=config.get("max_new_tokens", 160),
            model_name=str(llm.model_name),
            **kwargs,
        )
        self._llm = llm

    @classmethod
    def class_name(cls) -> str:
        """llama-index's registry name."""
        return "NewsqaLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """Context size and reply length, as a completion model (llama-index then sends one prompt)."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            model_name=self.model_name,
            is_chat_model=False,
        )

    def _deltas(self, messages: Sequence[Any]) -> Iterator[str]:
        return self._llm.stream_messages([(m.role.value, m.content or "") for m in messages])

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """The reply to `prompt`, sent as one user turn."""
        return CompletionResponse(text="".join(self._deltas([ChatMessage(role=MessageRole.USER, content=prompt)])))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """The reply to `prompt` as it is generated."""
        text = ""
        for delta in self._deltas([ChatMessage(role=MessageRole.USER, content=prompt)]):
            text += delta
            yield CompletionResponse(text=text, delta=delta)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """The reply to chat `messages`, in the model's own chat format."""
        text = "".join(self._deltas(messages))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """The reply to chat `messages` as it is generated."""
        text = ""
        for delta in self._deltas(messages):
            text += delta
            yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)

"""The MCP tools of `newsqa serve --mcp`: `ask` (a checked, cited answer) and `search` (passages with metadata)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send

from qa.assistant import Assistant
from qa.errors import ConfigError, NewsqaError
from qa.types import Citation, Filters, Hit
from qa.web.model_queue import ModelQueue
from qa.web.openai_api import MAX_K, answer_markdown, token_ok, unauthorized

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.server.transport_security import TransportSecuritySettings

    HAVE_MCP = True
except ImportError:  # the `mcp` extra is not installed; `build_mcp` says so
    HAVE_MCP = False

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "newsqa answers questions from an index of news articles. `ask` returns a short answer whose every [n] "
    "marker was checked against the cited passage, or says the articles don't say; `search` returns the "
    "passages themselves. Dates are YYYY-MM-DD; outlets and languages (ISO 639-1 codes) narrow the search."
)

Since = Annotated[str | None, Field(description="only articles published on or after this date (YYYY-MM-DD)")]
Until = Annotated[str | None, Field(description="only articles published on or before this date (YYYY-MM-DD)")]
Outlets = Annotated[list[str] | None, Field(description="only these outlets (names as listed by newsqa)")]
Languages = Annotated[list[str] | None, Field(description="only articles in these languages, e.g. ['fr', 'en']")]


class Source(BaseModel):
    """A cited passage."""

    number: int = Field(description="the [n] marker in the answer")
    article_id: str
    title: str
    outlet: str | None
    published: str | None = Field(description="publication date, ISO 8601")
    url: str | None
    language: str | None
    quote: str = Field(description="the sentence of the passage that supports the answer")
    passage: str
    also_carried_by: list[str] = Field(description="other outlets that published a near-copy")


class AskResult(BaseModel):
    """A checked answer."""

    answer: str = Field(description="the answer with [n] markers, or the articles-don't-say message")
    abstained: bool = Field(description="true when the articles do not answer the question")
    abstention_reason: str | None
    sources: list[Source]
    markdown: str = Field(description="the answer followed by a Markdown list of its sources")


class Passage(BaseModel):
    """A retrieved passage and its article."""

    rank: int
    score: float = Field(description="similarity to the query (higher is closer)")
    article_id: str
    title: str
    outlet: str | None
    published: str | None
    url: str | None
    language: str | None
    text: str
    start: int = Field(description="character offset of the passage in its article")
    end: int
    also_carried_by: list[str]


class SearchResult(BaseModel):
    """The passages that best match a query."""

    passages: list[Passage]


def _source(citation: Citation) -> Source:
    return Source(
        number=citation.number,
        article_id=citation.article_id,
        title=citation.title,
        outlet=citation.source,
        published=citation.published.isoformat() if citation.published else None,
        url=citation.url,
        language=citation.language,
        quote=citation.quote,
        passage=citation.passage,
        also_carried_by=list(citation.also_carried_by),
    )


def _passage(hit: Hit) -> Passage:
    article = hit.article
    return Passage(
        rank=hit.rank,
        score=round(hit.score, 4),
        article_id=article.id,
        title=article.title,
        outlet=article.source,
        published=article.published.isoformat() if article.published else None,
        url=article.url,
        language=article.language,
        text=hit.chunk.text,
        start=hit.chunk.start,
        end=hit.chunk.end,
        also_carried_by=list(hit.also_carried_by),
    )


def _filters(since: str | None, until: str | None, outlets: list[str] | None, languages: list[str] | None) -> Any:
    filters = Filters.build(since or None, until or None, outlets, languages)
    return filters if filters.active else None


def build_mcp(assistant: Assistant, queue: ModelQueue) -> Any:
    """An MCP server with the tools `ask` and `search` over `assistant`, each run in a turn of `queue`."""
    if not HAVE_MCP:
        raise ConfigError("--mcp needs the `mcp` package: pip install 'newsqa[mcp]'")
    server = MCPServer("newsqa", instructions=INSTRUCTIONS)

    @server.tool(
        name="ask",
        title="Ask the news",
        description="Answer a question from the indexed news articles. Every [n] in the answer is checked "
        "against the cited passage; when the articles do not say, the answer says so (abstained=true). "
        "Takes several seconds.",
    )
    def ask(
        question: Annotated[str, Field(description="the question, in any language")],
        since: Since = None,
        until: Until = None,
        outlets: Outlets = None,
        languages: Languages = None,
        k: Annotated[int | None, Field(ge=1, le=MAX_K, description="passages to retrieve")] = None,
    ) -> AskResult:
        try:
            filters = _filters(since, until, outlets, languages)
            with queue.turn():
                answer = assistant.ask(question, k=k, filters=filters)
        except NewsqaError as error:
            raise ToolError(str(error)) from None
        return AskResult(
            answer=answer.text,
            abstained=answer.abstained,
            abstention_reason=answer.abstention_reason,
            sources=[_source(citation) for citation in answer.citations],
            markdown=answer_markdown(answer),
        )

    @server.tool(
        name="search",
        title="Search the news",
        description="The passages of the indexed news articles that best match a query, best first, with "
        "their article's title, outlet, date, link and language. No answer is written.",
    )
    def search(
        query: Annotated[str, Field(description="what to look for, in any language")],
        since: Since = None,
        until: Until = None,
        outlets: Outlets = None,
        languages: Languages = None,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="how many passages")] = 5,
    ) -> SearchResult:
        try:
            filters = _filters(since, until, outlets, languages)
            with queue.turn():
                hits = assistant.retrieve(query, k=k, filters=filters)
        except NewsqaError as error:
            raise ToolError(str(error)) from None
        return SearchResult(passages=[_passage(hit) for hit in hits])

    return server


class BearerGuard:
    """ASGI wrapper that answers 401 unless the request carries the API key as a bearer token."""

    def __init__(self, app: Any, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
            if not token_ok(headers.get("authorization"), self.api_key):
                await unauthorized().response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def mount_mcp(app: Any, server: Any, api_key: str | None, host: str) -> None:
    """Serve `server` at /mcp on `app` (stateless streamable HTTP), behind the API key when there is one.

    Without a key newsqa listens on loopback only, where the SDK's check of Host and Origin headers
    keeps web pages in the browser from reaching the tools; with a key, the key does."""
    security = None if api_key is None else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    transport = server.streamable_http_app(
        streamable_http_path=MCP_PATH, stateless_http=True, transport_security=security, host=host
    )
    app.add_route(MCP_PATH, BearerGuard(transport, api_key), include_in_schema=False)

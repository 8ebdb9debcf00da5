"""The OpenAI-compatible chat API of `newsqa serve`: `/v1/models` and `/v1/chat/completions` over checked answers."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from qa.assistant import MAX_QUESTION_CHARS, Assistant
from qa.errors import InputError, NewsqaError
from qa.types import Answer, Citation, Filters
from qa.web.model_queue import ModelQueue, QueueLeft
from qa.web.render import safe_url

log = logging.getLogger("newsqa.api")

MODEL_ID = "newsqa"
API_KEY_ENV = "NEWSQA_API_KEY"
SOURCES_HEADING = "**Sources**"
MAX_K = 20
# Requests beyond this many waiting for the model are refused with 429 (OpenAI clients retry those).
MAX_WAITING = 16
TICK_S = 1.0
DRAFT_TICK_S = 0.05  # how often a stream that asked for the draft is sent what was generated since
KEEPALIVE_TICKS = 10
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MARKDOWN_SPECIALS = re.compile(r"([\\`*_~\[\]#|$<>!])")
ESCAPED = re.compile(r"\\([\\`*_~\[\]#|$<>!])")


class ApiError(Exception):
    """A request the API refuses, answered as an OpenAI-style error object."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict[str, Any]:
        """The `{"error": {...}}` object OpenAI clients parse."""
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        """The error as an HTTP response."""
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


# -- authentication ----------------------------------------------------------------------------


def api_key_from_env() -> str | None:
    """The API key clients must send, from $NEWSQA_API_KEY (None when unset or blank)."""
    return os.environ.get(API_KEY_ENV, "").strip() or None


def token_ok(authorization: str | None, api_key: str | None) -> bool:
    """True when no key is configured, or `authorization` is `Bearer <the key>`."""
    if not api_key:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())


def unauthorized() -> ApiError:
    """The error for a missing or wrong bearer token."""
    return ApiError(
        401,
        f"missing or wrong API key: send the server's ${API_KEY_ENV} as `Authorization: Bearer KEY`",
        code="invalid_api_key",
    )


# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatRequest:
    """What newsqa takes from a chat completion request."""

    question: str
    history: list[tuple[str, str]] = field(default_factory=list)
    stream: bool = False
    include_usage: bool = False
    k: int | None = None
    filters: Filters | None = None
    draft: bool = False  # newsqa's own: stream the unchecked draft too, as `newsqa_draft` events


def parse_chat_request(body: Any) -> ChatRequest:
    """The question, follow-up history and options of a chat completion request; ApiError when unusable.

    System and developer messages are ignored (newsqa has its own instructions); every user message
    answered by an assistant message becomes one turn of the follow-up history.
    """
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, f"`model` is required: this server offers {MODEL_ID!r}", param="model")
    if model != MODEL_ID:
        raise ApiError(
            404,
            f"the model {model!r} does not exist here; use {MODEL_ID!r} (see GET /v1/models)",
            param="model",
            code="model_not_found",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "`messages` must be a non-empty list of {role, content} objects", param="messages")
    conversation: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ApiError(400, f"messages[{index}] must be an object with role and content", param="messages")
        role = message.get("role")
        if role not in ROLES:
            raise ApiError(
                400,
                f"messages[{index}].role must be one of {', '.join(ROLES)}; got {role!r}",
                param=f"messages[{index}].role",
            )
        if role in ("user", "assistant"):
            conversation.append((role, _text_content(message.get("content"), index)))
    if not conversation or conversation[-1][0] != "user":
        raise ApiError(400, "the last message must be the user's question", param="messages")
    question = conversation[-1][1].strip()
    if not question:
        raise ApiError(400, "the question (the last user message) is empty", param="messages")
    if len(question) > MAX_QUESTION_CHARS:
        raise ApiError(
            400,
            f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}",
            param="messages",
        )
    history = [
        (asked, plain_answer(reply))
        for (role, asked), (next_role, reply) in pairwise(conversation[:-1])
        if role == "user" and next_role == "assistant" and asked.strip() and reply.strip()
    ]
    stream = _optional(body, "stream", bool) or False
    options = _optional(body, "stream_options", dict) or {}
    if _optional(body, "n", int) not in (None, 1):
        raise ApiError(400, "`n` must be 1: newsqa gives one checked answer", param="n")
    k = _optional(body, "k", int)
    if k is not None and not 1 <= k <= MAX_K:
        raise ApiError(400, f"`k` must be between 1 and {MAX_K}, got {k}", param="k")
    try:
        filters = Filters.build(
            _optional(body, "since", str),
            _optional(body, "until", str),
            _string_list(body, "sources"),
            _string_list(body, "languages"),
            _string_list(body, "articles"),
        )
    except InputError as error:
        raise ApiError(400, str(error), param=str(error).split()[0]) from None
    return ChatRequest(
        question,
        history,
        stream,
        bool(options.get("include_usage")),
        k,
        filters if filters.active else None,
        bool(_optional(body, "newsqa_draft", bool)),
    )


def _text_content(content: Any, index: int) -> str:
    """A message's text: a string, or the text parts of a content list."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(
                    400,
                    f"messages[{index}].content: newsqa reads text only (parts of type 'text')",
                    param=f"messages[{index}].content",
                )
            texts.append(part["text"])
        return "\n".join(texts)
    raise ApiError(400, f"messages[{index}].content must be a string", param=f"messages[{index}].content")


def _optional(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError(400, f"`{name}` must be {_KIND_NAMES[kind]}, got {json.dumps(value)[:60]}", param=name)
    return value


_KIND_NAMES = {bool: "true or false", dict: "an object", int: "an integer", str: "a string"}


def _string_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None or isinstance(value, str):
        return [value] if value else None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ApiError(400, f"`{name}` must be a string or a list of strings", param=name)


# -- replies ---------------------------------------------------------------------------------


def escape_markdown_text(text: str) -> str:
    """`text` with Markdown and HTML syntax neutralised (backslash escapes), for a Markdown-rendering client."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", text)


def answer_markdown(answer: Answer) -> str:
    """The checked answer with its `[n]` markers, then the sources list (title, outlet, date, link, quote).

    Article text can carry link or image syntax, so the answer is escaped except for its markers."""
    text = re.sub(r"\\\[(\d+)\\\]", r"[\1]", escape_markdown_text(answer.text))
    return f"{text}\n\n{sources_markdown(answer.citations)}" if answer.citations else text


def sources_markdown(citations: list[Citation]) -> str:
    """A Markdown list of the cited passages, one `[n]` item each."""
    lines = [SOURCES_HEADING, ""]
    for citation in citations:
        title = escape_markdown_text(" ".join(citation.title.split()) or citation.article_id)
        url = safe_url(citation.url)
        head = f"[{title}](<{url}>)" if url else f"*{title}*"
        meta = [citation.source, citation.published.date().isoformat() if citation.published else None]
        details = ", ".join(escape_markdown_text(value) for value in meta if value)
        lines.append(f"- [{citation.number}] {head}" + (f" — {details}" if details else ""))
        lines.append(f"  > “{escape_markdown_text(' '.join(citation.quote.split()))}”")
        if citation.translation:
            lines.append(f"  > ({escape_markdown_text(' '.join(citation.translation.split()))})")
    return "\n".join(lines)


def plain_answer(content: str) -> str:
    """An earlier reply of this API as follow-up history: the answer without its sources list or escapes."""
    answer = content.split(f"\n\n{SOURCES_HEADING}", 1)[0]
    return ESCAPED.sub(r"\1", answer).strip()


def newsqa_fields(answer: Answer) -> dict[str, Any]:
    """The extra fields of a reply: the structured citations and how the answer came about."""
    return {
        "citations": [citation.to_dict() for citation in answer.citations],
        "newsqa": {
            "text": answer.text,  # the answer without markdown, its sources listed apart
            "abstained": answer.abstained,
            "abstention_reason": answer.abstention_reason,
            "standalone_question": answer.standalone_question,
            "language": answer.language,
            "support": answer.support,
        },
    }


def _usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.prompt_tokens + answer.output_tokens,
    }


def completion_body(answer: Answer, completion_id: str, created: int) -> dict[str, Any]:
    """A `chat.completion` object for a checked answer."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer_markdown(answer)},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(answer),
        **newsqa_fields(answer),
    }


def chunk_body(
    completion_id: str, created: int, delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One `chat.completion.chunk` object."""
    choices = [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": choices,
        **extra,
    }


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


# -- the endpoints -----------------------------------------------------------------------------


class ChatApi:
    """`/v1/models` and `/v1/chat/completions` over one `Assistant`, answering in the shared model queue."""

    def __init__(self, assistant: Assistant, queue: ModelQueue, api_key: str | None = None) -> None:
        self.assistant = assistant
        self.queue = queue
        self.api_key = api_key or None
        self.created = int(time.time())
        # Answers wait for the model in these threads, not in the server's shared thread pool; one per request
        # that may wait, so that every request waits in the model queue itself, in arrival order.
        self._workers = ThreadPoolExecutor(max_workers=MAX_WAITING + 1, thread_name_prefix="newsqa-api")

    def install(self, app: FastAPI) -> None:
        """Add the routes (and the OpenAI-style error handler) to `app`."""
        app.add_exception_handler(ApiError, _error_handler)
        app.add_api_route("/v1/models", self.models, methods=["GET"], include_in_schema=False)
        app.add_api_route("/v1/models/{model_id}", self.model, methods=["GET"], include_in_schema=False)
        app.add_api_route("/v1/chat/completions", self.chat, methods=["POST"], include_in_schema=False)
        app.add_api_route(
            "/v1/{path:path}", self.unknown, methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False
        )

    def _authorize(self, request: Request) -> None:
        if not token_ok(request.headers.get("authorization"), self.api_key):
            raise unauthorized()

    def _model_object(self) -> dict[str, Any]:
        return {"id": MODEL_ID, "object": "model", "created": self.created, "owned_by": "newsqa"}

    async def models(self, request: Request) -> JSONResponse:
        """The one model this server offers."""
        self._authorize(request)
        return JSONResponse({"object": "list", "data": [self._model_object()]})

    async def model(self, request: Request, model_id: str) -> JSONResponse:
        """The model object, by id."""
        self._authorize(request)
        if model_id != MODEL_ID:
            raise ApiError(404, f"the model {model_id!r} does not exist here; use {MODEL_ID!r}", code="model_not_found")
        return JSONResponse(self._model_object())

    async def unknown(self, request: Request, path: str) -> JSONResponse:
        """Anything else under /v1: an OpenAI-style 404."""
        self._authorize(request)
        raise ApiError(404, f"newsqa serves /v1/models and /v1/chat/completions, not /v1/{path}", code="not_found")

    async def chat(self, request: Request) -> Any:
        """A chat completion: the conversation's last user message answered from the index, checked."""
        self._authorize(request)
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise ApiError(400, "the request body is not valid JSON") from None
        chat = parse_chat_request(body)
        if self.queue.waiting >= MAX_WAITING:
            raise ApiError(
                429,
                f"{self.queue.waiting} questions are waiting for the model; try again shortly",
                code="queue_full",
                kind="rate_limit_error",
            )
        if not await run_in_threadpool(self.assistant.articles):
            raise ApiError(
                400,
                "the index is empty: add articles (newsqa ingest PATH, or the Corpus tab) first",
                code="empty_index",
            )
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        log.info("chat completion %s: stream=%s, %d earlier turns", completion_id, chat.stream, len(chat.history))
        if chat.stream:
            return StreamingResponse(
                self._stream(chat, completion_id, created),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        answer = None
        async for item in self._answer(chat, request.is_disconnected):
            answer = item if isinstance(item, Answer) else answer
        if answer is None:  # the client hung up
            return JSONResponse({}, status_code=499)
        return JSONResponse(completion_body(answer, completion_id, created))

    async def _stream(self, chat: ChatRequest, completion_id: str, created: int) -> AsyncIterator[str]:
        """Server-sent events: the role at once, comments while the answer is made and checked, then its text."""
        yield _event(chunk_body(completion_id, created, {"role": "assistant", "content": ""}))
        answer: Answer | None = None
        ticks = 0
        drafts: list[str] | None = [] if chat.draft else None
        tick = DRAFT_TICK_S if chat.draft else TICK_S
        try:
            async for item in self._answer(chat, None, drafts, tick):
                if isinstance(item, Answer):
                    answer = item
                elif drafts:
                    count = len(drafts)  # the answer thread may append meanwhile
                    text = "".join(drafts[:count])
                    del drafts[:count]
                    yield _event({"newsqa_draft": text})
                else:
                    ticks += 1
                    if ticks % round(KEEPALIVE_TICKS * TICK_S / tick) == 0:
                        yield ": waiting for the checked answer\n\n"
        except ApiError as error:
            yield _event(error.body())
            return
        if answer is None:
            return
        for piece in re.findall(r"\S+\s*|\s+", answer_markdown(answer)):
            yield _event(chunk_body(completion_id, created, {"content": piece}))
        yield _event(chunk_body(completion_id, created, {}, "stop", **newsqa_fields(answer)))
        if chat.include_usage:
            yield _event({**chunk_body(completion_id, created, {}), "choices": [], "usage": _usage(answer)})
        yield "data: [DONE]\n\n"

    async def _answer(
        self,
        chat: ChatRequest,
        disconnected: Callable[[], Awaitable[bool]] | None,
        drafts: list[str] | None = None,
        tick: float = TICK_S,
    ) -> AsyncIterator[Answer | None]:
        """Ticks (None) every `tick` seconds while the answer is made in the model queue, then the Answer;
        with `drafts`, the draft's text deltas are appended there as they are generated.

        When the client hangs up (`disconnected`, or this generator being closed) before its turn,
        the request leaves the queue without running the model. ApiError for a failed answer."""
        left = threading.Event()

        def work() -> Answer | None:
            with self.queue.turn(cancelled=left.is_set):
                return self._checked_answer(chat, left, drafts)

        future = asyncio.get_running_loop().run_in_executor(self._workers, work)
        future.add_done_callback(lambda done: done.cancelled() or done.exception())  # never "not retrieved"
        try:
            while True:
                finished, _ = await asyncio.wait({future}, timeout=tick)
                if finished:
                    break
                if disconnected is not None and await disconnected():
                    left.set()
                    return
                yield None
            try:
                answer = future.result()
                if answer is None:
                    return
            except QueueLeft:
                return
            except InputError as error:
                raise ApiError(400, str(error)) from None
            except NewsqaError as error:
                raise ApiError(500, str(error), code="newsqa_error", kind="server_error") from None
            except Exception:
                log.exception("answering %r failed", chat.question)
                raise ApiError(
                    500,
                    "something went wrong on the server (it has been logged); please try again",
                    kind="server_error",
                ) from None
            yield answer
        finally:
            left.set()

    def _checked_answer(self, chat: ChatRequest, left: threading.Event, drafts: list[str] | None) -> Answer | None:
        """The checked answer to `chat`; None when the client hung up, noticed at the next generated token
        (closing the stream stops the model)."""
        stream = self.assistant.ask_stream(chat.question, k=chat.k, filters=chat.filters, history=chat.history)
        try:
            for item in stream:
                if left.is_set():
                    log.info("the client hung up; answer to %r stopped", chat.question)
                    return None
                if isinstance(item, Answer):
                    return item
                if drafts is not None:
                    drafts.append(item)
        finally:
            stream.close()
        return None

    def close(self) -> None:
        """Stop the answer threads (after the server has stopped)."""
        self._workers.shutdown(wait=False, cancel_futures=True)


async def _error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error.response()

"""The OpenAI-compatible API's pure parts and the shared model queue, without models or a server."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from qa.errors import ConfigError
from qa.types import Answer, Citation
from qa.web.model_queue import ModelQueue, QueueLeft
from qa.web.openai_api import (
    ApiError,
    answer_markdown,
    parse_chat_request,
    plain_answer,
    token_ok,
)
from qa.web.serve import check_bind

KOREA = "Who did Zuckerberg meet in Korea?"


def _citation(number: int, **fields: object) -> Citation:
    values: dict = {
        "number": number,
        "article_id": f"a{number}",
        "chunk_id": f"a{number}:0",
        "title": "Zuckerberg meets LG",
        "source": "Le Courrier Tech",
        "url": "https://example.com/fr/meta-lg-seoul",
        "published": datetime(2024, 2, 28, tzinfo=UTC),
        "language": "fr",
        "passage": "Face à lui se trouvaient William Cho et Kwon Bong-seok.",
        "start": 0,
        "end": 56,
        "quote": "Face à lui se trouvaient William Cho et Kwon Bong-seok.",
        "quote_start": 0,
        "quote_end": 56,
    }
    values.update(fields)
    return Citation(**values)


def _request(*messages: dict, **options: object) -> dict:
    return {"model": "newsqa", "messages": list(messages), **options}


def _error(body: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_chat_request(body)
    return caught.value


def test_the_conversation_becomes_the_question_and_its_follow_up_history() -> None:
    reply = answer_markdown(Answer(KOREA, "He met William Cho [1].", [_citation(1)], [], False, "en"))
    chat = parse_chat_request(
        _request(
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": KOREA},
            {"role": "assistant", "content": reply},
            {"role": "user", "content": "unanswered, then asked again"},
            {"role": "user", "content": [{"type": "text", "text": "And which company"}, {"type": "text", "text": "?"}]},
            stream=True,
            stream_options={"include_usage": True},
            k=4,
            since="2024-01-01",
            languages="fr",
        )
    )
    assert chat.question == "And which company\n?"
    assert chat.history == [(KOREA, "He met William Cho [1].")], "the sources list is not part of the history"
    assert chat.stream and chat.include_usage and chat.k == 4
    assert chat.filters is not None and chat.filters.languages == {"fr"} and str(chat.filters.since) == "2024-01-01"
    plain = parse_chat_request(_request({"role": "user", "content": KOREA}))
    assert (plain.stream, plain.include_usage, plain.k, plain.filters, plain.history) == (False, False, None, None, [])


@pytest.mark.parametrize(
    ("body", "status", "param", "message"),
    [
        ([], 400, None, "must be a JSON object"),
        ({"messages": [{"role": "user", "content": "hi"}]}, 400, "model", "`model` is required"),
        (_request({"role": "user", "content": "hi"}) | {"model": "gpt-4o"}, 404, "model", "does not exist here"),
        (_request(), 400, "messages", "non-empty list"),
        (_request("hi"), 400, "messages", "must be an object"),
        (_request({"role": "robot", "content": "hi"}), 400, "messages[0].role", "must be one of"),
        (_request({"role": "user", "content": 42}), 400, "messages[0].content", "must be a string"),
        (_request({"role": "user", "content": [{"type": "image_url"}]}), 400, "messages[0].content", "text only"),
        (_request({"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}), 400, "messages", "last"),
        (_request({"role": "user", "content": "   "}), 400, "messages", "is empty"),
        (_request({"role": "user", "content": "x" * 2001}), 400, "messages", "the limit is 2000"),
        (_request({"role": "user", "content": "hi"}, stream="yes"), 400, "stream", "true or false"),
        (_request({"role": "user", "content": "hi"}, n=2), 400, "n", "must be 1"),
        (_request({"role": "user", "content": "hi"}, k=0), 400, "k", "between 1 and 20"),
        (_request({"role": "user", "content": "hi"}, k=True), 400, "k", "an integer"),
        (_request({"role": "user", "content": "hi"}, since="last week"), 400, "since", "must be a date"),
        (_request({"role": "user", "content": "hi"}, sources=[1]), 400, "sources", "list of strings"),
        (
            _request({"role": "user", "content": "hi"}, since="2024-05-01", until="2024-01-01"),
            400,
            "the",
            "date range is empty",
        ),
    ],
)
def test_bad_requests_get_openai_style_errors(body: object, status: int, param: str | None, message: str) -> None:
    error = _error(body)
    assert (error.status, error.param) == (status, param)
    assert message in error.message
    payload = error.body()["error"]
    assert set(payload) == {"message", "type", "param", "code"} and payload["type"] == "invalid_request_error"


def test_reply_markdown_keeps_markers_lists_sources_and_neutralises_injected_markup() -> None:
    citations = [
        _citation(1),
        _citation(3, title="A [link](https://evil.example) *title*", url="javascript:alert(1)", source=None),
    ]
    text = "He met William Cho [1] ![x](https://evil.example/?q=secret) <img src=x> and Kwon [3]."
    markdown = answer_markdown(Answer(KOREA, text, citations, [], False, "en"))
    answer, sources = markdown.split("\n\n**Sources**\n\n")
    assert answer.startswith("He met William Cho [1] ") and answer.endswith("and Kwon [3].")
    assert "![x](" not in answer and r"\!\[x\](" in answer and r"\<img" in answer
    lines = sources.splitlines()
    assert (
        lines[0] == "- [1] [Zuckerberg meets LG](<https://example.com/fr/meta-lg-seoul>) — Le Courrier Tech, 2024-02-28"
    )
    assert lines[1] == "  > “Face à lui se trouvaient William Cho et Kwon Bong-seok.”"
    assert lines[2] == r"- [3] *A \[link\](https://evil.example) \*title\** — 2024-02-28", (
        "no javascript: link, no live link"
    )
    assert plain_answer(markdown) == text, "an earlier reply reads back as the answer itself"
    abstention = Answer("Who won?", "The articles don't say.", [], [], True, "en")
    assert answer_markdown(abstention) == "The articles don't say."


def test_bearer_tokens() -> None:
    assert token_ok(None, None) and token_ok("Bearer anything", None)
    assert token_ok("Bearer s3cret", "s3cret") and token_ok("bearer s3cret", "s3cret")
    assert not token_ok(None, "s3cret") and not token_ok("Bearer wrong", "s3cret")
    assert not token_ok("Basic s3cret", "s3cret") and not token_ok("Bearer ", "s3cret")


def test_listening_off_loopback_needs_a_password_and_an_api_key() -> None:
    check_bind("::1", None, None)
    with pytest.raises(ConfigError, match=r"without an API key.*NEWSQA_API_KEY"):
        check_bind("0.0.0.0", ("alice", "pw"), None)


def test_model_queue_serves_one_at_a_time_in_arrival_order() -> None:
    queue = ModelQueue()
    order: list[int] = []
    threads = []
    with queue.turn():
        for number in range(4):
            thread = threading.Thread(target=lambda n=number: _take_turn(queue, order, n))
            thread.start()
            _wait_for(lambda n=number: queue.waiting == n + 1)  # the next one arrives after this one is waiting
            threads.append(thread)
        assert order == [], "nobody runs while the turn is held"
    for thread in threads:
        thread.join(timeout=30)
    assert order == [0, 1, 2, 3] and queue.waiting == 0


def test_model_queue_callers_can_leave_while_waiting() -> None:
    queue = ModelQueue()
    leave = threading.Event()
    outcome: list[str] = []

    def waiter() -> None:
        try:
            with queue.turn(cancelled=leave.is_set):
                outcome.append("ran")
        except QueueLeft:
            outcome.append("left")

    with queue.turn():
        thread = threading.Thread(target=waiter)
        thread.start()
        _wait_for(lambda: queue.waiting == 1)
        leave.set()
        thread.join(timeout=30)
        assert outcome == ["left"] and queue.waiting == 0
    with queue.turn():  # the queue is free again
        outcome.append("next")
    assert outcome == ["left", "next"]


def _take_turn(queue: ModelQueue, order: list[int], number: int) -> None:
    with queue.turn():
        order.append(number)


def _wait_for(condition: object, limit: int = 2000) -> None:
    event = threading.Event()
    for _ in range(limit):
        if condition():  # type: ignore[operator]
            return
        event.wait(0.01)
    raise AssertionError("the condition never became true")

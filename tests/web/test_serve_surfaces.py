"""The server `newsqa serve` builds, run for real on 127.0.0.1 without the LLM: the OpenAI-compatible API's
errors and stream format through the `openai` client, the MCP tools through an MCP client, and one model
queue shared by the API, the web UI's `/ask` and MCP."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from qa.assistant import Assistant
from qa.cli import main as cli_main
from qa.config import Settings
from qa.web import openai_api
from qa.web.model_queue import ModelQueue
from qa.web.serve import build_server
from tests.conftest import SAMPLES
from tests.web.conftest import free_port

KEY = "test-api-key-123"
ARTICLES = ["en-zuckerberg-samsung-lee-2024.md", "en-vision-pro-launch-2024.md", "en-veyra-gyor-2024.md"]
# With a date window in the future no passage is found: newsqa abstains without running the LLM.
NO_ARTICLES = {"since": "2031-01-01"}
KOREA = "Who did Zuckerberg meet in Korea?"


@dataclass
class Served:
    url: str
    queue: ModelQueue

    def openai(self, key: str | None = KEY, **options: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key or "none", max_retries=0, **options)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, fast_settings: Settings) -> Iterator[Served]:
    index = tmp_path_factory.mktemp("surfaces") / "index"
    assistant = Assistant.open(index, fast_settings)
    report = assistant.ingest([SAMPLES / name for name in ARTICLES])
    assert len(report.added) == len(ARTICLES)
    queue = ModelQueue()
    app = build_server(assistant, api_key=KEY, mcp=True, queue=queue)
    port = free_port()
    # Open keep-alive and queue streams would hold a graceful shutdown for its default 30 s.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait_for(lambda: server.started or not thread.is_alive())
    assert server.started, "the server did not start"
    yield Served(f"http://127.0.0.1:{port}", queue)
    server.should_exit = True
    thread.join(timeout=30)


def test_models_and_authentication(served: Served) -> None:
    assert [model.id for model in served.openai().models.list()] == ["newsqa"]
    assert served.openai().models.retrieve("newsqa").owned_by == "newsqa"
    for key in ("wrong-key", None):
        with pytest.raises(openai.AuthenticationError) as caught:
            served.openai(key).chat.completions.create(model="newsqa", messages=[{"role": "user", "content": KOREA}])
        assert caught.value.code == "invalid_api_key" and "NEWSQA_API_KEY" in caught.value.message
    with pytest.raises(openai.AuthenticationError):
        served.openai("wrong-key").models.list()
    assert httpx.get(f"{served.url}/").status_code == 200, "the web UI is served beside the API"


def test_bad_input_gets_openai_error_objects(served: Served) -> None:
    client = served.openai()
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="newsqa", messages=[])
    assert caught.value.param == "messages" and "non-empty list" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="newsqa", messages=[{"role": "user", "content": KOREA}], extra_body={"since": "last week"}
        )
    assert caught.value.param == "since" and "must be a date" in caught.value.message
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": KOREA}])
    assert caught.value.code == "model_not_found"
    response = httpx.post(
        f"{served.url}/v1/chat/completions", content=b"{not json", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 400 and response.json()["error"]["message"] == "the request body is not valid JSON"
    response = httpx.get(f"{served.url}/v1/embeddings", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_stream_format_of_an_abstention(served: Served) -> None:
    stream = served.openai().chat.completions.create(
        model="newsqa",
        messages=[{"role": "user", "content": KOREA}],
        stream=True,
        stream_options={"include_usage": True},
        extra_body=NO_ARTICLES,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant" and not chunks[0].choices[0].delta.content
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "The articles don't say."
    final = next(chunk for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason)
    assert final.choices[0].finish_reason == "stop"
    assert final.citations == [] and final.newsqa["abstained"] is True
    assert chunks[-1].choices == [] and chunks[-1].usage is not None, "the usage chunk comes last"
    completion = served.openai().chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": KOREA}], extra_body=NO_ARTICLES
    )
    assert completion.choices[0].message.content == text and completion.newsqa["abstained"] is True


def test_api_ui_and_mcp_wait_in_one_queue(served: Served) -> None:
    from gradio_client import Client

    results: dict[str, Any] = {}
    threads = [
        threading.Thread(target=_record(results, "api", lambda: _api_abstention(served))),
        threading.Thread(
            target=_record(results, "ui", lambda: Client(served.url, verbose=False).predict("   ", api_name="/ask"))
        ),
        threading.Thread(target=_record(results, "mcp", lambda: asyncio.run(_mcp_search(served.url, KEY)))),
    ]
    with served.queue.turn():
        for waiting, thread in enumerate(threads, start=1):
            thread.start()
            _wait_for(lambda n=waiting: served.queue.waiting == n)
        assert results == {}, "nothing is answered while another request holds the model"
    for thread in threads:
        thread.join(timeout=120)
    assert results["api"].choices[0].message.content == "The articles don't say."
    assert isinstance(results["ui"], Exception) and "the question is empty" in str(results["ui"])
    assert not results["mcp"].is_error and results["mcp"].structured_content["passages"]
    assert served.queue.waiting == 0


def test_a_client_that_hangs_up_leaves_the_queue(served: Served) -> None:
    results: dict[str, Any] = {}
    client = served.openai(timeout=openai.Timeout(3.0, connect=3.0))
    thread = threading.Thread(target=_record(results, "api", lambda: _api_abstention(served, client)))
    with served.queue.turn():
        thread.start()
        _wait_for(lambda: served.queue.waiting == 1)
        thread.join(timeout=60)
        assert isinstance(results["api"], openai.APITimeoutError)
        _wait_for(lambda: served.queue.waiting == 0)  # the server noticed and gave up its place


def test_a_full_queue_answers_429(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_api, "MAX_WAITING", 1)
    results: dict[str, Any] = {}
    thread = threading.Thread(target=_record(results, "api", lambda: _api_abstention(served)))
    with served.queue.turn():
        thread.start()
        _wait_for(lambda: served.queue.waiting == 1)
        with pytest.raises(openai.RateLimitError) as caught:
            _api_abstention(served)
        assert caught.value.code == "queue_full"
    thread.join(timeout=120)
    assert results["api"].newsqa["abstained"] is True, "the waiting request is still answered"


def test_mcp_tools_with_filters_and_authentication(served: Served) -> None:
    async def session() -> tuple[Any, Any, Any, Any]:
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2_client(KEY)
        async with Client(streamable_http_client(f"{served.url}/mcp", http_client=http)) as client:
            tools = await client.list_tools()
            found = await client.call_tool("search", {"query": "Vision Pro price", "k": 2})
            filtered = await client.call_tool("search", {"query": "Vision Pro price", "since": "2031-01-01"})
            bad = await client.call_tool("search", {"query": "Vision Pro price", "since": "yesterday"})
            return tools, found, filtered, bad

    tools, found, filtered, bad = asyncio.run(session())
    schemas = {tool.name: tool for tool in tools.tools}
    assert set(schemas) == {"ask", "search"}
    assert {"question", "since", "until", "outlets", "languages", "k"} <= set(schemas["ask"].input_schema["properties"])
    assert schemas["ask"].output_schema and schemas["search"].output_schema
    passages = found.structured_content["passages"]
    assert len(passages) == 2 and passages[0]["article_id"] == "en-vision-pro-launch-2024"
    assert {"title", "outlet", "published", "url", "language", "text", "score", "start", "end"} <= set(passages[0])
    assert filtered.structured_content["passages"] == []
    assert bad.is_error and "since must be a date" in bad.content[0].text
    response = httpx.post(
        f"{served.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": "Bearer wrong", "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


def test_serving_off_loopback_needs_the_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NEWSQA_API_KEY", raising=False)
    assert cli_main(["serve", "--index", str(tmp_path), "--host", "0.0.0.0", "--auth", "alice:pw"]) == 2
    assert "without an API key" in capsys.readouterr().err
    monkeypatch.setenv("NEWSQA_API_KEY", KEY)
    port = free_port()
    with socket.socket() as taken:  # with the key, the next check is the address itself
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert cli_main(["serve", "--index", str(tmp_path), "--host", "127.0.0.1", "--port", str(port)]) == 1
    assert f"cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err


# -- helpers -----------------------------------------------------------------------------------


def httpx2_client(key: str) -> Any:
    import httpx2

    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)


def _api_abstention(served: Served, client: openai.OpenAI | None = None) -> Any:
    return (client or served.openai()).chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": KOREA}], extra_body=NO_ARTICLES
    )


async def _mcp_search(url: str, key: str) -> Any:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with Client(streamable_http_client(f"{url}/mcp", http_client=httpx2_client(key))) as client:
        return await client.call_tool("search", {"query": "Vision Pro price", "k": 1})


def _record(results: dict[str, Any], name: str, call: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:
            results[name] = call()
        except Exception as error:
            results[name] = error

    return run


def _wait_for(condition: Callable[[], bool], limit: int = 6000) -> None:
    pause = threading.Event()
    for _ in range(limit):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError("the condition never became true")

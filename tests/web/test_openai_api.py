"""`newsqa serve --mcp` with the real models, through the official `openai` client and an MCP client:
a streamed answer, a follow-up, an unanswerable question and the MCP `ask` tool (one server for all)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import openai
import pytest

from qa.text import fold
from qa.web.openai_api import ESCAPED
from tests.web.conftest import _server_env, free_port, run_server

pytestmark = pytest.mark.slow

KEY = "slow-test-api-key"
KOREA = "Who did Zuckerberg meet in Korea?"
KOREA_REPLY = (
    "Mark Zuckerberg met William Cho and Kwon Bong-seok, the directors of LG Electronics, in Seoul [1].\n\n"
    "**Sources**\n\n- [1] [Mark Zuckerberg rencontre les dirigeants de LG Electronics à Séoul]"
    "(<https://example.com/fr/meta-lg-seoul>) — Le Courrier Tech, 2024-02-28\n  > “Face à lui se trouvaient …”"
)


@pytest.fixture(scope="module")
def api_url(web_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`newsqa serve --mcp` over the sample corpus, with an API key; the base URL of its server."""
    port = free_port()
    log = tmp_path_factory.mktemp("api-server") / "serve.log"
    command = [sys.executable, "-m", "qa.cli", "serve", "--index", str(web_index), "--port", str(port), "--mcp"]
    env = {**_server_env(), "NEWSQA_API_KEY": KEY}
    with closing(run_server(command, port, log, env)) as server:  # closing stops the process at teardown
        for url in server:
            yield url.rstrip("/")


@pytest.fixture
def client(api_url: str) -> openai.OpenAI:
    # No retries: a slow answer on a busy machine must not be asked for twice.
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key=KEY, timeout=1800, max_retries=0)


def _check_reply(content: str, citations: list[dict[str, Any]]) -> str:
    """The answer part of a reply, after checking that its markers and its sources list match the citations."""
    answer, _, sources = content.partition("\n\n**Sources**\n\n")
    numbers = {citation["number"] for citation in citations}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer)} <= numbers, content
    for citation in citations:
        assert f"- [{citation['number']}] " in sources, content
        assert " ".join(citation["quote"].split())[:40] in sources
    return answer


def test_streamed_reply_is_the_checked_answer_with_its_sources(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="newsqa",
        messages=[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": KOREA}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    final = next(chunk for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason == "stop")
    assert final.newsqa["abstained"] is False and final.citations, content
    answer = _check_reply(content, final.citations)
    assert "william cho" in fold(answer) or "jay y. lee" in fold(answer), answer
    assert chunks[-1].usage.prompt_tokens > 0


def test_follow_up_uses_the_conversation(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="newsqa",
        messages=[
            {"role": "user", "content": KOREA},
            {"role": "assistant", "content": KOREA_REPLY},
            {"role": "user", "content": "Which company do they run?"},
        ],
    )
    content = completion.choices[0].message.content
    assert not completion.newsqa["abstained"], content
    assert completion.newsqa["standalone_question"] != "Which company do they run?"
    assert "lg" in fold(_check_reply(content, completion.citations)).split(), content
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0


def test_unanswerable_question_says_so(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": "Who is the chief executive of Korvath Semiconductor?"}]
    )
    content = completion.choices[0].message.content
    assert completion.newsqa["abstained"] and completion.newsqa["abstention_reason"], content
    assert content.startswith("The articles don't say."), content
    _check_reply(content, completion.citations)


def test_mcp_ask_gives_a_checked_answer(api_url: str) -> None:
    async def ask() -> Any:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=1800)
        async with Client(streamable_http_client(f"{api_url}/mcp", http_client=http)) as session:
            return await session.call_tool("ask", {"question": "How much does the Apple Vision Pro cost?"})

    result = asyncio.run(ask())
    assert not result.is_error, result.content
    answer = result.structured_content
    assert not answer["abstained"] and answer["sources"], answer
    assert any(price in answer["answer"] for price in ("3,499", "3499", "3 499")), answer["answer"]
    assert answer["sources"][0]["quote"] and answer["sources"][0]["title"]
    # the markdown reply escapes characters front ends would render ("$" starts maths in some)
    assert ESCAPED.sub(r"\1", answer["markdown"]).startswith(answer["answer"].split("[")[0])

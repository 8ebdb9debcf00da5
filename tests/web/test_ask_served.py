"""`newsqa ask` answers through a `newsqa serve` running on its index (found by the marker the server leaves
beside the index), and in its own process when there is none, when told not to, or when the marker is stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from qa.web.discovery import MARKER, find_server
from tests.conftest import ROOT
from tests.web.conftest import _server_env, free_port, run_server

KOREA = "Who did Zuckerberg meet in Korea?"
FUTURE = ["--since", "2031-01-01"]  # no passage in that window: an abstention without the LLM


def ask(index: Path, *options: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "qa.cli", "ask", "--index", str(index), *options, KOREA]
    return subprocess.run(command, cwd=ROOT, env=_server_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def served_index(web_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    port = free_port()
    log = tmp_path_factory.mktemp("ask-served") / "serve.log"
    command = [sys.executable, "-m", "qa.cli", "serve", "--index", str(web_index), "--port", str(port)]
    with closing(run_server(command, port, log)) as server:
        url = next(server)
        yield web_index, url.rstrip("/")
    assert not (web_index / MARKER).exists(), "a stopped server takes its marker away"


def test_ask_uses_the_running_server(served_index: tuple[Path, str]) -> None:
    index, url = served_index
    marker = json.loads((index / MARKER).read_text(encoding="utf-8"))
    assert marker["url"] == url and find_server(index) == url
    served = ask(index, *FUTURE)
    assert served.returncode == 0, served.stderr
    assert f"answered by the server at {url}" in served.stderr
    local = ask(index, "--no-server", *FUTURE)
    assert local.returncode == 0, local.stderr
    assert "answered by the server" not in local.stderr
    assert served.stdout.splitlines()[0] == local.stdout.splitlines()[0], "the same abstention either way"


def test_a_stale_marker_is_ignored(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": os.getpid()}), encoding="utf-8")
    assert find_server(tmp_path) is None, "nothing answers at that address"
    (tmp_path / MARKER).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": 2**22 + 1}), encoding="utf-8")
    assert find_server(tmp_path) is None, "no such process"
    assert find_server("postgresql://user@127.0.0.1/db") is None


@pytest.mark.slow
def test_the_served_answer_streams_its_draft_then_the_checked_answer(served_index: tuple[Path, str]) -> None:
    index, url = served_index
    body = {"model": "newsqa", "messages": [{"role": "user", "content": KOREA}], "stream": True, "newsqa_draft": True}
    request = urllib.request.Request(
        f"{url}/v1/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    drafts, final = [], None
    with urllib.request.urlopen(request, timeout=600) as response:
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("data: {"):
                event = json.loads(line[6:])
                if "newsqa_draft" in event:
                    drafts.append(event["newsqa_draft"])
                elif event["choices"] and event["choices"][0]["finish_reason"] == "stop":
                    final = event
    assert drafts and final is not None
    assert "Cho" in "".join(drafts) and final["newsqa"]["text"]
    answered = ask(index)
    assert answered.returncode == 0 and "answered by the server" in answered.stderr
    assert "[1]" in answered.stdout

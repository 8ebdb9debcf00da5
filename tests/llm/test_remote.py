"""The OpenAI-compatible LLM backend: retries, errors and timeouts against small HTTP servers on 127.0.0.1,
then streaming and full cited answers against a real `llama_cpp.server` running the default GGUF."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from qa.assistant import Assistant
from qa.config import DEFAULT_LLM_MODEL, Settings
from qa.errors import ConfigError, LLMError
from qa.llm.factory import make_llm
from qa.llm.remote import OpenAICompatibleLLM
from qa.text import fold
from tests.conftest import ROOT, SAMPLES

KOREA = "Who did Zuckerberg meet in Korea?"
# From samples/gold/dev/questions.jsonl (q001): the LG executives (French article) or Samsung's chairman (English one).
KOREA_ANSWERS = ("william cho", "cho joo-wan", "kwon bong-seok", "jay y. lee", "lee jae-yong")
KOREA_ARTICLES = {"fr-meta-lg-2024", "en-zuckerberg-samsung-lee-2024"}
SERVER_STARTUP_S = 180
SECRET = "sk-test-not-a-real-key-123"

Script = Callable[[BaseHTTPRequestHandler], None]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- a scripted HTTP server ---------------------------------------------------------------------


class StubServer:
    """A real HTTP server on 127.0.0.1 that answers each request with the next scripted behaviour
    (the last one repeats) and records what it received."""

    def __init__(self) -> None:
        self.script: list[Script] = []
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                headers = {name.lower(): value for name, value in self.headers.items()}
                stub.requests.append({"path": self.path, "headers": headers, "body": body})
                behaviour = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                behaviour(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.release = self.release  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def llm(self, **options: Any) -> OpenAICompatibleLLM:
        return OpenAICompatibleLLM(self.url, options.pop("model", "stub-model"), backoff_s=0.05, **options)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


def status(code: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Script:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        payload = json.dumps(body or {"error": {"message": f"status {code}"}}).encode()
        handler.send_response(code)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    return reply


def sse(*deltas: str, then_stall: float = 0.0, truncate: bool = False, usage: dict[str, int] | None = None) -> Script:
    """A chat-completion event stream of `deltas` (and a last `usage` event); optionally stalls, or drops
    the connection mid-body."""

    def reply(handler: BaseHTTPRequestHandler) -> None:
        events: list[dict[str, Any]] = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
        events += [{"choices": [{"index": 0, "delta": {"content": delta}}]} for delta in deltas]
        if usage:
            events.append({"choices": [], "usage": usage})
        data = "".join(f"data: {json.dumps(event)}\n\n" for event in events)
        if not (then_stall or truncate):
            data += "data: [DONE]\n\n"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        # A declared length longer than what is sent makes an early close a broken body, not a normal end.
        handler.send_header("Content-Length", str(len(data.encode()) + (10_000 if truncate or then_stall else 0)))
        handler.end_headers()
        handler.wfile.write(data.encode())
        handler.wfile.flush()
        if then_stall:
            stub_release(handler).wait(then_stall)
        handler.close_connection = True

    return reply


def stall(seconds: float) -> Script:
    """Reads the request and says nothing for `seconds`."""

    def reply(handler: BaseHTTPRequestHandler) -> None:
        if not stub_release(handler).wait(seconds):
            status(200, {"choices": [{"message": {"content": "late"}}]})(handler)

    return reply


def stub_release(handler: BaseHTTPRequestHandler) -> threading.Event:
    return handler.server.release  # type: ignore[attr-defined]


# -- fast: the client against scripted servers --------------------------------------------------


def test_streams_deltas_with_bearer_key_and_openai_body(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSQA_LLM_API_KEY", SECRET)
    stub.script = [sse("William", " Cho", " [1]")]
    llm = stub.llm(max_new_tokens=40)
    deltas = list(llm.stream_messages([("system", "Be brief."), ("user", "Who?")]))
    assert deltas == ["William", " Cho", " [1]"]
    (request,) = stub.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {SECRET}"
    assert request["body"] == {
        "model": "stub-model",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who?"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.0,
        "max_tokens": 40,
    }
    assert SECRET not in json.dumps(llm.to_dict())
    assert OpenAICompatibleLLM.from_dict(llm.to_dict()).to_dict() == llm.to_dict()


def test_without_a_key_no_authorization_is_sent(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSQA_LLM_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # meant for OpenAI, never for the configured endpoint
    monkeypatch.setenv("OPENAI_ADMIN_KEY", SECRET)
    stub.script = [sse("ok")]
    assert list(stub.llm().stream_messages([("user", "hi")])) == ["ok"]
    assert "authorization" not in stub.requests[0]["headers"]
    assert SECRET not in json.dumps(stub.requests[0]["headers"])


def test_reported_usage_is_passed_on(stub: StubServer) -> None:
    stub.script = [sse("Seoul", " [1]", usage={"prompt_tokens": 412, "completion_tokens": 3, "total_tokens": 415})]
    usage: dict[str, int] = {}
    assert "".join(stub.llm().stream_messages([("user", "Where?")], usage=usage)) == "Seoul [1]"
    assert usage == {"prompt_tokens": 412, "completion_tokens": 3}
    stub.script = [sse("no usage reported")]
    usage = {}
    assert list(stub.llm().stream_messages([("user", "Where?")], usage=usage)) == ["no usage reported"]
    assert usage == {}


def test_a_server_that_ignores_stream_sends_the_whole_reply(stub: StubServer) -> None:
    stub.script = [status(200, {**_choice("All at once [1]"), "usage": {"prompt_tokens": 9, "completion_tokens": 4}})]
    usage: dict[str, int] = {}
    assert list(stub.llm().stream_messages([("user", "hi")], usage=usage)) == ["All at once [1]"]
    assert usage == {"prompt_tokens": 9, "completion_tokens": 4}


def test_an_error_event_in_the_stream_is_reported(stub: StubServer) -> None:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        data = b'data: {"error": {"message": "model crashed"}}\n\n'
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    stub.script = [reply]
    with pytest.raises(LLMError, match="reported an error: model crashed"):
        list(stub.llm().stream_messages([("user", "hi")]))
    assert len(stub.requests) == 1


def _choice(content: str, top: dict[str, float] | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content}}
    if top is not None:
        alternatives = [{"token": token, "logprob": logprob} for token, logprob in top.items()]
        choice["logprobs"] = {"content": [{"token": content, "logprob": 0.0, "top_logprobs": alternatives}]}
    return {"choices": [choice]}


def test_yes_probability_from_the_endpoint_log_probabilities(stub: StubServer) -> None:
    stub.script = [status(200, _choice("Yes", {"Yes": -0.5, "yes": -2.0, "No": -1.5, "Maybe": -3.0}))]
    probability = stub.llm().yes_probability([("user", "Is it stated?")])
    yes, no = math.exp(-0.5) + math.exp(-2.0), math.exp(-1.5)
    assert probability == pytest.approx(yes / (yes + no))
    body = stub.requests[0]["body"]
    assert body["logprobs"] is True and body["top_logprobs"] == 10 and "stream" not in body


def test_yes_probability_falls_back_to_the_reply_when_log_probabilities_are_refused(stub: StubServer) -> None:
    stub.script = [status(400, {"error": {"message": "logprobs is not supported"}}), status(200, _choice("No."))]
    llm = stub.llm()
    assert llm.yes_probability([("user", "Is it stated?")]) == 0.0
    stub.script = [status(200, _choice("yes, it is"))]
    assert llm.yes_probability([("user", "Is it stated?")]) == 1.0
    assert ["logprobs" in r["body"] for r in stub.requests] == [True, False, False], "asked once, then not again"


def test_yes_probability_reports_a_down_backend(stub: StubServer) -> None:
    stub.script = [status(200, _choice("Yes", {"Yes": -0.1, "No": -3.0})), status(503)]
    llm = stub.llm(retries=1)
    assert llm.yes_probability([("user", "Is it stated?")]) > 0.9
    with pytest.raises(LLMError, match="not reachable after 2 attempts"):
        llm.yes_probability([("user", "Is it stated?")])


def test_model_defaults_to_the_first_listed(stub: StubServer) -> None:
    stub.script = [status(200, {"object": "list", "data": [{"id": "served-model"}, {"id": "other"}]}), sse("ok")]
    llm = OpenAICompatibleLLM(stub.url)
    assert "".join(llm.stream_messages([("user", "hi")])) == "ok"
    assert [r["path"] for r in stub.requests] == ["/v1/models", "/v1/chat/completions"]
    assert stub.requests[1]["body"]["model"] == "served-model" == llm.model_name


def test_retries_5xx_and_429_before_the_first_token(stub: StubServer) -> None:
    stub.script = [status(503), status(429, headers={"Retry-After": "0"}), sse("fine")]
    assert list(stub.llm().stream_messages([("user", "hi")])) == ["fine"]
    assert len(stub.requests) == 3


def test_gives_up_after_the_retries(stub: StubServer) -> None:
    stub.script = [status(502, {"error": {"message": "upstream is down"}})]
    with pytest.raises(LLMError, match=r"is not reachable after 3 attempts: returned 502: upstream is down"):
        list(stub.llm(retries=2).stream_messages([("user", "hi")]))
    assert len(stub.requests) == 3


def test_no_retry_once_text_has_streamed(stub: StubServer) -> None:
    stub.script = [sse("Partial", truncate=True), sse("should never be asked for")]
    received = []
    with pytest.raises(LLMError, match=r"broke after 7 characters"):
        for delta in stub.llm().stream_messages([("user", "hi")]):
            received.append(delta)
    assert received == ["Partial"] and len(stub.requests) == 1


def test_401_names_the_key_variable(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSQA_LLM_API_KEY", raising=False)
    stub.script = [status(401, {"error": {"message": "Incorrect API key provided"}})]
    with pytest.raises(
        LLMError, match=r"returned 401: check NEWSQA_LLM_API_KEY \(the environment variable is not set\)"
    ):
        list(stub.llm().stream_messages([("user", "hi")]))
    assert len(stub.requests) == 1, "an authentication failure is not retried"
    monkeypatch.setenv("MY_KEY", SECRET)
    with pytest.raises(LLMError, match=r"check MY_KEY \(the environment variable is set but was refused\)"):
        list(stub.llm(api_key_env="MY_KEY").stream_messages([("user", "hi")]))


def test_404_suggests_the_base_url(stub: StubServer) -> None:
    stub.script = [status(404, {"detail": "Not Found"})]
    with pytest.raises(LLMError, match=r"404 .*most servers expect it to end in /v1"):
        list(stub.llm().stream_messages([("user", "hi")]))


def test_timeout_before_the_reply(stub: StubServer) -> None:
    stub.script = [stall(5)]
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"did not answer within 0.3 s; raise llm_timeout_s"):
        list(stub.llm(timeout_s=0.3).stream_messages([("user", "hi")]))
    assert time.monotonic() - started < 2
    assert len(stub.requests) == 1, "a slow model is not asked again"


def test_timeout_in_the_middle_of_the_stream(stub: StubServer) -> None:
    stub.script = [sse("Half", " an answer", then_stall=5)]
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"sent nothing for 0.3 s \(14 characters received\)"):
        list(stub.llm(timeout_s=0.3).stream_messages([("user", "hi")]))
    assert time.monotonic() - started < 2


def test_down_backend_fails_clearly_within_bounded_time() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    llm = OpenAICompatibleLLM(url, "any", retries=2, backoff_s=0.2)
    started = time.monotonic()
    with pytest.raises(
        LLMError, match=rf"the LLM endpoint {re.escape(url)} is not reachable after 3 attempts: Connect"
    ):
        list(llm.stream_messages([("user", "hi")]))
    assert 0.2 + 0.4 <= time.monotonic() - started < 5, "backs off between attempts, then stops"
    with pytest.raises(LLMError, match="is not reachable after 3 attempts"):
        OpenAICompatibleLLM(url, retries=2, backoff_s=0.01).warm_up()


def test_settings_choose_and_validate_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"needs llm_base_url \(--llm-base-url or \$NEWSQA_LLM_BASE_URL\)"):
        Settings(llm_backend="openai")
    with pytest.raises(ConfigError, match="must be 'local' or 'openai'"):
        Settings(llm_backend="cloud")
    with pytest.raises(ConfigError, match="must start with http"):
        Settings(llm_backend="openai", llm_base_url="127.0.0.1:8080/v1")
    with pytest.raises(ConfigError, match="llm_retries must be 0 or more"):
        Settings(llm_retries=-1)
    monkeypatch.setenv("NEWSQA_LLM_API_KEY", SECRET)
    settings = Settings(llm_backend="openai", llm_base_url="http://127.0.0.1:9/v1/", llm_timeout_s=5, llm_retries=1)
    llm = make_llm(settings)
    assert isinstance(llm, OpenAICompatibleLLM)
    assert (llm.base_url, llm.timeout_s, llm.retries, llm.max_new_tokens) == ("http://127.0.0.1:9/v1", 5, 1, 160)
    assert SECRET not in json.dumps(settings.to_dict()) + json.dumps(llm.to_dict())
    assert type(make_llm(Settings())).__name__ == "LocalLLM"


def test_cli_openai_backend_without_url_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_LLM_")}
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "anything?", "--index", str(tmp_path), "--llm-backend", "openai"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 1 and "needs llm_base_url (--llm-base-url" in result.stderr, result.stderr


# -- slow: a real llama_cpp.server running the default GGUF ------------------------------------


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from qa.models import resolve

    model = resolve(DEFAULT_LLM_MODEL, "llm", Settings().models_dir)
    port = free_port()
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + SERVER_STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start within {SERVER_STARTUP_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("remote-sample") / "index"
    report = Assistant.open(index, Settings()).ingest([SAMPLES])
    assert report.skipped == [] and report.added
    return index


@pytest.mark.slow
def test_real_server_streams_tokens_incrementally(llm_server: str) -> None:
    llm = OpenAICompatibleLLM(llm_server, max_new_tokens=40)
    llm.warm_up()
    arrivals = []
    for delta in llm.stream_messages([("user", "Count from 1 to 10, separated by commas.")]):
        arrivals.append((time.monotonic(), delta))
    text = "".join(delta for _, delta in arrivals)
    assert "1, 2, 3" in text, text
    assert len(arrivals) > 5, "one event per token, not one reply"
    assert arrivals[-1][0] - arrivals[0][0] > 0.2, "tokens arrive over time as they are generated"


@pytest.mark.slow
def test_real_server_yes_probability(llm_server: str) -> None:
    llm = OpenAICompatibleLLM(llm_server)
    yes = llm.yes_probability([("user", "Is Paris the capital of France? Reply yes or no.")])
    no = llm.yes_probability([("user", "Is Madrid the capital of Germany? Reply yes or no.")])
    assert yes > 0.5 > no, (yes, no)


@pytest.mark.slow
def test_assistant_answers_with_citations_through_the_api(llm_server: str, sample_index: Path) -> None:
    assistant = Assistant.open(sample_index, Settings(llm_backend="openai", llm_base_url=llm_server))
    assert isinstance(assistant.llm, OpenAICompatibleLLM)
    items = list(assistant.ask_stream(KOREA))
    *deltas, answer = items
    assert len(deltas) > 3 and all(isinstance(delta, str) for delta in deltas)
    assert not answer.abstained
    assert any(name in fold(answer.text) for name in KOREA_ANSWERS), answer.text
    assert answer.citations and {c.article_id for c in answer.citations} <= KOREA_ARTICLES, answer.citations
    assert answer.prompt_tokens > 0 and answer.timings["ttft"] > 0
    assert assistant.stats()["llm_model"].endswith(".gguf"), "the server's model was picked up"


@pytest.mark.slow
def test_cli_ask_through_the_api(llm_server: str, sample_index: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NEWSQA_LLM_BASE_URL": llm_server}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa.cli",
            "ask",
            KOREA,
            "--json",
            "--index",
            str(sample_index),
            "--llm-backend",
            "openai",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert not payload["abstained"] and payload["citations"], payload["text"]


@pytest.mark.slow
def test_estimated_tokens_cover_the_real_ones_for_a_context_budget(sample_index: Path) -> None:
    import llama_cpp

    from qa.models import resolve
    from qa.store.store import Store

    vocab = llama_cpp.Llama(model_path=resolve(DEFAULT_LLM_MODEL, "llm"), vocab_only=True, verbose=False)
    store = Store.load(sample_index)
    chunks = [chunk.text for article in store.articles() for chunk in store.chunks_of(article.id)]
    estimator = OpenAICompatibleLLM("http://127.0.0.1:9/v1", "any")
    # A context budget holds ~5 passages: every run of 5 consecutive chunks must not be underestimated.
    real = [len(vocab.tokenize(text.encode(), add_bos=False, special=True)) for text in chunks]
    estimated = [estimator.count_tokens(text) for text in chunks]
    for start in range(0, len(chunks) - 4):
        assert sum(estimated[start : start + 5]) >= sum(real[start : start + 5])


@pytest.mark.slow
def test_real_server_too_slow_for_the_timeout(llm_server: str) -> None:
    llm = OpenAICompatibleLLM(llm_server, "any", max_new_tokens=8, timeout_s=0.05)
    long_prompt = "Summarise this text. " + "The harbour workers met the city council again on Tuesday. " * 60
    with pytest.raises(LLMError, match=r"0.05 s"):
        list(llm.stream_messages([("user", long_prompt)]))

"""The served web app against hostile callers: password guessing, and corpus changes sent straight to the queue."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.store.store import Store
from qa.web.access import LOGIN_FAILURES, NOT_A_UI_SESSION, PAGE_COOKIE
from tests.conftest import ROOT
from tests.web.conftest import free_port, run_server

TEXTS = {
    "tram": "Lyon opened a new tram line on Monday. It links the station to the university in twenty minutes.",
    "bridge": "Leeds approved a new cycling bridge on Tuesday. Construction starts in 2025 and costs 12 million.",
}


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of two articles embedded with the small model (the app opens it with that model)."""
    folder = tmp_path_factory.mktemp("hostile-web")
    articles = folder / "articles.jsonl"
    articles.write_text("\n".join(json.dumps({"id": key, "title": key, "text": text}) for key, text in TEXTS.items()))
    index = folder / "index"
    report = Assistant.open(index, Settings(embedding_model="all-minilm-l6-v2")).ingest([articles])
    assert sorted(report.added) == ["bridge", "tram"]
    return index


def _serve(index: Path, log: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, str(ROOT / "app.py"), "--index", str(index), "--port", str(port), "--no-warm-up", *extra]
    yield from run_server(command, port, log)


@pytest.fixture(scope="module")
def open_app(small_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on 127.0.0.1 without a password."""
    yield from _serve(small_index, tmp_path_factory.mktemp("open-app") / "app.log")


@pytest.fixture(scope="module")
def locked_app(small_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with a password."""
    yield from _serve(small_index, tmp_path_factory.mktemp("locked-app") / "app.log", "--auth", "editor:s3cret-pass")


def test_password_guessing_is_answered_429_after_five_failures(locked_app: str) -> None:
    with httpx.Client(base_url=locked_app, timeout=30) as client:
        statuses = [
            client.post("login", data={"username": "editor", "password": f"guess-{n}"}).status_code
            for n in range(LOGIN_FAILURES)
        ]
        assert statuses == [400] * LOGIN_FAILURES
        blocked = client.post("login", data={"username": "editor", "password": "s3cret-pass"})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert "Too many failed logins" in blocked.text


def _dependency(config: dict[str, Any], elem_id: str | None, event: str) -> tuple[int, int]:
    """(fn_index, trigger id) of the event `event` of the component with `elem_id` (None: the page itself)."""
    if elem_id is None:
        targets = {target[0] for dep in config["dependencies"] for target in dep["targets"] if target[1] == event}
    else:
        targets = {c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id}
    for dependency in config["dependencies"]:
        for target, name in dependency["targets"]:
            if target in targets and name == event and dependency.get("backend_fn"):
                return dependency["id"], target
    raise AssertionError(f"no {event} event on {elem_id}")


def _call(client: httpx.Client, fn_index: int, trigger: int, data: list[Any], session: str) -> dict[str, Any]:
    """Run one queued event the way the page's script does; returns its process_completed message."""
    joined = client.post(
        "gradio_api/queue/join",
        json={"data": data, "fn_index": fn_index, "trigger_id": trigger, "session_hash": session, "event_data": None},
    )
    assert joined.status_code == 200, joined.text
    with client.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event never completed")


def test_corpus_changes_sent_straight_to_the_queue_are_refused(open_app: str, small_index: Path) -> None:
    with httpx.Client(base_url=open_app, timeout=120) as client:
        config = client.get("config").json()
        delete_fn, delete_button = _dependency(config, "delete", "click")
        urls_fn, urls_button = _dependency(config, "add-urls", "click")
        stranger = uuid.uuid4().hex
        refused = _call(client, delete_fn, delete_button, [["tram"]], stranger)
        assert not refused["success"]  # (Gradio also finds "tram" outside this session's delete choices)
        refused = _call(client, urls_fn, urls_button, ["https://news.example/story"], stranger)
        assert not refused["success"] and NOT_A_UI_SESSION in json.dumps(refused["output"])
        assert Store.load(small_index).article("tram") is not None

        # Replaying the page-load event over the queue, without the page itself, is not loading the page;
        # nor is a made-up page cookie.
        load_fn, page = _dependency(config, None, "load")
        for cookie in (None, "made-up"):
            replayed = uuid.uuid4().hex
            client.cookies.clear()
            if cookie:
                client.cookies.set(PAGE_COOKIE, cookie)
            assert _call(client, load_fn, page, [], replayed)["success"]
            refused = _call(client, delete_fn, delete_button, [["tram"]], replayed)
            assert not refused["success"] and NOT_A_UI_SESSION in json.dumps(refused["output"]), cookie
        assert Store.load(small_index).article("tram") is not None

        # The page's own session (it fetched the page, which set the cookie, then ran its load event) may delete.
        client.cookies.clear()
        assert client.get("").status_code == 200 and client.cookies.get(PAGE_COOKIE)
        page_session = uuid.uuid4().hex
        assert _call(client, load_fn, page, [], page_session)["success"]
        deleted = _call(client, delete_fn, delete_button, [["tram"]], page_session)
        assert deleted["success"] and "Deleted 1 of 1" in json.dumps(deleted["output"])
        # A second tab keeps the cookie the browser has (the first tab keeps working).
        assert PAGE_COOKIE not in client.get("").headers.get("set-cookie", "")
    assert Store.load(small_index).article("tram") is None


def test_with_a_password_the_queue_refuses_callers_that_have_not_logged_in(locked_app: str) -> None:
    with httpx.Client(base_url=locked_app, timeout=30) as client:
        joined = client.post(
            "gradio_api/queue/join",
            json={"data": [["bridge"]], "fn_index": 0, "session_hash": uuid.uuid4().hex, "event_data": None},
        )
        assert joined.status_code == 401

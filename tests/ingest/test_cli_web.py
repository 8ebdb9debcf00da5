"""`newsqa ingest URL`, `feeds add|list|remove`, `refresh` and `watch` through the real command line."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.cli import main
from tests.conftest import FAST_EMBEDDING, ROOT
from tests.ingest.conftest import NewsSite


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def web(tmp_path: Path) -> list[str]:
    """Options every command here shares: a fresh index, the fast model, and the local site allowed."""
    return ["--index", str(tmp_path / "index"), "--embedding-model", FAST_EMBEDDING, "--allow-host", "127.0.0.1"]


def test_feeds_add_list_refresh_remove(site: NewsSite, web: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    feed = site.url("/feed.atom")
    code, out, err = _run(capsys, "feeds", "add", feed, *web)
    assert code == 0 and out.strip() == f"now following: {feed} (Gazette du port)" and "newsqa refresh" in err
    code, out, _ = _run(capsys, "feeds", "add", feed, *web)
    assert code == 0 and out.startswith("already followed:")

    index = web[:2]
    code, out, err = _run(capsys, "feeds", "list", *index)
    assert code == 0 and out.startswith(f"{feed}\tGazette du port\t0 articles\tlast refresh never") and "1 feeds" in err

    code, out, _ = _run(capsys, "refresh", *web)
    assert code == 0
    assert f"{feed}: 1 new entries, 1 articles" in out and "1 feeds: 1 updated" in out and "1 added" in out
    code, out, _ = _run(capsys, "list", *index)
    assert "Un marché nocturne s'installe sur le port" in out

    code, out, _ = _run(capsys, "refresh", "--json", *web)
    report = json.loads(out)
    assert code == 0 and report["feeds"][0]["status"] == "not modified" and report["ingest"] is None
    code, out, _ = _run(capsys, "feeds", "list", "--json", *index)
    (listed,) = json.loads(out)
    assert listed["url"] == feed and listed["articles"] == 1 and listed["etag"] and "seen" not in listed

    code, out, _ = _run(capsys, "feeds", "remove", feed, *index)
    assert code == 0 and "its 1 articles stay in the index" in out
    code, out, err = _run(capsys, "feeds", "remove", feed, *index)
    assert code == 1 and out == "" and f"newsqa: error: no feed '{feed}' is followed" in err
    code, _, err = _run(capsys, "refresh", *web)
    assert code == 0 and "no feeds are followed" in err


def test_refresh_exits_3_when_a_feed_fails(site: NewsSite, web: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "feeds", "add", site.url("/feed.atom"), *web)[0] == 0
    site.state.gone.add("/feed.atom")
    code, out, err = _run(capsys, "refresh", *web)
    assert code == 3 and "failed: HTTP 410 Gone" in err and "1 failed" in out


def test_ingest_urls_from_arguments_and_a_list(
    tmp_path: Path, site: NewsSite, web: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# to read\n{site.url('/articles/library-opening-hours')}\n{site.url('/image.png')}\n")
    note = tmp_path / "note.txt"
    note.write_text("Harbour note\n\nThe harbour office moves to the old customs house in July.", encoding="utf-8")
    page = site.url("/articles/ferry-shore-power")
    code, out, err = _run(capsys, "ingest", page, str(note), "--urls", str(listing), *web)
    assert code == 3  # one page was rejected
    assert f"{site.url('/image.png')}: skipped: content type image/png is not a web page or feed" in err
    assert out.startswith("3 added, 0 replaced, 0 unchanged, 1 skipped")
    code, out, _ = _run(capsys, "ingest", page, *web)
    assert code == 0 and out.startswith("0 added, 0 replaced, 1 unchanged")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "http://exa mple.org/news"], "not a URL (empty or contains spaces)"),
        (["ingest", "https://"], "the URL has no host"),
        (["feeds", "add", "news.example/rss"], "only http and https URLs can be fetched"),
        (["feeds", "add", "https://user:pw@news.example/rss"], "with a user name or password"),
        (["feeds", "remove", "https://news.example/rss"], "no feed 'https://news.example/rss' is followed"),
        (["ingest", "--allow-host", "http://bad/"], "is not a host name, IP address or CIDR"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if argv[0] == "ingest" and "--allow-host" in argv:
        argv = [*argv, "https://news.example/a"]
    code, out, err = _run(capsys, *argv, "--index", str(tmp_path / "index"))
    assert code == 1 and out == "" and err.startswith("newsqa: error: ") and message in err
    assert not (tmp_path / "index").exists() or not list((tmp_path / "index").glob("v*"))


def test_local_addresses_need_the_allow_list(
    tmp_path: Path, site: NewsSite, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSQA_ALLOW_HOSTS", raising=False)
    index = ["--index", str(tmp_path / "index"), "--embedding-model", FAST_EMBEDDING]
    code, _, err = _run(capsys, "feeds", "add", site.url("/feed.atom"), *index)
    assert code == 1 and "127.0.0.1 is a loopback address" in err and "--allow-host" in err
    code, out, err = _run(capsys, "ingest", site.url("/articles/ferry-shore-power"), *index)
    assert code == 3 and "loopback address" in err and out.startswith("0 added")
    assert site.state.requests == []
    monkeypatch.setenv("NEWSQA_ALLOW_HOSTS", "127.0.0.0/8")
    assert _run(capsys, "feeds", "add", site.url("/feed.atom"), *index)[0] == 0


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "ingest", "--index", str(tmp_path / "index"))[0] == 2
    with pytest.raises(SystemExit) as caught:
        main(["watch", "--every", "5d", "--index", str(tmp_path / "index")])
    assert caught.value.code == 2 and "not an interval: '5d'" in capsys.readouterr().err


def test_watch_runs_rounds(site: NewsSite, web: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "feeds", "add", site.url("/feed.atom"), *web)[0] == 0
    started = time.monotonic()
    code, out, _ = _run(capsys, "watch", "--every", "1s", "--rounds", "2", *web)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and time.monotonic() - started >= 1
    assert "round 1: 1 feeds: 1 updated" in lines[0] and "1 added" in lines[0]
    assert "round 2: 1 feeds: 0 updated, 1 not modified, 0 failed" in lines[1]


def test_watch_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "qa.cli", "watch", "--every", "1h", "--index", str(tmp_path / "index")]
    # A runner started in the background ignores Ctrl-C, and a child inherits an ignored signal; a handled one is
    # reset to the default in the child, so watch sees the Ctrl-C whatever started the tests.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 180)
        assert ready, "watch printed nothing"
        first = process.stdout.readline()
        assert "round 1: 0 feeds" in first
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "watch stopped after 1 rounds" in err and "Traceback" not in err


def test_feeds_and_watch_report_as_json(site: NewsSite, web: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    feed = site.url("/feed.atom")
    code, out, _ = _run(capsys, "feeds", "add", feed, "--json", *web)
    added = json.loads(out)
    assert code == 0 and added["url"] == feed and added["title"] == "Gazette du port" and added["new"] is True
    assert json.loads(_run(capsys, "feeds", "add", feed, "--json", *web)[1])["new"] is False
    code, out, _ = _run(capsys, "watch", "--every", "1s", "--rounds", "2", "--json", *web)
    first, second = (json.loads(line) for line in out.splitlines())
    assert code == 0 and (first["round"], second["round"]) == (1, 2) and first["time"]
    assert first["feeds"][0]["status"] == "updated" and first["ingest"]["added"]
    assert second["feeds"][0]["status"] == "not modified" and second["ingest"] is None
    code, out, _ = _run(capsys, "feeds", "remove", feed, "--json", *web[:2])
    assert code == 0 and json.loads(out)["articles"] == 1


def test_watch_and_list_survive_hostile_entries_and_print_no_raw_control_characters(
    site: NewsSite, web: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    site.state.rss_items = ["ferry-shore-power"]
    site.state.extra_rss_items = [
        f"<item><title>Quay \u202eyalp\u202c notes</title><link>{site.url('/bad-canonical/bike-lanes-vote')}</link>"
        "<guid>hostile-1</guid><description>Harbour notes.</description></item>"
    ]
    assert _run(capsys, "feeds", "add", site.url("/feed.rss"), *web)[0] == 0
    code, out, err = _run(capsys, "watch", "--every", "1s", "--rounds", "2", *web)
    lines = out.splitlines()
    assert code == 0 and "Traceback" not in err
    assert "round 1: 1 feeds: 1 updated, 0 not modified, 0 failed" in lines[0] and "2 added" in lines[0]
    assert "round 2: 1 feeds: 0 updated, 1 not modified, 0 failed" in lines[1]

    hostile = Path(web[1]).parent / "titles.jsonl"
    hostile.write_text(
        json.dumps({"id": "ansi", "title": "Red \x1b[31malert\x1b[0m \u202eeman", "text": "Harbour notes."})
    )
    assert _run(capsys, "ingest", str(hostile), *web)[0] == 0
    code, out, _ = _run(capsys, "list", *web[:4])
    assert code == 0 and "Council approves protected bike lanes" in out  # the page's title, its canonical ignored
    assert "Red \\x1b[31malert\\x1b[0m \\u202eeman" in out
    assert all(ch == "\t" or ch.isprintable() for ch in out.replace("\n", ""))

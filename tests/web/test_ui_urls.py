"""The Corpus tab's "Add URLs" handler over a real assistant and the local news site."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.web.ui import MAX_URLS, Handlers
from tests.ingest.conftest import NewsSite


def test_add_urls_reports_added_pages_and_rejections_escaped(
    tmp_path: Path, site: NewsSite, fast_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSQA_ALLOW_HOSTS", "127.0.0.1")
    handlers = Handlers(Assistant.open(tmp_path / "index", fast_settings))
    paths = ["/articles/bike-lanes-vote", "/image.png", "/private/memo", "/a_*<b>"]
    typed = "\n\n".join(site.url(path) for path in paths)
    report = handlers.add_urls(typed, progress=lambda *args, **kwargs: None)
    lines = report.splitlines()
    assert lines[0].startswith("**1 added, 0 replaced, 0 unchanged, 3 skipped")
    assert lines[1] == (
        f"- {site.url('/image.png')}: rejected: content type image/png is not a web page or feed (accepted: "
        "text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, application/xml, text/xml, "
        "text/plain)"
    )
    assert lines[2].startswith(f"- {site.url('/private/memo')}: rejected: robots.txt of 127.0.0.1:")
    assert lines[3] == f"- {site.url('/a')}\\_\\*&lt;b&gt;: rejected: HTTP 404 Not Found"  # Markdown and HTML escaped
    (article,) = handlers.assistant.articles()
    assert article.title == "Council approves protected bike lanes on Market Street"


def test_add_urls_refuses_empty_malformed_and_too_many(tmp_path: Path, fast_settings: Settings) -> None:
    handlers = Handlers(Assistant.open(tmp_path / "index", fast_settings))
    quiet = {"progress": lambda *args, **kwargs: None}
    with pytest.raises(gr.Error, match="type one or more web page URLs"):
        handlers.add_urls("  \n ", **quiet)
    with pytest.raises(gr.Error, match="only http and https URLs"):
        handlers.add_urls("javascript:alert(1)", **quiet)
    with pytest.raises(gr.Error, match=f"at most {MAX_URLS} URLs"):
        handlers.add_urls("\n".join(f"https://news.example/{n}" for n in range(MAX_URLS + 1)), **quiet)
    assert handlers.assistant.articles() == []

"""The web app's pure parts, without models or a browser: escaping, citation links, bind and auth checks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qa.errors import ConfigError
from qa.web.render import escape_markdown, highlighted_passage, render_answer, render_citation, render_sources, safe_url
from qa.web.serve import check_bind, parse_auth
from tests.conftest import ROOT

CITATION = {
    "number": 2,
    "article_id": 'evil"id',
    "title": "<script>alert(1)</script> LG",
    "source": "<b>Outlet</b>",
    "url": "javascript:alert(1)",
    "published": "2024-02-28T00:00:00+00:00",
    "language": "fr",
    "passage": "Avant. <img src=x onerror=alert(1)> William Cho a parlé. Après.",
    "start": 100,
    "end": 164,
    "quote": "<img src=x onerror=alert(1)> William Cho a parlé.",
    "quote_start": 107,
    "quote_end": 157,
}


def test_answer_markers_become_links_to_this_turns_sources_and_text_is_escaped() -> None:
    rendered = render_answer("He met *Cho* <b>[2]</b> and [9].", turn=3, numbers={2})
    assert '<a class="cite" href="#source-3-2"' in rendered
    assert "&lt;b&gt;" in rendered and "<b>" not in rendered
    assert r"\*Cho\*" in rendered
    assert r"\[9\]" in rendered, "a marker without a citation stays plain text"


def test_citation_card_escapes_article_text_and_marks_the_quote() -> None:
    card = render_citation(CITATION, turn=1)
    assert "<script>" not in card and "<img" not in card and "<b>" not in card
    assert 'id="source-1-2"' in card and 'data-article="evil&quot;id"' in card
    assert "javascript:" not in card
    assert 'lang="fr"' in card and "2024-02-28" in card
    assert "<mark>&lt;img src=x onerror=alert(1)&gt; William Cho a parlé.</mark>" in card
    assert highlighted_passage({**CITATION, "quote_start": 0}).count("<mark>") == 1, "falls back to finding the quote"


def test_sources_panel_lists_newest_answer_first_and_open() -> None:
    turns = [
        {"question": "first?", "answer": "a [2]", "citations": [CITATION], "meta": ""},
        {"question": "oops", "notice": "error"},
        {"question": "third?", "answer": "b [2]", "citations": [CITATION], "meta": ""},
    ]
    panel = render_sources(turns)
    assert panel.index("source-3-2") < panel.index("source-1-2")
    assert panel.count("<details") == 2 and panel.count(" open>") == 1


def test_safe_url_and_markdown_escaping() -> None:
    assert safe_url("https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert safe_url("javascript:alert(1)") is None and safe_url("data:text/html,x") is None and safe_url(None) is None
    assert escape_markdown("<i>a_b</i> [1]") == r"&lt;i&gt;a\_b&lt;/i&gt; \[1\]"


def test_bind_and_auth_checks() -> None:
    check_bind("127.0.0.1", None, None)
    check_bind("localhost", None, None)
    check_bind("0.0.0.0", ("alice", "s3cret:x"), "api-key")
    with pytest.raises(ConfigError, match="without a password"):
        check_bind("0.0.0.0", None, "api-key")
    assert parse_auth("alice:s3cret:x") == ("alice", "s3cret:x")
    assert parse_auth("") is None
    with pytest.raises(ConfigError):
        parse_auth("alice")


def test_app_refuses_a_public_address_without_credentials() -> None:
    env = {key: value for key, value in os.environ.items() if key != "NEWSQA_AUTH"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--host", "0.0.0.0", "--index", str(ROOT / "no-such-index")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a password" in result.stderr


def test_a_syndicated_source_shows_the_other_outlets_escaped() -> None:
    card = render_citation({**CITATION, "also_carried_by": ["Harbour Times", "<b>Wire</b>"]}, turn=1)
    assert "also carried by 2 more: Harbour Times, &lt;b&gt;Wire&lt;/b&gt;" in card
    assert "also carried by" not in render_citation(CITATION, turn=1)


def test_a_translated_quote_is_shown_escaped_under_the_passage() -> None:
    card = render_citation({**CITATION, "translation": "He spoke with <LG>'s chief executive."}, turn=1)
    assert "Translation: He spoke with &lt;LG&gt;&#x27;s chief executive." in card
    assert "Translation:" not in render_citation(CITATION, turn=1)

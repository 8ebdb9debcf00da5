"""The web UI in real headless Chromium: a streamed, cited answer with clickable sources, and corpus management."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.text import fold
from tests.conftest import write_article

pytestmark = pytest.mark.slow

KOREA = "Who did Zuckerberg meet in Korea?"
FOLLOW_UP = "And who else was he supposed to meet?"
LG_ARTICLE = "fr-meta-lg-2024"
ANSWER_SECONDS = 120
K = 5  # passages to retrieve, set through the search options
# Set while an answer streams: the raw text ends with this cursor until the checked answer replaces it.
WATCH_STREAMING = """() => {
  window.newsqaSawStream = false;
  new MutationObserver(() => {
    if (document.querySelector('#chatbot').textContent.includes('▌')) window.newsqaSawStream = true;
  }).observe(document.querySelector('#chatbot'), { subtree: true, childList: true, characterData: true });
}"""


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A fresh tab on the app, loaded."""
    tab = browser.new_page()
    tab.set_default_timeout(30_000)
    tab.goto(app_url)
    # The page is ready once its load event has filled in the index status.
    tab.locator("#index-status", has_text="articles indexed").wait_for()
    yield tab
    tab.close()


def ask(page: Any, question: str, turn: int) -> Any:
    """Type `question`, send it, and wait for the `turn`-th checked answer; returns that chat message."""
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    checked = page.locator("#chatbot [data-testid='bot']", has=page.locator(".answer-meta"))
    checked.nth(turn - 1).wait_for(timeout=ANSWER_SECONDS * 1000)
    return checked.nth(turn - 1)


def set_k(page: Any, k: int) -> None:
    """Open the search options and set the number of passages (retried while the options panel mounts)."""
    from playwright.sync_api import expect

    page.get_by_text("Search options").click()
    number, slider = page.locator("#k input[type=number]"), page.locator("#k input[type=range]")
    for _ in range(20):
        number.fill(str(k))
        number.press("Tab")
        page.wait_for_timeout(250)
        if slider.input_value() == str(k):
            break
    expect(slider).to_have_value(str(k))


def save_screenshot(page: Any, folder: Path) -> None:
    """The answered chat, into the test's folder and to $NEWSQA_SCREENSHOT when set."""
    shot = folder / "chat.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(500)  # let the highlight's transition finish
    page.screenshot(path=str(shot))
    target = os.environ.get("NEWSQA_SCREENSHOT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


def test_chat_streams_a_cited_answer_and_citations_open_their_source(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    set_k(page, K)
    page.evaluate(WATCH_STREAMING)
    message = ask(page, KOREA, turn=1)
    text = fold(message.inner_text())
    assert "william cho" in text or "cho joo-wan" in text, text
    assert page.evaluate("window.newsqaSawStream"), "the raw answer was shown while it streamed"
    assert "▌" not in message.inner_text(), "the checked answer replaced the streamed text"

    card = page.locator(f'#sources .source[data-article="{LG_ARTICLE}"]').first
    expect(card).to_be_attached()
    card_id = card.get_attribute("id")
    citation = message.locator(f'a.cite[href="#{card_id}"]')
    citation.click()
    expect(card).to_have_class(re.compile(r"\bactive\b"))
    expect(card).to_be_in_viewport()
    expect(card.locator(".passage")).to_have_attribute("lang", "fr")
    expect(card.locator("mark")).not_to_be_empty()
    expect(card).to_contain_text("LG Electronics")
    assert "#" not in page.url, "the link opened the source in place instead of navigating"
    save_screenshot(page, tmp_path)

    follow_up = ask(page, FOLLOW_UP, turn=2)
    assert "searched for" in follow_up.inner_text(), "the follow-up was rewritten using the conversation"


def test_corpus_upload_and_paste_list_articles_reject_a_bad_file_and_delete(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Corpus").click()
    table, report, stats = page.locator("#corpus-table"), page.locator("#ingest-report"), page.locator("#corpus-stats")
    expect(stats).to_contain_text("articles")
    before = article_count(stats.inner_text())
    good = write_article(
        tmp_path,
        "ferry.md",
        "Lübeck harbour ferry <b>every</b> 20 minutes",
        "The harbour ferry between Travemünde and Lübeck will run every 20 minutes from April, the operator said.",
        id="web-upload-ferry",
        source="Web Test Gazette",
        published="2031-04-02",
        language="en",
    )
    bad = tmp_path / "empty.txt"
    bad.write_text("", encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files([str(good), str(bad)])
    expect(page.locator("#upload").get_by_role("cell", name="empty.txt")).to_be_visible()
    page.locator("#add-files").click()
    expect(report).to_contain_text("1 added", timeout=ANSWER_SECONDS * 1000)
    expect(report).to_contain_text("empty.txt: rejected")
    # Shown as text (escaped), first as the newest; nothing indexed before was lost.
    expect(table).to_contain_text("Lübeck harbour ferry <b>every</b> 20 minutes")
    expect(stats).to_contain_text(f"{before + 1} articles")

    page.get_by_text("Paste an article").click()
    page.locator("#paste-title textarea").fill("Kiel Canal lock reopens after repairs")
    page.locator("#paste-text textarea").fill(
        "The large northern lock of the Kiel Canal at Brunsbüttel reopened to ships on Tuesday after eight months "
        "of repairs, the waterways authority said."
    )
    page.locator("#paste-source textarea").fill("Web Test Gazette")
    page.locator("#paste-date textarea").fill("2031-05-01")
    page.locator("#add-text").click()
    expect(report).to_contain_text("1 added", timeout=ANSWER_SECONDS * 1000)
    expect(table).to_contain_text("Kiel Canal lock reopens after repairs")
    expect(stats).to_contain_text(f"{before + 2} articles")

    for label in ("web-upload-ferry", "Kiel Canal lock"):
        page.locator("#delete-ids input").fill(label)
        page.get_by_role("option", name=re.compile(label)).click()
    page.locator("#delete").click()
    expect(report).to_contain_text("Deleted 2 of 2")
    expect(table).not_to_contain_text("Lübeck harbour ferry")
    expect(table).not_to_contain_text("Kiel Canal")
    expect(stats).to_contain_text(f"{before} articles")


def article_count(stats: str) -> int:
    """The article count in the corpus tab's stats line."""
    match = re.search(r"(\d+) articles", stats)
    assert match, stats
    return int(match.group(1))

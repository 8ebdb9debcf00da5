"""Hostile servers on 127.0.0.1: odd headers, malformed links, slow drips and strict robots.txt never cost a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.ingest.feeds import FeedRegistry
from qa.ingest.fetch import Fetcher, FetchError
from qa.store.feeds import FEEDS_FILE, feeds_file_problems
from tests.ingest.conftest import NewsSite, local_config


def test_retry_after_with_a_non_ascii_digit_falls_back_to_the_usual_backoff(site: NewsSite) -> None:
    waits: list[float] = []
    with Fetcher(local_config(), sleep=waits.append) as fetcher:
        result = fetcher.fetch(site.url("/odd-retry-after"))
    assert result.status == 200 and "Millbrook" in result.text()
    assert len(site.state.log("/odd-retry-after")) == 2 and waits == [0.05]  # backoff_s, not a crash


def test_a_content_length_that_is_not_a_number_is_a_fetch_error(site: NewsSite, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(site.url("/odd-length"))
    assert caught.value.kind == "network"


def test_a_malformed_redirect_location_is_a_fetch_error(site: NewsSite, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(site.url("/bad-redirect"))
    assert caught.value.kind == "invalid-url" and "malformed URL" in caught.value.reason


def test_the_timeout_bounds_a_response_whose_headers_drip(site: NewsSite) -> None:
    # Every byte arrives well within the timeout; the whole header block would take about 16 s.
    with Fetcher(local_config(timeout_s=1.0)) as impatient, pytest.raises(FetchError) as caught:
        impatient.fetch(site.url("/drip"))
    assert caught.value.kind == "timeout" and "timed out after 1 s" in str(caught.value)


def test_one_hostile_page_among_good_urls_costs_only_itself(
    tmp_path: Path, site: NewsSite, fetcher: Fetcher, fast_settings: Settings
) -> None:
    assistant = Assistant.open(tmp_path / "index", fast_settings)
    urls = [
        site.url("/articles/ferry-shore-power"),
        site.url("/odd-retry-after"),
        site.url("/bad-redirect"),
        site.url("/bad-canonical/bike-lanes-vote"),
        site.url("/articles/marche-nocturne"),
    ]
    report = assistant.ingest_urls(urls, fetcher)
    assert len(report.added) == 4, report.to_dict()
    (skipped,) = report.skipped
    assert skipped.origin == site.url("/bad-redirect") and "malformed URL" in skipped.reason
    bike = next(a for a in assistant.articles() if "Market Street" in a.title)
    assert bike.url == site.url("/bad-canonical/bike-lanes-vote")  # the malformed canonical link is ignored


def test_robots_wildcards_are_honoured(site: NewsSite, fetcher: Fetcher) -> None:
    site.state.robots = "User-agent: *\nDisallow: /*-vote$\nDisallow: /plain/*shore\nAllow: /\n"
    for path in ("/articles/bike-lanes-vote", "/plain/ferry-shore-power"):
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(site.url(path))
        assert caught.value.kind == "robots", path
        assert site.state.log(path) == []
    assert fetcher.fetch(site.url("/articles/bike-lanes-vote?page=2")).status == 200  # "$" anchors the end
    assert fetcher.fetch(site.url("/articles/ferry-shore-power")).status == 200


def test_crawl_delay_spaces_requests_and_an_excessive_one_is_refused(site: NewsSite) -> None:
    site.state.robots = "User-agent: newsqa\nCrawl-delay: 4\nDisallow: /private/\n"
    waits: list[float] = []
    with Fetcher(local_config(), sleep=waits.append) as polite:
        polite.fetch(site.url("/articles/ferry-shore-power"))
        polite.fetch(site.url("/articles/marche-nocturne"))
    assert len(waits) == 1 and 3.0 < waits[0] <= 4.0  # robots.txt is read at once; the second page waits

    site.state.robots = "User-agent: *\nCrawl-delay: 3600\n"
    with Fetcher(local_config(robots_ttl_s=0), sleep=waits.append) as polite:
        polite.fetch(site.url("/articles/ferry-shore-power"))
        with pytest.raises(FetchError) as caught:
            polite.fetch(site.url("/articles/marche-nocturne"))
    assert caught.value.kind == "robots" and "asks for 3600 s between requests" in caught.value.reason
    assert len(site.state.log("/articles/marche-nocturne")) == 1  # only the first polite fetcher's


def _rss_item(slug: str, link: str) -> str:
    return (
        f"<item><title>Entry {slug}</title><link>{link}</link><guid>{slug}</guid>"
        f"<description>Summary of {slug}: the harbour board met on Friday.</description></item>"
    )


def test_a_hostile_feed_entry_is_skipped_and_remembered_never_blocking_its_feed(
    tmp_path: Path, site: NewsSite, fetcher: Fetcher, fast_settings: Settings
) -> None:
    site.state.rss_items = ["ferry-shore-power"]
    site.state.extra_rss_items = [_rss_item("bad-canonical", site.url("/bad-canonical/bike-lanes-vote"))]
    assistant = Assistant.open(tmp_path / "index", fast_settings)
    assistant.add_feed(site.url("/feed.rss"), fetcher)
    first = assistant.refresh_feeds(fetcher)
    assert first.failed == [] and len(first.ingest.added) == 2, first.to_dict()
    assert {"Island ferries switch to shore power", "Council approves protected bike lanes on Market Street"} == {
        a.title for a in assistant.articles()
    }
    site.state.rss_items = ["ferry-shore-power", "library-opening-hours"]
    second = assistant.refresh_feeds(fetcher)
    assert second.failed == [] and second.outcomes[0].new_entries == 1 and len(second.ingest.added) == 1


def test_feeds_json_entries_without_a_url_are_left_out_and_reported(
    tmp_path: Path, site: NewsSite, fetcher: Fetcher, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    FeedRegistry(index).add(site.url("/feed.atom"), fetcher)
    data = json.loads((index / FEEDS_FILE).read_text())
    data["feeds"] += [{"title": "no url"}, {"url": 42}, "not an object"]
    (index / FEEDS_FILE).write_text(json.dumps(data))

    assert [feed.url for feed in FeedRegistry(index).list()] == [site.url("/feed.atom")]
    assert main(["feeds", "list", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(site.url("/feed.atom")) and out.count("\n") == 1
    problems = feeds_file_problems(data)
    assert len(problems) == 3 and "entry 2 (an entry without a URL)" in problems[0]
    assert feeds_file_problems(json.loads((index / FEEDS_FILE).read_text())) != []
    assert feeds_file_problems({"format": 1, "feeds": [FeedRegistry(index).list()[0].to_dict()]}) == []

"""The feed registry and refreshing it into a real index (small real embedding model, real local server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import IngestError, InputError, StoreError
from qa.ingest.feeds import FeedRegistry, html_to_text, parse_interval
from qa.ingest.fetch import Fetcher, FetchError
from qa.store.feeds import FEEDS_FILE
from qa.store.store import Store
from tests.ingest.conftest import NewsSite, local_config


def test_adding_checks_the_feed_and_persists_it(tmp_path: Path, site: NewsSite, fetcher: Fetcher) -> None:
    registry = FeedRegistry(tmp_path / "index")
    rss, created = registry.add(site.url("/feed.rss"), fetcher)
    assert created and rss.title == "Harbour Gazette" and rss.etag is None and rss.seen == []
    atom, _ = registry.add(" " + site.url("/feed.atom") + " ", fetcher)
    assert atom.url == site.url("/feed.atom") and atom.title == "Gazette du port"
    again, created = registry.add(site.url("/feed.rss"), fetcher)
    assert not created and again.url == rss.url
    assert [feed.url for feed in FeedRegistry(tmp_path / "index").list()] == [rss.url, atom.url]
    saved = json.loads((tmp_path / "index" / FEEDS_FILE).read_text())
    assert saved["format"] == 1 and [feed["title"] for feed in saved["feeds"]] == ["Harbour Gazette", "Gazette du port"]
    assert not [p for p in (tmp_path / "index").iterdir() if ".tmp-" in p.name]  # written atomically


def test_adding_refuses_what_is_not_a_feed(tmp_path: Path, site: NewsSite, fetcher: Fetcher) -> None:
    registry = FeedRegistry(tmp_path / "index")
    with pytest.raises(IngestError, match="HTML page, not a feed"):
        registry.add(site.url("/html-not-feed"), fetcher)
    with pytest.raises(FetchError, match="content type image/png"):
        registry.add(site.url("/image.png"), fetcher)
    with pytest.raises(FetchError, match="only http and https"):
        registry.add("file:///etc/passwd", fetcher)
    with Fetcher(local_config(allow_hosts=())) as strict, pytest.raises(FetchError, match="loopback address"):
        registry.add(site.url("/feed.rss"), strict)
    assert registry.list() == []
    assert not (tmp_path / "index" / FEEDS_FILE).exists()


def test_removing_an_unknown_feed_says_which_are_followed(tmp_path: Path, site: NewsSite, fetcher: Fetcher) -> None:
    registry = FeedRegistry(tmp_path / "index")
    registry.add(site.url("/feed.rss"), fetcher)
    with pytest.raises(InputError, match=r"no feed 'https://nowhere.example/rss' is followed .* \(followed: http://"):
        registry.remove("https://nowhere.example/rss")
    assert registry.remove(site.url("/feed.rss")).title == "Harbour Gazette"
    assert registry.list() == []


def test_a_damaged_registry_is_reported(tmp_path: Path) -> None:
    (tmp_path / FEEDS_FILE).write_text("{not json")
    with pytest.raises(StoreError, match="is damaged"):
        FeedRegistry(tmp_path).list()


def test_intervals_and_summaries() -> None:
    assert [parse_interval(t) for t in ("30s", "15m", "1h", "90", "1.5m")] == [30, 900, 3600, 90, 90]
    for bad in ("", "soon", "5d", "0s", "-1m"):
        with pytest.raises(ValueError):
            parse_interval(bad)
    assert html_to_text("<p>Night buses return.</p><p>Three <b>routes</b>.</p>") == "Night buses return.\nThree routes."


def test_refresh_end_to_end(tmp_path: Path, site: NewsSite, fetcher: Fetcher, fast_settings: Settings) -> None:
    index = tmp_path / "index"
    assistant = Assistant.open(index, fast_settings)
    assistant.add_feed(site.url("/feed.rss"), fetcher)
    assistant.add_feed(site.url("/feed.atom"), fetcher)

    first = assistant.refresh_feeds(fetcher)
    assert first.ok and [o.status for o in first.outcomes] == ["updated", "updated"]
    assert [o.new_entries for o in first.outcomes] == [2, 1]
    assert len(first.ingest.added) == 3 and first.ingest.errors == []
    articles = {a.title: a for a in Assistant.open(index, fast_settings).articles()}
    assert set(articles) == {
        "Island ferries switch to shore power",
        "Town library extends its opening hours",
        "Un marché nocturne s'installe sur le port",
    }
    ferry = articles["Island ferries switch to shore power"]
    assert ferry.published == datetime(2024, 4, 2, 7, 30, tzinfo=UTC)  # the feed's date and time, not the page's day
    assert ferry.url == site.url("/articles/ferry-shore-power")  # canonical, without the feed's tracking parameter
    assert ferry.metadata["feed"] == site.url("/feed.rss")
    assert ferry.metadata["feed_entry"] == "gazette-ferry-shore-power"
    assert "Harbour master Ivo Brandt" in ferry.text  # the full page, not the feed's one-line summary
    marche = articles["Un marché nocturne s'installe sur le port"]
    assert marche.language == "fr" and marche.author == "Claire Dubois"
    assert assistant.retrieve("When will ferries use shore power?", k=1)[0].article.id == ferry.id
    state = {feed.url: feed for feed in assistant.feeds()}[site.url("/feed.rss")]
    assert state.etag and state.last_modified and state.last_refresh and state.last_error is None
    assert state.articles == 2 and "gazette-ferry-shore-power" in state.seen

    version = Store.load(index).version
    second = assistant.refresh_feeds(fetcher)
    assert [o.status for o in second.outcomes] == ["not modified", "not modified"]
    assert second.ingest is None and second.ok
    assert site.state.log("/feed.rss")[-1]["headers"]["If-None-Match"] == state.etag
    assert Store.load(index).version == version

    site.state.rss_items.insert(0, "bike-lanes-vote")
    third = assistant.refresh_feeds(fetcher)
    assert [o.status for o in third.outcomes] == ["updated", "not modified"]
    assert third.outcomes[0].new_entries == 1 and third.ingest.replaced == [] and third.ingest.unchanged == []
    (added,) = third.ingest.added
    assert Store.load(index).article(added).title == "Council approves protected bike lanes on Market Street"
    assert len(site.state.log("/articles/ferry-shore-power?utm_source=rss")) == 1  # seen entries are not re-fetched

    # Same entries under new GUIDs: recognised by their content, nothing is fetched or added.
    site.state.guid_prefix = "v2-"
    fourth = assistant.refresh_feeds(fetcher)
    assert fourth.outcomes[0].status == "updated" and fourth.outcomes[0].new_entries == 0 and fourth.ingest is None

    # An entry whose page is gone is indexed from the feed's own summary, and the report says so.
    site.state.rss_items.append("night-buses")
    fifth = assistant.refresh_feeds(fetcher)
    assert fifth.outcomes[0].fallbacks == 1 and fifth.ok
    (notice,) = fifth.ingest.errors
    assert not notice.skipped and "HTTP 404" in notice.reason and "indexed the feed's summary" in notice.reason
    buses = Store.load(index).article(fifth.ingest.added[0])
    assert buses.text == (
        "Night buses will run again on weekends from June, the transport authority said.\n"
        "Three routes link the centre to the suburbs until four in the morning."
    )
    assert buses.published == datetime(2024, 4, 15, 6, tzinfo=UTC)
    assert buses.metadata["extracted_from"] == "feed summary"

    assistant.remove_feed(site.url("/feed.rss"))
    assert [feed.url for feed in assistant.feeds()] == [site.url("/feed.atom")]
    assert len(Assistant.open(index, fast_settings).articles()) == 5  # articles stay after the feed goes


def test_a_failing_feed_is_recorded_and_the_others_still_refresh(
    tmp_path: Path, site: NewsSite, fetcher: Fetcher, fast_settings: Settings
) -> None:
    assistant = Assistant.open(tmp_path / "index", fast_settings)
    assistant.add_feed(site.url("/feed.rss"), fetcher)
    assistant.add_feed(site.url("/feed.atom"), fetcher)
    site.state.gone.add("/feed.rss")
    report = assistant.refresh_feeds(fetcher)
    assert [o.status for o in report.outcomes] == ["failed", "updated"] and not report.ok
    assert "HTTP 410" in report.failed[0].error and report.failed[0].line().endswith("HTTP 410 Gone")
    assert len(report.ingest.added) == 1
    state = {feed.url: feed for feed in assistant.feeds()}
    assert "HTTP 410" in state[site.url("/feed.rss")].last_error and state[site.url("/feed.rss")].seen == []
    assert state[site.url("/feed.atom")].last_error is None

    site.state.gone.clear()
    recovered = assistant.refresh_feeds(fetcher)
    assert recovered.ok and [o.status for o in recovered.outcomes] == ["updated", "not modified"]
    assert {feed.url: feed for feed in assistant.feeds()}[site.url("/feed.rss")].last_error is None

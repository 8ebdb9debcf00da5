"""The fetcher against a real local HTTP server: limits, redirects, robots.txt, retries and conditional requests."""

from __future__ import annotations

import itertools
import socket
import time

import pytest

from qa.ingest.fetch import USER_AGENT, Fetcher, FetchError
from tests.ingest.conftest import NewsSite, local_config


def _error(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.url in caught.value.args[0]
    return caught.value


def test_fetches_a_page_with_its_user_agent_and_metadata(site: NewsSite, fetcher: Fetcher) -> None:
    result = fetcher.fetch(site.url("/articles/ferry-shore-power"))
    assert result.status == 200 and not result.not_modified
    assert result.content_type == "text/html" and result.charset == "utf-8"
    assert "Island ferries switch to shore power" in result.text()
    (request,) = site.state.log("/articles/ferry-shore-power")
    assert request["headers"]["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("newsqa/") and "(+https://github.com/newsqa)" in USER_AGENT


def test_loopback_is_refused_by_default_and_allowed_by_the_allow_list(site: NewsSite) -> None:
    url = site.url("/articles/ferry-shore-power")
    with Fetcher(local_config(allow_hosts=())) as strict:
        error = _error(strict, url)
    assert error.kind == "blocked" and "127.0.0.1 is a loopback address" in str(error)
    assert "--allow-host" in str(error)
    assert site.state.requests == []  # refused before any connection, robots.txt included
    with Fetcher(local_config(allow_hosts=("127.0.0.0/8",))) as allowed:
        assert allowed.fetch(url).status == 200
    with Fetcher(local_config(allow_hosts=(), allow_private=True)) as intranet:
        assert intranet.fetch(url).status == 200


def test_redirects_are_followed_and_each_hop_is_recorded(site: NewsSite, fetcher: Fetcher) -> None:
    result = fetcher.fetch(site.url("/redirect/3"))
    assert result.final_url == site.url("/plain/bike-lanes-vote")
    assert result.redirects == (site.url("/redirect/2"), site.url("/redirect/1"), site.url("/plain/bike-lanes-vote"))
    assert "Market Street" in result.text()
    assert _error(fetcher, site.url("/loop")).kind == "redirects"
    with Fetcher(local_config(max_redirects=2)) as short:
        error = _error(short, site.url("/redirect/3"))
    assert error.kind == "redirects" and "more than 2 redirects" in error.reason


@pytest.mark.parametrize(
    ("path", "target", "reason"),
    [
        ("/to-private", "http://10.0.0.1/internal", "10.0.0.1 is a private address"),
        ("/to-metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused_after_the_redirect(
    site: NewsSite, fetcher: Fetcher, path: str, target: str, reason: str
) -> None:
    error = _error(fetcher, site.url(path))
    assert error.kind == "blocked" and error.url == target and reason in str(error)
    assert len(site.state.log(path)) == 1  # the first hop was fetched; the redirect target never was


def test_a_redirect_to_another_scheme_is_refused(site: NewsSite, fetcher: Fetcher) -> None:
    error = _error(fetcher, site.url("/to-file"))
    assert error.kind == "scheme" and "only http and https" in error.reason


def test_a_slow_response_times_out_with_a_clear_error(site: NewsSite) -> None:
    with Fetcher(local_config(timeout_s=0.5)) as impatient:
        started = time.monotonic()
        error = _error(impatient, site.url("/slow"))
    assert error.kind == "timeout" and "timed out after 0.5 s" in str(error)
    assert time.monotonic() - started < 2.5


def test_size_limit_holds_with_and_without_content_length(site: NewsSite) -> None:
    with Fetcher(local_config(max_bytes=1_000_000)) as small:
        streamed = _error(small, site.url("/big"))
        declared = _error(small, site.url("/big-declared"))
    assert streamed.kind == "too-large" and "larger than the limit of 1,000,000 bytes" in str(streamed)
    assert declared.kind == "too-large" and "50,000,000 bytes" in str(declared)


def test_wrong_content_type_is_rejected_with_the_reason(site: NewsSite, fetcher: Fetcher) -> None:
    error = _error(fetcher, site.url("/image.png"))
    assert error.kind == "content-type"
    assert "content type image/png is not a web page or feed" in str(error) and "text/html" in str(error)


def test_robots_txt_is_respected_and_cached(site: NewsSite, fetcher: Fetcher) -> None:
    error = _error(fetcher, site.url("/private/memo"))
    assert error.kind == "robots" and "robots.txt" in error.reason
    assert site.state.log("/private/memo") == []
    fetcher.fetch(site.url("/articles/bike-lanes-vote"))
    assert len(site.state.log("/robots.txt")) == 1
    with Fetcher(local_config(respect_robots=False)) as rude:
        assert rude.fetch(site.url("/private/memo")).status == 200


def test_http_errors_name_the_status(site: NewsSite, fetcher: Fetcher) -> None:
    error = _error(fetcher, site.url("/missing"))
    assert error.kind == "http" and "HTTP 404" in str(error)


def test_5xx_is_retried_after_retry_after(site: NewsSite, fetcher: Fetcher) -> None:
    started = time.monotonic()
    result = fetcher.fetch(site.url("/flaky"))
    assert result.status == 200 and "Millbrook" in result.text()
    assert len(site.state.log("/flaky")) == 2
    assert time.monotonic() - started >= 0.95  # the server asked for one second


def test_a_retry_after_beyond_the_cap_fails_at_once(site: NewsSite, fetcher: Fetcher) -> None:
    error = _error(fetcher, site.url("/busy"))
    assert "asks to wait 120 s" in str(error) and len(site.state.log("/busy")) == 1


def test_connection_errors_are_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    slept: list[float] = []
    with Fetcher(local_config(retries=2, backoff_s=0.01), sleep=slept.append) as fetcher:
        error = _error(fetcher, f"http://127.0.0.1:{port}/")
    assert error.kind == "network" and "cannot connect" in str(error)
    assert slept == [0.01, 0.02]  # exponential backoff


def test_requests_to_one_host_are_spaced(site: NewsSite) -> None:
    with Fetcher(local_config(min_interval_s=0.4)) as polite:
        polite.fetch(site.url("/articles/ferry-shore-power"))
        polite.fetch(site.url("/articles/bike-lanes-vote"))
    times = [request["at"] for request in site.state.requests]
    assert len(times) == 3  # robots.txt, then the two pages
    assert all(later - earlier >= 0.38 for earlier, later in itertools.pairwise(times))


def test_conditional_requests_return_not_modified(site: NewsSite, fetcher: Fetcher) -> None:
    first = fetcher.fetch(site.url("/feed.rss"))
    assert first.etag and first.last_modified and first.content_type == "application/rss+xml"
    again = fetcher.fetch(site.url("/feed.rss"), etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.status == 304 and again.body == b""
    assert site.state.log("/feed.rss")[-1]["headers"]["If-None-Match"] == first.etag
    by_date = fetcher.fetch(site.url("/feed.rss"), last_modified=first.last_modified)
    assert by_date.not_modified
    site.state.rss_items.append("bike-lanes-vote")
    changed = fetcher.fetch(site.url("/feed.rss"), etag=first.etag)
    assert not changed.not_modified and changed.etag != first.etag and b"Market Street" in changed.body

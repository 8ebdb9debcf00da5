"""A careful HTTP fetcher for web pages and feeds: size, type, robots.txt, rate and address limits."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from qa import __version__
from qa.errors import ConfigError, IngestError
from qa.ingest.addresses import AddressPolicy, AddressRefused, allow_hosts_from_env, pinned_transport
from qa.ingest.deadline import deadline

log = logging.getLogger("newsqa.fetch")

USER_AGENT = f"newsqa/{__version__} (+https://github.com/newsqa)"
ROBOTS_AGENT = "newsqa"
ALLOWED_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "text/plain",
)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
MAX_ROBOTS_BYTES = 512 * 1024
_ASCII_NUMBER = re.compile(r"[0-9]{1,12}")  # str.isdigit() also accepts "²" and "٣", which int() refuses


class FetchError(IngestError):
    """A URL could not be fetched, or was refused; `kind` names the reason for programs."""

    def __init__(self, url: str, reason: str, kind: str = "error") -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.kind = kind


# -- configuration and results -------------------------------------------------------------------


@dataclass(frozen=True)
class FetchConfig:
    """How the fetcher behaves; every limit is per request unless named otherwise."""

    user_agent: str = USER_AGENT
    timeout_s: float = 15.0  # for each whole response: connection, headers and body
    max_bytes: int = 5 * 1024 * 1024
    retries: int = 2
    backoff_s: float = 0.5
    max_retry_after_s: float = 30.0
    min_interval_s: float = 1.0
    max_crawl_delay_s: float = 30.0  # a longer Crawl-delay in robots.txt is refused rather than waited for
    respect_robots: bool = True
    robots_ttl_s: float = 3600.0
    max_redirects: int = 5
    allowed_types: tuple[str, ...] = ALLOWED_TYPES
    allow_hosts: tuple[str, ...] = ()
    allow_private: bool = False

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.max_bytes < 1 or self.retries < 0 or self.max_redirects < 0:
            raise ConfigError("fetch timeout_s and max_bytes must be positive; retries and max_redirects at least 0")

    @classmethod
    def from_env(cls, allow_hosts: Iterable[str] = (), **changes) -> FetchConfig:
        """A config whose allow-list is `allow_hosts` plus $NEWSQA_ALLOW_HOSTS."""
        return cls(allow_hosts=(*allow_hosts, *allow_hosts_from_env()), **changes)


@dataclass(frozen=True)
class FetchResult:
    """A fetched resource; `not_modified` means the server answered 304 to a conditional request."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[str, ...] = ()
    not_modified: bool = False

    def text(self) -> str:
        """The body decoded: the declared charset, else UTF-8, else the best guess."""
        return decode_body(self.body, self.charset)


def decode_body(body: bytes, charset: str | None = None) -> str:
    """Bytes from the web as text (never raises)."""
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            pass
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(body).best()
        return str(best) if best is not None else body.decode("utf-8", errors="replace")


def check_url(url: str) -> str:
    """`url` stripped, if it is an absolute http(s) URL with a host; FetchError otherwise."""
    text = (url or "").strip()
    if not text or any(ch.isspace() for ch in text):
        raise FetchError(repr(url), "not a URL (empty or contains spaces)", "invalid-url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise FetchError(text, f"malformed URL ({error})", "invalid-url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(
            text, f"only http and https URLs can be fetched, not {parts.scheme or 'a bare path'!r}", "scheme"
        )
    if not parts.hostname:
        raise FetchError(text, "the URL has no host", "invalid-url")
    if parts.username or parts.password:
        raise FetchError(text, "URLs with a user name or password are not fetched", "invalid-url")
    if port == 0:
        raise FetchError(text, "port 0 is not a valid port", "invalid-url")
    return text


def join_url(base: str, reference: str) -> str:
    """`reference` (a link or Location header) resolved against `base` and checked; FetchError when malformed."""
    try:
        joined = urljoin(base, reference.strip())
    except ValueError as error:  # e.g. "http://[" (an unclosed IPv6 literal)
        raise FetchError(reference.strip()[:200], f"malformed URL ({error})", "invalid-url") from None
    return check_url(joined)


def is_url(value: str) -> bool:
    """True when `value` looks like an http(s) URL (checked properly by `check_url`)."""
    return value.strip().lower().startswith(("http://", "https://"))


def _media_type(header: str | None) -> tuple[str, str | None]:
    if not header:
        return "", None
    media, *params = header.split(";")
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return media.strip().lower(), charset


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if _ASCII_NUMBER.fullmatch(value):
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # not a number of seconds nor an HTTP date: the usual backoff applies


# -- the fetcher ---------------------------------------------------------------------------------


@dataclass
class _Robots:
    parser: Protego | None  # None: everything allowed
    fetched_at: float

    def crawl_delay(self) -> float:
        """Seconds robots.txt asks between requests (0 when it says nothing)."""
        if self.parser is None:
            return 0.0
        try:
            delay = self.parser.crawl_delay(ROBOTS_AGENT)
        except (TypeError, ValueError):
            return 0.0
        return float(delay) if delay and delay > 0 else 0.0


class Fetcher:
    """Fetches http(s) URLs politely and safely. One instance per thread; close() when done."""

    def __init__(self, config: FetchConfig | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config or FetchConfig()
        self.policy = AddressPolicy(self.config.allow_hosts, self.config.allow_private)
        self._sleep = sleep
        self._last_request: dict[str, tuple[float, bool]] = {}  # host → (when, whether it was robots.txt)
        self._robots: dict[str, _Robots] = {}
        self._client = httpx.Client(
            transport=pinned_transport(self.policy),
            timeout=httpx.Timeout(self.config.timeout_s),
            follow_redirects=False,
            trust_env=False,  # no proxies from the environment: connections go where the checks say
            headers={"User-Agent": self.config.user_agent},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """GET `url`, following up to `max_redirects` redirects, each hop checked again.

        Sends If-None-Match / If-Modified-Since when `etag` / `last_modified` are given; a 304 answer
        is a result with `not_modified=True`. Raises FetchError saying which URL failed and why.
        """
        original = check_url(url)
        current = original
        redirects: list[str] = []
        headers = {"Accept": accept or "text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.5"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        while True:
            self._check_address(current)
            if self.config.respect_robots:
                self._check_robots(current)
            response, body = self._request(current, headers, check_type=True)
            if response.status_code in REDIRECT_CODES:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(current, f"HTTP {response.status_code} redirect without a Location", "http")
                if len(redirects) >= self.config.max_redirects:
                    raise FetchError(original, f"more than {self.config.max_redirects} redirects", "redirects")
                try:
                    target = join_url(current, location)
                except FetchError as error:
                    raise FetchError(current, f"redirect to an unusable URL: {error.reason}", error.kind) from None
                redirects.append(target)
                current = target
                continue
            media, charset = _media_type(response.headers.get("content-type"))
            return FetchResult(
                url=original,
                final_url=current,
                status=response.status_code,
                content_type=media,
                body=body,
                charset=charset,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                redirects=tuple(redirects),
                not_modified=response.status_code == 304,
            )

    # -- steps -----------------------------------------------------------------------------------

    def _check_address(self, url: str) -> None:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            self.policy.resolve(parts.hostname or "", port)
        except AddressRefused as refused:
            raise FetchError(url, refused.reason, "blocked") from None

    @staticmethod
    def _host(url: str) -> str:
        return (urlsplit(url).hostname or "").lower()

    def _wait_turn(self, url: str, robots_request: bool = False) -> None:
        """Space requests to one host by `min_interval_s`, and pages by the Crawl-delay its robots.txt asks for."""
        parts = urlsplit(url)
        host = self._host(url)
        last = self._last_request.get(host)
        if last is not None:
            last_at, after_robots = last
            robots = None if after_robots else self._robots.get(f"{parts.scheme}://{parts.netloc.lower()}")
            interval = max(self.config.min_interval_s, robots.crawl_delay() if robots else 0.0)
            wait = interval - (time.monotonic() - last_at)
            if wait > self.config.max_crawl_delay_s:
                raise FetchError(
                    url,
                    f"robots.txt of {parts.netloc} asks for {interval:g} s between requests, more than the "
                    f"{self.config.max_crawl_delay_s:g} s newsqa waits; try again later",
                    "robots",
                )
            if wait > 0:
                self._sleep(wait)
        self._last_request[host] = (time.monotonic(), robots_request)

    def _request(
        self, url: str, headers: dict[str, str], check_type: bool, robots: bool = False
    ) -> tuple[httpx.Response, bytes]:
        """One hop, with retries on connection errors, 429 and 5xx. Returns the response and its body."""
        attempt = 0
        while True:
            self._wait_turn(url, robots)
            try:
                try:
                    response, body = self._send(url, headers, check_type)
                finally:
                    # The interval runs from the end of an exchange, so a slow one never shortens the next wait.
                    self._last_request[self._host(url)] = (time.monotonic(), robots)
            except AddressRefused as refused:
                raise FetchError(url, refused.reason, "blocked") from None
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if attempt >= self.config.retries:
                    raise FetchError(url, f"cannot connect ({error or type(error).__name__})", "network") from None
                self._sleep(self.config.backoff_s * 2**attempt)
                attempt += 1
                continue
            except httpx.TimeoutException:
                raise FetchError(url, f"timed out after {self.config.timeout_s:g} s", "timeout") from None
            except httpx.InvalidURL as error:
                raise FetchError(url, f"not a usable URL ({error})", "invalid-url") from None
            except httpx.HTTPError as error:
                raise FetchError(url, f"network error ({error or type(error).__name__})", "network") from None
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt >= self.config.retries:
                    raise FetchError(url, f"HTTP {status} {response.reason_phrase} (after {attempt + 1} tries)", "http")
                delay = self.config.backoff_s * 2**attempt
                retry_after = _retry_after_s(response.headers.get("retry-after"))
                if retry_after is not None:
                    if retry_after > self.config.max_retry_after_s:
                        raise FetchError(
                            url,
                            f"HTTP {status}: the server asks to wait {retry_after:.0f} s, more than the "
                            f"{self.config.max_retry_after_s:g} s newsqa waits; try again later",
                            "http",
                        )
                    delay = max(delay, retry_after)
                self._sleep(delay)
                attempt += 1
                continue
            if status >= 400:
                raise FetchError(url, f"HTTP {status} {response.reason_phrase}", "http")
            return response, body

    def _send(self, url: str, headers: dict[str, str], check_type: bool) -> tuple[httpx.Response, bytes]:
        # The whole response, headers included, within timeout_s (httpx alone bounds each read).
        with deadline(self.config.timeout_s) as until:
            return self._exchange(url, headers, check_type, until)

    def _exchange(
        self, url: str, headers: dict[str, str], check_type: bool, until: float
    ) -> tuple[httpx.Response, bytes]:
        with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in REDIRECT_CODES or status == 304 or status >= 400:
                return response, b""
            if check_type:
                self._check_type(url, response)
            limit = self.config.max_bytes if check_type else MAX_ROBOTS_BYTES
            declared = response.headers.get("content-length", "")
            if _ASCII_NUMBER.fullmatch(declared.strip()) and int(declared) > limit:
                raise FetchError(url, f"response is {int(declared):,} bytes; the limit is {limit:,}", "too-large")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchError(url, f"response is larger than the limit of {limit:,} bytes", "too-large")
                if time.monotonic() > until:
                    raise FetchError(url, f"timed out after {self.config.timeout_s:g} s", "timeout")
                chunks.append(chunk)
            return response, b"".join(chunks)

    def _check_type(self, url: str, response: httpx.Response) -> None:
        media, _ = _media_type(response.headers.get("content-type"))
        if media not in self.config.allowed_types:
            shown = media or "none given"
            raise FetchError(
                url,
                f"content type {shown} is not a web page or feed (accepted: {', '.join(self.config.allowed_types)})",
                "content-type",
            )

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc.lower()}"
        robots = self._robots.get(key)
        if robots is None or time.monotonic() - robots.fetched_at > self.config.robots_ttl_s:
            robots = self._load_robots(key, url)
            self._robots[key] = robots
        if robots.parser is not None and not robots.parser.can_fetch(url, ROBOTS_AGENT):
            raise FetchError(url, f"robots.txt of {parts.netloc} disallows fetching this page", "robots")

    def _load_robots(self, origin: str, page_url: str) -> _Robots:
        """The host's robots rules; FetchError for `page_url` while they cannot be read (not cached)."""
        # RFC 9309: a missing robots.txt (4xx) allows everything; an unreachable one (5xx) allows nothing.
        url = origin + "/robots.txt"
        headers = {"Accept": "text/plain, */*;q=0.5"}
        try:
            for _ in range(self.config.max_redirects + 1):
                response, body = self._request(url, headers, check_type=False, robots=True)
                if response.status_code not in REDIRECT_CODES:
                    break
                url = join_url(url, response.headers.get("location", ""))
                self._check_address(url)
            else:
                return _Robots(None, time.monotonic())
        except FetchError as error:
            if error.kind == "http" and error.reason.startswith("HTTP 4") and not error.reason.startswith("HTTP 429"):
                return _Robots(None, time.monotonic())
            if error.kind in ("network", "timeout", "blocked"):
                raise FetchError(page_url, error.reason, error.kind) from None
            raise FetchError(
                page_url, f"robots.txt could not be read ({error.reason}); not fetching until it can be", "robots"
            ) from None
        try:
            parser = Protego.parse(decode_body(body))
        except Exception as error:  # a third-party parser on hostile text: unreadable rules allow nothing
            log.warning("robots.txt at %s could not be parsed: %r", url, error)
            raise FetchError(
                page_url, "robots.txt could not be parsed; not fetching until it can be", "robots"
            ) from None
        return _Robots(parser, time.monotonic())

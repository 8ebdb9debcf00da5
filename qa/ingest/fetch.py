"""A careful HTTP fetcher for web pages and feeds: size, type, robots.txt, rate and address limits."""

from __future__ import annotations

import contextvars
import importlib.metadata
import ipaddress
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from protego import Protego

from qa.errors import ConfigError, IngestError

log = logging.getLogger("newsqa.fetch")

ALLOW_HOSTS_ENV = "NEWSQA_ALLOW_HOSTS"


def _version() -> str:
    try:
        return importlib.metadata.version("newsqa")
    except importlib.metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"newsqa/{_version()} (+https://github.com/newsqa)"
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

# Addresses of cloud instance-metadata services: never fetched unless a CIDR entry names them.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchError(IngestError):
    """A URL could not be fetched, or was refused; `kind` names the reason for programs."""

    def __init__(self, url: str, reason: str, kind: str = "error") -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.kind = kind


class _Refused(Exception):
    """An address check failed (raised below httpx, turned into a FetchError with the URL)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- addresses -----------------------------------------------------------------------------------


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why `address` must not be fetched from (None for a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} (embedded in {address})" if problem else None
        if address in LOCAL_NAT64:
            return "a reserved address"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in CGNAT:
        return "a shared (CGNAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def _never_allowed(address: IPAddress) -> bool:
    """Addresses only an explicit CIDR entry opens: metadata services, unspecified and multicast ones."""
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    target = embedded or address
    return target in METADATA_ADDRESSES or target.is_unspecified or target.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    """Which hosts and addresses may be fetched: public ones, plus what the allow-list names.

    `allow_hosts` holds host names (exact, or `*.example.org` for subdomains), IP addresses or CIDRs.
    A named host may resolve to any address except metadata, unspecified and multicast ones; a CIDR
    allows exactly the addresses inside it. `allow_private` opens loopback, private, link-local and
    CGNAT ranges (still never metadata, unspecified or multicast addresses).
    """

    allow_hosts: tuple[str, ...] = ()
    allow_private: bool = False
    networks: tuple[IPNetwork, ...] = field(init=False, repr=False)
    names: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        networks: list[IPNetwork] = []
        names: set[str] = set()
        for entry in self.allow_hosts:
            value = entry.strip().lower().strip("[]")
            if not value:
                continue
            try:
                networks.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                if not re.fullmatch(r"(\*\.)?[a-z0-9_.-]+", value):
                    raise ConfigError(
                        f"allow-list entry {entry!r} is not a host name, IP address or CIDR (e.g. intranet.example, "
                        "10.0.0.0/8)"
                    ) from None
                names.add(value.rstrip("."))
        object.__setattr__(self, "networks", tuple(networks))
        object.__setattr__(self, "names", frozenset(names))

    def host_allowed(self, host: str) -> bool:
        """True when the host name itself is on the allow-list."""
        host = host.lower().rstrip(".")
        if host in self.names:
            return True
        return any(name.startswith("*.") and host.endswith(name[1:]) for name in self.names)

    def problem(self, host: str, address: IPAddress) -> str | None:
        """Why `host` at `address` is refused, or None when it may be fetched."""
        if any(address in network for network in self.networks if network.version == address.version):
            return None
        problem = address_problem(address)
        if problem is None:
            return None
        if not _never_allowed(address) and (self.allow_private or self.host_allowed(host)):
            return None
        return problem

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses, each checked; raises _Refused when any one of them is not allowed."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            found = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as error:
                raise _Refused(f"cannot resolve host {host!r} ({error})") from None
            found = []
            for info in infos:
                address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
                if address not in found:
                    found.append(address)
        if not found:
            raise _Refused(f"host {host!r} has no addresses")
        for address in found:
            problem = self.problem(host, address)
            if problem:
                where = f"{address} is" if literal is not None else f"{host} resolves to {address},"
                hint = (
                    ""
                    if _never_allowed(address)
                    else f"; allow it with --allow-host or ${ALLOW_HOSTS_ENV} if it is an intranet you trust"
                )
                raise _Refused(f"refused: {where} {problem}{hint}")
        return found


# When the response being read must be complete (time.monotonic()); set around each request by Fetcher._send.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("newsqa_fetch_deadline", default=None)


def _time_left(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` shortened to what is left before the request's deadline; `error` once it has passed."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the response did not complete in time")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the request's deadline.

    httpx's timeouts bound each read alone, so a server sending one byte of its headers every second
    would hold a request for ever; here the whole exchange (headers and body) shares one deadline.
    """

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # type: ignore[override]
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str):  # type: ignore[override]
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy has just checked, so DNS cannot change between check and use."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[override]
        last: Exception | None = None
        for address in self.policy.resolve(host, port):
            try:
                left = _time_left(timeout, httpcore.ConnectTimeout)
                stream = super().connect_tcp(str(address), port, left, local_address, socket_options)
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None
        raise last


def _pinned_transport(policy: AddressPolicy) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(retries=0)
    # httpx has no public hook for the network backend; its pool is rebuilt with one that pins
    # connections to checked addresses (TLS still verifies the certificate against the host name).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), retries=0, network_backend=_PinnedBackend(policy)
    )
    return transport


# -- configuration and results -------------------------------------------------------------------


def allow_hosts_from_env() -> tuple[str, ...]:
    """Allow-list entries from $NEWSQA_ALLOW_HOSTS (separated by commas or spaces)."""
    return tuple(part for part in re.split(r"[,\s]+", os.environ.get(ALLOW_HOSTS_ENV, "")) if part)


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
            transport=_pinned_transport(self.policy),
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
        except _Refused as refused:
            raise FetchError(url, refused.reason, "blocked") from None

    def _wait_turn(self, url: str, robots_request: bool = False) -> None:
        """Space requests to one host by `min_interval_s`, and pages by the Crawl-delay its robots.txt asks for."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
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
                response, body = self._send(url, headers, check_type)
            except _Refused as refused:
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
        deadline = time.monotonic() + self.config.timeout_s
        token = _deadline.set(deadline)
        try:
            return self._exchange(url, headers, check_type, deadline)
        finally:
            _deadline.reset(token)

    def _exchange(
        self, url: str, headers: dict[str, str], check_type: bool, deadline: float
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
                if time.monotonic() > deadline:
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

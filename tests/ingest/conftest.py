"""A real local news site on 127.0.0.1: article pages, RSS and Atom feeds, and every misbehaviour a fetcher meets."""

from __future__ import annotations

import hashlib
import html
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from qa.ingest.fetch import FetchConfig, Fetcher

# Short, made-up local news stories written for these tests.
ARTICLES: dict[str, dict[str, str]] = {
    "ferry-shore-power": {
        "title": "Island ferries switch to shore power",
        "author": "Maren Holt",
        "date": "2024-04-02T07:30:00+00:00",
        "lang": "en",
        "body": (
            "Ferries berthed overnight in the harbour of Kestrel Island will plug into shore power from May, "
            "the port authority announced on Tuesday. Until now the ships ran their diesel generators all night "
            "to keep lights and heating on.|"
            "The new connection cost 3.2 million euros and was paid for jointly by the regional council and the "
            "ferry company. Residents living near the quay had complained about engine noise for years.|"
            "Harbour master Ivo Brandt said the change should cut the port's night-time emissions by about two "
            "thirds and that a second berth will be equipped next year."
        ),
    },
    "library-opening-hours": {
        "title": "Town library extends its opening hours",
        "author": "Sunita Rao",
        "date": "2024-04-05T09:00:00+00:00",
        "lang": "en",
        "body": (
            "The public library in Millbrook will stay open until nine in the evening on weekdays from next "
            "month, the town council decided on Thursday after a survey of more than 1,400 readers.|"
            "Students had asked for a quiet place to work after classes, and the reading room is now often full "
            "by four o'clock. Two new part-time librarians will be hired to cover the extra hours.|"
            "The council set aside 85,000 pounds a year for the change and will review it after twelve months."
        ),
    },
    "bike-lanes-vote": {
        "title": "Council approves protected bike lanes on Market Street",
        "author": "Tomás Ferreira",
        "date": "2024-04-09T16:15:00+00:00",
        "lang": "en",
        "body": (
            "Market Street will get two kilometres of protected bike lanes after the city council voted 23 to 8 "
            "in favour on Monday evening. Construction is due to start in September.|"
            "Shop owners were divided: some feared losing parking spaces in front of their stores, while others "
            "expected more customers on bicycles. The plan keeps delivery bays at every crossing.|"
            "Cycling groups called the vote a milestone and asked the city to connect the lanes to the river path."
        ),
    },
    "marche-nocturne": {
        "title": "Un marché nocturne s'installe sur le port",
        "author": "Claire Dubois",
        "date": "2024-04-12T18:00:00+00:00",
        "lang": "fr",
        "body": (
            "Chaque vendredi soir de juin à septembre, une trentaine de producteurs locaux tiendront un marché "
            "nocturne sur le quai du port, a annoncé la mairie mercredi.|"
            "Les stands ouvriront à dix-neuf heures et fermeront à minuit. Des fromages, du miel et des fruits "
            "de saison seront proposés, ainsi que des concerts gratuits de musiciens de la région.|"
            "La municipalité espère attirer les habitants comme les touristes et prévoit des navettes gratuites "
            "depuis la gare routière."
        ),
    },
}


def article_html(slug: str, canonical: bool = True, lang: bool = True) -> str:
    """One article page: title, author and date metadata, an optional canonical link and language."""
    article = ARTICLES[slug]
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article["body"].split("|"))
    link = f'<link rel="canonical" href="/articles/{slug}">' if canonical else ""
    language = f' lang="{article["lang"]}"' if lang else ""
    return (
        f"<!doctype html><html{language}><head><meta charset='utf-8'><title>{html.escape(article['title'])} - "
        f"Harbour Gazette</title>{link}"
        f'<meta name="author" content="{html.escape(article["author"])}">'
        f'<meta property="article:published_time" content="{article["date"]}">'
        f'<meta property="og:site_name" content="Harbour Gazette"></head><body>'
        f"<nav><a href='/'>Home</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>{html.escape(article['title'])}</h1>{paragraphs}</article>"
        f"<footer>© Harbour Gazette</footer></body></html>"
    )


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


@dataclass
class SiteState:
    """What the site serves right now, and every request it received."""

    rss_items: list[str] = field(default_factory=lambda: ["ferry-shore-power", "library-opening-hours"])
    atom_items: list[str] = field(default_factory=lambda: ["marche-nocturne"])
    requests: list[dict[str, Any]] = field(default_factory=list)
    guid_prefix: str = "gazette-"
    gone: set[str] = field(default_factory=set)
    flaky_failures: int = 1
    robots: str = "User-agent: *\nDisallow: /private/\n"
    extra_rss_items: list[str] = field(default_factory=list)  # raw <item> elements appended to the RSS feed
    lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, path: str) -> list[dict[str, Any]]:
        """The requests made for `path`."""
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


class NewsSite:
    """The running server: `url(path)` builds links to it, `state` can be changed between requests."""

    def __init__(self) -> None:
        self.state = SiteState()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                with site.state.lock:
                    site.state.requests.append(
                        {"path": self.path, "headers": dict(self.headers.items()), "at": time.monotonic()}
                    )
                site.route(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- responses -------------------------------------------------------------------------------

    def route(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        if path in self.state.gone:
            return _send(request, 410, "text/plain", b"gone")
        if path == "/robots.txt":
            return _send(request, 200, "text/plain", self.state.robots)
        if path.startswith("/articles/") and path.removeprefix("/articles/") in ARTICLES:
            return _send(request, 200, "text/html; charset=utf-8", article_html(path.removeprefix("/articles/")))
        if path.startswith("/plain/") and path.removeprefix("/plain/") in ARTICLES:
            slug = path.removeprefix("/plain/")
            page = article_html(slug, canonical=False, lang=False)
            return _send(request, 200, "text/html; charset=utf-8", page)
        if path == "/notes.txt":
            body = ARTICLES["library-opening-hours"]["body"].replace("|", "\n\n")
            return _send(request, 200, "text/plain; charset=utf-8", "Library hours\n\n" + body)
        if path == "/private/memo":
            return _send(request, 200, "text/html", article_html("bike-lanes-vote"))
        if path == "/feed.rss":
            return self._feed(request, self._rss(), "application/rss+xml")
        if path == "/feed.atom":
            return self._feed(request, self._atom(), "application/atom+xml")
        if path.startswith("/redirect/"):
            hops = int(path.removeprefix("/redirect/"))
            target = f"/redirect/{hops - 1}" if hops > 1 else "/plain/bike-lanes-vote"
            return _redirect(request, target)
        if path == "/loop":
            return _redirect(request, "/loop")
        if path == "/to-private":
            return _redirect(request, "http://10.0.0.1/internal")
        if path == "/to-metadata":
            return _redirect(request, "http://169.254.169.254/latest/meta-data/")
        if path == "/to-file":
            return _redirect(request, "file:///etc/passwd")
        if path == "/slow":
            time.sleep(3)
            return _send(request, 200, "text/html", article_html("ferry-shore-power"))
        if path == "/big":
            return _send_unsized(request, "text/html", b"<p>" + b"news " * 400_000 + b"</p>")
        if path == "/big-declared":
            request.send_response(200)
            request.send_header("Content-Type", "text/html")
            request.send_header("Content-Length", str(50_000_000))
            request.end_headers()
            return None
        if path == "/image.png":
            return _send(request, 200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
        if path == "/empty":
            return _send(request, 200, "text/html", "<html><head><title>x</title></head><body><script></script>")
        if path == "/flaky":
            with self.state.lock:
                fail = self.state.flaky_failures > 0
                self.state.flaky_failures -= 1
            if fail:
                return _send(request, 503, "text/plain", b"busy", {"Retry-After": "1"})
            return _send(request, 200, "text/html", article_html("library-opening-hours"))
        if path == "/busy":
            return _send(request, 503, "text/plain", b"busy", {"Retry-After": "120"})
        # -- hostile servers --
        if path == "/odd-retry-after":  # a digit-like character that is not an ASCII digit
            with self.state.lock:
                fail = self.state.flaky_failures > 0
                self.state.flaky_failures -= 1
            if fail:
                return _send(request, 503, "text/plain", b"busy", {"Retry-After": "²"})
            return _send(request, 200, "text/html", article_html("library-opening-hours"))
        if path == "/odd-length":
            return _send_raw(request, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \xc2\xb2\r\n\r\n")
        if path.startswith("/bad-canonical/"):
            page = article_html(path.removeprefix("/bad-canonical/"), canonical=False)
            return _send(
                request, 200, "text/html", page.replace("<head>", '<head><link rel="canonical" href="http://[">')
            )
        if path == "/bad-redirect":
            return _redirect(request, "http://[")
        if path == "/drip":  # headers at one byte per 0.2 s, then a complete page: each read is quick, the whole slow
            page = article_html("ferry-shore-power").encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: {'x' * 40}\r\n"
            head += f"Content-Length: {len(page)}\r\n\r\n"
            try:
                for byte in head.encode():
                    request.wfile.write(bytes([byte]))
                    request.wfile.flush()
                    time.sleep(0.2)
                request.wfile.write(page)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should
            request.close_connection = True
            return None
        if path == "/html-not-feed":
            return _send(request, 200, "text/html", article_html("ferry-shore-power"))
        return _send(request, 404, "text/plain", b"not found")

    def _feed(self, request: BaseHTTPRequestHandler, body: str, content_type: str) -> None:
        data = body.encode("utf-8")
        etag = '"' + hashlib.sha256(data).hexdigest()[:12] + '"'
        modified = format_datetime(datetime(2024, 4, 1, tzinfo=UTC) + _content_age(data), usegmt=True)
        headers = {"ETag": etag, "Last-Modified": modified}
        if request.headers.get("If-None-Match") == etag or (
            request.headers.get("If-None-Match") is None and request.headers.get("If-Modified-Since") == modified
        ):
            return _send(request, 304, None, b"", headers)
        return _send(request, 200, f"{content_type}; charset=utf-8", data, headers)

    def _rss(self) -> str:
        items = []
        for slug in self.state.rss_items:
            article = ARTICLES.get(slug)
            if article is None:  # an entry whose page is gone: only the summary remains
                items.append(
                    f"<item><title>Night buses return</title><link>{self.url('/articles/' + slug)}</link>"
                    f"<guid>{slug}</guid><pubDate>Mon, 15 Apr 2024 06:00:00 GMT</pubDate>"
                    "<description>&lt;p&gt;Night buses will run again on weekends from June, the transport "
                    "authority said.&lt;/p&gt;&lt;p&gt;Three routes link the centre to the suburbs until "
                    "four in the morning.&lt;/p&gt;</description></item>"
                )
                continue
            summary = html.escape(article["body"].split("|")[0])
            items.append(
                f"<item><title>{html.escape(article['title'])}</title>"
                f"<link>{self.url('/articles/' + slug + '?utm_source=rss')}</link>"
                f"<guid isPermaLink='false'>{self.state.guid_prefix}{slug}</guid>"
                f"<pubDate>{_rfc822(article['date'])}</pubDate>"
                f"<author>{html.escape(article['author'])}</author><description>{summary}</description></item>"
            )
        items.extend(self.state.extra_rss_items)
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Gazette</title>'
            f"<link>{self.url('/')}</link><description>Local news</description>{''.join(items)}</channel></rss>"
        )

    def _atom(self) -> str:
        entries = []
        for slug in self.state.atom_items:
            article = ARTICLES[slug]
            entries.append(
                f"<entry><title>{html.escape(article['title'])}</title>"
                f"<link rel='alternate' href='/articles/{slug}'/><id>urn:gazette:{slug}</id>"
                f"<published>{article['date']}</published><updated>{article['date']}</updated>"
                f"<author><name>{html.escape(article['author'])}</name></author>"
                f"<summary>{html.escape(article['body'].split('|')[0])}</summary></entry>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            f"xml:base='{self.url('/')}'><title>Gazette du port</title><id>urn:gazette</id>"
            f"<updated>2024-04-12T18:00:00Z</updated>{''.join(entries)}</feed>"
        )


def _content_age(data: bytes):
    from datetime import timedelta

    return timedelta(minutes=int(hashlib.sha256(data).hexdigest()[:4], 16) % 10_000)


def _send(
    request: BaseHTTPRequestHandler,
    status: int,
    content_type: str | None,
    body: bytes | str,
    headers: dict[str, str] | None = None,
) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    request.send_response(status)
    if content_type:
        request.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    if status != 304:
        request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    if data:
        request.wfile.write(data)


def _send_raw(request: BaseHTTPRequestHandler, head: bytes) -> None:
    """A response written byte for byte (headers the standard library would not send)."""
    request.wfile.write(head)
    request.close_connection = True


def _send_unsized(request: BaseHTTPRequestHandler, content_type: str, body: bytes) -> None:
    """A body without Content-Length: the connection's end marks its end (HTTP/1.0)."""
    request.send_response(200)
    request.send_header("Content-Type", content_type)
    request.end_headers()
    try:
        for start in range(0, len(body), 65536):
            request.wfile.write(body[start : start + 65536])
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client stopped reading at its size limit


def _redirect(request: BaseHTTPRequestHandler, location: str) -> None:
    _send(request, 302, "text/plain", b"moved", {"Location": location})


@pytest.fixture()
def site() -> Iterator[NewsSite]:
    """A fresh news site on a random port of 127.0.0.1."""
    news = NewsSite()
    news.thread.start()
    try:
        yield news
    finally:
        news.server.shutdown()
        news.server.server_close()


def local_config(**changes: Any) -> FetchConfig:
    """A fetcher config for the local site: 127.0.0.1 allowed, no waiting between requests, short backoff."""
    values: dict[str, Any] = {
        "allow_hosts": ("127.0.0.1",),
        "min_interval_s": 0.0,
        "timeout_s": 30.0,  # a whole response; generous, so a busy machine never fails a test that is not about time
        "backoff_s": 0.05,
    }
    values.update(changes)
    return FetchConfig(**values)


@pytest.fixture()
def fetcher() -> Iterator[Fetcher]:
    """A fetcher allowed to reach the local site."""
    with Fetcher(local_config()) as client:
        yield client

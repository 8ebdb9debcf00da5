"""Who may use the web app: a brake on password guessing, and the browser sessions that may change the corpus."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from http.cookies import CookieError, SimpleCookie
from typing import Any

import gradio as gr

log = logging.getLogger("newsqa.web")

LOGIN_FAILURES = 5  # wrong passwords from one client within LOGIN_WINDOW_S before it must wait
LOGIN_WINDOW_S = 60.0
MAX_UI_SESSIONS = 10_000
NOT_A_UI_SESSION = "this change can only be made from the newsqa page: reload it and try again"
PAGE_COOKIE = "newsqa_page"  # set on the page's HTML; corpus changes must carry it (see UiSessions)


class LoginThrottle:
    """ASGI middleware: after LOGIN_FAILURES wrong passwords from one client address within LOGIN_WINDOW_S,
    that client's logins are answered 429 (with Retry-After) until the oldest failure leaves the window.

    Behind a reverse proxy every client shares the proxy's address; the limit then applies to all of them.
    """

    def __init__(self, app: Any, failures: int = LOGIN_FAILURES, window_s: float = LOGIN_WINDOW_S) -> None:
        self.app = app
        self.failures = failures
        self.window_s = window_s
        self._failed: dict[str, deque[float]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        is_login = (
            scope.get("type") == "http"
            and scope.get("method") == "POST"
            and scope.get("path", "").rstrip("/").endswith("/login")
        )
        if not is_login:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        now = time.monotonic()
        failed = self._recent(client, now)
        if len(failed) >= self.failures:
            wait = max(1, int(failed[0] + self.window_s - now) + 1)
            log.warning("login attempts from %s refused for %d s after %d failures", client, wait, len(failed))
            body = json.dumps({"detail": f"Too many failed logins; try again in {wait} s."}).encode()
            headers = [(b"content-type", b"application/json"), (b"retry-after", str(wait).encode())]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def record(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if message["status"] in (400, 401, 403):
                    self._recent(client, time.monotonic()).append(time.monotonic())
                elif message["status"] < 300:
                    self._failed.pop(client, None)
            await send(message)

        await self.app(scope, receive, record)

    def _recent(self, client: str, now: float) -> deque[float]:
        """The client's failures within the window (older ones and idle clients are forgotten)."""
        if len(self._failed) > MAX_UI_SESSIONS:
            for key in [key for key, times in self._failed.items() if not times or times[-1] < now - self.window_s]:
                del self._failed[key]
        failed = self._failed.setdefault(client, deque())
        while failed and failed[0] < now - self.window_s:
            failed.popleft()
        return failed


class UiSessions:
    """The browser sessions that loaded the newsqa page. Corpus changes (upload, paste, add URLs, delete) are
    queued events that Gradio would run for any caller that names them; they run only for these sessions.

    With `page_cookie` (how `newsqa serve` runs it, with `PageCookies` in front), a session counts only when its
    requests carry a cookie that this server set on the page's HTML itself: replaying the page-load event over
    the queue is not enough, and another web site's page cannot make the browser send the cookie along
    (SameSite=Strict). A program that fetches the page as a browser does still gets in: only --auth keeps it out.
    """

    def __init__(self, limit: int = MAX_UI_SESSIONS, page_cookie: bool = False) -> None:
        self.limit = limit
        self.page_cookie = page_cookie
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._cookies: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def mint(self) -> str:
        """A new page cookie value, remembered (the oldest are forgotten past `limit`)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            _remember(self._cookies, token, self.limit)
        return token

    def is_page_cookie(self, token: str | None) -> bool:
        """True when `token` is a page cookie this server set."""
        with self._lock:
            return bool(token) and token in self._cookies

    def _from_page(self, request: gr.Request | None) -> bool:
        if not self.page_cookie:
            return True
        cookies = getattr(request, "cookies", None)
        if not cookies or PAGE_COOKIE not in cookies:
            return False
        return self.is_page_cookie(cookies[PAGE_COOKIE])

    def register(self, request: gr.Request | None) -> None:
        """Remember the session of a page load (one whose requests carry the page's cookie, when required)."""
        session = getattr(request, "session_hash", None)
        if not session or not self._from_page(request):
            return
        with self._lock:
            _remember(self._seen, session, self.limit)

    def check(self, request: gr.Request | None) -> None:
        """gr.Error unless `request` comes from a session that loaded the page (None: called from Python)."""
        if request is None:
            return
        session = getattr(request, "session_hash", None)
        with self._lock:
            known = bool(session) and session in self._seen
        if not (known and self._from_page(request)):
            log.warning("refused a corpus change from session %r, which never loaded the page", session)
            raise gr.Error(NOT_A_UI_SESSION)


def _remember(seen: OrderedDict[str, None], key: str, limit: int) -> None:
    seen[key] = None
    seen.move_to_end(key)
    while len(seen) > limit:
        seen.popitem(last=False)


class PageCookies:
    """ASGI middleware: every HTML page served sets the page cookie of `sessions`, unless the browser already
    sends one that this server set (so tabs opened one after another all keep working)."""

    def __init__(self, app: Any, sessions: UiSessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                with contextlib.suppress(CookieError):  # a malformed Cookie header counts as none
                    cookies.load(value.decode("latin-1"))
        sent = cookies[PAGE_COOKIE].value if PAGE_COOKIE in cookies else None

        async def set_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = dict(message.get("headers", []))
                is_page = headers.get(b"content-type", b"").startswith(b"text/html")
                if is_page and not self.sessions.is_page_cookie(sent):
                    cookie = f"{PAGE_COOKIE}={self.sessions.mint()}; Path=/; HttpOnly; SameSite=Strict"
                    message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        await self.app(scope, receive, set_cookie)

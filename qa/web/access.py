"""Who may use the web app: a brake on password guessing, and the browser sessions that may change the corpus."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from typing import Any

import gradio as gr

log = logging.getLogger("newsqa.web")

LOGIN_FAILURES = 5  # wrong passwords from one client within LOGIN_WINDOW_S before it must wait
LOGIN_WINDOW_S = 60.0
MAX_UI_SESSIONS = 10_000
NOT_A_UI_SESSION = "this change can only be made from the newsqa page: reload it and try again"


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
    queued events that Gradio would run for any caller that names them; they run only for these sessions."""

    def __init__(self, limit: int = MAX_UI_SESSIONS) -> None:
        self.limit = limit
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def register(self, request: gr.Request | None) -> None:
        """Remember the session of a page load."""
        session = getattr(request, "session_hash", None)
        if not session:
            return
        with self._lock:
            self._seen[session] = None
            self._seen.move_to_end(session)
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)

    def check(self, request: gr.Request | None) -> None:
        """gr.Error unless `request` comes from a session that loaded the page (None: called from Python)."""
        if request is None:
            return
        session = getattr(request, "session_hash", None)
        with self._lock:
            known = bool(session) and session in self._seen
        if not known:
            log.warning("refused a corpus change from session %r, which never loaded the page", session)
            raise gr.Error(NOT_A_UI_SESSION)

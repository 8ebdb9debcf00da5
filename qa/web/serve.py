"""Serving newsqa: the web UI, the OpenAI-compatible API and the MCP tools on one server; bind, password and key
checks (the options of `newsqa serve` and `python app.py` are in `qa.web.options`)."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path

import gradio as gr
import uvicorn
from fastapi import FastAPI

from qa.assistant import Assistant
from qa.config import DEFAULT_INDEX, Settings
from qa.errors import ConfigError
from qa.web.access import LoginThrottle, PageCookies, UiSessions
from qa.web.discovery import announce, withdraw
from qa.web.model_queue import ModelQueue
from qa.web.openai_api import ChatApi
from qa.web.options import DEFAULT_HOST, DEFAULT_PORT
from qa.web.ui import CSS, HEAD, build_app, theme

log = logging.getLogger("newsqa.web")

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`user:password` as a pair (None when empty); ConfigError when malformed."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("--auth / NEWSQA_AUTH must look like user:password")
    return user, password


def is_local(host: str) -> bool:
    """True when `host` is a loopback address (only this machine can connect)."""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: tuple[str, str] | None, api_key: str | None) -> None:
    """Refuse to serve beyond this machine without a password for the UI and a key for the API."""
    if is_local(host):
        return
    if auth is None:
        raise ConfigError(
            f"refusing to listen on {host} without a password: anyone who can reach it could read and change "
            "the index. Set --auth user:password (or NEWSQA_AUTH), or listen on 127.0.0.1."
        )
    if api_key is None:
        raise ConfigError(
            f"refusing to listen on {host} without an API key: anyone who can reach it could use the /v1 API. "
            "Set NEWSQA_API_KEY to a secret that API clients send as a bearer token, or listen on 127.0.0.1."
        )


def build_server(
    assistant: Assistant,
    auth: tuple[str, str] | None = None,
    api_key: str | None = None,
    mcp: bool = False,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    queue: ModelQueue | None = None,
) -> FastAPI:
    """One ASGI app with everything `newsqa serve` offers: the OpenAI-compatible API under /v1, the MCP
    tools at /mcp (with `mcp`), and the web UI at / — all answering through one model queue."""
    queue = queue or ModelQueue()
    api = ChatApi(assistant, queue, api_key)
    mcp_server = None
    if mcp:
        from qa.web.mcp_tools import build_mcp, mount_mcp

        mcp_server = build_mcp(assistant, queue)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # A mounted app's own lifespan does not run, so the MCP session manager is started here.
        async with mcp_server.session_manager.run() if mcp_server else nullcontext():
            yield
        api.close()

    # No docs routes of its own: / belongs to the web UI.
    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(LoginThrottle)  # wraps every route, the web UI's /login included
    sessions = UiSessions(page_cookie=True)
    app.add_middleware(PageCookies, sessions=sessions)
    api.install(app)
    if mcp_server:
        mount_mcp(app, mcp_server, api_key, host)
    return gr.mount_gradio_app(
        app,
        build_app(assistant, queue=queue, sessions=sessions),
        path="/",
        server_name=host,
        server_port=port,
        auth=auth,
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        max_file_size="50mb",
        theme=theme(),
        css=CSS,
        head=HEAD,
    )


def serve(
    index_dir: str | Path = DEFAULT_INDEX,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth: tuple[str, str] | None = None,
    settings: Settings | None = None,
    warm_up: bool = True,
    api_key: str | None = None,
    mcp: bool = False,
) -> None:
    """Start the web app, the API (and the MCP tools) and block. ConfigError when asked to listen beyond this
    machine without a password and an API key; OSError when the address cannot be used."""
    check_bind(host, auth, api_key)
    # Bound before the models load, so a port in use is reported at once.
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    assistant = Assistant.open(index_dir, settings)
    if warm_up:
        log.info("loading the models…")
        assistant.warm_up()
    port = listener.getsockname()[1]  # the one the system chose for port 0
    app = build_server(assistant, auth, api_key, mcp, host, port)
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    log.info("serving %s: web UI %s/, OpenAI-compatible API %s/v1", assistant.index_dir, base, base)
    if mcp:
        log.info("MCP tools (streamable HTTP): %s/mcp", base)
    _AnnouncedServer(uvicorn.Config(app, log_level="warning"), index_dir, base, api_key is not None).run(
        sockets=[listener]
    )


class _AnnouncedServer(uvicorn.Server):
    """uvicorn's server, leaving a marker beside the index while it listens, so that `newsqa ask` on the same
    index answers through it (removed at shutdown, which uvicorn runs on SIGINT and SIGTERM)."""

    def __init__(self, config: uvicorn.Config, index_dir: str | Path, url: str, key_required: bool) -> None:
        super().__init__(config)
        self.announcement = (index_dir, url, key_required)
        self.marker: Path | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.marker = announce(*self.announcement)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        withdraw(self.marker)
        await super().shutdown(sockets)


def configure_logging() -> None:
    """newsqa's INFO lines on stderr, set before a library (the MCP SDK) installs a handler of its own."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

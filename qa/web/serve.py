"""Serving the web UI: bind and password checks, the launch, and the serving options of `newsqa serve`."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
from pathlib import Path

from qa.config import DEFAULT_INDEX, Settings
from qa.errors import ConfigError

log = logging.getLogger("newsqa.web")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
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


def check_bind(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse to serve beyond this machine without a password."""
    if not is_local(host) and auth is None:
        raise ConfigError(
            f"refusing to listen on {host} without a password: anyone who can reach it could read and change "
            "the index. Set --auth user:password (or NEWSQA_AUTH), or listen on 127.0.0.1."
        )


def serve(
    index_dir: str | Path = DEFAULT_INDEX,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth: tuple[str, str] | None = None,
    settings: Settings | None = None,
    warm_up: bool = True,
) -> None:
    """Start the web app and block; ConfigError when asked to listen beyond this machine without a password."""
    from qa.assistant import Assistant
    from qa.web.ui import CSS, HEAD, build_app, theme

    check_bind(host, auth)
    assistant = Assistant.open(index_dir, settings)
    if warm_up:
        log.info("loading the models…")
        assistant.warm_up()
    demo = build_app(assistant)
    log.info("serving %s on http://%s:%d", assistant.index_dir, host, port)
    demo.launch(
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


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --host, --port, --auth and --no-warm-up: the one serving parser of `newsqa serve` and `python app.py`.

    Without a flag, host and port come from Gradio's own GRADIO_SERVER_NAME and GRADIO_SERVER_PORT.
    """
    host = os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    port = os.environ.get("GRADIO_SERVER_PORT") or str(DEFAULT_PORT)
    parser.add_argument("--host", default=host, help=f"address to listen on (default: $GRADIO_SERVER_NAME or {host})")
    parser.add_argument("--port", type=int, default=port, help=f"port (default: $GRADIO_SERVER_PORT or {port})")
    parser.add_argument(
        "--auth",
        default=os.environ.get("NEWSQA_AUTH"),
        help="user:password asked for by the app (default: $NEWSQA_AUTH); required off 127.0.0.1/localhost",
    )
    parser.add_argument("--no-warm-up", action="store_true", help="load the models on first use, not at start")

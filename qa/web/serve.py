"""Serving the web UI: bind and password checks, the launch, and the command line of `python app.py`."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from starlette.middleware import Middleware

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import ConfigError, NewsqaError
from qa.web.access import LoginThrottle
from qa.web.ui import CSS, HEAD, build_app, theme

log = logging.getLogger("newsqa.web")

DEFAULT_INDEX = "index/news"
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
        app_kwargs={"middleware": [Middleware(LoginThrottle)]},  # wraps every route, /login included
        theme=theme(),
        css=CSS,
        head=HEAD,
    )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --host, --port, --auth and --no-warm-up (shared by `python app.py` and `newsqa serve`)."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--auth",
        default=os.environ.get("NEWSQA_AUTH"),
        help="user:password asked for by the app (default: $NEWSQA_AUTH); required off 127.0.0.1/localhost",
    )
    parser.add_argument("--no-warm-up", action="store_true", help="load the models on first use, not at start")


def parser() -> argparse.ArgumentParser:
    """The command-line options of `python app.py`."""
    parser = argparse.ArgumentParser(prog="app.py", description="Serve the newsqa web UI.")
    parser.add_argument(
        "--index",
        default=os.environ.get("NEWSQA_INDEX", DEFAULT_INDEX),
        help=f"index folder (default: $NEWSQA_INDEX or {DEFAULT_INDEX})",
    )
    parser.add_argument("--models-dir", type=Path, help="where model files live (default: ~/.cache/newsqa/models)")
    parser.add_argument("--embedding-model", help="embedding model: a known name, a local path or a hub id")
    parser.add_argument("--llm-model", help="LLM: a known name or a .gguf path")
    add_serve_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `python app.py`; returns the process exit code."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = Settings().with_overrides(
            models_dir=args.models_dir, embedding_model=args.embedding_model, llm_model=args.llm_model
        )
        serve(args.index, args.host, args.port, parse_auth(args.auth), settings, warm_up=not args.no_warm_up)
    except ConfigError as error:
        print(f"newsqa: error: {error}", file=sys.stderr)
        return 2
    except NewsqaError as error:
        print(f"newsqa: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"newsqa: error: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0

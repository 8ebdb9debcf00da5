"""The one set of serving options, for `newsqa serve` and `python app.py`; light, so the CLI can build it quickly."""

from __future__ import annotations

import argparse
import os

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --host, --port, --auth, --no-warm-up and --mcp.

    Without a flag, host and port come from Gradio's own GRADIO_SERVER_NAME and GRADIO_SERVER_PORT.
    """
    host = os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    port = os.environ.get("GRADIO_SERVER_PORT") or str(DEFAULT_PORT)
    parser.add_argument("--host", default=host, help=f"address to listen on (default: $GRADIO_SERVER_NAME or {host})")
    parser.add_argument("--port", type=int, default=port, help=f"port (default: $GRADIO_SERVER_PORT or {port})")
    parser.add_argument(
        "--auth",
        default=os.environ.get("NEWSQA_AUTH"),
        help="user:password asked for by the web UI (default: $NEWSQA_AUTH); required off 127.0.0.1/localhost, "
        "as is $NEWSQA_API_KEY",
    )
    parser.add_argument("--no-warm-up", action="store_true", help="load the models on first use, not at start")
    parser.add_argument(
        "--mcp",
        action="store_true",
        help="also serve the MCP tools `ask` and `search` at /mcp (streamable HTTP; needs the `mcp` extra)",
    )

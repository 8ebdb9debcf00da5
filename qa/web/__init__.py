"""The web UI and API: pure rendering (`render`), the Gradio wiring (`ui`), the OpenAI-compatible API and MCP
tools, the serving options (`options`) and serving them all (`serve`)."""

from __future__ import annotations

from qa.web.options import add_serve_arguments

__all__ = ["add_serve_arguments"]

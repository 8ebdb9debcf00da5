"""The web UI: pure rendering (`render`), the Gradio wiring (`ui`) and serving it (`serve`)."""

from __future__ import annotations

from qa.web.serve import add_serve_arguments, serve

__all__ = ["add_serve_arguments", "serve"]

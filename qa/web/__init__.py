"""The web UI: pure rendering (`render`), the Gradio wiring (`ui`) and serving it (`serve`)."""

from __future__ import annotations

from qa.web.serve import serve
from qa.web.ui import build_app

__all__ = ["build_app", "serve"]

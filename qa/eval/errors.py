"""Errors raised by the evaluation harness."""

from __future__ import annotations

from qa.errors import NewsqaError


class GoldFormatError(NewsqaError):
    """A gold questions file could not be read; the message names the file and the line (or JSON path)."""


class EvalError(NewsqaError):
    """An evaluation run cannot go on (bad options, mismatched resume directory, no articles)."""

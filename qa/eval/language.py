"""Best-effort language guess for converted gold data that carries no language field."""

from __future__ import annotations

import py3langid


def guess_language(text: str, default: str = "en") -> str:
    """An ISO 639-1 code for `text` over every language py3langid knows (gold data may be in any), else `default`."""
    if not text.strip():
        return default
    code, _score = py3langid.classify(text)
    return str(code) or default

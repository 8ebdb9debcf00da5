"""Best-effort language guess for converted gold data that carries no language field."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def guess_language(text: str, default: str = "en") -> str:
    """An ISO 639-1 code for `text` (py3langid when installed, a CJK check otherwise), else `default`."""
    if not text.strip():
        return default
    try:
        import py3langid
    except ImportError:
        return "zh" if _CJK.search(text) else default
    code, _score = py3langid.classify(text)
    return str(code) or default

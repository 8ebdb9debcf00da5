"""Language detection for articles and questions."""

from __future__ import annotations

from functools import lru_cache

# The languages newsqa expects in news; restricting the candidates makes short texts (questions) reliable.
SUPPORTED_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl")


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(SUPPORTED_LANGUAGES))
    return identifier


def detect_language(text: str, default: str = "en") -> str:
    """The ISO 639-1 code of `text`'s language, or `default` when the text has no letters."""
    if not any(ch.isalpha() for ch in text):
        return default
    code, _ = _identifier().classify(text)
    return str(code)

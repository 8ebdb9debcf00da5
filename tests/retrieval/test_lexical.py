"""BM25 tokens: every language newsqa knows is stemmed and stop-worded in its own way."""

from __future__ import annotations

import pytest

from qa.language import SUPPORTED_LANGUAGES
from qa.retrieval.lexical import tokens

# "the" and a plural noun, in each language
SAMPLES = {
    "en": ("the", "elections"),
    "fr": ("les", "élections"),
    "de": ("die", "wahlen"),
    "es": ("las", "elecciones"),
    "it": ("le", "elezioni"),
    "pt": ("as", "eleições"),
    "nl": ("de", "verkiezingen"),
}


def test_samples_cover_every_language() -> None:
    assert set(SAMPLES) == set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_stop_words_go_and_plurals_are_stemmed(language: str) -> None:
    article, noun = SAMPLES[language]
    found = tokens(f"{article} {noun}", language)
    assert len(found) == 1  # the article is a stop word
    assert found[0] != noun.casefold() and len(found[0]) < len(noun)  # stemmed by the language's own stemmer

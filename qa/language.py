"""Language detection for articles and questions."""

from __future__ import annotations

from functools import lru_cache

# The languages newsqa knows, by ISO 639-1 code, with their English names (also Snowball's stemmer names).
# Detection picks only among these, which makes short texts (questions) reliable; answers, prompts and
# BM25's stemming and stop words cover the same list.
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}
SUPPORTED_LANGUAGES = tuple(LANGUAGE_NAMES)

# Number words from one to twelve in en/fr/de/es/it ("a"/"un"/"ein" are "one" too), lower case.
NUMBER_WORDS = {
    word: value
    for value, words in enumerate(
        (
            "one a an un une ein eine einem einer uno una",
            "two deux zwei dos due",
            "three trois drei tres tre",
            "four quatre vier cuatro quattro",
            "five cinq fünf cinco cinque",
            "six sechs seis sei",
            "seven sept sieben siete sette",
            "eight huit acht ocho otto",
            "nine neuf neun nueve nove",
            "ten dix zehn diez dieci",
            "eleven onze elf once undici",
            "twelve douze zwölf doce dodici",
        ),
        start=1,
    )
    for word in words.split()
}


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

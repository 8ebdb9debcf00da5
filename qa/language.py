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


# Ordinal words from first to twentieth in en/fr/de/es/it, lower case, with their gender and case endings
# ("séptima", "siebten", "quindicesima"): "the seventh edition" and "la 7.ª edición" name the same occurrence.
_ORDINAL_STEMS = (
    ("first", "premier première", "erst", "primer", "prim"),
    ("second", "deuxième second seconde", "zweit", "segund", "second"),
    ("third", "troisième", "dritt", "tercer", "terz"),
    ("fourth", "quatrième", "viert", "cuart", "quart"),
    ("fifth", "cinquième", "fünft", "quint", "quint"),
    ("sixth", "sixième", "sechst", "sext", "sest"),
    ("seventh", "septième", "siebt", "séptim", "settim"),
    ("eighth", "huitième", "acht", "octav", "ottav"),
    ("ninth", "neuvième", "neunt", "noven", "non"),
    ("tenth", "dixième", "zehnt", "décim", "decim"),
    ("eleventh", "onzième", "elft", "undécim", "undicesim"),
    ("twelfth", "douzième", "zwölft", "duodécim", "dodicesim"),
    ("thirteenth", "treizième", "dreizehnt", "decimotercer", "tredicesim"),
    ("fourteenth", "quatorzième", "vierzehnt", "decimocuart", "quattordicesim"),
    ("fifteenth", "quinzième", "fünfzehnt", "decimoquint", "quindicesim"),
    ("sixteenth", "seizième", "sechzehnt", "decimosext", "sedicesim"),
    ("seventeenth", "dix-septième", "siebzehnt", "decimoséptim", "diciassettesim"),
    ("eighteenth", "dix-huitième", "achtzehnt", "decimoctav", "diciottesim"),
    ("nineteenth", "dix-neuvième", "neunzehnt", "decimonoven", "diciannovesim"),
    ("twentieth", "vingtième", "zwanzigst", "vigésim", "ventesim"),
)
ORDINAL_WORDS = {
    word: value
    for value, (english, french, german, spanish, italian) in enumerate(_ORDINAL_STEMS, start=1)
    for word in (
        *english.split(),
        *french.split(),
        *(german + ending for ending in ("e", "en", "er", "es", "em")),
        *(spanish + ending for ending in ("o", "a")),
        *(italian + ending for ending in ("o", "a", "e", "i")),
    )
} | {"primer": 1, "tercer": 3}  # the Spanish short forms before a masculine noun


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

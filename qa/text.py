"""Small text helpers shared by the stages: sentence spans, key terms, accent folding, safe display."""

from __future__ import annotations

import re
import unicodedata

from qa.language import COUNTRY_WORDS, MONTH_NAMES, NUMBER_WORDS, WEEKDAY_NAMES

# Control characters, line/paragraph separators, byte-order marks and the bidirectional controls that
# reorder what a terminal shows: refused in ids, escaped when printed.
UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """`text` with control and text-direction characters shown as escapes (\\n, \\u202e), for terminal output."""
    return UNSAFE_CHARS.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


# A sentence ends at . ! ? … followed by white space and an upper-case letter, digit or quote,
# unless the period closes a known abbreviation ("M. Cho", "Dr. Lee", "z. B.").
_BOUNDARY = re.compile(r"(?<=[.!?…])([\"»”“')\]]*)\s+(?=[\"«“„‚‹(]?\s?[A-ZÀ-ÖØ-Þ0-9¿¡])")
# Thousands separators (space, comma, point, apostrophe) join groups of exactly three digits: 350 000 is one
# number, "28, 2024" is two.
_NUMBER = re.compile(r"\d{1,3}(?:[\u00a0\u202f ,.'’]\d{3})+(?!\d)|\d+")
# Units a figure can carry, by the folded words that name them in en/fr/de/es/it: "12 days" and "12 years"
# are different facts, so a unit counts as part of the figure. Units that are also words ("m", "t", "an")
# are left out.
_UNITS = {
    "year": "year years yr yrs ans annee annees jahr jahre jahren ano anos anno anni",
    "month": "month months mois monat monate monaten mes meses mese mesi",
    "week": "week weeks semaine semaines woche wochen semana semanas settimana settimane",
    "day": "day days jour jours tag tage tagen dia dias giorno giorni",
    "hour": "hour hours heure heures stunde stunden hora horas",
    "km": "km kilometre kilometres kilometer kilometers kilometro kilometros chilometri chilometro",
    "m": "metre metres meter meters metros metri",
    "kg": "kg kilo kilos kilogram kilograms kilogramme kilogrammes kilogramm kilogramos chilogrammi",
    "tonne": "tonne tonnes ton tons tonnen tonelada toneladas tonnellata tonnellate",
    "hectare": "ha hectare hectares hektar hectarea hectareas ettaro ettari",
    "percent": "% percent pourcent prozent",
}
_UNIT_OF = {word: unit for unit, words in _UNITS.items() for word in words.split()}
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)
CITATION_MARKER = re.compile(r"\[(\d+)\]")  # the one pattern of an answer's `[n]` markers

STOPWORDS = frozenset(
    (
        "the a an and or of to in on at for with by from is was were are be been has have had it its this that "
        "these those as but not he she they his her their who what when where which how did does do than also "
        "le la les un une des de du et ou en au aux par pour sur dans avec est sont été a ont il elle ils elles son "
        "sa ses qui que quoi quand où comment ne pas plus ce cette ces l d qu "
        "der die das ein eine einen dem den des und oder von zu im in am an auf mit für ist war sind wurde hat haben "
        "er sie es wer was wann wo wie nicht auch dass "
        "el la los las un una unos unas de del y o en por para con es fue son ha han se su sus quien qué cuando "
        "donde como no il lo gli i di da e che con per non ha sono"
    ).split()
)
# Month names and abbreviations (folded) in en/fr/de/es/it/pt/nl: a sentence naming one states a date.
MONTH_NAME = re.compile(
    r"\b(jan(uary|vier|uar|eiro)?|enero|gennaio|feb(ruary|ruar)?|fevrier|febrero|febbraio|fevereiro|"
    r"mar(ch)?|mars|marz|maart|marzo|marco|apr(il)?|avril|abril|aprile|may|mai|mayo|maggio|maio|mei|"
    r"june?|juin|juni|junio|giugno|junho|july|juillet|juli|julio|luglio|julho|aug(ust)?|aout|agosto|augustus|"
    r"sep(t|tember)?|septembre|septiembre|settembre|setembro|oct(ober)?|octobre|oktober|octubre|ottobre|"
    r"outubro|nov(ember)?|novembre|noviembre|novembro|dec(ember)?|decembre|dezember|diciembre|dicembre|"
    r"dezembro)\b"
)
# A day of the month written beside a month name, folded: "3 juin", "1er mai", "3 de junio", "the 3rd of June", the
# German "3. Juni", and the English "June 3," — month first only before punctuation or a year, since "in March 30
# people died" states a count ("30 may have died" is no date either). A passage is read this strictly: a day taken
# for a count only keeps the old, looser check. An answer's dates are read loosely (`_LOOSE_DATE_DAY`).
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_ENGLISH_MONTH = (
    r"(?:january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|september|sept|sep|"
    r"october|oct|november|nov|december|dec)"
)
_GERMAN_MONTH = r"(?:januar|janner|februar|marz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember)"
_DATE_DAY = re.compile(
    rf"\b(?P<day>{_DAY}(?:st|nd|rd|th|er|e|º|°)?(?:\s*(?:-|\u2013|au|et|bis|und|al|y|e|to|and)\s*{_DAY})?)"
    rf"\s+(?:de\s+|of\s+)?{MONTH_NAME.pattern}"
    rf"|\b(?P<day_de>{_DAY})\.\s*{_GERMAN_MONTH}\b"
    rf"|\b{_ENGLISH_MONTH}\.?\s+(?P<day_after>{_DAY})(?:st|nd|rd|th)?(?=\s*(?:[,.;:)\u2013-](?!\d)|$|\d{{4}}\b))"
)
# An answer's date, read loosely: any day beside a month name, in either order, with the other days of a range or
# pair ("from 3 to 5 June", "June 3–5", "June 5 and 6,").
_LOOSE_DATE_DAY = re.compile(
    rf"\b(?P<day>{_DAY}(?:st|nd|rd|th|er|e|º|°)?(?:\s*(?:-|\u2013|au|et|bis|und|al|y|e|to|and)\s*{_DAY})?)"
    rf"\.?\s+(?:de\s+|of\s+)?{MONTH_NAME.pattern}"
    rf"|\b{MONTH_NAME.pattern}\.?\s+(?P<day_after>{_DAY}(?:st|nd|rd|th)?"
    rf"(?:\s*(?:-|\u2013|to)\s*{_DAY}|\s+and\s+{_DAY}(?=\s*(?:[,.;:)]|$|\d{{4}})))?)\b(?![.,]?\d)"
)
# The modal verb, never the month: English capitalises its months.
_MODAL_MAY = re.compile(r"\bmay\b")
# "Last year" in the supported languages (folded): resolves to the year before the article's.
LAST_YEAR = re.compile(
    r"\b(last year|l'an dernier|l'annee derniere|l'an passe|letztes jahr|im vorjahr|"
    r"vergangenes jahr|el ano pasado|l'anno scorso|ano passado|vorig jaar)\b"
)
# "This year" (folded): the article's own year.
THIS_YEAR = re.compile(r"\b(this year|cette annee|dieses jahr(es)?|diesjahrig\w*|este ano|quest'anno|questo anno)\b")
# Words a period follows without ending the sentence, folded: titles (M. Cho, Dr. Weber, Dott. Rossi),
# amounts (12 Mio. Euro, 3 Mrd.), approximations (ca. 300, env. 20 %), month abbreviations (Jan. 5), and
# common Latin/German/French/Spanish/Italian abbreviations. Single letters (initials, U.S.) count too.
_ABBREVIATIONS = frozenset(
    (
        "mm mme mlle mgr mr mrs ms dr st ste sr sra srta jr prof gen no nr nº vs dott dott.ssa ing avv sig sigg "
        "mio mrd mld bn tsd ca env approx vgl bzw usw evtl inkl zzgl ggf sog bspw etc ex resp "
        "jan feb mar apr jun jul aug sep sept oct okt nov dec dez"
    ).split()
)
# "am 5. März", "le 18. novembre" in German style: a day number before a month name is an ordinal, not an end.
_DAY_BEFORE_MONTH = re.compile(r"\b\d{1,2}$")
_PREVIOUS_WORD = re.compile(r"(\w+)\W*$")
# How far before a period to look for the abbreviation it may close; bounded so long texts stay linear.
_LOOKBACK = 40


def fold(text: str) -> str:
    """Lower case without accents, for comparing words across spellings."""
    return unaccented(text.lower())


def unaccented(text: str) -> str:
    """`text` without accents, case kept ("Orzábal" → "Orzabal")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_aligned(text: str) -> str:
    """`fold` character by character, so that offsets in the result are offsets in `text` ("…" or "ﬁ" stay one
    character)."""
    return "".join((fold(ch) or ch)[0] for ch in text)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of `text`, white space trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        window = max(start, match.start() - _LOOKBACK)
        previous_word = _PREVIOUS_WORD.search(text, window, match.start())
        # A word that reaches back to the window's edge may go on before it: too long for an abbreviation.
        cut = previous_word is not None and previous_word.start() == window > start
        word = previous_word.group(1) if previous_word and not cut else ""
        if text[match.start() - 1] == "." and not match.group(1):
            if word and (fold(word) in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
                continue
            if _DAY_BEFORE_MONTH.search(text, window, match.start() - 1) and MONTH_NAME.match(
                fold(text[match.end() : match.end() + 12])
            ):
                continue
        spans.append((start, match.end(1)))  # closing quotes and brackets end the sentence they close
        start = match.end()
    spans.append((start, len(text)))
    return trim_spans(text, spans)


def trim_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans with surrounding white space cut off; spans of only white space dropped."""
    trimmed = []
    for s, e in spans:
        segment = text[s:e]
        left, right = len(segment) - len(segment.lstrip()), len(segment.rstrip())
        if right > left:
            trimmed.append((s + left, s + right))
    return trimmed


def numbers(text: str) -> set[str]:
    """The numbers in `text` with their separators removed (350 000, 350,000 and 350.000 → 350000)."""
    return {number for number, _ in number_ends(text)}


def number_ends(text: str) -> list[tuple[str, int]]:
    """Each number of `text` with its separators removed, and the position just after it, in order."""
    return [(re.sub(r"\D", "", match.group()), match.end()) for match in _NUMBER.finditer(text)]


def date_days(text: str, *, loose: bool = False) -> list[tuple[int, int]]:
    """(start, end) spans of the days of the month written beside a month name ("June 3,", "3 juin", "3. Juni",
    "du 3 au 5 juin"); `loose` reads an answer's dates, in any order and in ranges ("June 3 with", "June 3–5")."""
    pattern = _LOOSE_DATE_DAY if loose else _DATE_DAY
    spans = []
    for match in pattern.finditer(fold_aligned(text)):
        if _MODAL_MAY.search(text, match.start(), match.end()):
            continue  # "30 may have died"
        group = next(name for name, value in match.groupdict().items() if value is not None)
        spans.append(match.span(group))
    return spans


def undated_numbers(text: str, *, loose: bool = False) -> set[str]:
    """`numbers(text)` without the days of the month written beside a month name (`date_days`): the 3 of "June
    3" is a date, never a count of anything."""
    for start, end in date_days(text, loose=loose):
        text = text[:start] + " " * (end - start) + text[end:]
    return numbers(text)


def quantities(text: str) -> set[tuple[str, str]]:
    """(number, unit) for each figure in `text` followed by a known unit, in digits or in words: "12 days" →
    ("12", "day"), "sechs Tage" → ("6", "day")."""
    found = set()
    for match in re.finditer(rf"(?<![\w.,])({_NUMBER.pattern})\s?(%|[^\W\d_]+)", text):
        unit = _UNIT_OF.get(fold(match.group(2)))
        if unit is not None:
            found.add((re.sub(r"\D", "", match.group(1)), unit))
    for match in re.finditer(r"\b([^\W\d_]+)(?=\s+([^\W\d_]+))", text):
        number, unit = _SPELLED.get(fold(match.group(1))), _UNIT_OF.get(fold(match.group(2)))
        if number is not None and unit is not None:
            found.add((number, unit))
    return found


def is_year(number: str) -> bool:
    """True for a separator-free number that reads as a year (1900–2099)."""
    return len(number) == 4 and number[:2] in {"19", "20"}


def key_terms(text: str) -> set[str]:
    """Words that carry meaning across languages: numbers, and folded non-stopwords of 3+ letters."""
    words = {fold(w) for w in _WORD.findall(CITATION_MARKER.sub(" ", text))}
    return {w for w in words if len(w) >= 3 and w not in STOPWORDS} | numbers(CITATION_MARKER.sub(" ", text))


def names(text: str) -> set[str]:
    """Capitalised words and numbers: the names, places and figures a sentence asserts."""
    stripped = CITATION_MARKER.sub(" ", text)
    capitalised = {fold(w) for w in _WORD.findall(stripped) if w[0].isupper() and fold(w) not in STOPWORDS}
    return {w for w in capitalised if len(w) >= 2} | numbers(stripped)


# Number words that are also common words of another newsqa language ("due to", "sei", "très", "once", "neuf",
# "Sept." for September, "Otto", Dutch "onze" (our) and "ten noorden", Portuguese "doce" (sweet)): never figures.
_AMBIGUOUS_NUMBER_WORDS = frozenset("due sei dos tres once neuf sept otto onze ten doce".split())
# Month words that are also common words: Italian "mai" (never).
_AMBIGUOUS_MONTH_WORDS = frozenset({"mai"})


def _same_meaning() -> dict[str, str]:
    """Folded word → one token for every word naming the same thing: number words → their digits ("sechs"
    → "6"), month and weekday names → "month:12", "weekday:2", countries and their adjectives → "country:…"."""
    table = {
        fold(word): str(value)
        for word, value in NUMBER_WORDS.items()
        if value >= 2 and fold(word) not in _AMBIGUOUS_NUMBER_WORDS
    }
    for kind, groups in (("month", MONTH_NAMES), ("weekday", WEEKDAY_NAMES)):
        for number, words in enumerate(groups, 1):
            kept = (word for word in words.split() if word not in _AMBIGUOUS_MONTH_WORDS)
            table.update({fold(word): f"{kind}:{number}" for word in kept})
    return table


def _countries() -> dict[str, str]:
    """Folded country word → "country:N" (see COUNTRY_WORDS)."""
    return {fold(word): f"country:{n}" for n, words in enumerate(COUNTRY_WORDS, 1) for word in words.split()}


_SAME_MEANING = _same_meaning()
_WEEKDAY_INDEX = {word: int(token[8:]) - 1 for word, token in _SAME_MEANING.items() if token.startswith("weekday:")}
# Every folded month and weekday name, the ambiguous "mai" too: words that never name a company, person or place.
CALENDAR_WORDS = frozenset(fold(word) for names in (*MONTH_NAMES, *WEEKDAY_NAMES) for word in names.split())


def weekdays_named(text: str) -> set[int]:
    """The weekdays `text` names in any of newsqa's languages, Monday as 0 ("mardi" → 1)."""
    return {_WEEKDAY_INDEX[word] for word in re.findall(r"\w+", fold(text)) if word in _WEEKDAY_INDEX}


_SPELLED = {word: token for word, token in _SAME_MEANING.items() if token.isdigit()}  # number words → digits
_COUNTRIES = _countries()
# Elided articles and prepositions (fr/it), folded: "l'allemand", "dell'anno", "qu'il". Only these: "O'Brien" and
# "they're" keep theirs ("D'Amico" loses its d', on both sides of a comparison alike).
_ELISION = re.compile(
    r"^(l|d|j|n|s|c|m|t|qu|lorsqu|puisqu|jusqu|un|dell|nell|all|dall|sull|coll|quest|quell)'(?=\w{2})"
)


def same_meaning(terms: set[str], text: str) -> set[str]:
    """Folded terms with words of one meaning in en/fr/de/es/it made one token, so a claim in one language
    finds its evidence in another: {"6", "december"} and {"sechs", "dezember"} agree. An elided article or
    preposition is dropped ("l'allemand", "dell'anno" → "allemand", "anno"). Countries and their adjectives
    ("Germany", "l'Allemand", "tedesca") become one token only for the words `text` writes as a country word,
    so the surname Russo or "Deutsche Bank" stays a name."""
    countries = _country_words(text)
    found = set()
    for term in terms:
        word = _ELISION.sub("", term)
        if word in countries:
            found.add(_COUNTRIES[word])
        else:
            found.add(_SAME_MEANING.get(word, word))
    return found


def _country_words(text: str) -> set[str]:
    """The folded country words of `text` used as such: lower case ("tedesca"), with an elided article
    ("L'Allemand Lukas Brenner"), or capitalised but not right after another capitalised word, which makes it
    part of a name ("Marco Russo", "South Korea")."""
    words = list(_WORD.finditer(text))
    found = set()
    for i, match in enumerate(words):
        written = match.group()
        word = _ELISION.sub("", fold(written))
        if word not in _COUNTRIES:
            continue
        previous = words[i - 1] if i else None
        in_name = (
            written[0].isupper()
            and word == fold(written)
            and previous is not None
            and previous.group()[0].isupper()
            and not text[previous.end() : match.start()].strip()
        )
        if not in_name:
            found.add(word)
    return found


def spelled_numbers(text: str) -> set[str]:
    """The digits of the number words (two to twelve) in `text`: "sechs Tote" → {"6"}."""
    return {_SPELLED[word] for word in map(fold, _WORD.findall(text)) if word in _SPELLED}


def citation_numbers(text: str) -> list[int]:
    """The n of every [n] marker in `text`, in order."""
    return [int(n) for n in CITATION_MARKER.findall(text)]


def strip_citations(text: str) -> str:
    """`text` without [n] markers."""
    return re.sub(r"\s*" + CITATION_MARKER.pattern, "", text).strip()

"""Time expressions in a question → a publication-date window and/or a preference for recent articles."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from qa.errors import InputError
from qa.language import MONTH_NAMES, NUMBER_WORDS


@dataclass(frozen=True)
class TimeHint:
    """What a question says about time.

    `since`/`until` bound the *publication* date of articles that can answer (inclusive, UTC; `until` is
    the end of its day); either may be open. A date named in a question usually says when something
    happened, not when it was reported: announcements come shortly before, results and follow-ups any
    time after. So a named date, month or year ("in March 2025", "on 12 March 2025", "in 2024") opens
    the window at the first day of the month *before* it and leaves it open at the end; a relative
    period ("yesterday", "last week", "the past 30 days") opens it at the period's start. Only explicit
    bounds ("before June 2024", "until May 2025", "between March and May 2025") close it.
    `period` is the calendar span the expression names, for ranking and display; `recency` the words that
    ask for the newest information ("latest", "so far", "nach aktuellem Stand"), as written.
    """

    since: datetime | None = None
    until: datetime | None = None
    prefer_recent: bool = False
    expression: str | None = None
    period: tuple[date, date] | None = None
    recency: str | None = None

    @property
    def has_window(self) -> bool:
        """True when the hint restricts publication dates."""
        return self.since is not None or self.until is not None


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _end(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def _month_end(year: int, month: int) -> date:
    return date(year, month, monthrange(year, month)[1])


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def _month_before(day: date) -> date:
    return _add_months(day.replace(day=1), -1)


_MONTH_ABBREVIATIONS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12, "dez": 12,
}  # fmt: skip
_MONTHS = {name: number for number, names in enumerate(MONTH_NAMES, 1) for name in names.split()}
_MONTHS.update(_MONTH_ABBREVIATIONS)


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


_FULL_MONTH = rf"(?P<m>{_alternation([n for names in MONTH_NAMES for n in names.split()])})"
_ANY_MONTH = rf"(?P<m>{_alternation(list(_MONTHS))})\.?"
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|ᵉʳ|º|°|\.)?"
# A year is not part of a longer number, a season ("2024-25"), an amount or a designation ("C/2024").
_YEAR = r"(?P<y>(?:19|20)\d\d)(?![\w%]|[-–/.,]\d)"
_B = r"(?<![\w$€£/#.,\-–])"  # start of a word that is not glued to a symbol or a number
_E = r"(?!\w)"

YEAR = re.compile(rf"{_B}{_YEAR}")  # a year in figures ("nel 2024"), group "y"; not "2024/25" or "C/2024"

_NUMBER_WORDS = dict(NUMBER_WORDS)
_NUMBER_WORDS.update({"fifteen": 15, "quinze": 15, "fünfzehn": 15, "quince": 15, "quindici": 15})
_NUMBER_WORDS.update({"thirty": 30, "trente": 30, "dreißig": 30, "treinta": 30, "trenta": 30})
_NUMBER = rf"(?P<n>\d{{1,3}}|{_alternation(list(_NUMBER_WORDS))})"

_UNITS = {
    "hours": "hour hours heures stunden horas ore",
    "days": "day days jours tagen tage días dias giorni",
    "weeks": "week weeks semaines wochen semanas settimane",
    "months": "month months mois monaten monate meses mesi",
    "years": "year years ans années jahren jahre años anni",
}
_UNIT_OF = {word: unit for unit, words in _UNITS.items() for word in words.split()}
_UNIT = rf"(?P<u>{_alternation(list(_UNIT_OF))})"

# "the past 30 days", "les 7 derniers jours", "in den letzten 3 Wochen", "los últimos 2 meses", "negli ultimi 6 mesi".
_PAST_N = [
    rf"(?:(?:in|over|during|within)\s+)?(?:the\s+)?(?:past|last|previous)\s+{_NUMBER}\s+{_UNIT}",
    rf"(?:les|ces|des)\s+{_NUMBER}\s+derni(?:er|ère)s\s+{_UNIT}",
    rf"(?:in\s+)?den\s+(?:letzten|vergangenen)\s+{_NUMBER}\s+{_UNIT}",
    rf"seit\s+{_NUMBER}\s+{_UNIT}",
    rf"(?:en\s+)?(?:los|las)\s+últim[oa]s\s+{_NUMBER}\s+{_UNIT}",
    rf"(?:negli|nelle|nei|degli|delle)\s+ultim[ei]\s+{_NUMBER}\s+{_UNIT}",
    r"(?:(?:in|over|during|within)\s+)?the\s+past\s+(?P<u>day|week|month|year)",
]

# Relative periods, most specific first (an earlier pattern claims its text before a later one runs).
_RELATIVE = [
    ("day_before", r"the\s+day\s+before\s+yesterday|avant-hier|vorgestern|anteayer|antier|l'altro\s*ieri"),
    ("yesterday", r"yesterday(?:'s)?|hier|gestern|ayer|ieri"),
    ("today", r"today(?:'s)?|aujourd'hui|heute|hoy|oggi"),
    (
        "earlier_this_year",
        r"earlier\s+this\s+year|(?:at\s+the\s+)?(?:start|beginning)\s+of\s+this\s+year|plus\s+tôt\s+cette\s+année"
        r"|(?:en|au)\s+début\s+d'année|anfang\s+(?:dieses|des)\s+jahres|früher\s+in\s+diesem\s+jahr"
        r"|a\s+(?:principios|comienzos)\s+de\s+(?:este\s+)?año"
        r"|all'inizio\s+(?:di\s+quest'|dell')anno|a\s+inizio\s+anno",
    ),
    ("earlier_this_month", r"earlier\s+this\s+month|plus\s+tôt\s+ce\s+mois-ci|anfang\s+(?:dieses|des)\s+monats"),
    ("this_week", r"this\s+week|cette\s+semaine|(?:in\s+)?diese[rnm]?\s+woche|esta\s+semana|questa\s+settimana"),
    (
        "last_week",
        r"last\s+week|la\s+semaine\s+(?:dernière|passée)|(?:in\s+der\s+)?(?:letzte[nr]?|vergangene[nr]?|vorige[nr]?)"
        r"\s+woche|la\s+(?:semana\s+pasada|pasada\s+semana)|la\s+(?:settimana\s+(?:scorsa|passata)|scorsa\s+settimana)",
    ),
    ("this_month", r"this\s+month|ce\s+mois(?:-ci)?|(?:in\s+)?diese[nmr]?\s+monat|este\s+mes|questo\s+mese"),
    (
        "last_month",
        r"last\s+month|le\s+mois\s+(?:dernier|passé)|(?:im\s+)?(?:letzte[nmr]?|vergangene[nmr]?|vorige[nmr]?)\s+monat"
        r"|el\s+(?:mes\s+pasado|pasado\s+mes)|il\s+mese\s+(?:scorso|passato)|lo\s+scorso\s+mese",
    ),
    (
        "this_year",
        r"this\s+year(?:'s)?|cette\s+année|(?:in\s+)?diese[mns]?\s+jahr(?:es)?|este\s+año|quest'anno|questo\s+anno",
    ),
    (
        "last_year",
        r"last\s+year(?:'s)?|l'année\s+(?:dernière|passée)|l'an\s+(?:dernier|passé)"
        r"|(?:im\s+)?(?:letzte[ns]?|vergangene[ns]?|vorige[ns]?)\s+jahr(?:es)?|el\s+(?:año\s+pasado|pasado\s+año)"
        r"|l'anno\s+(?:scorso|passato)|lo\s+scorso\s+anno",
    ),
]

# "last March": the most recent such month strictly before the current one.
_LAST_NAMED_MONTH = [
    rf"(?:last|this\s+past)\s+{_FULL_MONTH}",
    rf"(?:en\s+|le\s+mois\s+de\s+)?{_FULL_MONTH}\s+dernier",
    rf"(?:im\s+)?(?:letzten|vergangenen|vorigen)\s+{_FULL_MONTH}",
    rf"(?:el\s+)?pasado\s+(?:mes\s+de\s+)?{_FULL_MONTH}",
    rf"(?:el\s+|en\s+)?{_FULL_MONTH}\s+pasado",
    rf"(?:lo\s+)?scorso\s+{_FULL_MONTH}",
    rf"{_FULL_MONTH}\s+scorso",
]

# Most specific first: ISO, day.month.year, "12 March 2025", "March 12, 2025", "March 2025".
_NAMED_DATES = [
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})(?![\w-])",
    r"(?P<d>\d{1,2})\.(?P<mo>\d{1,2})\.(?P<y>\d{4})(?![\w.]|\.\d)",
    rf"{_DAY}\s+(?:de\s+|of\s+|del\s+)?{_ANY_MONTH},?\s+(?:de\s+|del\s+|of\s+)?{_YEAR}",
    rf"{_ANY_MONTH}\s+{_DAY},?\s+{_YEAR}",
    rf"{_ANY_MONTH},?\s+(?:of\s+|de\s+|del\s+)?{_YEAR}",
]

# Phrases that mean "up to now": they set the recency preference and are never read as a date.
_RECENCY_PHRASES = (
    r"as\s+of\s+(?:today|now|yet)|to\s+date|to\s+this\s+day|up[\s-]to[\s-]date"
    r"|(?:up\s+)?(?:until|till|to)\s+(?:now|today)|so\s+far|nowadays|these\s+days"
    r"|at\s+present|right\s+now|at\s+the\s+moment"
    r"|à\s+ce\s+jour|à\s+l'heure\s+(?:actuelle|qu'il\s+est)"
    r"|jusqu'(?:à\s+présent|ici|à\s+maintenant|à\s+aujourd'hui)"
    r"|aujourd'hui\s+encore|de\s+nos\s+jours|à\s+présent|en\s+ce\s+moment|pour\s+(?:l'instant|le\s+moment)"
    r"|bis\s+(?:heute|jetzt|dato)|heutzutage|stand\s+heute|immer\s+noch|noch\s+immer"
    r"|hasta\s+(?:ahora|hoy|la\s+fecha)|a\s+día\s+de\s+hoy|hoy\s+(?:en\s+)?día|en\s+la\s+actualidad"
    r"|en\s+este\s+momento|por\s+ahora|a\s+la\s+fecha"
    r"|fino\s+(?:ad?\s+oggi|ad?\s+ora)|ad?\s+oggi|oggi\s*giorno|al\s+momento|ancora\s+oggi|a\s+tutt'oggi"
    r"|(?:the\s+)?(?:past|last)\s+(?:few|couple\s+of)\s+(?:days|weeks|months)"
)
_RECENCY_WORDS = (
    r"latest|newest|most\s+recent(?:ly)?|recent(?:ly)?|now|currently|current|still|presently|updated"
    r"|derni(?:er|ère)s?|plus\s+récente?s?|récente?s?|récemment|actuel(?:le)?s?|actuellement|maintenant|désormais"
    r"|toujours"
    r"|aktuell(?:e[nmrs]?)?|neueste[nmrs]?|jüngsten|letzte[nmrs]?|jetzt|derzeit(?:ig(?:e[nmrs]?)?)?|zurzeit"
    r"|momentan|gegenwärtig|mittlerweile|inzwischen|bisher|bislang"
    r"|últim[oa]s?|más\s+recientes?|recientes?|recientemente|ahora|actualmente|actuales|todavía|aún|vigentes?"
    r"|(?:el|la|su|sus)\s+actual|actual(?=\s*[?.]?\s*$)"
    r"|ultim[oaie]|più\s+recent[ei]|recent[ei]|recentemente|di\s+recente|ora|adesso|attual(?:e|i|mente)"
    r"|tuttora|finora|sinora"
)

# Words before a date that turn it into a bound rather than a reference.
_CONNECTORS = {
    "since": r"since|ever\s+since|from|depuis|dès|à\s+partir\s+d(?:e|u|')|seit|ab|desde|a\s+partir\s+del?"
    r"|da|dal|dalla|dall'|a\s+partire\s+da(?:l|ll')?",
    "after": r"after|après|nach|después\s+del?|despues\s+del?|tras|dopo(?:\s+il)?",
    "before": r"before|prior\s+to|avant|vor|antes\s+del?|prima\s+d(?:i|el|ello|ell')",
    "until": r"until|till|up\s+until|through|jusqu'(?:à|au|en)|bis(?:\s+zum|\s+ende)?|hasta|fino\s+a(?:l|ll')?",
}
_ARTICLE = r"(?:(?:the|le|la|el|il|lo|dem|der|den)\s+|l')?"
_AFTER_SPACE = r"(?:^|(?<=[\s(\[\"«¿¡,;:]))"  # at the start, or after a space or an opening mark
_CONNECTOR_BEFORE = {
    kind: re.compile(rf"{_AFTER_SPACE}(?:{words})(?:\s+|(?<=')){_ARTICLE}$", re.IGNORECASE)
    for kind, words in _CONNECTORS.items()
}
_RANGE_START = re.compile(
    rf"{_AFTER_SPACE}(?:between|from|zwischen|von|vom|entre|de|du|desde|del|tra|fra|da|dal)\s+{_ARTICLE}$",
    re.IGNORECASE,
)
_RANGE_JOIN = re.compile(
    rf"\s*(?:and|to|until|till|through|und|bis(?:\s+zum)?|et|à|au|y|a|al|hasta|e|[-–—])\s*{_ARTICLE}",
    re.IGNORECASE,
)
# A bare year counts only after one of these ("in 2024", "im Jahr 2024", "nel 2024"), never alone ("2024 Olympics").
_YEAR_REFERENCE_BEFORE = re.compile(
    rf"{_AFTER_SPACE}(?:(?:in|during|throughout|en|durant|pendant|au\s+cours\s+de|im|während|durante|nel)"
    r"\s+(?:the\s+year\s+|l'année\s+|l'an\s+|jahr(?:e)?\s+|dem\s+jahr\s+|el\s+año\s+|el\s+|l'anno\s+)?"
    r"|nell'(?:anno\s+)?)$",
    re.IGNORECASE,
)
_REFERENCE_BEFORE = re.compile(rf"{_AFTER_SPACE}(?:in|on|during|en|le|im|am|el|il|a|nel|nell')\s*$", re.IGNORECASE)
# "in 2000 homes", "up to 2000 people": a count, not a year (plural word or a people noun right after it).
_COUNTED = re.compile(
    r"(?:\s*(?:to|and|-|–|bis|und|à|et|a|y|e)\s*\d[\d,.]*)?\s+"
    r"(?!(?:was|has|is|does|as|its|this|his)\b)(?:[a-zà-ÿ]+s|people|staff|persone|gente|Menschen|Leute|Personen)\b"
)
_GERMAN = re.compile(
    r"\b(?:ist|sind|hat|haben|wurde|wurden|wer|wie|was|wo|warum|welche[rsmn]?|der|die|das|den|dem|und|nicht|ein|eine"
    r"|im|am|vom|zum|zur|auf|mit|bei|für)\b",
    re.IGNORECASE,
)

_EN_OPENING = re.compile(
    r"^[\W_]*(?:who|whom|whose|what|which|where|when|why|how|is|are|was|were|does|do|did|has|have|had|will|can"
    r"|(?:in|at|on|for|from|by)\s+(?:which|what|whose))\b",
    re.IGNORECASE,
)
_EN_AUXILIARY = re.compile(
    r"\b(?:(?P<present>is|are|am|does|do|has|have|will|can|isn't|aren't|doesn't|don't|hasn't|haven't|won't|can't"
    r"|what's|who's|where's|how's)|(?P<past>was|were|did|had|wasn't|weren't|didn't|hadn't|would|could|should))\b",
    re.IGNORECASE,
)


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"{_B}(?:{pattern}){_E}", re.IGNORECASE)


_PAST_N_RE = [_compile(p) for p in _PAST_N]
_RELATIVE_RE = [(kind, _compile(p)) for kind, p in _RELATIVE]
_LAST_NAMED_MONTH_RE = [_compile(p) for p in _LAST_NAMED_MONTH]
_NAMED_DATE_RES = [_compile(p) for p in _NAMED_DATES]
_BARE_YEAR_RE = _compile(_YEAR)
_BARE_MONTH_RE = _compile(_FULL_MONTH)
_RECENCY_PHRASE_RE = _compile(_RECENCY_PHRASES)
_RECENCY_WORD_RE = _compile(_RECENCY_WORDS)


@dataclass(frozen=True)
class _Atom:
    """One date expression found in the text, before connectors are considered."""

    start: int
    end: int
    first: date
    last: date
    kind: str  # "named", "relative", "year" (needs a preposition), "month" (no year: only inside a range)
    word: str = ""


@dataclass(frozen=True)
class _Finding:
    start: int
    end: int
    since: date | None
    until: date | None
    period: tuple[date, date] | None


class _Claims:
    """Character spans already taken by an earlier, more specific pattern."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.spans)

    def take(self, start: int, end: int) -> None:
        self.spans.append((start, end))


def _month_number(token: str) -> int | None:
    # "Mars" with a capital is the planet or a mission name; the French month is written in lower case.
    if token.lower() == "mars" and token != "mars":
        return None
    return _MONTHS.get(token.lower().rstrip("."))


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _relative_span(kind: str, today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    spans = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "day_before": (today - timedelta(days=2), today - timedelta(days=2)),
        "this_week": (monday, today),
        "last_week": (monday - timedelta(days=7), monday - timedelta(days=1)),
        "this_month": (first_of_month, today),
        "earlier_this_month": (first_of_month, today),
        "last_month": (_add_months(first_of_month, -1), first_of_month - timedelta(days=1)),
        "this_year": (date(today.year, 1, 1), today),
        "earlier_this_year": (date(today.year, 1, 1), today),
        "last_year": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    }
    return spans[kind]


def _past_n_start(number: int, unit: str, today: date) -> date | None:
    try:
        if unit == "hours":
            return today - timedelta(days=-(-number // 24))
        if unit == "days":
            return today - timedelta(days=number)
        if unit == "weeks":
            return today - timedelta(weeks=number)
        return _add_months(today, -number * (12 if unit == "years" else 1))
    except (OverflowError, ValueError):
        return None


def _find_atoms(text: str, today: date, claims: _Claims) -> list[_Atom]:
    atoms: list[_Atom] = []

    def add(match: re.Match[str], first: date, last: date, kind: str, word: str = "") -> None:
        claims.take(match.start(), match.end())
        atoms.append(_Atom(match.start(), match.end(), first, last, kind, word))

    for pattern in _NAMED_DATE_RES:
        for match in pattern.finditer(text):
            if not claims.free(match.start(), match.end()):
                continue
            groups = match.groupdict()
            year = int(groups["y"])
            month = int(groups["mo"]) if groups.get("mo") else _month_number(groups["m"])
            if month is None:
                continue
            if groups.get("d"):
                day = _safe_date(year, month, int(groups["d"]))
                if day is None:
                    claims.take(match.start(), match.end())  # "30 February 2025": unreadable, so no window at all
                else:
                    add(match, day, day, "named")
            elif 1 <= month <= 12:
                add(match, date(year, month, 1), _month_end(year, month), "named")

    for pattern in _LAST_NAMED_MONTH_RE:
        for match in pattern.finditer(text):
            month = _month_number(match["m"])
            if month is None or not claims.free(match.start(), match.end()):
                continue
            year = today.year if month < today.month else today.year - 1
            add(match, date(year, month, 1), _month_end(year, month), "named")

    for pattern in _PAST_N_RE:
        for match in pattern.finditer(text):
            if not claims.free(match.start(), match.end()):
                continue
            raw = match.groupdict().get("n")
            number = 1 if raw is None else int(raw) if raw.isdigit() else _NUMBER_WORDS[raw.lower()]
            unit = _UNIT_OF[match["u"].lower()]
            first = _past_n_start(number, unit, today)
            if first is not None and number > 0:
                add(match, first, today, "relative")

    for kind, pattern in _RELATIVE_RE:
        for match in pattern.finditer(text):
            if not claims.free(match.start(), match.end()):
                continue
            word = match.group(0)
            # English "Today"/"Yesterday" with a capital inside a sentence is a name (USA Today, the song).
            if kind in ("today", "yesterday") and word[0] in "TY" and text[: match.start()].strip(" \"'(«"):
                continue
            # German "hier" means "here", not the French "yesterday".
            if word.lower() == "hier" and _GERMAN.search(text):
                continue
            first, last = _relative_span(kind, today)
            add(match, first, last, "relative", kind + ("_en" if word.lower().startswith("today") else ""))

    for match in _BARE_YEAR_RE.finditer(text):
        if claims.free(match.start(), match.end()) and not _COUNTED.match(text, match.end()):
            year = int(match["y"])
            atoms.append(_Atom(match.start(), match.end(), date(year, 1, 1), date(year, 12, 31), "year"))

    for match in _BARE_MONTH_RE.finditer(text):
        month = _month_number(match["m"])
        if month is not None and claims.free(match.start(), match.end()):
            atoms.append(_Atom(match.start(), match.end(), date(2000, month, 1), date(2000, month, 1), "month"))

    return sorted(atoms, key=lambda atom: atom.start)


def _with_year(atom: _Atom, year: int) -> _Atom:
    month = atom.first.month
    return _Atom(atom.start, atom.end, date(year, month, 1), _month_end(year, month), "named")


def _range(text: str, a: _Atom, b: _Atom) -> _Finding | None:
    """`a` and `b` as the two ends of "between a and b" (or "from a to b"), when the text says so."""
    join = _RANGE_JOIN.fullmatch(text, a.end, b.start)
    start_word = _RANGE_START.search(text[: a.start])
    if join is None or start_word is None:
        return None
    if a.kind == "month" and b.kind == "month":
        return None
    if a.kind == "month":
        a = _with_year(a, b.first.year if a.first.month <= b.first.month else b.first.year - 1)
    if b.kind == "month":
        b = _with_year(b, a.first.year if b.first.month >= a.first.month else a.first.year + 1)
    valid = a.first <= b.last
    return _Finding(
        start_word.start(),
        b.end,
        a.first if valid else None,
        b.last if valid else None,
        (a.first, b.last) if valid else None,
    )


def _resolve(text: str, atoms: list[_Atom], today: date, status: bool) -> tuple[list[_Finding], list[tuple[int, int]]]:
    """Findings (windows), and the spans of "today" words that only mean "now"."""
    findings: list[_Finding] = []
    nows: list[tuple[int, int]] = []
    used: set[int] = set()
    for index in range(len(atoms) - 1):
        if index in used:
            continue
        found = _range(text, atoms[index], atoms[index + 1])
        if found is not None:
            findings.append(found)
            used.update((index, index + 1))

    for index, atom in enumerate(atoms):
        if index in used or atom.kind == "month":
            continue
        before = text[: atom.start]
        connector = next(
            ((kind, m) for kind, pattern in _CONNECTOR_BEFORE.items() if (m := pattern.search(before))), None
        )
        if connector is not None:
            kind, match = connector
            findings.append(_bound(kind, match.start(), atom, today))
            continue
        if atom.kind == "year":
            year_reference = _YEAR_REFERENCE_BEFORE.search(before)
            if year_reference is None:
                continue
            start = year_reference.start()
        else:
            reference = _REFERENCE_BEFORE.search(before)
            start = reference.start() if reference and atom.kind == "named" else atom.start
        if (atom.word == "today_en" and status) or atom.word == "today":
            # "How many people work there today?" asks about now, not about news published today.
            nows.append((atom.start, atom.end))
            continue
        findings.append(_reference(start, atom, today))
    return findings, nows


def _bound(kind: str, start: int, atom: _Atom, today: date) -> _Finding:
    if kind == "since":
        open_ = atom.first <= today
        return _Finding(start, atom.end, atom.first if open_ else None, None, (atom.first, today) if open_ else None)
    if kind == "after":
        first = atom.last + timedelta(days=1)
        open_ = first <= today
        return _Finding(start, atom.end, first if open_ else None, None, (first, today) if open_ else None)
    if kind == "before":
        return _Finding(start, atom.end, None, atom.first - timedelta(days=1), None)
    return _Finding(start, atom.end, None, atom.last, None)


def _reference(start: int, atom: _Atom, today: date) -> _Finding:
    if atom.first > today:
        # A future date ("open in 2027") is reported before it happens: no window.
        return _Finding(start, atom.end, None, None, (atom.first, atom.last))
    since = atom.first if atom.kind == "relative" else _month_before(atom.first)
    return _Finding(start, atom.end, since, None, (atom.first, atom.last))


def _english_status(question: str) -> bool:
    """An English question in the present, present perfect or future tense ("Who is…", "How much has…")."""
    if not _EN_OPENING.search(question):
        return False
    auxiliary = _EN_AUXILIARY.search(question)
    return auxiliary is not None and auxiliary["present"] is not None


def parse_time_hint(question: str, today: date) -> TimeHint:
    """The time hint in `question`, with relative expressions resolved against `today`.

    Weekday names ("on Monday"), days without a year ("on 12 March"), months without a year except
    "last March" and inside a range ("between March and May 2025"), numeric dates other than ISO and
    day.month.year, quarters and decades are not read: they are too ambiguous to filter on. "Today" in a
    present-tense English question, and "aujourd'hui", "heute", "hoy", "oggi" (which often mean "nowadays"),
    only set the recency preference.
    """
    if isinstance(today, datetime):
        today = today.date()
    if not isinstance(today, date):
        raise InputError(f"today must be a date, got {today!r}")
    text = question.replace("’", "'").replace("\u00a0", " ")
    status = _english_status(text)
    claims = _Claims()

    recency: list[tuple[int, int]] = []
    for match in _RECENCY_PHRASE_RE.finditer(text):
        claims.take(match.start(), match.end())
        recency.append((match.start(), match.end()))

    findings, nows = _resolve(text, _find_atoms(text, today, claims), today, status)
    for span in findings:
        claims.take(span.start, span.end)
    recency.extend(nows)
    recency.extend(
        (match.start(), match.end())
        for match in _RECENCY_WORD_RE.finditer(text)
        if claims.free(match.start(), match.end())
    )
    recency.sort()

    since, until, period = _combine(findings)
    if since is not None and (since > today or _FUTURE_RE.search(text)):
        # A plan or forecast for that time ("from the 2025 season", "will open in March") is reported before
        # it: a lower bound on publication dates would hide the very article that announces it.
        since = None
    # A status question ("Who is…", "How many… will…") wants the newest information unless it names a past time.
    prefer_recent = bool(recency) or (status and since is None and until is None)
    expression: str | None
    if findings:
        expression = ", ".join(question[f.start : f.end].strip() for f in sorted(findings, key=lambda f: f.start))
    else:
        expression = question[recency[0][0] : recency[0][1]] if recency else None
    return TimeHint(
        since=_start(since) if since else None,
        until=_end(until) if until else None,
        prefer_recent=prefer_recent,
        expression=expression,
        period=period,
        recency=question[recency[0][0] : recency[0][1]] if recency else None,
    )


# Future tense and plans, en/fr/de/es/it: the time named is when something is to happen, not when it was reported.
_FUTURE_RE = re.compile(
    r"\b(will|won't|going\s+to|plan(?:s|ned)?\s+to|expected\s+to|scheduled|supposed\s+to|due\s+to"
    r"|va|vont|sera|seront|pr[ée]vue?s?|doit|doivent|devrait|devraient"
    r"|wird|werden|soll|sollen|geplant|vorgesehen"
    r"|ser[áa]n?|va\s+a|van\s+a|prev[ée]|previst[oa]s?"
    r"|sar[àa]|saranno|dovr[àa]|dovranno"
    r"|\w{2,}(?:erà|irà|arà|eranno|iranno|aranno|ará|erá|irá|arán|erán|irán|era|eront|ira|iront))\b",
    re.IGNORECASE,
)


def _combine(findings: list[_Finding]) -> tuple[date | None, date | None, tuple[date, date] | None]:
    """The loosest window over all expressions, so that no single one can hide an answer."""
    if not findings:
        return None, None, None
    sinces = [f.since for f in findings if f.since is not None]
    untils = [f.until for f in findings if f.until is not None]
    periods = [f.period for f in findings if f.period is not None]
    since = min(sinces) if len(sinces) == len(findings) else None
    until = max(untils) if len(untils) == len(findings) else None
    period = (min(p[0] for p in periods), max(p[1] for p in periods)) if len(periods) == len(findings) else None
    return since, until, period

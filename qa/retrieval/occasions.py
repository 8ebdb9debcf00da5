"""Which occurrence of a recurring event a question names (edition, year), and whether a text speaks of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from qa.language import ORDINAL_WORDS
from qa.retrieval.timeparse import YEAR, parse_time_hint
from qa.text import LAST_YEAR, MONTH_NAME, STOPWORDS, THIS_YEAR, fold, names, numbers

# Nouns that name an occurrence of a recurring event, en/fr/de/es/it (folded).
_EDITION_NOUNS = (
    r"edition|editions|annual|instalment|installment|season|round|session|edizione|edizioni|edicion|ediciones"
    r"|ausgabe|auflage|austragung|jahrgang|saison|temporada|stagione|sesion|sessione|convocatoria|cita"
)
# Words after an ordinal that make it a rank, a date or a part rather than an occurrence ("the 3rd place",
# "der 5. Platz", "the 35th kilometre", "am 5. März", "third quarter"), folded.
_NOT_AN_OCCURRENCE = frozenset(
    (
        "place places platz rang rank position posto puesto positions stage etappe etape tappa etapa lap tour "
        "runde giro vuelta quarter quartal trimestre semestre day days tag tage jour jours dia giorno week woche "
        "semaine semana settimana month monat mois mes mese century jahrhundert siecle siglo secolo floor stock "
        "etage piso piano minute minuten minuto minutes kilometre kilometer kilometro chilometro km mile meile "
        "time times mal fois vez volta victory sieg victoire victoria vittoria title titel titre titulo titolo "
        "goal tor but gol try birthday geburtstag anniversaire cumpleanos compleanno"
    ).split()
)
_NUMERIC_ORDINAL = r"(?P<n>\d{1,3})(?P<s>st|nd|rd|th|e|è|ème|eme|er|re|ère|\.ª|\.º|ª|º|°|\.|a|o)"
_WORD_ORDINAL = "|".join(re.escape(word) for word in sorted(ORDINAL_WORDS, key=len, reverse=True))
_ROMAN = r"(?P<r>[IVXLC]{1,7})"
# An ordinal, then up to two lower-case articles or prepositions, then the next word.
_ORDINAL = re.compile(
    rf"(?<![\w.,/-])(?:{_NUMERIC_ORDINAL}|(?P<w>{_WORD_ORDINAL})|{_ROMAN})(?![\w°ºª])\s+"
    r"(?P<next>[^\W\d_][\w'’-]*)",
    re.IGNORECASE,
)
_JOINING = frozenset("and or to et ou au und oder bis zum zur y o hasta al e ed".split())
_EDITION_NOUN = re.compile(rf"(?:{_EDITION_NOUNS})\b")
LEAD_CHARS = 600  # an article's lead: where it says which edition it reports
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def _roman(numeral: str) -> int | None:
    # Case-insensitive matching lets "İ" or "ı" through as I; they are no numerals.
    values = [_ROMAN_VALUES.get(c, 0) for c in numeral]
    if not all(values):
        return None
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
    return total if total > 0 else None


@lru_cache(maxsize=512)  # the citation check asks it of the same article texts for every answer sentence
def editions_named(text: str) -> frozenset[int]:
    """The edition numbers `text` names: an ordinal before a word for an edition ("la 16ª edizione", "die
    15. Ausgabe", "the seventh edition", "XII edición") or, written in figures, before a name ("the 15th
    Lanterna prize", "la 9e édition", "beim 12. Meridian-Preis"). Ranks, dates and parts ("3rd place", "am 5.
    März", "35e kilomètre", "third quarter") are not editions."""
    return frozenset(value for value, _ in _ordinals(text) if value is not None)


def _ordinals(text: str) -> list[tuple[int | None, str]]:
    """Each ordinal of `text` that may name an occurrence, with its value when it does (None when it is only
    joined to another one: "the 14th and 15th editions"), and the word after it."""
    found: list[tuple[int | None, str]] = []
    for match in _ORDINAL.finditer(text):
        following = fold(match["next"])
        if following in _NOT_AN_OCCURRENCE or MONTH_NAME.fullmatch(following):
            continue
        edition_noun = bool(_EDITION_NOUN.match(following))
        joined = following in _JOINING  # "the 14th and 15th", "from the 9th to the 10th"
        value: int | None = None
        if match["n"]:
            suffix = match["s"].lower()
            # "15a"/"15o" and a figure before a lower-case word ("35e kilomètre") need a word for an edition;
            # "15." before "The" ends a sentence.
            named = match["next"][0].isupper() and suffix not in ("a", "o")
            if suffix == "." and following in STOPWORDS:
                named = False
            if edition_noun or named:
                value = int(match["n"])
            elif not joined:
                continue
        elif match["w"]:
            if edition_noun:
                value = ORDINAL_WORDS.get(match["w"].lower())  # None for "ſecond": a case-folding match
                if value is None:
                    continue
            elif not joined:
                continue
        elif match["r"].isupper() and edition_noun:
            value = _roman(match["r"])
        else:
            continue
        found.append((value, following))
    return found


def years_stated(text: str, published: datetime | None = None) -> set[int]:
    """The years `text` names: in figures ("nel 2024", not "2024/25" or "C/2024"), and "last year" / "this
    year" counted from `published` when it is known."""
    years = {int(match["y"]) for match in YEAR.finditer(text)}
    if published is not None:
        folded = fold(text)
        if LAST_YEAR.search(folded):
            years.add(published.year - 1)
        if THIS_YEAR.search(folded):
            years.add(published.year)
    return years


@dataclass(frozen=True)
class Occasion:
    """The occurrence a question asks about: an edition number, and the calendar span of a year or date it
    names (past or present only: a future date is what a plan announces, not a way to tell editions apart)."""

    edition: int | None = None
    period: tuple[date, date] | None = None

    @property
    def active(self) -> bool:
        """True when the question names an edition or a time."""
        return self.edition is not None or self.period is not None

    @property
    def by_year(self) -> bool:
        """True when the period is longer than a month: a year, or a span of years, told apart by the years
        a text names as well as by publication dates."""
        return self.period is not None and (self.period[1] - self.period[0]).days > 31

    def in_period(self, year: int) -> bool:
        """True when `year` overlaps the period."""
        return self.period is not None and self.period[0].year <= year <= self.period[1].year

    def published_within(self, published: datetime | None) -> bool:
        """Published during the period or the day after (reports come out the next day)."""
        if self.period is None or published is None:
            return False
        return self.period[0] <= published.date() <= self.period[1] + timedelta(days=1)

    def is_occurrence(self, title: str, text: str) -> bool:
        """True when an article's title or lead names an edition: it reports one occurrence of an event."""
        return bool(editions_named(f"{title}\n{text[:LEAD_CHARS]}"))

    def article_rank(self, title: str, text: str, passage: str, published: datetime | None) -> int:
        """How well an article matches the occasion, best 0: the edition named in its title or lead, else in its
        text, else no edition at all, else only other editions; then, for a time, published within it or
        (for a year) its best passage, else its text, naming that year."""
        rank = 0
        if self.edition is not None:
            head, whole = editions_named(f"{title}\n{text[:LEAD_CHARS]}"), editions_named(text)
            rank = 0 if self.edition in head else 1 if self.edition in whole else 2 if not head | whole else 3
        if self.period is not None:
            if self.published_within(published):
                year_rank = 0
            elif not self.by_year:
                year_rank = 2
            else:
                stated = years_stated(f"{title}\n{passage}", published)
                year_rank = 0 if any(self.in_period(y) for y in stated) else 1
                if year_rank and not any(self.in_period(y) for y in years_stated(text, published)):
                    year_rank = 2
            rank = rank * 3 + year_rank
        return rank

    def contradicted_by(
        self, answer: str, question: str, quote: str, passage: str, article_text: str, published: datetime | None
    ) -> bool:
        """True when `quote` (the passage sentence that supports an answer sentence) is about another edition or
        year than the one asked: it names other editions and not this one, or its article's lead names only
        others; the clause holding the answer's figures or names states only other years, or no year and
        neither the passage nor the publication date is of the asked year."""
        if self.edition is not None:
            stated = editions_named(quote)
            if stated and self.edition not in stated:
                return True
            lead = editions_named(article_text[:LEAD_CHARS])
            if not stated and lead and self.edition not in editions_named(article_text):
                return True
        if self.period is None:
            return False
        clause_years = years_stated(answer_clause(answer, question, quote), published)
        if clause_years:
            return not any(self.in_period(y) for y in clause_years)
        if any(self.in_period(y) for y in years_stated(quote, published)):
            return False
        if published is None or self.in_period(published.year):
            return False
        return not any(self.in_period(y) for y in years_stated(passage, published))


def occasion_of(question: str, today: date) -> Occasion:
    """The edition and the past or present period `question` names (relative times count from `today`)."""
    ordinals = _ordinals(question)
    # "the 14th and 15th editions", "from the 9th to the 10th": several occurrences, none to prefer.
    found = {value for value, _ in ordinals if value is not None} if len(ordinals) == 1 else set()
    period = parse_time_hint(question, today).period
    years = {int(match["y"]) for match in YEAR.finditer(question)}
    if period is None and len(years) == 1:
        # "the 2023 edition", "the 2024 Grand Prix", "l'édition 2023": too loose to filter on, enough to prefer.
        year = years.pop()
        period = (date(year, 1, 1), date(year, 12, 31))
    if period is not None and period[0] > today:
        period = None
    return Occasion(edition=min(found) if len(found) == 1 else None, period=period)


_CLAUSE_BREAK = re.compile(r"[,;:](?=\s)|[()–—]|\s-\s")  # not the comma inside "781,000"


def answer_clause(answer: str, question: str, quote: str) -> str:
    """The clause of `quote` that holds most of what `answer` adds to `question` (its new figures and names);
    the whole quote when no clause holds any."""
    asked = names(question) | numbers(question)
    wanted = {term for term in names(answer) | numbers(answer) if term not in asked and not YEAR.fullmatch(term)}
    best, best_count = quote, 0
    for clause in _CLAUSE_BREAK.split(quote):
        count = len(wanted & (names(clause) | numbers(clause)))
        if count > best_count:
            best, best_count = clause, count
    return best

"""Figures read from answer text (national number formats, scale words, small number words) and combined in code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.language import NUMBER_WORDS
from qa.text import date_days, fold

# A figure: thousands groups of exactly three digits with one separator, or plain digits, then an optional
# decimal part with the other separator ("1,31 Mio." and "1.42 million" are decimals, "1.140" is 1140).
_FIGURE = re.compile(
    r"(?<![\w.,])(?:(\d{1,3})((?:([\u00a0\u202f ,.'’])\d{3})(?:\3\d{3})*)(?:(?!\3)[.,](\d+))?|(\d+)(?:[.,](\d+))?)"
    r"(?![\d])"
)
# Scale words after a figure, folded: "620 Millionen Euro", "€1.2bn", "1,31 Mio.", "3,5 milliards".
_SCALES = {
    "thousand": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "millionen": 1e6,
    "mio": 1e6,
    "millones": 1e6,
    "milioni": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "milliard": 1e9,
    "milliards": 1e9,
    "milliarden": 1e9,
    "mrd": 1e9,
    "miliardi": 1e9,
}
_SCALE = re.compile(r"\s?(" + "|".join(sorted(_SCALES, key=len, reverse=True)) + r")\b\.?", re.IGNORECASE)
# A currency or money word written after a scale ("Millionen Euro"), kept with the figure.
_MONEY_AFTER = re.compile(r"\s(euros?|dollars?|pounds?|francs?|eur|usd|gbp|chf)\b", re.IGNORECASE)
_MONEY_BEFORE = re.compile(r"[$€£]\s?$")
# Number words from two to twelve, folded ("one"/"un"/"ein" double as articles, so they are no figure).
_WORDS = {fold(word): value for word, value in NUMBER_WORDS.items() if value >= 2}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b")


@dataclass(frozen=True)
class Figure:
    """A figure stated in a text: its value, the scale word it was written with (if any) and its position."""

    value: float
    scale: str | None
    start: int
    unit: str = ""  # the scale as written, with its leading space and a money word after it (" Millionen Euro")
    prefix: str = ""  # a currency sign before the figure ("€")


def figures(text: str) -> list[Figure]:
    """Every figure of `text` in order: digits in any national format, with a scale word when one follows,
    and the number words two to twelve. Ordinals ("14th", "9e"), figures inside words and the days of dates
    ("June 3") are not figures."""
    found = []
    days = {start for start, _ in date_days(text)}
    for match in _FIGURE.finditer(text):
        if match.start() in days:
            continue  # the 3 of "June 3"
        grouped, groups, _, grouped_decimal, plain, plain_decimal = match.groups()
        if grouped is not None:
            integer, decimal = grouped + re.sub(r"\D", "", groups), grouped_decimal
        else:
            integer, decimal = plain, plain_decimal
        value = float(f"{integer}.{decimal}" if decimal else integer)
        scale = _SCALE.match(text, match.end())
        if scale is None and re.match(r"[^\W\d_]", text[match.end() : match.end() + 1]):
            continue  # "14th", "9e", "8x8"
        if scale is None:
            found.append(Figure(value, None, match.start()))
            continue
        name = scale.group(1).lower()
        money = _MONEY_AFTER.match(text, scale.end())
        unit = text[scale.start() : money.end() if money else scale.end()]
        sign = _MONEY_BEFORE.search(text[: match.start()])
        found.append(Figure(value * _SCALES[name], name, match.start(), unit, sign.group().strip() if sign else ""))
    # Folding keeps positions for the words that matter here (no accents in digits or in most number words).
    found += [Figure(float(_WORDS[m.group(1)]), None, m.start()) for m in _WORD.finditer(fold(text))]
    return sorted(found, key=lambda figure: figure.start)


def is_year_figure(figure: Figure) -> bool:
    """A whole number from 1900 to 2099 written without a scale: a year, not a quantity."""
    return figure.scale is None and figure.value.is_integer() and 1900 <= figure.value <= 2099


def combine(operation: str, first: float, second: float) -> float:
    """The sum, or the (absolute) difference, of two figures."""
    if operation == "sum":
        return first + second
    if operation == "difference":
        return abs(first - second)
    raise ValueError(f"unknown operation {operation!r}: expected 'sum' or 'difference'")


_THOUSANDS = {"en": ",", "fr": "\u202f", "de": ".", "es": ".", "it": "."}
_DECIMAL_POINT = {"en": "."}


def format_figure(value: float, language: str, like: Figure | None = None) -> str:
    """`value` written for `language`: in the scale and unit of `like` (a figure it was computed from) when it
    is at least one of that scale ("90 Millionen Euro", "€90m"), else in full with separators ("110.000")."""
    point = _DECIMAL_POINT.get(language, ",")
    if like is not None and like.scale is not None and value >= _SCALES[like.scale]:
        scaled = f"{round(value / _SCALES[like.scale], 3):g}".replace(".", point)
        return f"{like.prefix}{scaled}{like.unit}"
    rounded = round(float(value), 2)
    if rounded.is_integer():
        return f"{int(rounded):,}".replace(",", _THOUSANDS.get(language, ","))
    grouped = f"{rounded:,.2f}".rstrip("0").replace(",", "_").replace(".", point)
    return grouped.replace("_", _THOUSANDS.get(language, ","))

"""Answer normalisation for matching: case, accents, punctuation, number formats and leading articles."""

from __future__ import annotations

import re
import unicodedata

ARTICLES: dict[str, frozenset[str]] = {
    "en": frozenset({"the", "a", "an"}),
    "fr": frozenset({"le", "la", "les", "l", "un", "une"}),
    "de": frozenset({"der", "die", "das", "ein", "eine"}),
    "es": frozenset({"el", "la", "los", "las", "un", "una"}),
}
_ALL_ARTICLES = frozenset().union(*ARTICLES.values())

_CITATION_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# 1,234.56 (en) and 1.234,56 / 1 234,56 (fr, de): the last separator is the decimal point.
_MIXED_EN = re.compile(r"(?<![\d.,])([1-9]\d{0,2}(?:,\d{3})+)\.(\d+)(?!\d|[.,]\d)")
_MIXED_EU = re.compile(r"(?<![\d.,])([1-9]\d{0,2}(?:[. '\u2019]\d{3})+),(\d+)(?!\d|[.,]\d)")
# 350,000 / 350.000 / 350 000 / 350'000: groups of exactly three digits with one consistent separator.
_GROUPED = re.compile(r"(?<![\d.,])([1-9]\d{0,2})((?:([,. '\u2019])\d{3})(?:\3\d{3})*)(?!\d|[.,]\d)")
_DECIMAL_COMMA = re.compile(r"(?<![\d.,])(\d+),(\d+)(?!\d|[.,]\d)")
_DECIMAL = re.compile(r"(?<![\d.,])(\d+)\.(\d+)(?!\d|[.,]\d)")
# Any punctuation or symbol becomes a space, except a decimal point between two digits.
_PUNCTUATION = re.compile(r"(?!(?<=\d)\.(?=\d))[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    """`text` compatibility-decomposed, without combining marks (é → e, narrow no-break space → space)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _trim_decimal(integer: str, fraction: str) -> str:
    fraction = fraction.rstrip("0")
    return f"{integer}.{fraction}" if fraction else integer


def unify_numbers(text: str) -> str:
    """Rewrite thousands separators and decimal commas so every number reads like 350000 or 3.5."""
    text = _MIXED_EN.sub(lambda m: _trim_decimal(m.group(1).replace(",", ""), m.group(2)), text)
    text = _MIXED_EU.sub(lambda m: _trim_decimal(re.sub(r"[. '\u2019]", "", m.group(1)), m.group(2)), text)
    text = _GROUPED.sub(lambda m: m.group(1) + re.sub(r"\D", "", m.group(2)), text)
    text = _DECIMAL_COMMA.sub(lambda m: _trim_decimal(m.group(1), m.group(2)), text)
    return _DECIMAL.sub(lambda m: _trim_decimal(m.group(1), m.group(2)), text)


def normalize(text: str) -> str:
    """Lower case, no accents, no `[n]` markers, unified numbers, punctuation as spaces, single spaces."""
    text = _CITATION_MARKER.sub(" ", text)
    text = strip_accents(text).casefold()
    text = unify_numbers(text)
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def articles_for(language: str | None) -> frozenset[str]:
    """The articles to drop for `language` (all known languages' articles when it is unknown)."""
    if language is None:
        return _ALL_ARTICLES
    return ARTICLES.get(language.lower().split("-")[0], _ALL_ARTICLES)


def normalize_answer(answer: str, language: str | None = None) -> str:
    """`normalize(answer)` without a leading article (kept when the article is the whole answer)."""
    tokens = normalize(answer).split(" ")
    if len(tokens) > 1 and tokens[0] in articles_for(language):
        tokens = tokens[1:]
    return " ".join(tokens)


def has_cjk(text: str) -> bool:
    """Whether `text` contains Chinese, Japanese or Korean characters (written without spaces)."""
    return _CJK_CHAR.search(text) is not None


def tokens(text: str) -> list[str]:
    """Whitespace tokens of an already normalised text, with each CJK character as its own token."""
    out: list[str] = []
    for token in text.split():
        if has_cjk(token):
            out.extend(piece for piece in re.split(f"({_CJK_CHAR.pattern})", token) if piece)
        else:
            out.append(token)
    return out

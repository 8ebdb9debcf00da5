"""What a figure counts, read across languages: people or things, and which figure of a company's accounts."""

from __future__ import annotations

import re

from qa.language import ACCOUNT_FIGURES, COUNTRY_WORDS, PEOPLE_MEASURES, PERSON_WORDS
from qa.text import STOPWORDS, fold, number_ends

# "How many dredgers…", "combien de navires", "wie viele Bagger", "cuántas tiendas", "quante draghe": the word
# counted, after an adjective that may stand before it ("how many new stores").
_COUNTED = re.compile(
    r"\b(?:(?:how many|wie viele|cu[aá]nt[oa]s|quant[iea])\s+|combien d(?:e\s+|['’]\s*))"
    r"(?:(?:new|more|additional|other|nouveaux|nouvelles|autres|neue|weitere|andere|nuevos|nuevas|otros|otras|"
    r"nuovi|nuove|altri|altre|mas|más|plus|mehr|piu|più)\s+)?([^\W\d_][\w-]*)",
    re.IGNORECASE,
)
_ACCOUNT = {kind: re.compile(rf"\b(?:{words})\b") for kind, words in ACCOUNT_FIGURES.items()}
# Words a count of people may be asked with: people, their nationality ("how many Britons", "cuántos españoles"),
# and what they hold or do ("how many seats").
_PEOPLE = PERSON_WORDS | PEOPLE_MEASURES | {fold(word) for words in COUNTRY_WORDS for word in words.split()}
# German plurals of women's job names ("Mitarbeiterinnen", "Ärztinnen") count people.
_PEOPLE_SUFFIX = re.compile(r"\w+innen$")
# A figure given as money: a currency sign before it, or a scale or currency word after it.
_MONEY_BEFORE = re.compile(r"[$€£]\s?$")
_MONEY_AFTER = re.compile(
    r"^(?:[.,]\d+)?\s?(?:bn|m|million|millions|milliards?|mrd|mio|millionen|milliarden|millones|milioni|miliardi|"
    r"billion|euros?|dollars?|pounds?|eur|usd|gbp|chf|€|\$|£)\b",
    re.IGNORECASE,
)
_FIGURE_END = re.compile(r"[\d\s.,'’\u00a0\u202f]*$")
# What separates the clauses of a sentence: "Revenue rose to €1.9bn while the bottom line improved to €84m".
_CLAUSE_BREAK = re.compile(
    r"[;:,]|\b(?:while|whereas|but|and|tandis que|alors que|mais|et|wahrend|aber|und|mientras|pero|y|mentre|ma|e)\b"
)


def asks_count_of_things(question: str, language: str) -> bool:
    """Whether `question` asks how many of something that is not people ("how many dredgers"). The counted word
    must read as a noun: a plural in English, French and Spanish, capitalised in German ("wie viele sind" counts
    nothing named); a capitalised word in another language is a name or a nationality ("how many Britons")."""
    match = _COUNTED.search(question)
    if match is None:
        return False
    word = match.group(1)
    folded = fold(word)
    if folded in _PEOPLE or _PEOPLE_SUFFIX.match(folded) or folded in STOPWORDS or len(folded) < 4:
        return False
    if language == "de":
        return word[0].isupper()
    if word[0].isupper():
        return False
    if language == "it":
        return folded[-1] in "ei"
    return folded[-1] in "sx"


def counts_people(sentence: str, number: str) -> bool:
    """Whether every time `sentence` states `number`, a word for people follows it within two words and before
    any punctuation or other figure ("fino a 400 persone", "400 neue Mitarbeiter"); False when it does not
    state it."""
    found = False
    for digits, end in number_ends(sentence):
        if digits != number:
            continue
        found = True
        following = re.split(r"[^\w\s'’-]|\d", sentence[end : end + 40], maxsplit=1)[0]
        if not PERSON_WORDS.intersection(fold(word) for word in following.split()[:2]):
            return False
    return found


def account_figures(text: str) -> set[str]:
    """The kinds of company figure `text` names ('result', 'revenue'): "chiffre d'affaires" → revenue."""
    folded = fold(text)
    return {kind for kind, pattern in _ACCOUNT.items() if pattern.search(folded)}


def money_kinds(sentence: str, number: str) -> set[str] | None:
    """The kinds of company figure named in the clause of `sentence` that gives `number` as money ("revenue of
    €1.9bn" → {'revenue'}); None when the sentence does not give it as money."""
    kinds: set[str] | None = None
    folded = fold(sentence)
    for digits, end in number_ends(sentence):
        if digits != number:
            continue
        start = len(_FIGURE_END.sub("", sentence[:end]))  # where the figure's digits and separators begin
        if not (_MONEY_BEFORE.search(sentence[:start]) or _MONEY_AFTER.match(sentence[end:])):
            continue
        before = [m.end() for m in _CLAUSE_BREAK.finditer(folded, 0, start)]
        after = _CLAUSE_BREAK.search(folded, end)
        clause = folded[before[-1] if before else 0 : after.start() if after else len(folded)]
        kinds = (kinds or set()) | account_figures(clause)
    return kinds


def measures_other(question: str, answer: str, language: str, number: str, sentence: str) -> bool:
    """Whether the passage `sentence` gives `number` as a measure of something the question does not ask about
    and the answer does not name either: people when the question counts things, or money of another figure of
    the accounts than the one it names (a revenue for a profit), named in the figure's own clause."""
    if asks_count_of_things(question, language) and counts_people(sentence, number):
        return not counts_people(answer, number)
    asked = account_figures(question)
    named = money_kinds(sentence, number) if asked else None
    return bool(asked and named and not asked & named and not account_figures(answer) & named)

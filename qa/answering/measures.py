"""What a figure counts, read across languages: people or things, and which figure of a company's accounts."""

from __future__ import annotations

import re

from qa.language import ACCOUNT_FIGURES, PERSON_WORDS
from qa.text import STOPWORDS, fold, number_ends

# "How many dredgers…", "combien de navires", "wie viele Bagger", "cuántas tiendas", "quante draghe": the word
# counted, after an adjective that may stand before it ("how many new stores").
_COUNTED = re.compile(
    r"\b(?:how many|combien (?:de |d')|wie viele|cu[aá]nt[oa]s|quant[ieoa])\s*"
    r"(?:(?:new|more|additional|other|nouveaux|nouvelles|autres|neue|weitere|andere|nuevos|nuevas|otros|otras|"
    r"nuovi|nuove|altri|altre|mas|más|plus|mehr|piu|più)\s+)?([^\W\d_][\w-]*)",
    re.IGNORECASE,
)
_ACCOUNT = {kind: re.compile(rf"\b(?:{words})\b") for kind, words in ACCOUNT_FIGURES.items()}


def counted_things(question: str, language: str) -> bool:
    """Whether `question` asks how many of something that is not people ("how many dredgers"). The counted word
    must read as a noun: a plural in English, French and Spanish, capitalised in German ("wie viele sind" counts
    nothing named)."""
    match = _COUNTED.search(question)
    if match is None:
        return False
    word = match.group(1)
    folded = fold(word)
    if folded in PERSON_WORDS or folded in STOPWORDS or len(folded) < 4:
        return False
    if language == "de":
        return word[0].isupper()
    if language == "it":
        return folded[-1] in "ei"
    return folded[-1] in "sx"


def counts_people(sentence: str, number: str) -> bool:
    """Whether every time `sentence` states `number`, a word for people follows it within two words ("fino a
    400 persone", "400 neue Mitarbeiter"); False when it does not state it."""
    found = False
    for digits, end in number_ends(sentence):
        if digits != number:
            continue
        found = True
        following = [fold(word) for word in re.findall(r"[^\W\d_]+", sentence[end : end + 40])[:2]]
        if not PERSON_WORDS.intersection(following):
            return False
    return found


def account_figures(text: str) -> set[str]:
    """The kinds of company figure `text` names ('profit', 'revenue', 'loss'): "chiffre d'affaires" → revenue."""
    folded = fold(text)
    return {kind for kind, pattern in _ACCOUNT.items() if pattern.search(folded)}


def measures_other(question: str, language: str, number: str, sentence: str) -> bool:
    """Whether the passage `sentence` gives `number` as a measure of something the question does not ask about:
    people when it counts things, or another figure of the accounts than the one it names (revenue for profit)."""
    if counted_things(question, language) and counts_people(sentence, number):
        return True
    asked = account_figures(question)
    named = account_figures(sentence)
    return bool(asked and named and not asked & named)

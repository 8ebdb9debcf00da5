"""Whether a sentence states a fact or only an expectation or plan, and whether a question asks for one."""

from __future__ import annotations

import re
from functools import lru_cache

from qa.language import EXPECTATION_WORDS, NOT_EXPECTATIONS
from qa.retrieval.occasions import answer_clause
from qa.text import fold, strip_citations

_NOT_EXPECTATION = re.compile(rf"\b(?:{NOT_EXPECTATIONS})\b")
# A question about what is to come, by language, folded: the future tense ("will open", "sera inauguré", "va a
# abrir", "saranno"), and in English a reported future ("said they would invest") and the present progressive of
# an arrangement, a name before the verb ("how much is Korvath investing?"; not "are still missing"). German
# "wird" is as often the passive: German plans are read from `EXPECTATION_WORDS` ("soll", "geplant") alone.
_FUTURE = {
    "en": re.compile(r"\b(will|won't|going to|shall|would)\b"),
    "fr": re.compile(r"\b(sera|seront|va \w+(er|ir|re)|vont \w+(er|ir|re))\b"),
    "es": re.compile(r"\b(sera|seran|va a|van a)\b"),
    "it": re.compile(r"\b(saranno|dovranno)\b"),
}
_ARRANGEMENT = re.compile(r"\b(is|are)(?: [A-Z][\w'’-]*){1,3} \w+ing\b")
# Words that join two clauses, en/fr/de/es/it: a plan in one does not make the other one a plan.
_COORDINATION = re.compile(r"\s(?:and|but|while|whereas|et|mais|und|aber|sowie|y|pero|e|ed|ma)\s", re.IGNORECASE)
# Nouns that ask for a plan ("the deadline", "le budget", "la previsione"), en/fr/de/es/it, folded.
_PLAN_NOUNS = re.compile(
    r"\b(objective|forecast|projection|budget|schedule|deadline|objectif|prevision|previsions|echeance|prognose"
    r"|frist|zeitplan|objetivo|presupuesto|plazo|obiettivo|previsione|scadenza)\b"
)


@lru_cache(maxsize=16)
def _expectation(language: str | None) -> re.Pattern[str]:
    """The expectation words of `language`, or of every language newsqa knows when it is not known."""
    words = EXPECTATION_WORDS.get(language or "") or "|".join(EXPECTATION_WORDS.values())
    return re.compile(rf"\b(?:{words})\b")


def states_expectation(text: str, language: str | None = None) -> bool:
    """True when `text` (in `language`, if known) speaks of what is expected or planned ("is expected to
    meet", "les organisateurs attendent 1 600 participants") rather than of what happened."""
    folded = _NOT_EXPECTATION.sub(" ", fold(text).replace("-", " "))
    return bool(_expectation(language).search(folded))


def asks_for_fact(question: str, language: str) -> bool:
    """True when `question` asks what happened or what is, not what was expected, planned or is to come (its
    verb, or a noun such as "deadline" or "budget")."""
    folded = fold(question)
    future = _FUTURE.get(language)
    return not (
        states_expectation(question, language)
        or (future is not None and future.search(folded))
        or (language == "en" and _ARRANGEMENT.search(question))
        or _PLAN_NOUNS.search(folded)
    )


def only_expected(answer_sentence: str, question: str, quote: str, language: str | None, answer_language: str) -> bool:
    """True when the clause of `quote` (in `language`) that holds what `answer_sentence` adds states it only as
    an expectation or a plan, while the answer (in `answer_language`) states it as a fact: such a quote does not
    support the sentence. (The caller checks that the question asks for a fact: a plan answers a question about
    plans.)"""
    if states_expectation(strip_citations(answer_sentence), answer_language):
        return False
    return expected_clause(answer_sentence, question, quote, language)


def expected_clause(answer_sentence: str, question: str, quote: str, language: str | None) -> bool:
    """True when the clause of `quote` (in `language`) that holds what `answer_sentence` adds to `question`
    states an expectation or a plan."""
    # "Die Halle ist 12.000 Quadratmeter groß und soll Kunden … versorgen": the plan is another clause.
    clauses = _COORDINATION.sub("; ", quote)
    return states_expectation(answer_clause(strip_citations(answer_sentence), question, clauses), language)

"""Whether a sentence states a fact or only an expectation or plan, and whether a question asks for one."""

from __future__ import annotations

import re
from functools import lru_cache

from qa.language import EXPECTATION_WORDS
from qa.retrieval.occasions import answer_clause
from qa.retrieval.timeparse import asks_about_future
from qa.text import fold


@lru_cache(maxsize=16)
def _expectation(language: str | None) -> re.Pattern[str]:
    """The expectation words of `language`, or of every language newsqa knows when it is not known."""
    words = EXPECTATION_WORDS.get(language or "") or "|".join(EXPECTATION_WORDS.values())
    return re.compile(rf"\b(?:{words})\b")


def states_expectation(text: str, language: str | None = None) -> bool:
    """True when `text` (in `language`, if known) speaks of what is expected or planned ("is expected to
    meet", "les organisateurs attendent 1 600 participants") rather than of what happened."""
    return bool(_expectation(language).search(fold(text)))


# Nouns that ask for a plan or an expectation ("the target", "the deadline", "le budget"), en/fr/de/es/it, folded.
_PLAN_NOUNS = re.compile(
    r"\b(target|targets|goal|goals|aim|objective|forecast|projection|estimate|estimated|budget|schedule|deadline|"
    r"objectif|objectifs|prevision|previsions|echeance|calendrier|ziel|ziele|prognose|frist|zeitplan|objetivo|"
    r"objetivos|meta|metas|prevision|presupuesto|plazo|calendario|obiettivo|obiettivi|previsione|scadenza)\b"
)


def asks_for_fact(question: str, language: str) -> bool:
    """True when `question` asks what happened or what is, not what was expected, planned or is to come (its
    verb, or a noun such as "target" or "budget")."""
    return not (
        states_expectation(question, language) or asks_about_future(question) or _PLAN_NOUNS.search(fold(question))
    )


def only_expected(answer_sentence: str, question: str, quote: str, language: str | None) -> bool:
    """True when the clause of `quote` that holds what `answer_sentence` adds states it only as an expectation
    or a plan, while the answer states it as a fact: such a quote does not support the sentence. (The caller
    checks that the question asks for a fact: a plan answers a question about plans.)"""
    if states_expectation(answer_sentence):
        return False
    return states_expectation(answer_clause(answer_sentence, question, quote), language)

"""Whether a sentence states a fact or only an expectation or plan, and whether a question asks for one."""

from __future__ import annotations

import re
from functools import lru_cache

from qa.language import EXPECTATION_WORDS, NOT_EXPECTATIONS
from qa.retrieval.occasions import answer_clause
from qa.text import fold, strip_citations

_NOT_EXPECTATION = re.compile(rf"\b(?:{NOT_EXPECTATIONS})\b")
# A question about what is to come: the future tense, en/fr/es/it, folded ("will open", "sera inauguré", "va a
# abrir", "saranno", "is investing"); not the words that are also names ("Sara", "Aura") or, in German, also the passive
# ("wird"): German plans are read from `EXPECTATION_WORDS` ("soll", "geplant") alone.
_FUTURE = re.compile(
    r"\b(will|won't|going to|shall|sera|seront|va \w+(er|ir|re)|vont \w+(er|ir|re)|saranno|dovranno|va a|van a)\b"
    # The English present progressive also tells of arrangements ("how much is Korvath investing?").
    r"|\b(is|are)( \w+){0,2} \w+ing\b"
)
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
    folded = _NOT_EXPECTATION.sub(" ", fold(text))
    return bool(_expectation(language).search(folded))


def asks_for_fact(question: str, language: str) -> bool:
    """True when `question` asks what happened or what is, not what was expected, planned or is to come (its
    verb, or a noun such as "deadline" or "budget")."""
    folded = fold(question)
    return not (states_expectation(question, language) or _FUTURE.search(folded) or _PLAN_NOUNS.search(folded))


def only_expected(answer_sentence: str, question: str, quote: str, language: str | None, answer_language: str) -> bool:
    """True when the clause of `quote` (in `language`) that holds what `answer_sentence` adds states it only as
    an expectation or a plan, while the answer (in `answer_language`) states it as a fact: such a quote does not
    support the sentence. (The caller checks that the question asks for a fact: a plan answers a question about
    plans.)"""
    sentence = strip_citations(answer_sentence)
    if states_expectation(sentence, answer_language):
        return False
    return states_expectation(answer_clause(sentence, question, quote), language)

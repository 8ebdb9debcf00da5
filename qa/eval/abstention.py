"""Decide whether a baseline's free-text answer declines to answer (baselines have no abstention logic)."""

from __future__ import annotations

from qa.eval.normalize import normalize

NO_ANSWER_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "empty response",
        "does not contain",
        "doesn't contain",
        "do not contain",
        "does not provide",
        "doesn't provide",
        "does not mention",
        "doesn't mention",
        "does not specify",
        "doesn't specify",
        "does not say",
        "not mentioned",
        "not provided",
        "not specified",
        "not stated",
        "no information",
        "no mention",
        "not enough information",
        "insufficient information",
        "cannot answer",
        "can't answer",
        "cannot be answered",
        "cannot be determined",
        "unable to answer",
        "unable to determine",
        "i don't know",
        "i do not know",
    ),
    "fr": (
        "ne contient pas",
        "ne mentionne pas",
        "ne precise pas",
        "ne fournit pas",
        "ne dit pas",
        "pas d'information",
        "aucune information",
        "pas mentionne",
        "pas assez d'informations",
        "impossible de repondre",
        "je ne peux pas repondre",
        "je ne sais pas",
    ),
    "de": (
        "enthalt keine",
        "enthalt nicht",
        "keine informationen",
        "keine angaben",
        "nicht erwahnt",
        "nicht enthalten",
        "nicht angegeben",
        "kann nicht beantwortet",
        "kann ich nicht beantworten",
        "ich weiss es nicht",
        "weiss ich nicht",
    ),
    "es": (
        "no contiene",
        "no menciona",
        "no se menciona",
        "no proporciona",
        "no especifica",
        "no hay informacion",
        "no tengo informacion",
        "informacion insuficiente",
        "no puedo responder",
        "no se puede responder",
        "no lo se",
    ),
}

_PHRASES = tuple(normalize(p) for phrases in NO_ANSWER_PHRASES.values() for p in phrases)


def says_no_answer(text: str | None) -> bool:
    """Whether `text` is empty or says the context does not hold the answer (en, fr, de, es phrases)."""
    normalized = normalize(text or "")
    if not normalized:
        return True
    padded = f" {normalized} "
    return any(f" {phrase} " in padded for phrase in _PHRASES)

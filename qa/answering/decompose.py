"""Questions that one retrieval cannot answer: bridge questions (an entity described, not named) and totals or
differences of two figures; how to spot them and read the model's decomposition."""

from __future__ import annotations

import re

from qa.text import STOPWORDS, fold

_WORDS = r"[\w'/-]+"
# An entity described by what it did or what it is to something else ("the company that won the contract",
# "the maker of Portugal's armoured vehicles", "la società che si è aggiudicata…"), en/fr/de/es/it, folded.
_BRIDGE = re.compile(
    "|".join(
        (
            rf"\b(the|a|an) ({_WORDS} ){{0,3}}{_WORDS},? (that|which|who|whose|where)\b",
            r"\bthe (maker|manufacturer|builder|producer|supplier|owner|operator|buyer|publisher|developer|"
            r"employer|contractor) of\b",
            rf"\bthe (company|firm|group|club|team|publisher|developer|manufacturer|maker|candidate|winner) "
            rf"{_WORDS}ing\b",
            rf"\bthe (incoming|new|outgoing|former|current) ({_WORDS} ){{0,2}}of\b",
            rf"\b(le|la|les|l'|un|une) ?({_WORDS} ){{0,3}}{_WORDS},? (qui|que|qu'|dont|ou) ",
            rf"\b(der|die|das|den|dem|des|ein|eine|einen) ({_WORDS} ){{0,3}}{_WORDS}, "
            r"(der|die|das|den|dem|deren|dessen|wo|in der|in dem|bei der)\b",
            rf"\b(el|la|los|las|un|una) ({_WORDS} ){{0,3}}{_WORDS},? (que|cuyo|cuya|donde|en el que|en la que)\b",
            rf"\b(il|la|lo|l'|i|gli|le|un|una) ?({_WORDS} ){{0,3}}{_WORDS},? (che|cui|dove|in cui)\b",
        )
    )
)
# "What is the name of the vehicle that…" asks for the described thing itself: one hop.
_ASKS_THE_NAME = re.compile(r"^(what (is|was) the name of|come si chiama|comment s'appelle|wie heisst|como se llama)")


def is_bridge_question(question: str) -> bool:
    """True when the question asks about something it only describes, so that the passages answering it
    must first name that thing (a second retrieval with the name finds the fact)."""
    folded = fold(question)
    return bool(_BRIDGE.search(folded)) and not _ASKS_THE_NAME.search(folded)


_SUM = re.compile(
    r"\b(in total|total|combined|together|altogether|sum|au total|en tout|ensemble|insgesamt|zusammen|"
    r"zusammengenommen|en total|en conjunto|juntos|juntas|in totale|in tutto|complessivamente|insieme)\b"
)
_DIFFERENCE = re.compile(
    r"\b(how (many|much) (more|fewer|less)|by how (much|many)|difference|de combien|combien de plus|"
    r"um wie viele?|wie viele? mehr|cuant[oa]s? mas|en cuanto|quant[ie] in piu|di quanto)\b"
)

_JOINED = re.compile(r"\b(and|et|und|y|e)\b")


# In "Where is the company that … headquartered?" the description ends before the question's last word.
_AUXILIARY_BEFORE = re.compile(r"\b(is|are|was|were|does|do|did)\s+$")


def bridge_question(question: str, name: str) -> str:
    """`question` with its description of an entity replaced by `name` ("Where is Brevant headquartered?"):
    from the description's first word to the end, keeping the last word after an English auxiliary; the
    question with the name in brackets when no description is found."""
    split = _split_description(question)
    if split is None:
        return f"{question} ({name})"
    head, _, last = split
    return f"{head}{name}{last}?"


def bridge_description(question: str) -> str | None:
    """The words of `question` that describe the entity it asks about ("the maker of Portugal's Tessera
    armoured vehicles"), or None when no description is found."""
    split = _split_description(question)
    return split[1] if split else None


def _split_description(question: str) -> tuple[str, str, str] | None:
    """(words before the description, the description, a final verb after it with its leading space)."""
    folded = fold(question)
    match = _BRIDGE.search(folded)
    if match is None or len(folded) != len(question):
        return None
    head = question[: match.start()]
    tail = question[match.start() :].rstrip(" ?？")
    last = ""
    auxiliary = _AUXILIARY_BEFORE.search(head)
    words = tail.split()
    # The verb that ends the question: bare after do/does/did ("weigh"), else a participle ("based"), and
    # not one of the description's own ("where the comet was discovered").
    ends_with_verb = len(words) > 2 and words[-2].lower() not in {"is", "are", "was", "were", "be", "been"}
    if auxiliary and ends_with_verb and (auxiliary.group(1).startswith("d") or words[-1].endswith("ed")):
        last = " " + words[-1]
    return head, " ".join(words[:-1] if last else words), last


def aggregation_operation(question: str) -> str | None:
    """'difference' for a question asking how much more/by how much, 'sum' for a total, else None."""
    folded = fold(question)
    if _DIFFERENCE.search(folded):
        return "difference"
    # "the total cost", "murieron en total": a total of one thing is one figure; a sum joins two.
    if _SUM.search(folded) and _JOINED.search(folded):
        return "sum"
    return None


# A name as written: capitalised words, with the particles names carry inside ("Banco de España", "Darsena Europa").
_NAME = re.compile(
    r"[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:\s+(?:(?:de|di|da|del|della|des|du|la|le|von|van|der|den)\s+)?[A-ZÀ-ÖØ-Þ][\w'’.-]*)*"
)


def names_in(text: str, *, question: bool = False) -> list[str]:
    """The names `text` uses, as written ("Portugal's" → "Portugal"), in order, without capitalised stop words
    ("The", "Die"). In a `question`, its capitalised first word is no name either ("How", "Chi", "Wer") unless a
    name goes on after it; in an answer it usually is the name ("Tidewell is deepening the channel")."""
    found: list[str] = []
    start = len(text) - len(text.lstrip())
    for match in _NAME.finditer(text):
        first_word = question and match.start() == start
        for part in re.split(r"['’]s\b\s*", match.group()):
            name = part.strip(" .-")
            skip = (first_word and " " not in name) or fold(name) in STOPWORDS
            first_word = False
            if name and not skip and name not in found:
                found.append(name)
    return found


def parse_bridge(reply: str) -> str | None:
    """The name in the model's 'Name: …' reply, or None."""
    found = re.search(r"^\W*(?:name|nom|nome|nombre)\W*:\s*(.+)$", reply, re.IGNORECASE | re.MULTILINE)
    name = found.group(1).strip().strip("\"'“”«»*.").strip() if found else ""
    return name or None


def parse_split(reply: str) -> tuple[str, str] | None:
    """The two numbered questions of the model's reply ('1. …' and '2. …'), or None."""
    found = {}
    for line in reply.splitlines():
        match = re.match(r"^\W*([12])\s*[.):]\s*(.+)$", line.strip())
        if match and match.group(1) not in found:
            found[match.group(1)] = match.group(2).strip()
    if "1" not in found or "2" not in found or fold(found["1"]) == fold(found["2"]):
        return None
    return found["1"], found["2"]

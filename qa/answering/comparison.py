"""Two one-figure questions for a comparison ("how many more … A … than B") or a change ("from A to B"), in code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from qa.answering.decompose import NAME
from qa.language import ORDINAL_WORDS
from qa.text import fold, fold_aligned

Kind = Literal["ordinal", "year", "name"]
# The comparative word of "how many more", "combien de … de plus", "wie viele … mehr", "cuántas … más",
# "quanti … in più", within a few words of the question word.
_COMPARATIVE = re.compile(
    r"\b(?:how (?:many|much)|combien|wie viele?|cu[aá]nt[oa]s?|quant[ieoa])\b(?:[\s\w'’-]{0,40}?)"
    r"\s(?P<word>more|fewer|less|de plus|en plus|de moins|en moins|mehr|weniger|m[aá]s|menos|in pi[uù]|"
    r"in meno|di pi[uù])\b",
    re.IGNORECASE,
)
# What introduces the other side of the comparison ("qu'en 2022", "qu'Airbus": the elided form runs on).
_THAN = re.compile(
    r"\b(?:(?:than|compared (?:with|to)|versus|que|par rapport (?:à|a)(?: la| l['’]| au| aux)?|als|"
    r"im Vergleich zu[rm]?|rispetto (?:a|al|alla|allo|ai|agli|alle|all['’])|frente a|respecto a(?:l)?|"
    r"en comparaci[oó]n con)(?=\s|$)|qu['’](?=\w))",
    re.IGNORECASE,
)
_ORDINAL_WORDS = "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))
# The things a comparison sets side by side: an edition ("15e", "10th", "5.ª", German "10.", "sixth"), a year or
# season ("2023", "2023/24"), or a name run ("Tarragona's Terminal Dársena Sur", "Darsena Toscana di Livorno").
_KINDS: dict[Kind, re.Pattern[str]] = {
    "ordinal": re.compile(
        rf"\b(?:\d{{1,3}}(?:st|nd|rd|th|e|er|re|ème|eme|\.ª|ª|º|°|\.)|{_ORDINAL_WORDS})(?=[\s,?]|$)", re.IGNORECASE
    ),
    "year": re.compile(r"\b(?:19|20)\d{2}(?:[/-]\d{2,4})?\b"),
    "name": re.compile(rf"{NAME.pattern}(?:['’]s\s+{NAME.pattern})*"),
}


@dataclass(frozen=True)
class _Item:
    kind: Kind
    start: int
    end: int
    text: str


def comparison_parts(question: str) -> tuple[str, str] | None:
    """("How many stores does A operate?", "How many stores does B operate?") for "How many more stores does A
    operate than B?", in the question's language; None when the question is not of that shape, when either side
    is not one clear edition, year or name, or when words after the other side would be lost ("… than B in
    Spain?": the model splits those)."""
    comparative = _COMPARATIVE.search(question)
    if comparative is None:
        return None
    than = _THAN.search(question, comparative.end("word"))
    if than is None:
        return None
    first_word = next((i for i, character in enumerate(question) if character.isalnum()), 0)  # after "¿"
    items = [item for item in _items(question) if item.start > first_word or item.kind != "name"]
    after = [item for item in items if item.start >= than.end()]
    if not after:
        return None
    other = after[0]
    end = other.end
    # "más que FrescoVía tiene Mercaleste": the other side comes right after "que" and the sentence goes on; else
    # it ends the question, give or take one word ("… than Livorno's Darsena Toscana terminal?").
    adjacent = not question[comparative.end("word") : than.start()].strip()
    rest = question[end:].strip()
    if not adjacent:
        if re.fullmatch(r"[a-zà-ÿ]+\s*[?？]?", rest):
            end += len(question[end:]) - len(question[end:].lstrip()) + len(rest.rstrip(" ?？"))
        elif rest.strip(" ?？"):
            return None
    same = [
        item
        for item in items
        if item.kind == other.kind
        and (item.end <= than.start() or item.start > end)
        and fold(item.text) != fold(other.text)
    ]
    if len(same) != 1:  # "did Volkswagen sell in Germany than Toyota": which one Toyota stands against is unclear
        return None
    this = same[0]
    cuts = [(comparative.start("word"), comparative.end("word"), ""), (than.start(), end, "")]
    first = _edit(question, cuts)
    second = _edit(question, [*cuts, (this.start, this.end, other.text)])
    if fold(first) == fold(second):
        return None
    return first, second


def _items(question: str) -> list[_Item]:
    """The ordinals, years and name runs of `question` in order (a year is no ordinal; "TEU", "EU" and other short
    capitals are units and bodies rather than the things compared)."""
    found: list[_Item] = []
    for kind, pattern in _KINDS.items():
        for match in pattern.finditer(question):
            text = match.group().rstrip(".") if kind == "name" else match.group()
            if kind == "name" and text.isupper() and len(text) <= 4:
                continue
            if any(item.start <= match.start() < item.end for item in found):
                continue
            found.append(_Item(kind, match.start(), match.start() + len(text), text))
    return sorted(found, key=lambda item: item.start)


def _edit(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, stop) span replaced, its spaces tidied ("Combien de candidatures la 15e … ?")."""
    kept, position = [], 0
    for start, stop, replacement in sorted(edits):
        kept += [text[position:start], replacement]
        position = stop
    kept.append(text[position:])
    joined = re.sub(r"\s{2,}", " ", "".join(kept))
    french_mark = bool(re.search(r"\s\?\s*$", text))  # "… reçues ?" keeps its space before the mark
    return re.sub(r"\s+([,?？])", lambda m: " ?" if m.group(1) == "?" and french_mark else m.group(1), joined)


def separates_sides(first: str, second: str, question: str) -> bool:
    """False when two questions the model split `question` into name the same two or more of the editions, years
    or seasons it compares ("… von 2022/23 zur 2023/24" in both): they do not ask for one side each."""
    kinds: tuple[Kind, ...] = ("ordinal", "year")
    for kind in kinds:
        asked = {match.group() for match in _KINDS[kind].finditer(question)}
        named = [asked & {match.group() for match in _KINDS[kind].finditer(part)} for part in (first, second)]
        if len(asked) >= 2 and named[0] == named[1] and len(named[0]) >= 2:
            return False
    return True


_UP_DOWN = {
    "en": r"(?:grow|grew|grown|increase|increased|rise|rose|risen|fall|fell|fallen|drop|dropped|decline|declined|"
    r"decrease|decreased|change|changed|climb|climbed|jump|jumped|shrink|shrank|shrunk|go up|go down|went up|"
    r"went down)",
    "fr": r"(?:augmente|baisse|diminue|progresse|grimpe|chute|recule|evolue|monte|descendu|croit|cru)[\w-]*",
    "de": r"(?:gestiegen|gesunken|gewachsen|geschrumpft|zugenommen|abgenommen|gefallen|erhoht|verandert|"
    r"zuruckgegangen|geklettert|angestiegen)",
    "es": r"(?:aumento|crecio|subio|bajo|cayo|disminuyo|descendio|ha aumentado|ha crecido|ha subido|ha bajado|"
    r"ha caido|ha disminuido|aumentaron|crecieron|subieron|bajaron|cayeron|disminuyeron)",
    "it": r"(?:cresciut[oaie]|aumentat[oaie]|salit[oaie]|ses[oaie]|calat[oaie]|diminuit[oaie]|sces[oaie])",
}
_SPAN = r"[^?\s][^?]*?"  # a phrase of the question: no question mark, so a failed match backtracks little
# "By how many runners did the field grow from the 9th to the 10th race?": the measured thing X and the two
# ends A and B of the change, matched on the folded question (its offsets are the question's) from the
# question word on; a clause before it ("In 2023, …") is kept.
_CHANGE = {
    "en": re.compile(
        rf"\b(?:by how (?:much|many)(?: [\w'-]+)?|how much)\s+(?:did|has|have|had|was|were|is|are)\s+(?P<x>{_SPAN})\s+"
        rf"{_UP_DOWN['en']}\s+(?:from|between)\s+(?P<a>{_SPAN})\s+(?:to|and)\s+(?P<b>{_SPAN})\s*\?\s*$"
    ),
    "fr": re.compile(
        rf"\b(?:de combien|combien de [\w'-]+ (?:de plus|en plus|de moins))\s+(?P<x>{_SPAN})\s+"
        rf"(?:a-t-il|a-t-elle|ont-ils|ont-elles|a|ont|est|sont)\s+{_UP_DOWN['fr']}\s+"
        rf"(?:entre\s+(?P<a>{_SPAN})\s+et\s+(?P<b>{_SPAN})|de\s+(?P<a2>{_SPAN})\s+a\s+(?P<b2>{_SPAN})|"
        rf"du\s+(?P<a3>{_SPAN})\s+au\s+(?P<b3>{_SPAN}))\s*\?\s*$"
    ),
    "de": re.compile(
        rf"\bum wie (?:viel|viele|stark)\s+(?:ist|sind|hat|haben|war|waren)\s+(?P<x>{_SPAN})\s+"
        rf"(?:von\s+(?P<a>{_SPAN})\s+(?:zu|zur|zum|auf|bis)\s+(?P<b>{_SPAN})|zwischen\s+(?P<a2>{_SPAN})\s+und\s+"
        rf"(?P<b2>{_SPAN}))\s+{_UP_DOWN['de']}\s*\?\s*$"
    ),
    "es": re.compile(
        rf"\b(?:en )?cuanto\s+{_UP_DOWN['es']}\s+(?P<x>{_SPAN})\s+(?:entre\s+(?P<a>{_SPAN})\s+y\s+(?P<b>{_SPAN})|"
        rf"desde\s+(?P<a2>{_SPAN})\s+hasta\s+(?P<b2>{_SPAN})|del\s+(?P<a3>{_SPAN})\s+al\s+(?P<b3>{_SPAN}))\s*\?\s*$"
    ),
    "it": re.compile(
        rf"\bdi quanto\s+(?:e|sono|ha|hanno)\s+{_UP_DOWN['it']}\s+(?P<x>{_SPAN})\s+(?:(?:tra|fra)\s+(?P<a>{_SPAN})\s+"
        rf"e\s+(?P<b>{_SPAN})|dal\s+(?P<a2>{_SPAN})\s+al\s+(?P<b2>{_SPAN})|dalla\s+(?P<a3>{_SPAN})\s+alla\s+"
        rf"(?P<b3>{_SPAN}))\s*\?\s*$"
    ),
}
# The question asked of each end: what X was then.
_WHAT_WAS = {
    "en": "what was {x} ({end})?",
    "fr": "quel était {x} ({end}) ?",
    "de": "wie hoch war {x} ({end})?",
    "es": "¿cuál era {x} ({end})?",
    "it": "quanto era {x} ({end})?",
}
MAX_QUESTION_CHARS = 400  # a longer text is no question to split (and its matching would take long)


def change_parts(question: str) -> tuple[str, str] | None:
    """("What was the field (the 9th race)?", "What was the field (the 10th race)?") for "By how many runners
    did the field grow from the 9th to the 10th race?", in the question's language; None for other shapes."""
    if len(question) > MAX_QUESTION_CHARS:
        return None
    folded = fold_aligned(question)
    for language, pattern in _CHANGE.items():
        match = pattern.search(folded)
        if match is None:
            continue
        ends = next((name, "b" + name[1:]) for name in ("a", "a2", "a3") if match.group(name) is not None)
        first, second = (question[match.start(end) : match.end(end)] for end in ends)
        x = question[match.start("x") : match.end("x")]
        lead = question[: match.start()]
        # "¿En cuánto…": the opening mark belongs to the frame; "In 2023, by how much…": the clause stays.
        lead = "" if not lead.strip(" ¿¡") else lead
        frame = _WHAT_WAS[language]
        parts = (frame.format(x=x, end=_with_shared_noun(first, second)), frame.format(x=x, end=second))
        return _capitalised(lead, parts[0]), _capitalised(lead, parts[1])
    return None


def _capitalised(lead: str, part: str) -> str:
    """`part` after the clause `lead`, or as a question of its own with a capital ("¿Cuál…")."""
    if lead:
        return f"{lead}{part}"
    opening = 1 if part.startswith("¿") else 0
    return part[:opening] + part[opening].upper() + part[opening + 1 :]


def _with_shared_noun(first: str, second: str) -> str:
    """ "the 9th" completed from "the 10th Marathon des Quais" as "the 9th Marathon des Quais"; else `first`."""
    if not first.split() or not _edition_or_year(first.split()[-1]):
        return first
    words = second.split()
    found = [i for i, word in enumerate(words) if _edition_or_year(word)]
    return f"{first} {' '.join(words[found[0] + 1 :])}" if found and found[0] + 1 < len(words) else first


def _edition_or_year(word: str) -> bool:
    """True for an edition ("10th", "15e") or a year or season ("2023/24") written as one word."""
    return bool(_KINDS["ordinal"].fullmatch(word) or _KINDS["year"].fullmatch(word))

"""The two one-figure questions of a comparison ("how many more … A … than B") or a change ("by how much did X
grow from A to B"), written in code (en/fr/de/es/it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.language import ORDINAL_WORDS
from qa.text import STOPWORDS, fold, fold_aligned

_ORDINAL_WORDS = "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))

# The comparative word of "how many more", "combien de … de plus", "wie viele … mehr", "cuántas … más",
# "quanti … in più", within a few words of the question word.
_COMPARATIVE = re.compile(
    r"\b(?:how (?:many|much)|combien|wie viele?|cu[aá]nt[oa]s?|quant[ieoa])\b(?:[\s\w'’-]{0,40}?)"
    r"\s(?P<word>more|fewer|less|de plus|en plus|de moins|en moins|mehr|weniger|m[aá]s|menos|in pi[uù]|"
    r"in meno|di pi[uù])\b",
    re.IGNORECASE,
)
# What introduces the other side of the comparison.
_THAN = re.compile(
    r"\b(?:than|compared (?:with|to)|versus|que|qu['’]|par rapport (?:à|a)(?: la| l['’]| au| aux)?|als|"
    r"im Vergleich zu[rm]?|rispetto (?:a|al|alla|allo|ai|agli|alle|all['’])|frente a|respecto a(?:l)?|"
    r"en comparaci[oó]n con)(?=\s|$)",
    re.IGNORECASE,
)
# The things a comparison sets side by side: an edition ("15e", "10th", "5.ª", German "10.", "sixth"), a year or season
# ("2023", "2023/24"), or a name run ("Tarragona's Terminal Dársena Sur", "Darsena Toscana di Livorno").
_KINDS = {
    "ordinal": re.compile(
        rf"\b(?:\d{{1,3}}(?:st|nd|rd|th|e|er|re|ème|eme|\.ª|ª|º|°|\.)|{_ORDINAL_WORDS})(?=[\s,?]|$)", re.IGNORECASE
    ),
    "year": re.compile(r"\b(?:19|20)\d{2}(?:[/-]\d{2,4})?\b"),
    "name": re.compile(
        r"[A-ZÀ-ÖØ-Þ][\w’'.-]*(?:(?:['’]s)?\s+(?:(?:de|di|da|del|della|des|du|la|le|von|van|der|den)\s+)?"
        r"[A-ZÀ-ÖØ-Þ][\w’'.-]*)*"
    ),
}


@dataclass(frozen=True)
class _Item:
    kind: str
    start: int
    end: int
    text: str


def comparison_parts(question: str) -> tuple[str, str] | None:
    """("How many stores does A operate?", "How many stores does B operate?") for "How many more stores does A
    operate than B?", in the question's language; None when the question is not of that shape or its two
    sides cannot be told apart (a change "from A to B" is left to the model)."""
    comparative = _COMPARATIVE.search(question)
    if comparative is None:
        return None
    than = _THAN.search(question, comparative.end("word"))
    if than is None:
        return None
    first_word = len(question) - len(question.lstrip())
    items = [item for item in _items(question) if item.start > first_word or item.kind != "name"]
    after = [item for item in items if item.start >= than.end()]
    if not after:
        return None
    # "más que FrescoVía tiene Mercaleste": the other side is the first thing after "que"; "… A than in B?":
    # it runs to the last thing before the end ("than Livorno's Darsena Toscana terminal").
    adjacent = not question[comparative.end("word") : than.start()].strip()
    other = after[0] if adjacent else _joined([item for item in after if item.kind == after[0].kind])
    same = [item for item in items if item.kind == other.kind and (item.end <= than.start() or item.start > other.end)]
    same = [item for item in same if fold(item.text) != fold(other.text)]
    if not same:
        return None
    this = min(same, key=lambda item: min(abs(item.end - than.start()), abs(item.start - other.end)))
    end = other.end
    rest = question[end:].strip()
    if re.fullmatch(r"[a-zà-ÿ]+\s*[?？]?", rest):  # "… than Livorno's Darsena Toscana terminal?"
        end += len(question[end:]) - len(question[end:].lstrip()) + len(rest.rstrip(" ?？"))
    cuts = [(comparative.start("word"), comparative.end("word"), ""), (than.start(), end, "")]
    first = _edit(question, cuts)
    second = _edit(question, [*cuts, (this.start, this.end, other.text)])
    if fold(first) == fold(second):
        return None
    return first, second


def _items(question: str) -> list[_Item]:
    """The ordinals, years and name runs of `question` in order (a year is no ordinal; stop words are no name)."""
    found: list[_Item] = []
    for kind, pattern in _KINDS.items():
        for match in pattern.finditer(question):
            text = match.group().rstrip(".") if kind == "name" else match.group()
            if kind == "name" and (fold(text) in STOPWORDS or (text.isupper() and len(text) <= 4)):
                continue  # "The", "At"; "TEU", "EU": units and bodies rather than the things compared
            if any(item.start <= match.start() < item.end for item in found):
                continue
            found.append(_Item(kind, match.start(), match.start() + len(text), text))
    return sorted(found, key=lambda item: item.start)


def _joined(items: list[_Item]) -> _Item:
    """One item spanning `items` (the last thing named on the other side of the comparison)."""
    return _Item(items[0].kind, items[0].start, items[-1].end, items[0].text)


def _edit(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, stop) span replaced, its spaces tidied ("Combien de candidatures la 15e … ?")."""
    kept, position = [], 0
    for start, stop, replacement in sorted(edits):
        kept += [text[position:start], replacement]
        position = stop
    kept.append(text[position:])
    joined = re.sub(r"\s{2,}", " ", "".join(kept))
    return re.sub(r"\s+([,?？])", lambda m: m.group(1) if m.group(1) != "?" or not _french(text) else " ?", joined)


def _french(text: str) -> bool:
    return bool(re.search(r"\s\?\s*$", text))


def keeps_both_sides(part: str, question: str) -> bool:
    """True when `part`, one of the two questions a question was split into, still names both editions, years
    or seasons that the question compares ("… von der Wintersaison 2022/23 zur Wintersaison 2023/24")."""
    for kind in ("ordinal", "year"):
        asked = {match.group() for match in _KINDS[kind].finditer(question)}
        if len(asked) >= 2 and len(asked & {match.group() for match in _KINDS[kind].finditer(part)}) >= 2:
            return True
    return False


_UP_DOWN = {
    "en": r"(?:grow|grew|grown|increase|increased|rise|rose|risen|fall|fell|fallen|drop|dropped|decline|declined|"
    r"decrease|decreased|change|changed|climb|climbed|jump|jumped|shrink|shrank|shrunk|go up|go down|went up|"
    r"went down)",
    "fr": r"(?:augmente|baisse|diminue|progresse|grimpe|chute|recule|evolue|monte|descendu|croit|cru)",
    "de": r"(?:gestiegen|gesunken|gewachsen|geschrumpft|zugenommen|abgenommen|gefallen|erhoht|verandert|"
    r"zuruckgegangen|geklettert|angestiegen)",
    "es": r"(?:aumento|crecio|subio|bajo|cayo|disminuyo|descendio|ha aumentado|ha crecido|ha subido|ha bajado|"
    r"ha caido|ha disminuido|aumentaron|crecieron|subieron|bajaron|cayeron|disminuyeron)",
    "it": r"(?:cresciut[oaie]|aumentat[oaie]|salit[oaie]|ses[oaie]|calat[oaie]|diminuit[oaie]|sces[oaie])",
}
# "By how many runners did the field grow from the 9th to the 10th race?" → the measured thing X and the two
# ends A and B of the change, on the folded question (offsets are the question's).
_CHANGE = [
    re.compile(
        rf"^\W*(?:[^?]*?,\s*)?(?:by how (?:much|many)(?: [\w'-]+)?|how much)\s+(?:did|has|have|had|was|were|is|are)\s+"
        rf"(?P<x>.+?)\s+{_UP_DOWN['en']}\s+(?:(?:from|between)\s+(?P<a>.+?)\s+(?:to|and)\s+(?P<b>.+?))\s*\?\s*$"
    ),
    re.compile(
        rf"^\W*(?:de combien|combien de [\w'-]+ (?:de plus|en plus|de moins))\s+(?P<x>.+?)\s+"
        rf"(?:a-t-il|a-t-elle|ont-ils|ont-elles|a|ont|est|sont)\s+(?:{_UP_DOWN['fr']})[\w-]*\s+"
        r"(?:entre\s+(?P<a>.+?)\s+et\s+(?P<b>.+?)|de\s+(?P<a2>.+?)\s+a\s+(?P<b2>.+?)|du\s+(?P<a3>.+?)\s+au\s+"
        r"(?P<b3>.+?))\s*\?\s*$"
    ),
    re.compile(
        r"^\W*um wie (?:viel|viele|stark)\s+(?:ist|sind|hat|haben|war|waren)\s+(?P<x>.+?)\s+"
        r"(?:von\s+(?P<a>.+?)\s+(?:zu|zur|zum|auf|bis)\s+(?P<b>.+?)|zwischen\s+(?P<a2>.+?)\s+und\s+(?P<b2>.+?))\s+"
        rf"{_UP_DOWN['de']}\s*\?\s*$"
    ),
    re.compile(
        rf"^\W*(?:en )?cuanto\s+{_UP_DOWN['es']}\s+(?P<x>.+?)\s+(?:entre\s+(?P<a>.+?)\s+y\s+(?P<b>.+?)|"
        r"desde\s+(?P<a2>.+?)\s+hasta\s+(?P<b2>.+?)|del\s+(?P<a3>.+?)\s+al\s+(?P<b3>.+?))\s*\?\s*$"
    ),
    re.compile(
        rf"^\W*di quanto\s+(?:e|sono|ha|hanno)\s+{_UP_DOWN['it']}\s+(?P<x>.+?)\s+(?:(?:tra|fra)\s+(?P<a>.+?)\s+e\s+"
        r"(?P<b>.+?)|dal\s+(?P<a2>.+?)\s+al\s+(?P<b2>.+?)|dalla\s+(?P<a3>.+?)\s+alla\s+(?P<b3>.+?))\s*\?\s*$"
    ),
]
# The question asked of each end: what X was then.
_WHAT_WAS = {
    "en": "What was {x} ({end})?",
    "fr": "Quel était {x} ({end}) ?",
    "de": "Wie hoch war {x} ({end})?",
    "es": "¿Cuál era {x} ({end})?",
    "it": "Quanto era {x} ({end})?",
}


def change_parts(question: str) -> tuple[str, str] | None:
    """("What was the field (the 9th race)?", "What was the field (the 10th race)?") for "By how many runners
    did the field grow from the 9th to the 10th race?", in the question's language; None for other shapes."""
    folded = fold_aligned(question)
    for language, pattern in zip(_WHAT_WAS, _CHANGE, strict=True):
        match = pattern.match(folded)
        if match is None:
            continue
        ends = next((name, "b" + name[1:]) for name in ("a", "a2", "a3") if match.group(name) is not None)
        first, second = (question[match.start(end) : match.end(end)] for end in ends)
        first = _with_shared_noun(first, second)
        x = question[match.start("x") : match.end("x")]
        frame = _WHAT_WAS[language]
        return frame.format(x=x, end=first), frame.format(x=x, end=second)
    return None


def _with_shared_noun(first: str, second: str) -> str:
    """ "the 9th" completed from "the 10th Marathon des Quais" as "the 9th Marathon des Quais"; else `first`."""
    if not any(_KINDS[kind].fullmatch(first.split()[-1]) for kind in ("ordinal", "year")):
        return first
    words = second.split()
    marks = [i for i, word in enumerate(words) if any(_KINDS[kind].fullmatch(word) for kind in ("ordinal", "year"))]
    return f"{first} {' '.join(words[marks[0] + 1 :])}" if marks and marks[0] + 1 < len(words) else first

"""Does a checked answer actually answer the question? Signals that turn a fluent non-answer into abstention."""

from __future__ import annotations

import re

from qa.text import fold, key_terms, numbers, strip_citations

# Question words that ask for a quantity, and for an amount of money, in en/fr/de/es/it (folded).
_ASKS_QUANTITY = re.compile(
    r"\b(how (many|much|old|long|far|high|tall|big|large|heavy|deep|wide)|at what (altitude|height|depth|speed|price)|"
    r"what (percentage|share)|"
    r"combien|quel(le)? (est le|est la) (nombre|montant|prix|cout|age)|wie (viele?|hoch|alt|lange|gro(ss|ß))|"
    r"cuant[oa]s?|a cuanto|quant[oie]|a quanto)\b"
)
_ASKS_MONEY = re.compile(
    r"\b(pay|paid|cost|costs|price|salary|earn|earns|amount|worth|fee|spend|spent|aid|grant|montant|prix|cout|"
    r"salaire|gagne|gehalt|preis|kosten|betrag|verdient|salario|precio|costo|importe|gana|stipendio|prezzo|"
    r"guadagna|importo)\b"
)
# "What was the company's net profit?", "What net profit did it report?": a noun that is an amount of money by
# definition is what the question asks for — right after "what is/was (the)" or "what … did" — (not "which
# company reported the highest revenue", "what was the fine for"), en/fr/de/es/it, folded.
_MONEY_NOUNS = (
    r"revenue|revenues|turnover|profit|profits|net loss|budget|price|prices|cost|costs|salary|fee|fees|fine|insured \w+"
    r"|chiffre d'affaires|benefice|cout|salaire|amende|umsatz|gewinn|kosten|gehalt|geldstrafe|bu(ss|ß)geld"
    r"|ingresos|facturacion|beneficio|presupuesto|precio|costo|salario|multa|fatturato|prezzo|stipendio"
)
_ASKS_FOR_MONEY_NOUN = re.compile(
    r"^\W{0,3}(?:(?:what|which|quel|quelle|welche[nmrs]?|cual|qual|quale) (?:is|was|are|were|est|etait|ist|war"
    r"|es|fue|era|e|sono|ha sido|e stato|e stata) (?:the |le |la |l'|der |die |das |el |il |lo )?(?:[\w'-]+ ){0,3}?"
    r"|what (?:[\w'-]+ ){0,2}?)"
    rf"(?:{_MONEY_NOUNS})\b"
    # "the price freeze", "the budget airline", "what was the fine for": not the amount itself.
    r"(?!\W+(freeze|war|cut|cuts|cap|caps|index|list|overrun|overruns|inflation|controls?|airlines?|carriers?"
    r"|dining|hotels?|for|about)\b)"
)
# "how many entries", "combien de candidatures": a count, whatever else the question names ("prix Lanterna" is a
# prize, "Preis" a price or an award).
_ASKS_COUNT = re.compile(r"\b(how many|combien d[e'] ?(?!argent)\w+|wie viele|cuant[oa]s|quant[ie])\b")
_MONEY = re.compile(
    r"[$€£¥]|\b(euros?|dollars?|pounds?|yen|francs?|eur|usd|gbp|chf|million|millions|billion|billions|bn|"
    r"milliards?|millones|miliardi|milioni|mrd|mio|millionen|milliarden|mil)\b"
)
# A sentence whose last word (before its citation and full stop) leaves it unfinished: "The amount paid is [1]."
# (Not German "mit": "teilte … am Dienstag mit" ends on the particle of a separable verb.)
_DANGLING = re.compile(
    r"\b(is|are|was|were|be|been|of|to|the|a|an|by|for|with|at|in|on|from|and|est|sont|etait|de|du|des|le|la|les|"
    r"a|au|par|pour|ist|sind|war|waren|von|der|die|das|den|dem|fur|es|son|era|fue|del|el|los|las|por|para|"
    r"con|e|sono|di|il|lo|gli|per)\s*[.:;,!?…]*\s*$"
)
# Words every answer may use without adding information.
_FILLER = frozenset(
    fold(w) for w in "according article articles reported report reports said says stated states".split()
)


def unanswered_reason(question: str, answer: str) -> str | None:
    """Why `answer` (citations allowed) does not answer `question`, or None when it may.

    - it adds nothing to the question (a restatement, or a sentence whose answer slot is empty);
    - the question asks for a quantity and the answer gives no number the question did not already hold;
    - the question asks for an amount of money ("how much … cost", "what was the net profit") and the answer
      names no currency or money unit.
    """
    text = fold(strip_citations(answer))
    asked = fold(question)
    if _DANGLING.search(text):
        return "the answer leaves its sentence unfinished"
    new_terms = key_terms(text) - key_terms(asked) - _FILLER
    if not new_terms:
        return "the answer only restates the question"
    if _ASKS_QUANTITY.search(asked):
        if not numbers(text) - numbers(asked) and not _number_words(text):
            return "the question asks for a quantity and the answer gives none"
        counted = bool(_ASKS_COUNT.search(asked)) and not _MONEY.search(asked)
        if _ASKS_MONEY.search(asked) and not counted and not _MONEY.search(text):
            return _NO_MONEY
    elif _ASKS_FOR_MONEY_NOUN.search(asked) and not _MONEY.search(text):
        return _NO_MONEY
    return None


_NO_MONEY = "the question asks for an amount of money and the answer gives none"


_NUMBER_WORDS = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand|"
    r"un|deux|trois|quatre|cinq|sept|huit|neuf|dix|cent|mille|zwei|drei|vier|funf|sechs|sieben|acht|neun|zehn|"
    r"dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|due|tre|quattro|cinque|sei|sette|otto|nove|dieci)\b"
)


def _number_words(text: str) -> bool:
    return bool(_NUMBER_WORDS.search(text))

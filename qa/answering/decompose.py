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
# Kinds of entity a description can stand for, per language (folded): "the firm chosen to…", "la empresa elegida
# para…", "Ibarra's new club". A word outside these lists keeps a participle from reading as a description
# ("the price offered by Meta" asks for the price itself).
_ENTITY = {
    "en": r"company|firm|group|club|team|publisher|developer|manufacturer|maker|builder|supplier|contractor|"
    r"consortium|bank|lender|insurer|investor|start-?up|airline|carrier|operator|retailer|chain|broadcaster|"
    r"newspaper|agency|university|hospital|city|town|village|country|region|plant|factory|port|airport|stadium|"
    r"observatory|ship|vessel|satellite|party|candidate|winner|player|coach|architect|author|owner|buyer|rival|"
    r"partner|parent|subsidiary|brand|utility|union|museum|venue|yard|shipyard|studio|lab|laboratory",
    "fr": r"entreprise|societe|groupe|club|equipe|editeur|constructeur|fabricant|promoteur|fournisseur|banque|"
    r"start-up|compagnie|operateur|ville|commune|pays|region|usine|site|port|aeroport|stade|parti|candidate?|"
    r"laureate?|vainqueur|gagnante?|consortium|journal|chaine|agence|universite|chantier|laboratoire",
    "es": r"empresa|compania|sociedad|grupo|club|equipo|editorial|constructora|fabricante|promotora|proveedora?|"
    r"banco|aerolinea|operadora?|ciudad|pueblo|municipio|pais|region|planta|fabrica|puerto|aeropuerto|estadio|"
    r"partido|candidata?|ganadora?|consorcio|diario|periodico|cadena|agencia|universidad|astillero|laboratorio",
    "it": r"azienda|societa|impresa|gruppo|club|squadra|editore|costruttore|produttore|fornitore|banca|compagnia|"
    r"operatore|citta|comune|paese|regione|stabilimento|fabbrica|porto|aeroporto|stadio|partito|candidata?|"
    r"consorzio|giornale|quotidiano|agenzia|universita|cantiere|laboratorio",
    "de": r"\w*(unternehmen|konzern|firma|gruppe|verein|klub|team|verlag|hersteller|bauer|lieferant|bank|betreiber|"
    r"stadt|gemeinde|werk|fabrik|hafen|stadion|partei|kandidat|kandidatin|gewinner|gewinnerin|sieger|siegerin|"
    r"konsortium|zeitung|sender|agentur|universitat|werft|labor)",
}
# A described entity whose description runs to the end of the question (the second hop puts the name there).
_PARTICIPLE = re.compile(
    "|".join(
        (
            # "the firm chosen to deepen…", "the startup acquired by Meta", "the company based in", "the firm behind"
            rf"\bthe ({_WORDS} ){{0,2}}({_ENTITY['en']}) (({_WORDS}ed|chosen|built|run|led|won|made|sold|bought|held|"
            r"given|known|taken|picked|hit) (by|to|for|in|at|on|from|with|as|after|under)|behind|responsible for|"
            r"in charge of)\b",
            rf"\bthe ({_WORDS} ){{0,2}}({_ENTITY['en']}) {_WORDS}ing\b",
            # "l'entreprise choisie pour…", "le constructeur retenu par…"
            rf"\b(le|la|les|l') ?({_WORDS} ){{0,2}}({_ENTITY['fr']}) \w+(e|ee|es|ees|i|ie|is|ies|u|ue|us|ues|it|ite)"
            r" (par|pour|a|au|en|dans|lors)\b",
            # "la constructora elegida para…", "el fabricante elegido por…"
            rf"\b(el|la|los|las) ({_WORDS} ){{0,2}}({_ENTITY['es']}) \w+(ad|id|ch|t)[oa]s? (por|para|en|a|de)\b",
            # "l'azienda scelta per…", "la società vincitrice dell'appalto"
            rf"\b(il|la|lo|l'|i|gli|le) ?({_WORDS} ){{0,2}}({_ENTITY['it']}) (\w+(at|ut|it|lt|st|tt)[oaie] "
            r"(da|dal|dalla|dai|per|a|in)\b|vincitric?e|aggiudicataria)",
        )
    )
)
# Descriptions with an end inside the question, matched on the question as written (a name is capitalised):
# "Mateo Ibarra's new club", "the club Ibarra joined", "the company Meta is buying", and German descriptions
# before their noun ("die von Portugal gewählte Firma").
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w.-]*"
_BOUNDED = re.compile(
    "|".join(
        (
            rf"\b(?:{_NAME_WORD}\s+){{0,3}}{_NAME_WORD}['’]s\s+(?i:(?:(?:new|former|latest|current|future|next|main|"
            r"biggest|largest|home)\s+)?(?:club|team|employer|partner|supplier|owner|buyer|parent company|rival|"
            r"sponsor|opponent|chief executive|ceo|boss|coach|stadium|factory|plant|headquarters))\b",
            rf"\b[Tt]he\s+(?i:(?:{_WORDS}\s+){{0,2}}(?:{_ENTITY['en']}))\s+(?:the\s+)?(?:{_NAME_WORD}\s+){{1,3}}"
            r"(?:(?:is|was|has|had|will|has been|had been|is being|was being)\s+)?(?:\w+ed|joined|won|bought|chose|"
            r"sold|signed|left|built|made|runs|owns|leads|buying|selling|taking over)"
            r"(?:\s+(?:for|to|with|at|in|from|by|on|over)(?=\s*[?？]?\s*$))?\b",
            rf"\b(?i:(?:der|die|das|dem|den)\s+(?:von|vom|mit|fur|für|bei)\s+(?:{_WORDS}\s+){{1,8}}?\w+(?:te|ten|ter|"
            rf"tes|ene|enen|ener)\s+(?:{_ENTITY['de']}))\b",
        )
    ),
)
# "What is the name of the vehicle that…" asks for the described thing itself: one hop.
_ASKS_THE_NAME = re.compile(r"^(what (is|was) the name of|come si chiama|comment s'appelle|wie heisst|como se llama)")
# "Who is the man that…", "Quelle est l'entreprise choisie…": the description is what the question asks for,
# unless it is "the X of <the description>" (then it asks about the entity described).
_ASKS_FOR_IT = re.compile(
    r"^\W*(who|what|which|qui|quel|quelle|quels|quelles|quien|cual|cuales|chi|quale|quali|wer|welche[rsnm]?)"
    r"( \w+)? (is|was|are|were|est|etait|sont|es|era|fue|son|e|era|sono|ist|war|sind|waren) $"
)
_OF = re.compile(r"\b(of|de|du|des|del|della|dello|dell'|di|von|vom|der)\b")


def is_bridge_question(question: str) -> bool:
    """True when the question asks about something it only describes, so that the passages answering it
    must first name that thing (a second retrieval with the name finds the fact)."""
    return _description_span(question) is not None


def _description_span(question: str) -> tuple[int, int | None] | None:
    """Where the description of an entity starts in `question`, and where it ends (None: at the question's
    end, before a final verb); None when the question describes no entity it asks about."""
    folded = fold(question)
    if _ASKS_THE_NAME.search(folded) or len(folded) != len(question):
        return None
    found: list[tuple[int, int | None]] = []
    for pattern in (_BRIDGE, _PARTICIPLE):
        match = pattern.search(folded)
        if match:
            found.append((match.start(), None))
    match = _BOUNDED.search(question)
    if match:
        found.append((match.start(), match.end()))
    for start, end in sorted(found, key=lambda span: span[0]):
        head = folded[:start]
        described = folded[start : end if end is not None else len(folded)]
        if _ASKS_FOR_IT.search(head) and not _OF.search(" ".join(described.split()[:4])):
            continue
        return start, end
    return None


_SUM = re.compile(
    r"\b(in total|total|combined|together|altogether|between them|sum|au total|en tout|ensemble|entre eux|"
    r"entre elles|insgesamt|zusammen|zusammengenommen|en total|en conjunto|juntos|juntas|entre ambos|entre ambas|"
    r"in totale|in tutto|complessivamente|insieme|tra loro|fra loro)\b"
)
_DIFFERENCE = re.compile(
    r"\b(by how (much|many)|difference|de combien|combien de plus|um wie viele?|en cuanto|di quanto)\b"
)
# "How many more stores does A operate than B?", "¿Cuántas tiendas más que B…?": two figures compared (a unit
# may stand between the question word and the comparative); without "than" it is one figure ("how many more
# days will the strike last?").
_COMPARED = re.compile(
    r"\b(how (many|much) ([\w'-]+ ){0,3}(more|fewer|less)\b.*\bthan|"
    r"how much (bigger|larger|higher|lower|smaller|longer|shorter|heavier|older|more expensive|cheaper)\b.*\bthan|"
    r"combien de ([\w'-]+ ){1,3}(de plus|en plus|de moins)|"
    r"wie viele? ([\w'-]+ ){0,3}(mehr|weniger)\b.*\bals|"
    r"cuant[oa]s? ([\w'-]+ ){0,3}(mas|menos)\b.*\bque|"
    r"quant[ieoa] ([\w'-]+ ){0,3}in (piu|meno)\b.*\b(rispetto|di|che))\b"
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
    """(words before the description, the description, what follows it: a final verb with its leading space
    for a description that runs to the end, the rest of the question for one that ends inside it)."""
    span = _description_span(question)
    if span is None:
        return None
    start, end = span
    head = question[:start]
    if end is not None:
        return head, question[start:end], question[end:].rstrip(" ?？")
    tail = question[start:].rstrip(" ?？")
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
    if _DIFFERENCE.search(folded) or _COMPARED.search(folded):
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

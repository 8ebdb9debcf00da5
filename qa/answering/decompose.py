"""Questions that one retrieval cannot answer: bridge questions (an entity described, not named) and totals or
differences of two figures; how to spot them and read the model's decomposition."""

from __future__ import annotations

import re

from qa.text import STOPWORDS, fold, fold_aligned

_WORDS = r"[\w'/-]+"
# An entity described by what it did or what it is to something else ("the company that won the contract",
# "the maker of Portugal's armoured vehicles", "la società che si è aggiudicata…"), en/fr/de/es/it, folded.
_BRIDGE = re.compile(
    "|".join(
        (
            rf"\b(the|a|an) ({_WORDS} ){{0,3}}{_WORDS},? (that|which|who|whose|where)\b",
            r"\bthe (maker|manufacturer|builder|producer|supplier|owner|operator|buyer|publisher|developer|"
            r"employer|contractor) of\b",
            rf"\bthe (incoming|new|outgoing|former|current) ({_WORDS} ){{0,2}}of\b",
            rf"\b(le|la|les|l'|un|une) ?({_WORDS} ){{0,3}}{_WORDS},? (qui|que|qu'|dont|ou) ",
            rf"\b(der|die|das|den|dem|des|ein|eine|einen) ({_WORDS} ){{0,3}}{_WORDS}, "
            r"(der|die|das|den|dem|deren|dessen|wo|in der|in dem|bei der)\b",
            rf"\b(el|la|los|las|un|una) ({_WORDS} ){{0,3}}{_WORDS},? (que|cuyo|cuya|donde|en el que|en la que)\b",
            rf"\b(il|la|lo|l'|i|gli|le|un|una) ?({_WORDS} ){{0,3}}{_WORDS},? (che|cui|dove|in cui)\b",
        )
    )
)
# Kinds of entity a description can stand for, per language (folded; German as written, since its descriptions
# are matched on the question itself): "the firm chosen to…", "la empresa elegida
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
    # German compounds end in the kind ("Verlagsgruppe"); "Werk" only alone ("Feuerwerk" is no plant).
    "de": r"\w*(unternehmen|konzern|firma|gruppe|verein|klub|verlag|hersteller|lieferant|bank|betreiber|stadt|"
    r"gemeinde|fabrik|hafen|stadion|partei|kandidatin|kandidat|gewinnerin|gewinner|siegerin|sieger|konsortium|"
    r"zeitung|sender|agentur|universit[aä]t|werft|labor)|werk|team",
}
# People and things: in news most are described in the article that gives the asked fact ("the man arrested by
# the police"), so a question describing one is answered in two steps only when one retrieval finds no answer.
_PERSON_OR_THING = {
    "en": r"person|man|woman|manager|executive|director|writer|novelist|artist|singer|actor|actress|minister|"
    r"official|scientist|drug|medicine|pill|vaccine|rocket|aircraft|plane|car|castle|building|bridge|festival",
    "fr": r"personne|homme|femme|dirigeante?|entraineur|entraineuse|ecrivaine?|auteure?|romanciere?|ministre|"
    r"medicament|vaccin|navire|vraquier|bateau|satellite|fusee|avion|chateau|lieu|salle|festival",
    "es": r"persona|hombre|mujer|directiva|directivo|entrenadora?|escritora?|autora?|novelista|ministra?|farmaco|"
    r"medicamento|vacuna|buque|barco|satelite|cohete|avion|castillo|recinto|festival",
    "it": r"persona|uomo|donna|manager|dirigente|allenatore|allenatrice|scrittore|scrittrice|autore|autrice|"
    r"ministro|ministra|farmaco|medicinale|vaccino|nave|satellite|razzo|aereo|castello|festival",
}
# Filler words before the kind, never an article ("the stadium the club…" is two noun phrases).
_FILLER = rf"((?!(the|a|an)\b){_WORDS} ){{0,2}}"
# One adjective after the noun in French, Spanish and Italian ("l'entraîneur danois recruté par", "il comune
# andaluso scelto da"): any word but a preposition or an article.
_ADJECTIVE = r"(?!(par|pour|por|para|per|da|de|du|des|del|della|en|in|a|au|le|la|el|il|lo)\b)\w+"


def _participles(kinds: dict[str, str], adjective: str, italian: str) -> re.Pattern[str]:
    """The participle descriptions of entities of `kinds`, with `adjective` allowed after a French, Spanish or
    Italian noun and `italian` after an Italian participle."""
    return re.compile(
        "|".join(
            (
                rf"\bthe {_FILLER}({kinds['en']}) (({_WORDS}ed|chosen|built|run|led|won|made|sold|bought|held|given|"
                r"known|taken|picked|hit) (by|to|for|in|at|on|from|with|as|after|under)|behind|responsible for|"
                r"in charge of)\b",
                rf"\bthe {_FILLER}({kinds['en']}) {_WORDS}ing\b",
                rf"\b(le|la|les|l') ?{_FILLER}({kinds['fr']}) {adjective}(?P<fr>\w+) (par|pour|a|au|en|dans|lors)\b",
                rf"\b(el|la|los|las) {_FILLER}({kinds['es']}) {adjective}\w+(ad|id|ch|t)[oa]s? (por|para|en|a|de)\b",
                rf"\b(il|la|lo|l'|i|gli|le) ?{_FILLER}({kinds['it']}) {adjective}(\w+(at|ut|it|lt|st|tt)[oaie] "
                rf"{italian}\b|vincitore|vincitrice|aggiudicatari[oa])",
            )
        )
    )


# Descriptions by a participle or a gerund, running to the end of the question: "the firm chosen to deepen…",
# "the startup acquired by Meta", "the firm behind…", "the town hosting…", "le constructeur retenu par…", "la
# constructora elegida para…", "l'azienda scelta per…". The French participle is checked on the word as written
# (`_FRENCH_PARTICIPLE`), since folding makes "choisie" and "emploie" alike.
_PARTICIPLE = _participles(_ENTITY, "", "(da|dal|dalla|dai|per|a|in)")
# Also people and things, an adjective after the noun, two Italian participles ("andato perduto") and more
# prepositions after them ("fondata nel 1990" dates a company, so only here).
_PARTICIPLE_WIDE = _participles(
    {language: f"{_ENTITY[language]}|{_PERSON_OR_THING[language]}" for language in _PERSON_OR_THING},
    f"({_ADJECTIVE} )?",
    r"(\w+(at|ut|it|lt|st|tt)[oaie] )?(da|dal|dalla|dai|per|a|in|nel|nella|nei|con|dopo|durante)",
)
_FRENCH_PARTICIPLE = re.compile(r"\w*(é|ée|és|ées|[^aeiouy\W]ie?s?)", re.IGNORECASE)
# "retenu", "construit" are also present tenses ("l'usine produit par jour"): only with "par" and an agent.
_FRENCH_PARTICIPLE_WITH_AGENT = re.compile(r"\w*(ue?s?|ite?s?)\s+par\s+(le|la|les|l'|un|une|[A-ZÀ-ÖØ-Þ])")


def _french_participle(question: str, start: int, end: int) -> bool:
    """Whether the French word at question[start:end] reads as a past participle in its place."""
    return bool(
        _FRENCH_PARTICIPLE.fullmatch(question[start:end]) or _FRENCH_PARTICIPLE_WITH_AGENT.match(question, start)
    )


# A clause without a relative pronoun, on the question as written (its subject is a name, capitalised), also
# running to the end: "the club Ibarra joined", "the company Meta is buying", "the media group the Tageblatt is
# being sold to".
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w.-]*"
_CLAUSE = re.compile(
    rf"\b[Tt]he\s+(?i:{_FILLER}(?:{_ENTITY['en']}))\s+(?:the\s+)?(?:{_NAME_WORD}\s+){{1,3}}"
    r"(?:(?:is|was|has|had|will|has been|had been|is being|was being)\s+)?(?:\w+ed|joined|won|bought|chose|sold|"
    r"signed|left|built|made|runs|owns|leads|buying|selling|taking over)\b"
)
# Descriptions that end inside the question, on the question as written: a possessive ("Mateo Ibarra's new
# club"; a capitalised question word is no owner) and a German description before its noun ("die von Portugal
# gewählte Firma", "im für den Chip vorgesehenen Werk").
_QUESTION_WORD = r"(?:Does|Did|Do|Is|Was|Are|Were|Has|Have|Had|Will|Can|Could|Who|What|Which|Where|When|Why|How)\b"
_BOUNDED = re.compile(
    "|".join(
        (
            rf"\b(?:(?!{_QUESTION_WORD}){_NAME_WORD}\s+){{0,3}}(?!{_QUESTION_WORD}){_NAME_WORD}['’]s\s+"
            r"(?i:(?:(?:new|former|latest|current|future|next|main|biggest|largest|home)\s+)?(?:club|team|employer|"
            r"partner|supplier|owner|buyer|parent company|rival|sponsor|opponent|chief executive|ceo|boss|coach|"
            r"stadium|factory|plant))\b",
            r"\b(?i:(?:der|die|das|dem|den|des|im|vom|beim|zum|zur)\s+(?:von|vom|mit|für|fur|bei|im)\s+"
            rf"(?:{_WORDS}\s+){{1,8}}?\w+(?:te|ten|ter|tes|ene|enen|ener)\s+(?:\w+(?:e|en|er|es)\s+)?"
            rf"(?:{_ENTITY['de']}))\b",
        )
    ),
)
# "What is the name of the vehicle that…" asks for the described thing itself: one hop.
_ASKS_THE_NAME = re.compile(
    r"^\W*(what (is|was) the name of|quel est le nom d|comment s'appelle|wie hei(ss|ß)t|wie lautet der name|"
    r"cual es el nombre d|como se llama|qual e il nome d|come si chiama)"
)
# "Who is the man that…", "Quelle est l'entreprise choisie…": the description is what the question asks for,
# unless it is "the X of <the description>" (then it asks about the entity described).
_ASKS_FOR_IT = re.compile(
    r"^\W*(who|what|which|qui|quel|quelle|quels|quelles|quien|cual|cuales|chi|qual|quale|quali|wer|"
    r"welche[rsnm]?)( \w+)? (is|was|are|were|est|etait|sont|es|era|fue|son|e|sono|ist|war|sind|waren) $"
)
# "of" before the noun a relative clause describes, the article kept when it is a word of its own (en/fr/es/it).
_OF_NOUN = re.compile(
    r"\b(of (?=the |a |an )|de (?=la |l')|du |des |del |de (?=los |las )|della |dello |dell'|dei |degli |delle )"
)
_OF = re.compile(r"\b(of|de|du|des|del|della|dello|dell'|di|von|vom|der)\b")

# In "Where is the company that … headquartered?" the description ends before the question's last word.
_AUXILIARY_BEFORE = re.compile(r"\b(is|are|was|were|has|have|had|does|do|did)\s+$", re.IGNORECASE)
# "Was the plant built by Brevant closed?": a yes/no question, whose description has no end to find.
_YES_NO = re.compile(r"^\W*(is|are|was|were|has|have|had|does|do|did|will|can|could|est-ce)\b")
# Participles that do not end in -ed, as a question's own final verb ("where was the player … born?").
_IRREGULAR = frozenset(
    "born built made sold bought held run led won given known taken paid hit set shut chosen seen found sent "
    "spent".split()
)


def is_bridge_question(question: str) -> bool:
    """True when the question asks about something it only describes, so that the passages answering it
    must first name that thing (a second retrieval with the name finds the fact)."""
    return _description_span(question, wide=False) is not None


def may_be_bridge_question(question: str) -> bool:
    """True when the question describes a person or thing ("the man arrested by…", "l'entraîneur danois recruté
    par…") rather than a company or place: worth the two steps only when one retrieval finds no answer."""
    return not is_bridge_question(question) and _description_span(question, wide=True) is not None


def _description_span(question: str, wide: bool) -> tuple[int, int | None, int | None] | None:
    """Where the description of an entity starts in `question`, where it ends (None: at the question's end,
    before a final verb) and, for a relative clause, where its match ends; None when the question describes no
    entity it asks about (`wide`: people and things count too)."""
    folded = fold_aligned(question)
    if _ASKS_THE_NAME.search(folded):
        return None
    # (start, end or None, kind): "relative" descriptions may be "the X of <description>" after "who is";
    # "participle" ones need a verb of the question's own after them when an auxiliary comes first.
    found: list[tuple[int, int | None, str]] = []
    relative_end = None
    match = _BRIDGE.search(folded)
    if match:
        relative_end = match.end()
        found.append((match.start(), None, "relative"))
    match = (_PARTICIPLE_WIDE if wide else _PARTICIPLE).search(folded)
    if match and (not match.group("fr") or _french_participle(question, match.start("fr"), match.end("fr"))):
        found.append((match.start(), None, "participle"))
    match = _CLAUSE.search(question)
    # "When was the company Brevant founded?": a name beside its kind, then the question's own verb.
    if match and not question[match.end() :].strip(" ?？") and _AUXILIARY_BEFORE.search(folded[: match.start()]):
        match = None
    if match:
        found.append((match.start(), None, "participle"))
    match = _BOUNDED.search(question)
    if match:
        found.append((match.start(), match.end(), "bounded"))
    for start, end, kind in sorted(found, key=lambda span: span[0]):
        head = folded[:start]
        if end is None and _YES_NO.search(head):
            continue
        of_description = kind == "relative" and _OF.search(" ".join(folded[start:].split()[1:4]))
        if _ASKS_FOR_IT.search(head) and not of_description:
            continue
        # "Why was the company fined by the regulator?": after an auxiliary, a participle with no verb of the
        # question's own after it is the question's verb, not a description.
        if kind == "participle" and _AUXILIARY_BEFORE.search(head) and not _final_verb(head, question[start:]):
            continue
        return start, end, relative_end if kind == "relative" else None
    return None


_ANY_ENTITY = re.compile("|".join(f"(?:{kinds})" for kinds in [*_ENTITY.values(), *_PERSON_OR_THING.values()]))


def _described_noun(folded: str, start: int, end: int) -> int:
    """Where the noun a relative clause describes starts, in the description folded[start:end]: "the mayor of
    the town where…", "la restauration du lieu où…" describe the town, the place (the passages name it, not the
    mayor); but "l'autrice del romanzo che…", "le constructeur des blindés que…" keep the whole description,
    since the passages naming the novel or the vehicles name their author or maker too."""
    nearest = list(_OF_NOUN.finditer(folded, start, end))
    if not nearest:
        return start
    head = folded[start : nearest[-1].start()].split()
    return start if head and _ANY_ENTITY.fullmatch(head[-1].split("'")[-1]) else nearest[-1].end()


def _final_verb(head: str, tail: str) -> str:
    """The verb that ends a question whose description (`tail`, to the end) follows `head`, with its leading
    space: bare after do/does/did ("weigh"), else a participle ("based"), and not one of the description's own
    ("where the comet was discovered"); "" when there is none."""
    auxiliary = _AUXILIARY_BEFORE.search(head)
    words = tail.rstrip(" ?？").split()
    ends_with_verb = len(words) > 2 and words[-2].lower() not in {"is", "are", "was", "were", "be", "been"}
    verb = words[-1].lower() if words else ""
    if (
        auxiliary
        and ends_with_verb
        and (auxiliary.group(1).lower().startswith("d") or verb.endswith("ed") or verb in _IRREGULAR)
        and not _relative_clause_lacks_verb(words[:-1])
    ):
        return " " + words[-1]
    return ""


# "the company that Meta acquired": a relative clause whose subject follows its pronoun needs a verb of its own.
_OBJECT_RELATIVE = re.compile(r"^(that|which|whom|who)$", re.IGNORECASE)
_DETERMINERS = frozenset("the a an its his her their this".split())
_PRONOUNS = frozenset("he she it they we i you".split())
_AUXILIARIES = frozenset("is are was were has have had will".split())


def _relative_clause_lacks_verb(words: list[str]) -> bool:
    """Whether the description `words` ends in a relative clause holding only its subject ("the company that
    Meta", "that the regulator", "that he") or its subject and an auxiliary ("that Meta has"), so that the word
    after them is the clause's verb, not the question's. Any other word after the subject is the clause's verb."""
    pronoun = next((i for i, word in enumerate(words) if _OBJECT_RELATIVE.match(word)), None)
    if pronoun is None or pronoun + 1 >= len(words):
        return False
    clause = words[pronoun + 1 :]
    if clause[-1].lower() in _AUXILIARIES:
        clause = clause[:-1]
    if not clause:
        return False
    first = clause[0].lower()
    return (
        all(word[0].isupper() for word in clause)
        or (first in _DETERMINERS and len(clause) == 2)
        or (first in _PRONOUNS and len(clause) == 1)
    )


_SUM = re.compile(
    r"\b(in total|total|combined|together|altogether|between them|sum|au total|en tout|ensemble|entre eux|"
    r"entre elles|insgesamt|zusammen|zusammengenommen|en total|en conjunto|juntos|juntas|entre ambos|entre ambas|"
    r"in totale|in tutto|complessivamente|insieme|tra loro|fra loro)\b"
)
_DIFFERENCE = re.compile(
    r"\b(by how (much|many)|difference|de combien|combien de plus|um wie viele?|en cuanto|di quanto)\b"
)
# "How many more stores does A operate than B?", "¿Cuántas tiendas más que B…?": two figures compared (a unit
# may stand between the question word and the comparative), with the other side named ("than", "que", "als",
# "rispetto a"); without it, or against a number ("more than 500"), it is one figure.
_COMPARED = re.compile(
    r"\b(how (many|much) ([\w'-]+ ){0,3}(more|fewer|less)\b.*\b(than|compared (with|to)|versus)|"
    r"how much (bigger|larger|higher|lower|smaller|longer|shorter|heavier|older|more expensive|cheaper)\b.*\bthan|"
    r"combien de ([\w'-]+ ){1,3}(de plus|en plus|de moins)\b.*\b(que|qu'|par rapport a|compare)|"
    r"wie viele? ([\w'-]+ ){0,3}(mehr|weniger)\b.*\b(als|im vergleich zu)|"
    r"cuant[oa]s? ([\w'-]+ ){0,3}(mas|menos) (que|de lo que)|cuant[oa]s? ([\w'-]+ ){0,3}(mas|menos)\b.*"
    r"\b(en comparacion con|respecto a|frente a)|"
    r"quant[ieoa] ([\w'-]+ ){0,3}in (piu|meno)\b.*\b(rispetto a|rispetto al|rispetto alla|che|di quant[ieoa]))\b"
)
# "more than 500 people", "more days than planned": a threshold or a plan, not a second figure.
_THRESHOLD = re.compile(
    r"\b((more|fewer|less|mehr|weniger|mas|menos|plus|moins) (than|als|que|de) (\d{1,3}(?!\d)|\d{5,}|un |une )|"
    r"(than|als|que) (planned|expected|scheduled|forecast|announced|initially|originally|geplant|erwartet|previsto|"
    r"prevu))"
)
_JOINED = re.compile(r"\b(and|et|und|y|e)\b")


def bridge_question(question: str, name: str, wide: bool = False) -> str:
    """`question` with its description of an entity replaced by `name` ("Where is Brevant headquartered?"):
    from the description's first word to the end, keeping the last word after an English auxiliary; the
    question with the name in brackets when no description is found."""
    split = _split_description(question, wide)
    if split is None:
        return f"{question} ({name})"
    head, _, last = split
    return f"{head}{name}{last}?"


def bridge_description(question: str, wide: bool = False) -> str | None:
    """The words of `question` that describe the entity it asks about ("the maker of Portugal's Tessera
    armoured vehicles"), or None when no description is found."""
    split = _split_description(question, wide)
    return split[1] if split else None


def _split_description(question: str, wide: bool) -> tuple[str, str, str] | None:
    """(words before the description, the description, what follows it: a final verb with its leading space
    for a description that runs to the end, the rest of the question for one that ends inside it)."""
    span = _description_span(question, wide)
    if span is None:
        return None
    start, end, relative_end = span
    head = question[:start]
    if end is not None:
        return head, question[start:end], question[end:].rstrip(" ?？")
    tail = question[start:].rstrip(" ?？")
    last = _final_verb(head, tail)
    description = tail[: -len(last)] if last else tail
    if relative_end is not None:
        # The final verb is found first: it goes with the question's auxiliary, before the whole description.
        noun = _described_noun(fold_aligned(question), start, relative_end)
        head, description = question[:noun], question[noun : start + len(description)]
    return head, description, last


def aggregation_operation(question: str) -> str | None:
    """'difference' for a question asking how much more/by how much, 'sum' for a total, else None."""
    folded = fold(question)
    if _DIFFERENCE.search(folded) or (_COMPARED.search(folded) and not _THRESHOLD.search(folded)):
        return "difference"
    # "the total cost", "murieron en total": a total of one thing is one figure; a sum joins two.
    if _SUM.search(folded) and _JOINED.search(folded):
        return "sum"
    return None


# A name as written: capitalised words, with the particles names carry inside ("Banco de España", "Darsena Europa").
NAME = re.compile(
    r"[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:\s+(?:(?:de|di|da|del|della|des|du|la|le|von|van|der|den)\s+)?[A-ZÀ-ÖØ-Þ][\w'’.-]*)*"
)


def names_in(text: str, *, question: bool = False) -> list[str]:
    """The names `text` uses, as written ("Portugal's" → "Portugal"), in order, without capitalised stop words
    ("The", "Die"). In a `question`, its capitalised first word is no name either ("How", "Chi", "Wer") unless a
    name goes on after it; in an answer it usually is the name ("Tidewell is deepening the channel")."""
    found: list[str] = []
    start = len(text) - len(text.lstrip())
    for match in NAME.finditer(text):
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

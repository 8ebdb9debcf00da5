"""The languages newsqa knows: detecting them, and words that name the same thing in each."""

from __future__ import annotations

from functools import lru_cache

# The languages newsqa knows, by ISO 639-1 code, with their English names (also Snowball's stemmer names).
# Detection picks only among these, which makes short texts (questions) reliable; answers, prompts and
# BM25's stemming and stop words cover the same list.
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}
SUPPORTED_LANGUAGES = tuple(LANGUAGE_NAMES)

# Number words from one to twelve in en/fr/de/es/it ("a"/"un"/"ein" are "one" too), lower case.
NUMBER_WORDS = {
    word: value
    for value, words in enumerate(
        (
            "one a an un une ein eine einem einer uno una",
            "two deux zwei dos due",
            "three trois drei tres tre",
            "four quatre vier cuatro quattro",
            "five cinq fünf cinco cinque",
            "six sechs seis sei",
            "seven sept sieben siete sette",
            "eight huit acht ocho otto",
            "nine neuf neun nueve nove",
            "ten dix zehn diez dieci",
            "eleven onze elf once undici",
            "twelve douze zwölf doce dodici",
        ),
        start=1,
    )
    for word in words.split()
}


# Month names in en/fr/de/es/it, lower case, January first (full names; abbreviations are the date parser's).
MONTH_NAMES = (
    "january janvier januar jänner enero gennaio",
    "february février fevrier februar febrero febbraio",
    "march mars märz maerz marzo",
    "april avril abril aprile",
    "may mai mayo maggio",
    "june juin juni junio giugno",
    "july juillet juli julio luglio",
    "august août aout agosto",
    "september septembre septiembre setiembre settembre",
    "october octobre oktober octubre ottobre",
    "november novembre noviembre",
    "december décembre decembre dezember diciembre dicembre",
)
# Weekday names in en/fr/de/es/it, lower case, Monday first.
WEEKDAY_NAMES = (
    "monday lundi montag lunes lunedì",
    "tuesday mardi dienstag martes martedì",
    "wednesday mercredi mittwoch miércoles mercoledì",
    "thursday jeudi donnerstag jueves giovedì",
    "friday vendredi freitag viernes venerdì",
    "saturday samedi samstag sonnabend sábado sabato",
    "sunday dimanche sonntag domingo domenica",
)
# Countries with their adjectives and inhabitants in en/fr/de/es/it, lower case: a reader asks where someone
# "comes from" in one language ("Germany") of an article that says it in another ("l'Allemand Lukas Brenner").
COUNTRY_WORDS = (
    "germany german germans allemagne allemand allemande allemands allemandes deutschland deutsch deutsche "
    "deutscher deutschen alemania alemán alemana alemanes alemanas germania tedesco tedesca tedeschi tedesche",
    "france french frankreich französisch französische französischen franzose französin franzosen francia "
    "francés francesa franceses francesas francese francesi français française françaises",
    "spain spanish spaniard spaniards espagne espagnol espagnole espagnols espagnoles spanien spanisch spanische "
    "spanischen spanier españa español española españoles españolas spagna spagnolo spagnola spagnoli spagnole",
    "italy italian italians italie italien italienne italiens italiennes italienisch italienische italienischen "
    "italiener italia italiano italiana italianos italianas italiani italiane",
    "belgium belgian belgians belgique belge belges belgien belgisch belgische belgischen belgier bélgica belga "
    "belgas belgio",
    "netherlands dutch pays-bas néerlandais néerlandaise niederlande niederländisch niederländische "
    "niederländischen niederländer holland hollande neerlandés neerlandesa olanda olandese olandesi",
    "portugal portuguese portugais portugaise portugiesisch portugiesische portugiesischen portugiese portugués "
    "portuguesa portugueses portogallo portoghese portoghesi",
    "switzerland swiss suisse suisses schweiz schweizer schweizerisch schweizerische suiza suizo suiza suizos "
    "svizzera svizzero svizzeri",
    "austria austrian austrians autriche autrichien autrichienne österreich österreichisch österreichische "
    "österreicher austríaco austriaco austriaca austriaci",
    "britain british briton britons britannique britanniques großbritannien grossbritannien britisch britische "
    "britischen brite briten británico británica britannico britannica britannici",
    "america american americans états-unis américain américaine américains amerika amerikanisch amerikanische "
    "amerikanischen amerikaner estadounidense estadounidenses americano americana statunitense statunitensi",
    "china chinese chine chinois chinoise chinesisch chinesische chinesischen chinese chino china cina cinese cinesi",
    "japan japanese japon japonais japonaise japanisch japanische japanischen japaner japón japonés japonesa "
    "giappone giapponese giapponesi",
    "korea korean koreans corée coréen coréenne coréens koreanisch koreanische koreanischen koreaner corea "
    "coreano coreana coreani",
    "poland polish pologne polonais polonaise polen polnisch polnische polnischen polonia polaco polaca polacco",
    "russia russian russians russie russe russes russland russisch russische russischen rusia ruso rusa russo "
    "russa russi",
    "ukraine ukrainian ukrainians ukrainien ukrainienne ukrainisch ukrainische ukrainischen ucrania ucraniano "
    "ucraniana ucraina ucraino ucraini",
    "sweden swedish suède suédois suédoise schweden schwedisch schwedische suecia sueco sueca svezia svedese",
    "norway norwegian norvège norvégien norvégienne norwegen norwegisch norwegische noruega noruego noruega "
    "norvegia norvegese",
    "denmark danish dane danes danemark danois danoise dänemark dänisch dänische dinamarca danés danesa "
    "danimarca danese",
    "greece greek greeks grèce grec grecque griechenland griechisch griechische grecia griego griega greco greca",
    "ireland irish irlande irlandais irlandaise irland irisch irische irlanda irlandés irlandesa irlandese",
    "canada canadian canadians canadien canadienne kanada kanadisch kanadische canadiense canadese",
    "brazil brazilian brésil brésilien brésilienne brasilien brasilianisch brasilianische brasil brasileño "
    "brasileña brasile brasiliano brasiliana",
    "mexico mexican mexique mexicain mexicaine mexiko mexikanisch mexikanische méxico mexicano mexicana messico "
    "messicano messicana",
    "india indian indians inde indien indienne indisch indische indiano indiana",
    "turkey turkish turquie turc turque türkei türkisch türkische turquía turco turca",
    "morocco moroccan maroc marocain marocaine marokko marokkanisch marruecos marroquí marocco marocchino",
)


# Words that put a statement in someone's expectation or plan rather than among facts ("les organisateurs
# attendent 1 600 participants", "is expected to meet"), by language, folded (no accents, lower case): a
# regular-expression alternation matched at word boundaries. The plain future ("will", "sera") is left out: news
# states decisions in it ("la ampliará a 420 productos"), which are facts once announced. Words that are just as
# often not modal are left out too ("attendu" = waited, "devait" = owed, "espera" = waiting, "due to" = because of).
EXPECTATION_WORDS = {
    "en": r"expects?|expected|expecting|anticipated|forecasts?|projected|planned|plans? to|planning to"
    r"|scheduled to|(?:is|are|was|were) scheduled|supposed to|hopes? to|aims? to|(?:is|are|was|were) set to"
    r"|(?:is|are|was|were) due to (?:be|open|start|take|begin|close)",
    "fr": r"attend|attendent|attendait|attendaient|(?:est|sont|etait|etaient) attendue?s?|prevue?s?|prevoit"
    r"|prevoient|prevoyait|espere|esperent|envisage|envisagent|table sur|devrait|devraient",
    "de": r"erwartet|erwarten|erwartete|erwarteten|geplant|geplante[nmrs]?|plant|planen|plante|vorgesehen"
    r"|voraussichtlich|rechnet mit|rechnen mit|hofft|hoffen|soll|sollen|sollte|sollten",
    "es": r"se espera|esperan|previst[oa]s?|preve|preven|preveia|planea|planean|planead[oa]s?|programad[oa]s?"
    r"|deberia|deberian",
    "it": r"previst[oaie]|prevede|prevedono|prevedeva|(?:e|sono|era|erano) attes[oi]|si attende|si aspetta"
    r"|aspettano|programmat[oaie]|pianificat[oaie]|dovrebbe|dovrebbero",
}
# Set phrases built on those words that state a fact ("higher than expected", "comme prévu", "the fine set by
# law"), or a wait rather than an expectation ("attendent toujours leurs salaires"), folded, hyphens as spaces:
# removed before looking for an expectation.
NOT_EXPECTATIONS = (
    r"than (?:expected|planned|forecast|anticipated)|as (?:expected|planned|scheduled)"
    r"|(?:beat|beating|missed|exceeded|above|below) (?:\w+ )?(?:forecasts?|expectations)|analysts'? forecasts?"
    r"|wie (?:erwartet|geplant)|als (?:erwartet|geplant)|gesetzlich vorgesehen|im gesetz vorgesehen"
    r"|comme (?:prevu|attendu)|que prevu|qu'attendu|prevue?s? par la loi|attend(?:ent|aient|ait)? toujours"
    r"|como se esperaba|de lo (?:esperado|previsto)|como estaba previsto|previst[oa]s? (?:por|en) la ley"
    r"|come (?:previsto|atteso)|del previsto|di quanto previsto|previst[oaie] dalla legge|tanto attes[oaie]"
)

# Words that count people in en/fr/de/es/it, lower case without accents: "400 persone" counts people, so it is no
# count of dredgers. The dead and injured, and jobs (a job cut is a person laid off), are counted as people too.
# Words that also count things ("posti" letto, "Stellen", market "puestos") are left out.
PERSON_WORDS = frozenset(
    (
        "people persons person individuals residents inhabitants workers employees staff staffers personnel crew "
        "crews victims passengers fans spectators visitors tourists guests attendees students pupils children "
        "patients soldiers troops military police officers doctors nurses players athletes protesters "
        "demonstrators journalists survivors hostages customers clients users subscribers volunteers firefighters "
        "rescuers miners farmers teachers sailors pilgrims evacuees detainees prisoners inmates migrants refugees "
        "members voters adults men women citizens participants runners delegates families households dead deaths "
        "killed injured wounded missing casualties fatalities jobs "
        "personnes gens habitants salaries employes travailleurs ouvriers personnels agents victimes passagers "
        "supporters spectateurs visiteurs touristes invites eleves etudiants enfants soldats militaires policiers "
        "gendarmes medecins infirmiers joueurs athletes manifestants journalistes survivants otages clients "
        "utilisateurs abonnes benevoles pompiers agriculteurs enseignants marins detenus prisonniers evacues "
        "sinistres refugies membres electeurs adultes hommes femmes citoyens coureurs delegues familles foyers "
        "morts blesses disparus deces emplois "
        "menschen leute personen einwohner bewohner beschaftigte beschaftigten mitarbeiter mitarbeitende "
        "mitarbeitenden angestellte arbeiter arbeitnehmer krafte opfer passagiere fahrgaste zuschauer besucher "
        "gaste touristen schuler studierende studenten kinder patienten soldaten polizisten arzte spieler sportler "
        "athleten demonstranten journalisten uberlebende geiseln kunden nutzer abonnenten freiwillige helfer "
        "feuerwehrleute bergleute landwirte lehrer seeleute pilger haftlinge gefangene migranten gefluchtete "
        "fluchtlinge mitglieder wahler erwachsene frauen teilnehmer teilnehmende laufer delegierte familien "
        "haushalte tote toten verletzte verletzten vermisste arbeitsplatze "
        "personas gente habitantes vecinos residentes trabajadores empleados obreros efectivos victimas pasajeros "
        "aficionados espectadores visitantes turistas invitados alumnos estudiantes ninos pacientes soldados "
        "militares policias agentes medicos enfermeros jugadores atletas manifestantes periodistas supervivientes "
        "rehenes clientes usuarios abonados voluntarios bomberos agricultores profesores marineros detenidos presos "
        "evacuados migrantes refugiados miembros votantes electores adultos hombres mujeres ciudadanos "
        "participantes corredores delegados familias hogares muertos heridos desaparecidos fallecidos empleos "
        "persone gente abitanti residenti lavoratori dipendenti addetti operai vittime passeggeri tifosi "
        "spettatori visitatori turisti ospiti alunni studenti bambini pazienti soldati militari poliziotti agenti "
        "carabinieri medici infermieri giocatori atleti manifestanti giornalisti sopravvissuti ostaggi clienti "
        "utenti abbonati volontari pompieri agricoltori insegnanti marinai detenuti prigionieri sfollati migranti "
        "rifugiati membri elettori adulti uomini cittadini partecipanti corridori delegati famiglie morti feriti "
        "dispersi deceduti"
    ).split()
)
# Words that count people by what they hold or do, in en/fr/de/es/it (lower case without accents): "how many seats"
# is answered by "40,000 spectators", "how many new jobs" by "400 neue Mitarbeiter".
PEOPLE_MEASURES = frozenset(
    (
        "seats places tickets beds positions posts vacancies jobs arrests signatures cases votes hires homes "
        "layoffs redundancies applications applicants "
        "sieges billets lits postes emplois arrestations interpellations cas voix embauches logements "
        "licenciements candidatures "
        "platze sitzplatze karten tickets betten stellen festnahmen unterschriften falle stimmen einstellungen "
        "neueinstellungen wohnungen entlassungen bewerbungen "
        "plazas asientos entradas camas puestos detenciones firmas casos votos contrataciones viviendas despidos "
        "solicitudes "
        "posti biglietti letti arresti firme casi voti assunzioni abitazioni alloggi licenziamenti domande"
    ).split()
)
# The figures of a company's accounts, by kind, in en/fr/de/es/it (lower case without accents): a revenue of
# €1.9bn is no net profit. A result is a profit or a loss (a "résultat net" may be either).
ACCOUNT_FIGURES = {
    "result": r"profits?|earnings|net income|loss|losses|benefices?|resultat net|pertes?|"
    r"(?:netto|rein|konzern|jahres|quartals|betriebs|vorsteuer)?(?:gewinne?s?|verluste?s?)|"
    r"(?:jahres|konzern|netto)?uberschuss(?:es)?|beneficio|beneficios netos|ganancias?|perdidas?|utile netto|"
    r"utili|l'utile|dell'utile|perdita|perdite",
    "revenue": r"revenues?|sales|turnover|chiffre d['’]affaires|ventes|revenus|recettes|"
    r"(?:jahres|konzern|quartals|gesamt)?umsatz(?:e|es)?|umsatzerlose?|erlose?|einnahmen|facturacion|ingresos|"
    r"ventas|fatturato|ricavi|vendite",
}

# Ordinal words from first to twentieth in en/fr/de/es/it, lower case, with their gender and case endings
# ("séptima", "siebten", "quindicesima"): "the seventh edition" and "la 7.ª edición" name the same occurrence.
_ORDINAL_STEMS = (
    ("first", "premier première", "erst", "primer", "prim"),
    ("second", "deuxième second seconde", "zweit", "segund", "second"),
    ("third", "troisième", "dritt", "tercer", "terz"),
    ("fourth", "quatrième", "viert", "cuart", "quart"),
    ("fifth", "cinquième", "fünft", "quint", "quint"),
    ("sixth", "sixième", "sechst", "sext", "sest"),
    ("seventh", "septième", "siebt", "séptim", "settim"),
    ("eighth", "huitième", "acht", "octav", "ottav"),
    ("ninth", "neuvième", "neunt", "noven", "non"),
    ("tenth", "dixième", "zehnt", "décim", "decim"),
    ("eleventh", "onzième", "elft", "undécim", "undicesim"),
    ("twelfth", "douzième", "zwölft", "duodécim", "dodicesim"),
    ("thirteenth", "treizième", "dreizehnt", "decimotercer", "tredicesim"),
    ("fourteenth", "quatorzième", "vierzehnt", "decimocuart", "quattordicesim"),
    ("fifteenth", "quinzième", "fünfzehnt", "decimoquint", "quindicesim"),
    ("sixteenth", "seizième", "sechzehnt", "decimosext", "sedicesim"),
    ("seventeenth", "dix-septième", "siebzehnt", "decimoséptim", "diciassettesim"),
    ("eighteenth", "dix-huitième", "achtzehnt", "decimoctav", "diciottesim"),
    ("nineteenth", "dix-neuvième", "neunzehnt", "decimonoven", "diciannovesim"),
    ("twentieth", "vingtième", "zwanzigst", "vigésim", "ventesim"),
)
ORDINAL_WORDS = {
    word: value
    for value, (english, french, german, spanish, italian) in enumerate(_ORDINAL_STEMS, start=1)
    for word in (
        *english.split(),
        *french.split(),
        *(german + ending for ending in ("e", "en", "er", "es", "em")),
        *(spanish + ending for ending in ("o", "a")),
        *(italian + ending for ending in ("o", "a", "e", "i")),
    )
} | {"primer": 1, "tercer": 3}  # the Spanish short forms before a masculine noun


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(SUPPORTED_LANGUAGES))
    return identifier


def detect_language(text: str, default: str = "en") -> str:
    """The ISO 639-1 code of `text`'s language, or `default` when the text has no letters."""
    if not any(ch.isalpha() for ch in text):
        return default
    code, _ = _identifier().classify(text)
    return str(code)

"""Spotting bridge and total/difference questions, and reading the model's decomposition replies."""

from __future__ import annotations

import pytest

from qa.answering.decompose import (
    aggregation_operation,
    bridge_question,
    is_bridge_question,
    may_be_bridge_question,
    parse_bridge,
    parse_split,
)


@pytest.mark.parametrize(
    "question",
    [
        "Where is the company that won the contract to deepen the channel headquartered?",
        "How many people does the maker of Portugal's Tessera armoured vehicles employ?",
        "How many dredgers are in the fleet of the company deepening the access channel?",
        "Which company did the incoming chief executive of Stadtwerke Elbtal previously run?",
        "Qui dirige le constructeur des blindés 8x8 que le Portugal a choisis en 2022 ?",
        "Wer führt die Verlagsgruppe, die 2024 das Oldenbrücker Tageblatt übernimmt?",
        "¿En qué ciudad tiene su sede la empresa que compró el diario?",
        "Chi guida la società che si è aggiudicata l'appalto?",
        # a participle, a possessive, a clause without a relative pronoun, a German description before its noun
        "Who founded the startup acquired by Meta in 2023?",
        "Where is the firm behind the new harbour bridge based?",
        "Which league does Mateo Ibarra's new club play in?",
        "Who runs the media group the Oldenbrücker Tageblatt is being sold to?",
        "Quel est le chiffre d'affaires de l'entreprise choisie pour construire le tunnel ?",
        "¿Quién dirige la constructora elegida para el puerto?",
        "Quanti dipendenti ha la società vincitrice dell'appalto?",
        "Wie viele Mitarbeiter hat die von Portugal gewählte Firma?",
        "Wie viele Studierende hat die vom Land geförderte Universität?",
        "Quanti dipendenti ha il consorzio vincitore dell'appalto?",
        "Where is the company that won the … contract based?",
    ],
)
def test_a_question_about_a_described_entity_is_a_bridge_question(question: str) -> None:
    assert is_bridge_question(question) and not may_be_bridge_question(question)


@pytest.mark.parametrize(
    "question",
    [
        # people and things, and an adjective after the noun in French, Spanish and Italian: news usually
        # describes them in the article that answers, so two steps are tried only after one retrieval abstains
        "Where was the person appointed to run the port operator born?",
        "Who developed the daily migraine pill authorised by the regulator?",
        "En quelle année est né l'entraîneur danois recruté par le club ?",
        "¿Qué empresa dirigía la mujer elegida para suceder al presidente?",
        "Quanti abitanti ha il comune andaluso scelto dal gruppo per la fabbrica?",
        "Il satellite andato perduto dopo il lancio, quanto pesava?",
        "How many people attended the festival held in Turin?",
        "Quel âge a l'homme interpellé par la police ?",
        "¿Cuántos años tiene la mujer detenida por la policía?",
    ],
)
def test_a_question_describing_a_person_or_thing_may_be_a_bridge_question(question: str) -> None:
    assert may_be_bridge_question(question) and not is_bridge_question(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who did Zuckerberg meet in Korea?",
        "What was the name of the underwater vehicle that surveyed the Norwegian coral reef?",
        "How long is the cold-water coral reef mapped off northern Norway?",
        "Wie hoch ist das Budget des Leipziger Programms?",
        # what the question asks for is the described entity itself, or the participle is the question's verb
        "Who is the man that met Zuckerberg?",
        "Quelle est l'entreprise choisie pour construire le tunnel ?",
        "Who is Meta's chief executive?",
        "What was the price offered by Meta?",
        "On what date was the Albor-2 satellite launched?",
        "Which is the company chosen to build the tunnel?",
        "Qual è la società scelta per approfondire il canale?",
        "Wer ist der von Portugal gewählte Hersteller?",
        "Who is the woman appointed to run the port operator?",
        "How long did the restoration of the castle take?",
        "Quel est le médicament autorisé par l'agence ?",
        "Wie heißt die Firma, die den Auftrag bekam?",
        "Quel est le nom de l'entreprise choisie pour construire le tunnel ?",
        # a name beside its kind; a participle or gerund that is the question's verb; a verb of the present
        "When was the company Brevant founded?",
        "Why was the company fined by the regulator?",
        "How many times has the club played in Europe?",
        "How many visitors is the city expecting?",
        "Combien de salariés l'usine emploie en France ?",
        "Wie lange dauert das für Samstag geplante Feuerwerk?",
        "Where are Brevant's headquarters?",
        # a yes/no question; a gerund that is the question's verb; a French present tense before "par"
        "Was the plant built by Brevant closed?",
        "Did the company chosen by Portugal win the tender?",
        "Where is the team playing?",
        "Combien de voitures l'usine produit par jour ?",
    ],
)
def test_a_question_naming_what_it_asks_about_is_not_a_bridge_question(question: str) -> None:
    assert not is_bridge_question(question)


@pytest.mark.parametrize(
    ("question", "operation"),
    [
        ("How many entries were submitted in total to the 14th and 15th editions?", "sum"),
        ("How many people died in Storm Aurèle and Storm Bérénice combined?", "sum"),
        ("How many more stores does Mercaleste operate than FrescoVía?", "difference"),
        ("By how much did the budget increase between 2023 and 2024?", "difference"),
        ("Um wie viele ist die Zahl der Nächtigungen gestiegen?", "difference"),
        ("¿Cuántas tiendas más que FrescoVía tiene Mercaleste?", "difference"),
        ("Quanti TEU in più ha movimentato il porto di Tarragona rispetto a Livorno?", "difference"),
        ("Wie viele Arbeitsplätze mehr hat das Werk in Dresden als das in Leipzig?", "difference"),
        ("How much bigger is the Győr plant than the Debrecen plant?", "difference"),
        ("How many entries did the 14th and 15th prizes receive between them?", "sum"),
        ("How many more days will the strike last?", None),
        ("How many more days will the strike last than planned?", None),
        ("¿Cuántos días más durará la huelga?", None),
        ("¿Cuántos días más cree el sindicato que durará la huelga?", None),
        ("Combien de jours de plus durera la grève ?", None),
        ("How many firms employ more than 500 people?", None),
        ("Wie viele Firmen haben mehr als 500 Mitarbeiter?", None),
        ("How many more stores does Mercaleste operate compared to FrescoVía?", "difference"),
        ("Wie viele Touristen mehr als 2023 kamen 2024 nach Kaltenbrunn?", "difference"),
        ("Quanti TEU in più ha movimentato Tarragona di quanti ne abbia movimentati Livorno?", "difference"),
        ("What is the latest reported total cost of the programme?", None),
        ("¿Cuántas personas murieron en total por las inundaciones, según el último balance?", None),
        ("Who won the 15th Lanterna prize?", None),
    ],
)
def test_a_total_of_two_figures_or_a_difference_is_recognised(question: str, operation: str | None) -> None:
    assert aggregation_operation(question) == operation


def test_the_bridge_reply_gives_the_name() -> None:
    assert parse_bridge("Name: **Brevant Marine Works**\n") == "Brevant Marine Works"
    assert parse_bridge("The passages do not say.") is None
    assert parse_bridge("Name: ") is None


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Where is the company that won the Livorno contract headquartered?", "Where is Brevant headquartered?"),
        ("How much does the satellite that reached orbit from Kourou weigh?", "How much does Brevant weigh?"),
        ("At what altitude is the observatory where the comet was discovered?", "At what altitude is Brevant?"),
        (
            "How many dredgers are in the fleet of the company deepening the channel?",
            "How many dredgers are in the fleet of Brevant?",
        ),
        ("Wer führt die Verlagsgruppe, die 2024 das Tageblatt übernimmt?", "Wer führt Brevant?"),
        ("Which league does Mateo Ibarra's new club play in?", "Which league does Brevant play in?"),
        ("When was the club Ibarra joined founded?", "When was Brevant founded?"),
        (
            "What is the capacity of the stadium of the club Ibarra signed for?",
            "What is the capacity of the stadium of Brevant?",
        ),
        (
            "How many employees does the company chosen to build the tunnel have?",
            "How many employees does Brevant have?",
        ),
        (
            "Wie viele Menschen arbeiten in dem für den Chip vorgesehenen Werk?",
            "Wie viele Menschen arbeiten in Brevant?",
        ),
        ("Where is the firm Meta acquired in 2023 based?", "Where is Brevant based?"),
        ("Where was the player signed by Real born?", "Where was Brevant born?"),
        ("Where is the company that Meta acquired?", "Where is Brevant?"),
        ("Where is the firm that the regulator fined based?", "Where is Brevant based?"),
        ("When was the club that Ibarra joined founded?", "When was Brevant founded?"),
        ("Where is the player that United signed?", "Where is Brevant?"),
        ("Where is the company that Meta has acquired?", "Where is Brevant?"),
        ("Where is the company that he founded?", "Where is Brevant?"),
        ("Where is the team that Ibarra coaches based?", "Where is Brevant based?"),
        ("When was the company that Meta took over founded?", "When was Brevant founded?"),
        (
            "Quel est le chiffre d'affaires de l'entreprise construite par Brevant ?",
            "Quel est le chiffre d'affaires de Brevant?",
        ),
        ("Does Ibarra's new club play in Europe?", "Does Brevant play in Europe?"),
        ("Où est basé le constructeur retenu par le Portugal ?", "Où est basé Brevant?"),
        ("¿Quién dirige la constructora elegida para el puerto?", "¿Quién dirige Brevant?"),
        ("Dove ha sede l'azienda scelta per costruire il ponte?", "Dove ha sede Brevant?"),
        ("Who did Zuckerberg meet in Korea?", "Who did Zuckerberg meet in Korea? (Brevant)"),
        # a relative clause describes the nearest noun, unless the noun before "of" is itself a kind of entity
        ("Who is the mayor of the town where the plant will be built?", "Who is the mayor of Brevant?"),
        (
            "Combien a coûté la restauration du lieu où le festival s'installe ?",
            "Combien a coûté la restauration du Brevant?",
        ),
        ("In quale città vive l'autrice del romanzo che ha vinto il premio?", "In quale città vive Brevant?"),
        (
            "When did the spokesman of the company that lost the tender resign?",
            "When did the spokesman of Brevant resign?",
        ),
        ("Where was the mayor of the town that hosts the summit born?", "Where was the mayor of Brevant born?"),
        # a person described first: the company is what the question describes (people only after abstaining)
        (
            "Which contract did the woman appointed by the board sign with the company that builds ships?",
            "Which contract did the woman appointed by the board sign with Brevant?",
        ),
    ],
)
def test_the_second_hop_asks_about_the_name_instead_of_the_description(question: str, asked: str) -> None:
    assert bridge_question(question, "Brevant") == asked


def test_a_person_described_is_replaced_only_when_people_count() -> None:
    question = "Where was the person appointed to run the port operator born?"
    assert bridge_question(question, "Brevant", wide=True) == "Where was Brevant born?"
    assert bridge_question(question, "Brevant") == f"{question} (Brevant)"


def test_the_split_reply_gives_two_different_questions() -> None:
    reply = "1. How many entries did the 14th edition get?\n2) How many entries did the 15th edition get?"
    assert parse_split(reply) == (
        "How many entries did the 14th edition get?",
        "How many entries did the 15th edition get?",
    )
    assert parse_split("1. How many?\n2. How many?") is None
    assert parse_split("How many entries were there?") is None


def test_the_description_of_a_bridge_question_is_what_it_asks_about() -> None:
    from qa.answering.decompose import bridge_description

    assert bridge_description("How many people does the maker of Portugal's Tessera armoured vehicles employ?") == (
        "the maker of Portugal's Tessera armoured vehicles"
    )
    assert bridge_description("In which city is the publisher that agreed in 2024 to buy the Tageblatt based?") == (
        "the publisher that agreed in 2024 to buy the Tageblatt"
    )
    assert bridge_description("Who won the race?") is None


def test_names_are_listed_as_written_without_a_question_word_or_stop_words() -> None:
    from qa.answering.decompose import names_in

    question = "How many people does the maker of Portugal's Tessera armoured vehicles employ?"
    assert names_in(question, question=True) == ["Portugal", "Tessera"]
    assert names_in("Chi guida la società della Darsena Europa di Livorno?", question=True) == [
        "Darsena Europa di Livorno"
    ]
    assert names_in("Who runs it?", question=True) == []
    # In an answer the first word is usually the entity; "The" and conjunctions are no part of a name.
    assert names_in("Tidewell is deepening the channel. The company is Dutch.") == ["Tidewell", "Dutch"]
    assert names_in("Brevant, based in Porto, makes the Tessera vehicles [1].") == ["Brevant", "Porto", "Tessera"]
    assert names_in("Repsol y Iberdrola firmaron.") == ["Repsol", "Iberdrola"]
    assert names_in("") == [] and names_in("’s ’s '") == []

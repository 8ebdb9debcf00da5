"""A figure counts people or things and names one figure of a company's accounts, in any of the languages."""

from __future__ import annotations

import pytest

from qa.answering.measures import (
    account_figures,
    asks_count_of_things,
    counts_people,
    measures_other,
    money_kinds,
)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("How many dredgers are in the fleet of Brevant?", "en"),
        ("How many new stores did Mercaleste open?", "en"),
        ("Combien de navires compte la flotte ?", "fr"),
        ("Wie viele Bagger hat die Firma?", "de"),
        ("¿Cuántas tiendas tiene Mercaleste?", "es"),
        ("Quante draghe ha la società?", "it"),
    ],
)
def test_a_question_counting_things_is_recognised(question: str, language: str) -> None:
    assert asks_count_of_things(question, language)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("How many people died in the storm?", "en"),
        ("How many died in the storm?", "en"),
        ("How many jobs will the plant create?", "en"),
        ("Combien de salariés compte l'usine ?", "fr"),
        ("Wie viele sind gestorben?", "de"),
        ("Wie viele Menschen arbeiten dort?", "de"),
        ("¿Cuántos muertos dejó la tormenta?", "es"),
        ("Quanti dipendenti ha la società?", "it"),
        ("What did Brevant build?", "en"),
        ("How many troops were sent?", "en"),
        ("Combien de manifestants ont défilé ?", "fr"),
        ("Wie viele Mitarbeiterinnen hat die Firma?", "de"),
        ("Quanta gente è venuta?", "it"),
        ("What quantities of sand were moved?", "en"),
        ("Quanto vale l'appalto?", "it"),
        ("How many seats does the new stadium have?", "en"),
        ("Wie viele neue Stellen entstehen?", "de"),
        ("How many Britons died in the crash?", "en"),
        ("¿Cuántos españoles viajaban?", "es"),
    ],
)
def test_a_question_counting_people_or_nothing_named_counts_no_things(question: str, language: str) -> None:
    assert not asks_count_of_things(question, language)


def test_a_figure_followed_by_people_counts_people() -> None:
    assert counts_people("Il cantiere impiegherà fino a 400 persone nella fase di picco.", "400")
    assert counts_people("Das Werk stellt 400 neue Mitarbeiter ein.", "400")
    assert not counts_people("The fleet has 400 dredgers and 400 people.", "400"), "one of them counts dredgers"
    assert not counts_people("The fleet has 27 dredgers.", "400"), "it does not state the figure"
    assert not counts_people("The yard built 400. Workers then left.", "400"), "a sentence break ends the window"


def test_account_figures_are_named_across_languages() -> None:
    assert account_figures("Le chiffre d’affaires a atteint 1,9 milliard d'euros.") == {"revenue"}
    assert account_figures("Der Konzerngewinn stieg auf 80 Millionen Euro.") == {"result"}
    assert account_figures("Der Gewinner erhält 5.000 Euro, fehlerlos.") == set(), "a winner is no profit"
    assert account_figures("La perdita netta è di 12 milioni; il fatturato cresce.") == {"result", "revenue"}
    assert account_figures("What profit did Brevant make?") == account_figures("a net loss of €12m")


def test_a_figure_of_another_measure_is_told_apart() -> None:
    profit = "What net profit did Brevant Marine Works report for 2023?"
    revenue = "The company reported revenue of €1.9bn for 2023, up from €1.6bn a year earlier."
    claim = "Brevant reported a net profit of €1.9bn [1]."
    assert measures_other(profit, claim, "en", "1", revenue)
    assert not measures_other(profit, claim, "en", "1", "Net profit rose to €1.9bn on revenue of €12bn.")
    named = "Brevant reported a net profit of €84m on revenue of €1.9bn [1]."
    assert not measures_other(profit, named, "en", "1", revenue), "the answer says the figure is a revenue"
    dredgers = "How many dredgers are in the fleet of the company deepening the channel?"
    people = "Il cantiere impiegherà fino a 400 persone nella fase di picco."
    assert measures_other(dredgers, "The fleet has 400 dredgers.", "en", "400", people)
    assert not measures_other(dredgers, "It has 27 dredgers and employs 400 people.", "en", "400", people)
    assert not measures_other(dredgers, "The fleet has 27 dredgers.", "en", "27", "La flotta conta 27 draghe.")
    assert not measures_other("How many people work there?", "400 people.", "en", "400", people)


def test_a_figure_is_money_of_the_kind_its_own_clause_names() -> None:
    assert money_kinds("The company reported revenue of €1.9bn for 2023.", "1") == {"revenue"}
    assert money_kinds("Le chiffre d'affaires atteint 1,9 milliard d'euros.", "9") == {"revenue"}
    assert money_kinds("Revenue rose to €1.9bn while the bottom line improved to €84m.", "84") == set()
    assert money_kinds("The carmaker, whose sales fell 10%, will cut 1,500 jobs.", "1500") is None, "no money"
    job_losses = "How many job losses did the carmaker announce?"
    assert not measures_other(job_losses, "1,500 jobs.", "en", "1500", "Sales fell, and it will cut 1,500 jobs.")

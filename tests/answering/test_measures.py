"""A figure counts people or things and names one figure of a company's accounts, in any of the languages."""

from __future__ import annotations

import pytest

from qa.answering.measures import account_figures, counted_things, counts_people, measures_other


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
    assert counted_things(question, language)


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
    ],
)
def test_a_question_counting_people_or_nothing_named_counts_no_things(question: str, language: str) -> None:
    assert not counted_things(question, language)


def test_a_figure_followed_by_people_counts_people() -> None:
    assert counts_people("Il cantiere impiegherà fino a 400 persone nella fase di picco.", "400")
    assert counts_people("Das Werk stellt 400 neue Mitarbeiter ein.", "400")
    assert not counts_people("The fleet has 400 dredgers and 400 people.", "400"), "one of them counts dredgers"
    assert not counts_people("The fleet has 27 dredgers.", "400"), "it does not state the figure"


def test_account_figures_are_named_across_languages() -> None:
    assert account_figures("Le chiffre d'affaires a atteint 1,9 milliard d'euros.") == {"revenue"}
    assert account_figures("Der Konzerngewinn stieg auf 80 Millionen Euro.") == {"profit"}
    assert account_figures("Der Gewinner erhält 5.000 Euro.") == set(), "a winner is no profit"
    assert account_figures("La perdita netta è di 12 milioni; il fatturato cresce.") == {"loss", "revenue"}


def test_a_figure_of_another_measure_is_told_apart() -> None:
    profit = "What net profit did Brevant Marine Works report for 2023?"
    revenue = "The company reported revenue of €1.9bn for 2023, up from €1.6bn a year earlier."
    assert measures_other(profit, "en", "1", revenue)
    assert not measures_other(profit, "en", "1", "Net profit rose to €1.9bn on revenue of €12bn.")
    dredgers = "How many dredgers are in the fleet of the company deepening the channel?"
    assert measures_other(dredgers, "en", "400", "Il cantiere impiegherà fino a 400 persone nella fase di picco.")
    assert not measures_other(dredgers, "en", "27", "La flotta conta 27 draghe.")
    assert not measures_other("How many people work there?", "en", "400", "Il cantiere impiegherà 400 persone.")

"""Splitting "how many more … than …" questions into their two one-figure questions, in code."""

from __future__ import annotations

import pytest

from qa.answering.comparison import change_parts, comparison_parts, separates_sides


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How many more passengers did Lyon airport handle in 2023 than in 2022?",
            (
                "How many passengers did Lyon airport handle in 2023?",
                "How many passengers did Lyon airport handle in 2022?",
            ),
        ),
        (
            "How many more seats does Nordhall Arena have than its neighbour Westpark Stadium?",
            ("How many seats does Nordhall Arena have?", "How many seats does Westpark Stadium have?"),
        ),
        (
            "In 2023, how many more containers did Gdańsk's Baltic Hub handle than Hamburg's Eurogate terminal?",
            (
                "In 2023, how many containers did Gdańsk's Baltic Hub handle?",
                "In 2023, how many containers did Hamburg's Eurogate handle?",
            ),
        ),
        (
            "Combien de visiteurs de plus la 12e édition du salon a-t-elle attirés par rapport à la 11e ?",
            (
                "Combien de visiteurs la 12e édition du salon a-t-elle attirés ?",
                "Combien de visiteurs la 11e édition du salon a-t-elle attirés ?",
            ),
        ),
        (
            "How many visitors more did the sixth book fair draw than the fifth?",
            ("How many visitors did the sixth book fair draw?", "How many visitors did the fifth book fair draw?"),
        ),
        (
            "Wie viele Besucher mehr zählte die Messe 2024 als 2023?",
            ("Wie viele Besucher zählte die Messe 2024?", "Wie viele Besucher zählte die Messe 2023?"),
        ),
        (
            "¿Cuántos empleados más que Ferrovial Norte tiene Grupo Atalaya?",
            ("¿Cuántos empleados tiene Grupo Atalaya?", "¿Cuántos empleados tiene Ferrovial Norte?"),
        ),
        (
            "Quanti TEU in più ha movimentato nel 2024 il porto di Genova rispetto al porto di La Spezia?",
            (
                "Quanti TEU ha movimentato nel 2024 il porto di Genova?",
                "Quanti TEU ha movimentato nel 2024 il porto di La Spezia?",
            ),
        ),
        (
            "Combien de passagers de plus l'aéroport a-t-il accueillis en 2023 qu'en 2022 ?",
            (
                "Combien de passagers l'aéroport a-t-il accueillis en 2023 ?",
                "Combien de passagers l'aéroport a-t-il accueillis en 2022 ?",
            ),
        ),
    ],
)
def test_the_two_sides_of_a_comparison_get_a_question_each(question: str, parts: tuple[str, str]) -> None:
    assert comparison_parts(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "By how many runners did the field grow from the 9th to the 10th race?",  # a change: `change_parts`
        "How many people died in Storm Aurèle and Storm Bérénice combined?",  # a total
        "How many more days will the strike last?",  # nothing to compare with
        "Who won more votes than expected?",
        # Two names the other side could stand against: Toyota is compared with Volkswagen, not Germany.
        "How many more cars did Volkswagen sell in Germany than Toyota?",
        "Wie viele Mitarbeiter mehr hat Siemens in Deutschland als Bosch?",
        # Words after the other side would be lost from both questions.
        "How many more medals did France win than Germany at the 2024 Olympics?",
        "Quanti voti in più ha ottenuto Rossi rispetto a Bianchi al ballottaggio?",
        "How many more visitors did the 10th edition attract than the 9th edition of the Lyon fair?",
    ],
)
def test_other_shapes_are_left_to_the_model(question: str) -> None:
    assert comparison_parts(question) is None


def test_a_split_that_still_spans_both_seasons_is_refused() -> None:
    question = "Um wie viele Nächtigungen ist Kaltenbrunn von der Saison 2022/23 zur Saison 2023/24 gewachsen?"
    both = ("Wie viele Nächtigungen von 2022/23 zur Saison 2023/24?", "Wie viele Nächtigungen von 2023/24 zu 2022/23?")
    assert not separates_sides(*both, question)
    one_each = ("Wie viele Nächtigungen in der Saison 2022/23?", "Wie viele Nächtigungen in der Saison 2023/24?")
    assert separates_sides(*one_each, question)
    # A third year the question names (when the festival was founded) does not make the parts alike.
    festival = "How many more visitors did the festival founded in 2010 draw in 2024 than in 2022?"
    parts = ("How many visitors did the festival founded in 2010 draw in 2024?", "… founded in 2010 draw in 2022?")
    assert separates_sides(*parts, festival)


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "By how many runners did the field grow from the 9th to the 10th city race?",
            ("What was the field (the 9th city race)?", "What was the field (the 10th city race)?"),
        ),
        (
            "By how much did the budget of the tram project increase between its approval in 2021 and the revision?",
            (
                "What was the budget of the tram project (its approval in 2021)?",
                "What was the budget of the tram project (the revision)?",
            ),
        ),
        (
            "De combien le nombre d'abonnés a-t-il augmenté entre 2022 et 2023 ?",
            ("Quel était le nombre d'abonnés (2022) ?", "Quel était le nombre d'abonnés (2023) ?"),
        ),
        (
            "Um wie viele ist die Zahl der Gäste in Lenzau von der Saison 2022/23 zur Saison 2023/24 gestiegen?",
            (
                "Wie hoch war die Zahl der Gäste in Lenzau (der Saison 2022/23)?",
                "Wie hoch war die Zahl der Gäste in Lenzau (Saison 2023/24)?",
            ),
        ),
        (
            "In 2023, by how much did sales grow from January to March?",
            ("In 2023, what was sales (January)?", "In 2023, what was sales (March)?"),
        ),
        (
            "¿Cuánto creció la plantilla de Talleres Ebro entre 2021 y 2023?",
            ("¿Cuál era la plantilla de Talleres Ebro (2021)?", "¿Cuál era la plantilla de Talleres Ebro (2023)?"),
        ),
        (
            "Di quanto è aumentato il numero di iscritti tra il 2022 e il 2024?",
            ("Quanto era il numero di iscritti (il 2022)?", "Quanto era il numero di iscritti (il 2024)?"),
        ),
    ],
)
def test_the_two_ends_of_a_change_get_a_question_each(question: str, parts: tuple[str, str]) -> None:
    assert change_parts(question) == parts


def test_a_comparison_is_no_change_and_a_change_no_comparison() -> None:
    assert change_parts("How many more passengers did Lyon airport handle in 2023 than in 2022?") is None
    assert comparison_parts("By how much did the ticket price rise from 2022 to 2024?") is None
    # Odd spacing and long texts give no split rather than an error or a long search.
    assert change_parts("By how much did X grow from   to 2020?") is None
    assert change_parts("By how much did " + "x grow from a to b " * 400 + "!") is None

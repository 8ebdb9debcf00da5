"""Tests for the multilingual answer normaliser."""

from __future__ import annotations

import pytest

from qa.eval.normalize import normalize, normalize_answer, tokens, unify_numbers


@pytest.mark.parametrize(
    "text",
    ["350,000", "350 000", "350.000", "350000", "350\u202f000", "350\u00a0000", "350\u2009000", "350'000"],
)
def test_thousands_formats_unify(text: str) -> None:
    assert normalize(text) == "350000"


@pytest.mark.parametrize(("text", "expected"), [("3,5", "3.5"), ("3.5", "3.5"), ("3,50", "3.5"), ("0,75", "0.75")])
def test_decimal_comma_and_point_unify(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_mixed_separators_en_and_eu() -> None:
    assert normalize("1,234.56") == normalize("1.234,56") == normalize("1 234,56") == "1234.56"


def test_numbers_inside_sentences() -> None:
    assert normalize("En 2019, 350 000 personnes") == "en 2019 350000 personnes"
    assert normalize("Die Inflation lag bei 3,5 %.") == "die inflation lag bei 3.5"
    assert normalize("Inflation was 3.5%.") == "inflation was 3.5"


def test_dates_and_lists_are_not_numbers_merged() -> None:
    assert normalize("12.03.2024") == "12.03.2024"
    assert normalize("1,2,3") == "1 2 3"
    assert unify_numbers("2019 2020") == "2019 2020"


def test_accents_case_punctuation_whitespace() -> None:
    assert normalize("  Élysée — « Palais »!  ") == "elysee palais"
    assert normalize("São Paulo") == "sao paulo"
    assert normalize("Müller-Lüdenscheidt") == "muller ludenscheidt"
    assert normalize("Straße") == "strasse"
    assert normalize("L'Été\n\tIndien") == "l ete indien"


def test_citation_markers_are_dropped() -> None:
    assert normalize("Paris [1] and Lyon [2, 3].") == "paris and lyon"


@pytest.mark.parametrize(
    ("answer", "language", "expected"),
    [
        ("The Eiffel Tower", "en", "eiffel tower"),
        ("an apple", "en", "apple"),
        ("Le Monde", "fr", "monde"),
        ("l'Élysée", "fr", "elysee"),
        ("Les Bleus", "fr", "bleus"),
        ("une grève", "fr", "greve"),
        ("Der Spiegel", "de", "spiegel"),
        ("eine Krise", "de", "krise"),
        ("El País", "es", "pais"),
        ("las elecciones", "es", "elecciones"),
        ("la casa", None, "casa"),
        ("A", "en", "a"),
    ],
)
def test_leading_articles_removed_from_acceptable_answer(answer: str, language: str | None, expected: str) -> None:
    assert normalize_answer(answer, language) == expected


def test_articles_only_of_the_question_language() -> None:
    assert normalize_answer("Die Hard", "en") == "die hard"
    assert normalize_answer("The Guardian", "de") == "the guardian"


def test_cjk_tokens_are_characters() -> None:
    assert tokens(normalize("东京奥运会，2021年")) == ["东", "京", "奥", "运", "会", "2021", "年"]

"""Sentence spans, numbers and key terms across languages."""

from __future__ import annotations

import pytest

from qa.text import citation_numbers, fold, names, numbers, sentence_spans, strip_citations


def test_sentence_spans_respect_abbreviations() -> None:
    text = "M. Cho a parlé. Dr. Weber war da! ¿Quién vino? Sí. 350 000 unités ont été vendues."
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "M. Cho a parlé.",
        "Dr. Weber war da!",
        "¿Quién vino?",
        "Sí.",
        "350 000 unités ont été vendues.",
    ]


def test_numbers_unify_separators() -> None:
    assert numbers("350,000 and 350 000 and 350.000 and 350\u202f000") == {"350000"}
    assert numbers("no digits") == set()


def test_names_and_folding() -> None:
    assert {"william", "cho", "kwon", "bong-seok", "2024"} <= names(
        "He met William Cho and Kwon Bong-seok in 2024 [1]."
    )
    assert "1" not in names("He met William Cho [1].")
    assert fold("Séoul Ünïcödé") == "seoul unicode"


def test_citation_markers() -> None:
    assert citation_numbers("A [1] and B [12].") == [1, 12]
    assert strip_citations("A [1] and B [12].") == "A and B."


def test_quantities_pair_figures_with_their_units_across_languages() -> None:
    from qa.text import quantities

    assert quantities("surveyed over 12 days at 320 metres") == {("12", "day"), ("320", "m")}
    expected = {("180", "kg"), ("3400", "hectare"), ("12", "percent")}
    assert quantities("pesa 180 kilos; 3.400 hectáreas; 12 %") == expected
    assert quantities("22,000 spectators in 2024 an agreement") == set(), "no unit, and 'an' is not 'years'"
    assert quantities("the M4 metro line, 4 metro stations") == set(), "a metro is not a metre"


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("Le 3 juin, 400 personnes", {"400"}),
        ("On June 3, 2024, three people", {"2024"}),
        ("am 5. Juni starben 7 Menschen", {"7"}),
        ("el 3 de junio de 2024; le 1er mai", {"2024"}),
        ("Jan. 5, and 12 Mio. Euro", {"12"}),
        ("In March 30 people died", {"30"}),
        ("up to 30 may have died", {"30"}),
        ("In March 30 to 40 people died", {"30", "40"}),
        ("The toll rose to 12. June was calm; on 3 May the firm", {"12"}),
        ("the 3rd of June, 32 juin", {"32"}),
        ("du 3 au 5 juin; les 5 et 6 juin; Another 5 may require surgery", {"5"}),
    ],
)
def test_undated_numbers_leave_out_the_days_of_dates(text: str, counts: set[str]) -> None:
    from qa.text import undated_numbers

    assert undated_numbers(text) == counts


@pytest.mark.parametrize(
    "text",
    [
        "Der Kaufpreis liegt bei rund 38 Mio. Euro, sagte er.",
        "Es kamen ca. 300 Menschen.",
        "The U.S. President spoke on Monday.",
        "Les prix ont augmenté d'env. 20 % en un an.",
        "Die Arbeiten begannen am 5. März 2024 im Hafen.",
        "Samsung's chairman Jay Y. Lee met him.",
        "Il a rencontré M. Cho à Séoul.",
    ],
)
def test_news_abbreviations_amounts_initials_and_dates_do_not_end_a_sentence(text: str) -> None:
    assert sentence_spans(text + " Next one.") == [(0, len(text)), (len(text) + 1, len(text) + 10)]


def test_a_sentence_before_an_opening_guillemet_with_a_space_ends() -> None:
    text = "Le site ouvrira en 2026.\n\n« La France est un marché exigeant », a déclaré Mme Sorbini."
    assert [text[s:e] for s, e in sentence_spans(text)][1].startswith("« La France")


def test_a_sentence_ending_in_a_number_still_ends() -> None:
    assert len(sentence_spans("The toll rose to 23. Rescuers kept searching.")) == 2


def test_words_of_one_meaning_in_different_languages_become_one_term() -> None:
    from qa.text import key_terms, same_meaning

    def terms(text: str) -> set[str]:
        return same_meaning(key_terms(text), text)

    english = terms("Six people died in Germany on a Tuesday in December.")
    german = terms("Sechs Menschen starben am Dienstag im Dezember in Deutschland.")
    french = terms("L'Allemand est mort mardi 3 décembre ; six victimes.")
    assert {"6", "weekday:2", "month:12", "country:1"} <= english & german
    assert {"6", "weekday:2", "month:12", "country:1"} <= french
    assert same_meaning({"dell'anno", "l'allemand"}, "dell'anno, l'allemand") == {"anno", "country:1"}
    # Names keep their own words: a surname, a bank, an Irish name, Italian "mai" (never).
    assert terms("Marco Russo e la Deutsche Bank") >= {"russo"}
    assert terms("Conor O'Brien non è mai venuto") >= {"o'brien", "mai"}


def test_spelled_numbers_read_number_words_but_not_words_that_only_look_like_one() -> None:
    from qa.text import spelled_numbers

    assert spelled_numbers("Die Zahl der Todesopfer ist auf sechs gestiegen") == {"6"}
    assert spelled_numbers("trois blessés et douze évacués") == {"3", "12"}
    # "due to", French "neuf" (new), "Sept." for September, Spanish "once" (eleven) but English "once": no figures.
    assert spelled_numbers("Due to the storm, the neuf stadium opened once, on Sept. 5") == set()
    assert spelled_numbers("Onze medewerkers werken ten noorden; doce de leite") == set()  # Dutch, Portuguese


def test_date_days_are_offsets_in_the_text_as_written() -> None:
    from qa.text import date_days

    text = "ﬁnal ½ report™: am 5. März, le 3 juin"
    assert [text[start:end] for start, end in date_days(text)] == ["5", "3"]
    loose = "from 3 to 5 June, on June 7 with, June 8–9, on June 10 and 11."
    found = [loose[start:end] for start, end in date_days(loose, loose=True)]
    assert found == ["3 to 5", "7", "8–9", "10 and 11"]


def test_weekdays_are_named_in_every_language() -> None:
    from qa.text import weekdays_named

    assert weekdays_named("Il a atterri mardi soir, avant le sommet de jeudi.") == {1, 3}
    assert weekdays_named("Am Sonntag und am Sábado") == {6, 5}
    assert weekdays_named("Mardi gras") == {1}
    assert weekdays_named("The deal closed in March.") == set()

"""Figures in national formats read from answers, combined in code and written back in the answer's language."""

from __future__ import annotations

from qa.answering.figures import combine, figures, format_figure, is_year_figure


def _values(text: str) -> list[float]:
    return [figure.value for figure in figures(text)]


def test_thousands_separators_and_decimals_of_each_language() -> None:
    assert _values("812.000 TEU, 946,500 TEU, 14 200 coureurs, 1.140 tiendas") == [812000, 946500, 14200, 1140]
    assert _values("rund 1,31 Mio. Nächtigungen, 1.42 million nights, 2,5 %") == [1_310_000, 1_420_000, 2.5]


def test_scale_words_currency_and_number_words() -> None:
    budget, loan = figures("620 Millionen Euro und €1.2bn")
    assert (budget.value, budget.unit, loan.value, loan.prefix) == (620e6, " Millionen Euro", 1.2e9, "€")
    assert _values("La tempête a fait deux morts; die Zahl ist auf sechs gestiegen") == [2, 6]


def test_ordinals_and_codes_are_not_figures_and_years_are_told_apart() -> None:
    assert _values("the 14th edition, the 9e édition, 8x8 vehicles") == []
    year, count = figures("In 2024 it handled 812,000 TEU")
    assert is_year_figure(year) and not is_year_figure(count)


def test_the_day_of_a_date_is_no_figure() -> None:
    assert _values("On June 3, 12 people died; le 5 juin, 2 500 emplois; am 7. Mai 40 Tote") == [12, 2500, 40]
    assert _values("Jan. 5, and 12 Mio. Euro; el 1 de marzo de 2025") == [12_000_000, 2025]


def test_the_result_keeps_the_scale_and_unit_of_its_figures() -> None:
    old, new = figures("620 Millionen Euro → 710 Millionen Euro")
    assert format_figure(combine("difference", old.value, new.value), "de", old) == "90 Millionen Euro"
    first, second = figures("1,31 Mio. und 1,42 Mio.")
    assert format_figure(combine("difference", first.value, second.value), "de", first) == "110.000"
    assert format_figure(combine("sum", 212, 268), "en") == "480"
    assert format_figure(combine("difference", 946_500, 812_000), "en") == "134,500"

"""Time expressions in questions become publication windows and recency preferences, in five languages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.errors import InputError
from qa.ingest.readers import read_paths
from qa.retrieval.timeparse import TimeHint, parse_time_hint
from tests.conftest import GOLD, SAMPLES

TODAY = date(2025, 6, 18)  # a Wednesday; this week began on Monday 16 June


def _day(text: str) -> date:
    return date.fromisoformat(text)


# question, window start (None: open), window end (None: open), prefer_recent
CASES = [
    # recency words: a preference, never a window
    ("What is the latest death toll from the floods?", None, None, True),
    ("What is the most recent cost estimate for the metro line?", None, None, True),
    ("Which is the newest model in the range?", None, None, True),
    ("How many workers are now on strike?", None, None, True),
    ("Who currently leads the company?", None, None, True),
    ("How many homes have been evacuated so far?", None, None, True),
    ("How many people have died to date?", None, None, True),
    ("Is Kessler still chief executive?", None, None, True),
    ("What is Veltrix's current revenue forecast?", None, None, True),
    ("As of today, who runs the utility?", None, None, True),
    ("What happened in the past few days?", None, None, True),
    # today and yesterday
    ("What happened today?", "2025-06-18", None, False),
    ("Who won today's stage?", "2025-06-18", None, False),
    ("Who is the chief executive today?", None, None, True),  # "today" as "nowadays": no window
    ("What did the central bank decide yesterday?", "2025-06-17", None, False),
    ("What happened the day before yesterday?", "2025-06-16", None, False),
    # relative periods open the window at their start
    ("What did the minister announce this week?", "2025-06-16", None, False),
    ("What did the minister announce last week?", "2025-06-09", None, False),
    ("Which companies did IPOs in the past 10 days?", "2025-06-08", None, False),
    ("What did the board decide over the past two weeks?", "2025-06-04", None, False),
    ("Which records fell in the past 3 months?", "2025-03-18", None, False),
    ("What happened in the last 24 hours?", "2025-06-17", None, False),
    ("What happened over the past week?", "2025-06-11", None, False),
    ("What did the company report last month?", "2025-05-01", None, False),
    ("What did the company report this month?", "2025-06-01", None, False),
    ("What did the company report earlier this month?", "2025-06-01", None, False),
    ("Which deals were signed this year?", "2025-01-01", None, False),
    ("Which deals were signed earlier this year?", "2025-01-01", None, False),
    ("How many robots did they deliver last year?", "2024-01-01", None, False),
    # a named date, month or year opens the window a month early and leaves it open
    ("What did the regulator decide in March 2025?", "2025-02-01", None, False),
    ("What was said at the March 2025 summit?", "2025-02-01", None, False),
    ("How many robots did Northwind deliver in 2024?", "2023-12-01", None, False),
    ("What happened during 2023?", "2022-12-01", None, False),
    ("What was agreed on 12 March 2025?", "2025-02-01", None, False),
    ("What was agreed on March 12, 2025?", "2025-02-01", None, False),
    ("What was agreed on the 12th of March, 2025?", "2025-02-01", None, False),
    ("What was agreed on 2025-03-12?", "2025-02-01", None, False),
    ("What was agreed on Sept. 3, 2024?", "2024-08-01", None, False),
    ("What happened last March?", "2025-02-01", None, False),
    # explicit bounds
    ("What has changed since March 2025?", "2025-03-01", None, False),
    ("Which plants opened after June 2024?", "2024-07-01", None, False),
    ("Which plants opened before June 2024?", None, "2024-05-31", False),
    ("Which plants opened until May 2025?", None, "2025-05-31", False),
    ("Which plants opened between March and May 2025?", "2025-03-01", "2025-05-31", False),
    ("Which plants opened between 2020 and 2022?", "2020-01-01", "2022-12-31", False),
    ("Which plants opened from 12 March 2025 to 2025-04-02?", "2025-03-12", "2025-04-02", False),
    # French
    ("Qu'a annoncé Veltrix la semaine dernière ?", "2025-06-09", None, False),
    ("Qu'est-ce qui s'est passé en mars 2025 ?", "2025-02-01", None, False),
    ("Qu'est-ce qui a changé depuis mars 2025 ?", "2025-03-01", None, False),
    ("Qui a signé l'accord le 12 mars 2025 ?", "2025-02-01", None, False),
    ("Combien de coureurs au départ en 2024 ?", "2023-12-01", None, False),
    ("Qu'est-ce qui s'est passé au cours des 7 derniers jours ?", "2025-06-11", None, False),
    ("Qui a gagné l'année dernière ?", "2024-01-01", None, False),
    ("Qu'est-ce qui s'est passé hier ?", "2025-06-17", None, False),
    ("Quel est le bilan en mars dernier ?", "2025-02-01", None, False),
    ("Quels contrats entre mars et mai 2025 ?", "2025-03-01", "2025-05-31", False),
    ("Quelles sont les dernières nouvelles sur la grève ?", None, None, True),
    ("Combien d'employés compte l'usine aujourd'hui ?", None, None, True),
    ("Qui dirige actuellement l'entreprise ?", None, None, True),
    # German
    ("Was hat der Vorstand letzte Woche beschlossen?", "2025-06-09", None, False),
    ("Was ist im März 2025 passiert?", "2025-02-01", None, False),
    ("Was wurde am 12. März 2025 unterzeichnet?", "2025-02-01", None, False),
    ("Was hat sich seit März 2025 geändert?", "2025-03-01", None, False),
    ("Was geschah in den letzten 7 Tagen?", "2025-06-11", None, False),
    ("Was geschah im Jahr 2024?", "2023-12-01", None, False),
    ("Welche Werke öffneten vor Juni 2024?", None, "2024-05-31", False),
    ("Welche Werke öffneten zwischen März und Mai 2025?", "2025-03-01", "2025-05-31", False),
    ("Was geschah gestern in Dresden?", "2025-06-17", None, False),
    ("Wie ist die aktuelle Lage?", None, None, True),
    ("Wie viele streiken nach den neuesten Angaben?", None, None, True),
    ("Wie viele Menschen arbeiten hier?", None, None, False),  # German "hier" is "here"
    # Spanish
    ("¿Qué anunció el gobierno la semana pasada?", "2025-06-09", None, False),
    ("¿Qué pasó en marzo de 2025?", "2025-02-01", None, False),
    ("¿Qué temperatura se registró el 10 de agosto de 2023?", "2023-07-01", None, False),
    ("¿Qué ha cambiado desde marzo de 2025?", "2025-03-01", None, False),
    ("¿Qué pasó en los últimos 7 días?", "2025-06-11", None, False),
    ("¿Quién ganó el año pasado?", "2024-01-01", None, False),
    ("¿Qué pasó ayer en Valencia?", "2025-06-17", None, False),
    ("¿Cuántas personas murieron, según el último balance?", None, None, True),
    ("¿Quién dirige actualmente la empresa?", None, None, True),
    # Italian
    ("Che cosa è successo il mese scorso?", "2025-05-01", None, False),
    ("Che cosa è successo a marzo 2025?", "2025-02-01", None, False),
    ("Che cosa è successo nel 2024?", "2023-12-01", None, False),
    ("Che cosa è successo negli ultimi 7 giorni?", "2025-06-11", None, False),
    ("Che cosa è cambiato da marzo 2025?", "2025-03-01", None, False),
    ("Che cosa è successo tra marzo e maggio 2025?", "2025-03-01", "2025-05-31", False),
    ("Qual è la stima più recente del costo?", None, None, True),
    # numbers and names that are not dates
    ("Did the company cut 350,000 jobs?", None, None, False),
    ("Where did the crash on Route 66 happen?", None, None, False),
    ("What did leaders agree at the G20 summit?", None, None, False),
    ("How many people died of COVID-19 in Italy?", None, None, False),
    ("When was Windows 11 released?", None, None, False),
    ("Which town reported 41 dead?", None, None, False),
    ("Who won the 2024 Olympics marathon?", None, None, False),
    ("What were Solvane's 2024 results?", None, None, False),
    ("Who won the 2023 edition of the Grand Prix?", None, None, False),
    ("Qui a remporté le Grand Prix de la Vallée de l'Ance 2024 ?", None, None, False),
    ("Where was comet C/2024 V3 discovered?", None, None, False),
    ("What did NASA's Mars 2020 rover find?", None, None, False),
    ("How did the 2024-25 season end?", None, None, False),
    ("Did the storm cut power in 2000 homes?", None, None, False),
    ("Did the firm plan to hire up to 2000 people?", None, None, False),
    ("What did Veltrix forecast for the third quarter of 2024?", None, None, False),
    ("What did Apple report in Q3 2024?", None, None, False),
    ("How many GPUs did Meta plan to buy by the end of 2024?", None, None, False),
    ("What did USA Today report about the strike?", None, None, False),
    # deliberately not read: weekdays, days or months without a year, impossible dates
    ("What did the minister say on Monday?", None, None, False),
    ("What did the minister say on 12 March?", None, None, False),
    ("What did the minister say in March?", None, None, False),
    ("What was signed on 29 February 2025?", None, None, False),
    ("What was signed on 2025-02-30?", None, None, False),
]


@pytest.mark.parametrize(("question", "since", "until", "recent"), CASES, ids=[c[0] for c in CASES])
def test_time_hints(question: str, since: str | None, until: str | None, recent: bool) -> None:
    hint = parse_time_hint(question, TODAY)
    assert hint.since == (datetime.combine(_day(since), time.min, tzinfo=UTC) if since else None)
    assert hint.until == (datetime.combine(_day(until), time.max, tzinfo=UTC) if until else None)
    assert hint.prefer_recent is recent
    if since or until:
        assert hint.expression and hint.expression.casefold() in question.casefold()


def test_no_time_expression_gives_the_empty_hint() -> None:
    assert parse_time_hint("Who won the race in Brévannes?", TODAY) == TimeHint(None, None, False, None)
    assert not TimeHint().has_window


def test_a_present_tense_status_question_prefers_recent_articles_without_a_window() -> None:
    hint = parse_time_hint("How many wind turbines does Fjordvind operate?", TODAY)
    assert hint == TimeHint(prefer_recent=True)
    assert parse_time_hint("When will the Stade des Tanneurs be inaugurated?", TODAY).prefer_recent
    assert not parse_time_hint("Where was the BalticLink 2 agreement signed?", TODAY).prefer_recent


def test_the_expression_and_period_are_reported() -> None:
    hint = parse_time_hint("What did the regulator decide in March 2025?", TODAY)
    assert hint.expression == "in March 2025"
    assert hint.period == (date(2025, 3, 1), date(2025, 3, 31))
    assert parse_time_hint("What did they say last week?", TODAY).period == (date(2025, 6, 9), date(2025, 6, 15))
    assert parse_time_hint("What is the latest figure?", TODAY).expression == "latest"


def test_until_is_the_inclusive_end_of_its_day_in_utc() -> None:
    hint = parse_time_hint("Which plants opened before June 2024?", TODAY)
    assert hint.until == datetime(2024, 5, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert hint.until is not None and hint.until.tzinfo is UTC
    since = parse_time_hint("What happened since March 2025?", TODAY).since
    assert since == datetime(2025, 3, 1, tzinfo=UTC)


def test_last_month_and_last_week_cross_the_year_boundary_in_january() -> None:
    january = date(2025, 1, 1)  # a Wednesday
    last_month = parse_time_hint("What happened last month?", january)
    assert last_month.since == datetime(2024, 12, 1, tzinfo=UTC)
    assert last_month.period == (date(2024, 12, 1), date(2024, 12, 31))
    assert parse_time_hint("What happened last week?", january).period == (date(2024, 12, 23), date(2024, 12, 29))
    assert parse_time_hint("What happened last year?", january).period == (date(2024, 1, 1), date(2024, 12, 31))
    assert parse_time_hint("What did they say in January 2025?", january).since == datetime(2024, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("today", "year"),
    [(date(2025, 2, 10), 2024), (date(2025, 3, 10), 2024), (date(2025, 3, 31), 2024), (date(2025, 4, 1), 2025)],
)
def test_last_march_is_the_latest_march_before_the_current_month(today: date, year: int) -> None:
    hint = parse_time_hint("What happened last March?", today)
    assert hint.period == (date(year, 3, 1), date(year, 3, 31))


def test_leap_years() -> None:
    assert parse_time_hint("What opened before March 2024?", TODAY).until == datetime(
        2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC
    )
    assert parse_time_hint("What happened in February 2024?", TODAY).period == (date(2024, 2, 1), date(2024, 2, 29))
    assert parse_time_hint("What was signed on 29 February 2024?", TODAY).period == (
        date(2024, 2, 29),
        date(2024, 2, 29),
    )
    leap_day = date(2024, 2, 29)
    assert parse_time_hint("What changed in the past 1 year?", leap_day).since == datetime(2023, 2, 28, tzinfo=UTC)
    assert parse_time_hint("What happened last month?", date(2024, 3, 31)).period == (
        date(2024, 2, 1),
        date(2024, 2, 29),
    )


def test_a_future_date_gives_no_window() -> None:
    hint = parse_time_hint("Will the metro line open in 2027?", TODAY)
    assert not hint.has_window
    assert hint.period == (date(2027, 1, 1), date(2027, 12, 31))
    assert not parse_time_hint("Which plants open after June 2026?", TODAY).has_window


def test_several_expressions_keep_the_loosest_window() -> None:
    hint = parse_time_hint("What changed between 2020 and 2022 and in March 2025?", TODAY)
    assert hint.since == datetime(2020, 1, 1, tzinfo=UTC)
    assert hint.until is None
    assert hint.expression == "between 2020 and 2022, in March 2025"


def test_today_may_be_a_datetime_but_not_a_string() -> None:
    assert parse_time_hint("What happened yesterday?", datetime(2025, 6, 18, 9, 30, tzinfo=UTC)).since == datetime(
        2025, 6, 17, tzinfo=UTC
    )
    with pytest.raises(InputError, match="today must be a date"):
        parse_time_hint("What happened yesterday?", "2025-06-18")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["in", "since", "before", "between", "and", "last", "past", "the", "March", "mars",
                                 "2024", "2031", "12", "31", "days", "week", "today", "hier", "latest", "¿", "'",
                                 "1999", "febrero", "de", "-", ",", "0"]), max_size=12))  # fmt: skip
def test_any_word_salad_gives_a_consistent_hint(words: list[str]) -> None:
    hint = parse_time_hint(" ".join(words), TODAY)
    end_of_today = datetime.combine(TODAY, time.max, tzinfo=UTC)
    if hint.since is not None:
        assert hint.since <= end_of_today
        assert hint.until is None or hint.since <= hint.until
    if hint.period is not None:
        assert hint.period[0] <= hint.period[1]


@given(st.text(max_size=80))
def test_arbitrary_text_never_fails(text: str) -> None:
    assert isinstance(parse_time_hint(text, TODAY), TimeHint)


def _gold_questions() -> list[dict]:
    text = (GOLD / "dev" / "questions.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def test_no_gold_question_gets_a_window_that_hides_its_gold_articles() -> None:
    articles = read_paths([SAMPLES, GOLD / "dev" / "articles.jsonl"]).articles
    published = {article.id: article.published for article in articles}
    today = max(p for p in published.values() if p is not None).date() + timedelta(days=1)
    windows = 0
    for item in _gold_questions():
        hint = parse_time_hint(item["question"], today)
        windows += hint.has_window
        for article_id in item["gold_article_ids"]:
            when = published[article_id]
            assert hint.since is None or when >= hint.since, (item["id"], article_id, hint)
            assert hint.until is None or when <= hint.until, (item["id"], article_id, hint)
    assert windows >= 10  # the check is not vacuous: dated questions do get windows


def test_every_temporal_gold_question_gets_a_hint() -> None:
    today = date(2025, 6, 6)
    for item in _gold_questions():
        # the sample corpus's own latest-vs-earlier questions all name their time ("latest", "in March")
        if item["type"] == "latest_vs_earlier" and item["id"].startswith("q"):
            hint = parse_time_hint(item["question"], today)
            assert hint.prefer_recent or hint.has_window, item["question"]
            assert hint.expression, item["question"]


@pytest.mark.parametrize(
    "question",
    [
        "How many cruise ships a day will Solvenza allow from the 2025 season?",
        "Quanto costerà, dal 1° agosto 2024, la tassa di soggiorno?",
        "Combien de rames circuleront à partir de mars 2024 ?",
    ],
)
def test_a_plan_for_a_time_keeps_no_lower_bound_on_publication(question: str) -> None:
    # the article announcing a plan is published before the time the plan names
    assert parse_time_hint(question, date(2024, 6, 1)).since is None


def test_a_past_time_still_gives_a_lower_bound() -> None:
    assert parse_time_hint("How many jobs were cut since March 2024?", date(2024, 6, 1)).since is not None


def test_the_words_asking_for_the_newest_information_are_kept_as_written() -> None:
    today = date(2024, 10, 20)
    assert parse_time_hint("According to the latest figures, how many people died?", today).recency == "latest"
    assert parse_time_hint("How many people have died so far?", today).recency == "so far"
    assert parse_time_hint("How many people died in Storm Aurèle in 2023?", today).recency is None
    # "dernier" of "le mois dernier" belongs to a date; "actuels" asks for the newest figures.
    hint = parse_time_hint("Combien de morts le mois dernier, selon les chiffres actuels ?", today)
    assert hint.recency == "actuels", hint

"""Editions and years of recurring events: read from questions and texts, preferred by retrieval, checked in
citations (the small embedding model; English articles so that it ranks them sensibly)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from qa.answering.citations import CitationChecker
from qa.assistant import Assistant
from qa.config import Settings
from qa.retrieval.occasions import Occasion, editions_named, occasion_of, years_stated
from qa.types import Article, Chunk, Hit
from tests.conftest import FAST_EMBEDDING, write_article

TODAY = date(2024, 11, 1)


@pytest.mark.parametrize(
    ("text", "edition"),
    [
        ("Who won the 14th edition of the Lanterna prize?", 14),
        ("Chi ha presieduto la giuria della 15ª edizione del Premio Lanterna?", 15),
        ("Who won the women's race at the 9th Marathon des Quais?", 9),
        ("Qui a remporté la 10e édition du Marathon des Quais ?", 10),
        ("¿Qué región fue la invitada de honor en la 8.ª edición de la feria?", 8),
        ("La séptima edición de TurisRural cerró con 31.000 visitantes.", 7),
        ("Wie hoch war das Preisgeld der 15. Ausgabe des Lanterna-Preises?", 15),
        ("Beim 12. Meridian-Preis siegte Hryzenko.", 12),
        ("The eighth edition of the fair drew 36,500 visitors.", 8),
        ("La XII edizione del festival si apre oggi.", 12),
        ("la 15a edizione del premio", 15),
    ],
)
def test_an_edition_is_read_in_every_language(text: str, edition: int) -> None:
    assert editions_named(text) == {edition}


@pytest.mark.parametrize(
    "text",
    [
        "Der Streik begann am 5. März.",
        "He broke away at the 35e kilomètre mark.",
        "Valsecchi finished 3rd place last year.",
        "Revenue for the third quarter fell.",
        "The toll rose to 15. The mayor spoke.",
        "For the first time a region from outside Spain was the guest.",
        "None of the delegates voted.",
        "Comet C/2024 V3 was found in 2024.",
    ],
)
def test_ranks_dates_and_parts_are_not_editions(text: str) -> None:
    assert editions_named(text) == set()


def test_a_question_about_several_editions_prefers_none() -> None:
    assert occasion_of("How many entries did the 14th and 15th editions receive in total?", TODAY).edition is None
    assert (
        occasion_of("By how much did the field grow from the 9th to the 10th Marathon des Quais?", TODAY).edition
        is None
    )
    assert occasion_of("Who won the 9th Marathon des Quais?", TODAY).edition == 9


def test_the_year_a_question_names_becomes_its_period() -> None:
    assert occasion_of("How many TEU did Livorno handle in 2024?", TODAY).period == (
        date(2024, 1, 1),
        date(2024, 12, 31),
    )
    # A year used as an adjective is too loose to filter on, but says which occurrence is meant.
    assert occasion_of("Who won the 2023 edition of the Grand Prix?", TODAY).period == (
        date(2023, 1, 1),
        date(2023, 12, 31),
    )
    assert occasion_of("Who won this year's Meridian Prize?", TODAY).period == (date(2024, 1, 1), TODAY)
    assert occasion_of("How many ships may anchor from the 2025 season?", TODAY).period is None, "a plan"
    assert occasion_of("How many died in Storm Aurèle (2023) and Storm Bérénice (2024)?", TODAY).period is None


def test_years_stated_count_relative_years_from_the_publication() -> None:
    published = datetime(2024, 5, 2, tzinfo=UTC)
    assert years_stated("812.000 TEU nel 2024, contro 781.000 nel 2023") == {2023, 2024}
    assert years_stated("Northwind delivered 4,800 robots last year.", published) == {2023}
    assert years_stated("Le bilan de cette année est lourd.", published) == {2024}
    assert years_stated("the 2024/25 season, comet C/2024") == set()


def test_an_article_on_the_asked_edition_ranks_first() -> None:
    occasion = Occasion(edition=15)
    lead = "Tomás Echeverri has won the 15th Lanterna prize for investigative journalism."
    earlier = "È Sara Benvenuti la vincitrice della 14ª edizione del Premio Lanterna."
    ranks = [
        occasion.article_rank("Lanterna prize", lead, "The jury picked him.", None),
        occasion.article_rank(
            "Lanterna prize", f"A profile. {'Filler. ' * 100} He won the 15th Lanterna prize.", "", None
        ),
        occasion.article_rank("Lanterna prize", "A prize for journalists.", "", None),
        occasion.article_rank("Premio Lanterna", earlier, earlier, None),
    ]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4


def test_a_report_published_the_next_year_matches_the_year_it_names() -> None:
    occasion = occasion_of("How many TEU did the Darsena Toscana terminal handle in 2024?", TODAY)
    report = "Il terminal ha movimentato 812.000 TEU nel 2024."
    assert occasion.article_rank("Livorno", report, report, datetime(2025, 1, 20, tzinfo=UTC)) == 0
    assert occasion.article_rank("Livorno", "Dredging starts.", "Dredging.", datetime(2024, 3, 12, tzinfo=UTC)) == 0
    assert occasion.article_rank("Livorno", "Dredging starts.", "Dredging.", datetime(2023, 3, 12, tzinfo=UTC)) == 2


def _hit(text: str, published: str, title: str = "Report", article_text: str | None = None) -> Hit:
    article = Article(
        id=title, title=title, text=article_text or text, language="en", published=datetime.fromisoformat(published)
    )
    return Hit(chunk=Chunk(f"{title}#0", title, 0, text, 0, len(text)), article=article, score=0.7, rank=1)


def test_a_citation_from_another_year_is_dropped_and_the_right_one_kept() -> None:
    question = "How many TEU did the Darsena Toscana terminal handle in 2024?"
    older = _hit("Darsena Toscana handled 781,000 TEU in 2023, its best year.", "2024-03-12T00:00:00+00:00", "old")
    newer = _hit("Darsena Toscana handled 812,000 TEU in 2024.", "2025-01-20T00:00:00+00:00", "new")
    checker = CitationChecker(today=TODAY)
    assert checker.run("It handled 781,000 TEU [1].", [older, newer], question)[1] == []
    _, citations = checker.run("It handled 812,000 TEU [2].", [older, newer], question)
    assert [c.article_id for c in citations] == ["new"]
    # "up from … in 2023" is about the earlier figure, not the one the answer gives.
    growth = _hit("The fair drew 36,500 visitors, up from 31,000 in 2023.", "2024-03-11T00:00:00+00:00")
    assert checker.run("It drew 36,500 visitors [1].", [growth], "How many visitors did the fair draw in 2024?")[1]


def test_a_citation_from_another_edition_is_dropped() -> None:
    question = "Who won the 14th edition of the Lanterna prize?"
    fifteenth_text = (
        "Tomás Echeverri has won the 15th Lanterna prize. Last year's winner, Sara Benvenuti, presented it."
    )
    fifteenth = _hit(
        "Last year's winner, Sara Benvenuti, presented it.", "2024-10-20T00:00:00+00:00", "15", fifteenth_text
    )
    checker = CitationChecker(today=TODAY)
    assert checker.run("Sara Benvenuti won [1].", [fifteenth], question)[1] == []
    assert checker.run("Sara Benvenuti won [1].", [fifteenth], "Who presented the Lanterna prize?")[1]


EDITIONS = [
    (
        "summit-5",
        "Innsbruck hosts the 5th Alpine Water Summit",
        "The 5th Alpine Water Summit opened in Innsbruck with 1,150 delegates. It was chaired by Regula Fankhauser.",
        "2023-06-16",
    ),
    (
        "summit-6",
        "Bolzano hosts the 6th Alpine Water Summit",
        "The 6th Alpine Water Summit opened in Bolzano with 1,420 delegates. It was chaired by Matteo Zanon.",
        "2024-06-14",
    ),
    (
        "summit-7",
        "Annecy to host the 7th Alpine Water Summit",
        "The 7th Alpine Water Summit will open in Annecy, where 1,600 delegates are expected.",
        "2025-04-03",
    ),
]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    folder: Path = tmp_path_factory.mktemp("editions")
    for article_id, title, text, published in EDITIONS:
        write_article(folder, f"{article_id}.md", title, text, id=article_id, published=published)
    assistant = Assistant.open(folder / "index", Settings(embedding_model=FAST_EMBEDDING, today="2025-06-01"))
    assistant.ingest([folder])
    return assistant


@pytest.mark.parametrize(
    ("question", "article_id"),
    [
        ("Who chaired the 5th Alpine Water Summit?", "summit-5"),
        ("Who chaired the 6th Alpine Water Summit?", "summit-6"),
        ("How many delegates attended the Alpine Water Summit in 2023?", "summit-5"),
        ("How many delegates attended the 2024 Alpine Water Summit?", "summit-6"),
    ],
)
def test_retrieval_puts_the_asked_occurrence_first(assistant: Assistant, question: str, article_id: str) -> None:
    assert assistant.retrieve(question, k=3)[0].article.id == article_id


def test_a_sentence_about_the_next_edition_does_not_sink_its_passage() -> None:
    text = (
        "The 5th Alpine Water Summit ended in Innsbruck with 1,150 delegates. "
        "The sixth edition is planned for June 2024 in Bolzano."
    )
    hit = _hit(text, "2023-06-16T00:00:00+00:00", "summit")
    checker = CitationChecker(today=TODAY)
    _, citations = checker.run("Innsbruck hosted it [1].", [hit], "Which city hosted the 5th Alpine Water Summit?")
    assert citations and "Innsbruck" in citations[0].quote
    assert checker.run("Bolzano hosted it [1].", [hit], "Which city hosted the 5th Alpine Water Summit?")[1] == []

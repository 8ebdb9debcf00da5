"""Facts against expectations: which sentences state only a plan, and which questions ask for one."""

from __future__ import annotations

import pytest

from qa.answering.citations import CitationChecker
from qa.answering.modality import asks_for_fact, only_expected, states_expectation
from qa.types import Article, Chunk, Hit

SUMMIT = (
    "La 7e édition du Sommet de l'eau alpine se tiendra du 16 au 18 juin à Annecy. "
    "Les organisateurs attendent 1 600 participants, soit davantage que les 1 420 délégués réunis l'an dernier."
)


def _hit(text: str, language: str) -> Hit:
    article = Article(id="summit", title="Sommet de l'eau alpine", text=text, language=language)
    return Hit(chunk=Chunk("summit#0", "summit", 0, text, 0, len(text)), article=article, score=0.7, rank=1)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Zuckerberg is expected to meet President Yoon on Thursday.", "en"),
        ("Les organisateurs attendent 1 600 participants.", "fr"),
        ("L'inauguration est prévue le 5 avril.", "fr"),
        ("Die Eröffnung ist für Juni geplant.", "de"),
        ("Se espera que asistan 2.000 personas.", "es"),
        ("La cerimonia è prevista per sabato.", "it"),
    ],
)
def test_expectations_and_plans_are_recognised(text: str, language: str) -> None:
    assert states_expectation(text, language)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Some 1,420 delegates attended the three-day meeting.", "en"),
        ("Face à lui se trouvaient William Cho et Kwon Bong-seok.", "fr"),
        # The plain future states a decision once announced: "will extend it to 420 products".
        ("Mercaleste prorrogará la congelación y la ampliará a 420 productos.", "es"),
        # "attend" is French for "expects", not the English verb.
        ("Delegates attend the summit every June.", "en"),
        # Set phrases and words that are as often not modal.
        ("Turnout was higher than expected at 68 percent.", "en"),
        ("The closure of the A7 was due to a landslide that killed 14 people.", "en"),
        ("Les passagers ont attendu 5 heures, comme prévu par la compagnie.", "fr"),
        ("Le club devait 3 millions d'euros au fisc.", "fr"),
        ("La lista de espera supera las 12.000 personas.", "es"),
        ("Le liste d'attesa contano 12.000 pazienti.", "it"),
        ("Wie erwartet stieg der Umsatz um 4 Prozent.", "de"),
        ("Brevant said on Tuesday it would cut 300 jobs at its Lyon plant.", "en"),
        ("Brevant posted a better-than-expected net profit of €1.2bn.", "en"),
        ("Net profit of €1.2bn beat analysts' forecasts.", "en"),
        ("The airline operated 1,200 scheduled flights.", "en"),
        ("L'amende prévue par la loi est de 1 500 euros.", "fr"),
        ("Les 1 200 salariés attendent toujours leurs salaires.", "fr"),
        ("Unas 3.000 personas esperaban la llegada del Papa.", "es"),
        ("Il tanto atteso concerto ha richiamato 40.000 spettatori.", "it"),
    ],
)
def test_facts_and_announced_decisions_are_not_expectations(text: str, language: str) -> None:
    assert not states_expectation(text, language)


def test_a_question_about_plans_is_not_a_question_for_a_fact() -> None:
    assert asks_for_fact("How many delegates attended the 7th Alpine Water Summit?", "en")
    assert not asks_for_fact("How many participants do the organisers expect at the 7th summit?", "en")
    assert not asks_for_fact("When will the stadium be inaugurated?", "en")
    assert not asks_for_fact("Quand l'inauguration du stade est-elle prévue ?", "fr")
    # A deadline or a budget is a plan by definition.
    assert not asks_for_fact("What is the deadline for the bids?", "en")
    assert not asks_for_fact("When was the dredging supposed to start?", "en")
    assert not asks_for_fact("How much did the operators say they would invest?", "en")
    assert not asks_for_fact("How much is Korvath investing in Dresden?", "en")
    assert not asks_for_fact("Wie hoch ist das Budget des Programms?", "de")
    # Names and words that only look like a future tense or a plan.
    assert asks_for_fact("What salary does Mateo Ibarra earn at Atlético Ribera?", "en")
    assert asks_for_fact("How many Tessera vehicles did the army actually receive?", "en")
    assert asks_for_fact("Who did Meta's chief executive meet in Seoul?", "en")
    assert asks_for_fact("How many people are still missing in Valdemora?", "en")
    assert asks_for_fact("What is Boeing's net profit?", "en")
    assert asks_for_fact("Quanti feriti ci sono stati ieri sera a Milano?", "it")


def test_only_the_clause_holding_the_answer_counts() -> None:
    question = "How many delegates attended the 6th Alpine Water Summit?"
    quote = SUMMIT.split(". ")[1]
    # 1,600 is what the organisers expect; 1,420 is what happened, in another clause of the same sentence.
    assert only_expected("1,600 delegates attended the summit [1].", question, quote, "fr", "en")
    assert not only_expected("1 420 delegates attended the summit [1].", question, quote, "fr", "en")
    # An answer that keeps the expectation as one is honest about it; in its own language only ("plant" is no
    # German "plans" in an English answer).
    assert not only_expected("The organisers expect 1,600 participants [1].", question, quote, "fr", "en")
    assert only_expected("1,600 people attended at the plant [1].", question, quote, "fr", "en")


def test_a_plan_in_another_clause_of_the_sentence_does_not_count() -> None:
    quote = "Die Halle ist 12.000 Quadratmeter groß und soll Kunden in Polen innerhalb von 24 Stunden versorgen."
    question = "Wie groß ist das neue Ersatzteillager in Duisburg?"
    assert not only_expected("Das Lager ist 12.000 Quadratmeter groß [1].", question, quote, "de", "de")
    assert only_expected("Es versorgt Kunden in 24 Stunden [1].", question, quote, "de", "de")


def test_the_citation_marker_is_not_taken_for_a_figure_of_the_answer() -> None:
    quote = "Zuckerberg, who is expected in Seoul on 1 March, met Koo Kwang-mo."
    assert not only_expected("He met Koo [1].", "Who did Zuckerberg meet in Seoul?", quote, "en", "en")


def test_a_fact_question_is_not_supported_by_a_plan_but_a_plan_question_is() -> None:
    hits = [_hit(SUMMIT, "fr")]
    checker = CitationChecker()
    text, citations = checker.run(
        "1,600 participants attended the 7th Alpine Water Summit [1].",
        hits,
        "How many participants attended the 7th Alpine Water Summit?",
    )
    assert (text, citations) == ("", [])
    text, citations = checker.run(
        "The organisers expect 1,600 participants at the 7th Alpine Water Summit [1].",
        hits,
        "How many participants are expected at the 7th Alpine Water Summit?",
    )
    assert citations and "1 600 participants" in citations[0].quote, text

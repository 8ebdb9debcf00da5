"""Answers that do not answer: restatements, missing quantities, missing amounts of money."""

from __future__ import annotations

import pytest

from qa.answering.grounding import unanswered_reason


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Who is the chief executive of Korvath Semiconductor?", "The chief executive of Korvath Semiconductor is [1]"),
        ("What pay deal ended the strike at Nordhafen?", "The pay deal ended the strike at Nordhafen [1]."),
        ("Which cloud providers ordered the KV-9 chip?", "The cloud providers that ordered the KV-9 chip are and [1]."),
        (
            "Quel est le montant du contrat entre Lumeo et Tessara ?",
            "Le montant du contrat entre Lumeo et Tessara est [1]",
        ),
        ("How much did Meta pay for its H100 GPUs?", "Meta paid 350,000 Nvidia H100 GPUs in 2024 [1]."),
        ("How many headsets did Apple sell in 2024?", "Apple sold headsets in 2024 at its stores [1]."),
        ("¿Cuánto cobra Ibarra en el club?", "Ibarra firmó con el club hasta junio [1]."),
        # A noun that is an amount of money by definition, asked for by "what": a count is no answer.
        ("What was the insured damage caused by Storm Bérénice?", "95,000 homes lost power [1]."),
        ("What net profit did Brevant report for 2023?", "Brevant employs 2,300 people [1]."),
        ("Quel est le chiffre d'affaires de Veltrix ?", "Veltrix emploie 4 000 personnes [1]."),
        ("How large a fine was Villalobos ordered to pay?", "The ruling came on 8 May 2024 [1]."),
        ("Qual è stato il fatturato di Veltrix nel 2023?", "Veltrix ha 4.000 dipendenti [1]."),
    ],
)
def test_non_answers_are_recognised(question: str, answer: str) -> None:
    assert unanswered_reason(question, answer) is not None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Who did Zuckerberg meet in Korea?", "He met William Cho, the CEO of LG Electronics [1]."),
        ("How many H100 GPUs does Meta plan to buy?", "About 350,000 [1]."),
        ("How many H100 GPUs does Meta plan to buy?", "Three hundred and fifty thousand [1]."),
        ("How much will the M4 metro line cost?", "It is now estimated at €1.65 billion [1]."),
        ("Combien coûte la ligne M4 ?", "La ligne coûtera 1,65 milliard d'euros [1]."),
        ("Wie viele Beschäftigte streiken?", "Nach Angaben der Gewerkschaft 5.200 [1]."),
        ("When did the Albor-2 satellite launch?", "It launched on 16 March 2024 from Kourou [1]."),
        ("What net profit did Brevant report for 2023?", "A net profit of €180m [1]."),
        ("Welchen Umsatz meldete Veltrix?", "Rund 1,8 Milliarden Dollar [1]."),
        # "price freeze": the money noun only qualifies another noun.
        ("What price freeze did Mercaleste announce?", "A freeze on 350 basic products until March [1]."),
        ("How large was the crowd at the final?", "About 41,000 spectators [1]."),
        # Money words that are not what the question asks for.
        ("How much did Brevant's profit rise in 2023?", "Profit rose by 12% [1]."),
        ("Quanti visitatori ha avuto la fiera nel fine settimana?", "La fiera ha avuto 20.000 visitatori [1]."),
        ("Which company reported the highest revenue in 2023?", "Brevant reported the highest revenue [1]."),
        ("Welches Unternehmen meldete den höchsten Umsatz?", "Brevant meldete den höchsten Umsatz [1]."),
        ("What was the fine for?", "For breaking the tender rules [1]."),
        ("Quali coste sono state colpite dall'uragano?", "Le coste della Calabria [1]."),
        ("Quel prix a remporté le film ?", "La Palme d'or [1]."),
        # A count asked for with a prize ("prix", "Preis") in the question: no money is asked for.
        ("Combien de films le prix Lumière a-t-il reçus ?", "Le prix a reçu 214 films [1]."),
        ("Wie viele Bewerbungen erhielt der Preis der Stadt?", "Der Preis erhielt 96 Bewerbungen [1]."),
    ],
)
def test_real_answers_pass(question: str, answer: str) -> None:
    assert unanswered_reason(question, answer) is None


def test_a_sentence_left_unfinished_before_its_marker_is_not_an_answer() -> None:
    question = "How much did Corvane pay for the Ostend terminal?"
    assert unanswered_reason(question, "The amount the company paid for the terminal is [1].") is not None
    assert unanswered_reason("Quel est le prix ?", "Le prix payé par la société est de [1].") is not None
    assert unanswered_reason(question, "Corvane paid 48 million euros for the terminal [1].") is None
    # A German sentence ends on the particle of a separable verb ("teilte … mit").
    answer = "Kaltenbrunn zählte 1,42 Mio. Nächtigungen, teilte der Verband am Dienstag mit [1]."
    assert unanswered_reason("Wie viele Nächtigungen zählte Kaltenbrunn?", answer) is None

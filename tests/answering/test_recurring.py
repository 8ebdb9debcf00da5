"""Two editions of one festival, reported in two languages, with the real models: a question that names an
edition is answered from that edition's article, even when the other edition's article matches it better."""

from __future__ import annotations

import pytest

from qa.assistant import Assistant
from tests.conftest import assistant_over

pytestmark = pytest.mark.slow

ARTICLES = {
    "castellaro-12": (
        "Festival del Cortometraggio di Castellaro, la 12ª edizione va a «Sale e ferro» di Ilaria Montanari",
        "2023-09-18",
        "it",
        "CASTELLARO – È «Sale e ferro» di Ilaria Montanari il vincitore della 12ª edizione del Festival del "
        "Cortometraggio di Castellaro, che si è chiusa domenica sera in piazza del Porto. Alla regista genovese va "
        "il Faro d'oro, il premio principale del festival.\n\n"
        "La giuria, presieduta dal critico Bruno Gattai, ha scelto il film tra 240 cortometraggi in concorso, "
        "arrivati da 31 paesi. «Un racconto asciutto sul lavoro in cantiere», ha detto Gattai.",
    ),
    "castellaro-13": (
        "Jonas Lindqvist's 'The Quiet Pier' wins the 13th Castellaro Short Film Festival",
        "2024-09-16",
        "en",
        "The Swedish director Jonas Lindqvist has won the 13th Castellaro Short Film Festival with 'The Quiet "
        "Pier', a 14-minute film about a ferry worker on the Baltic coast. He receives the Golden Lighthouse, the "
        "festival's main award, which was presented on Sunday evening.\n\n"
        "The jury, chaired by the Ghanaian producer Amara Osei, picked the film from 310 entries from 38 "
        "countries, a record for the Italian seaside festival.",
    ),
}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return assistant_over(tmp_path_factory.mktemp("recurring"), ARTICLES, today="2025-01-15")


def test_the_named_edition_is_answered_from_its_own_article(assistant: Assistant) -> None:
    # In English, the English report of the 13th edition is the closer match; the 12th is reported in Italian.
    answer = assistant.ask("Who won the 12th Castellaro Short Film Festival?")
    assert not answer.abstained, answer.abstention_reason
    assert "Montanari" in answer.text and "Lindqvist" not in answer.text, answer.text
    assert {citation.article_id for citation in answer.citations} == {"castellaro-12"}, answer.citations


@pytest.mark.xfail(
    strict=True,
    reason="known false abstention: retrieval puts the 13th edition's English report first, but the answer is "
    "declined ('no passage supports the answer'); the same happens on two dev questions (dx-q085, dx-q089)",
)
def test_the_named_edition_is_found_across_languages(assistant: Assistant) -> None:
    answer = assistant.ask(
        "Chi ha presieduto la giuria della 13ª edizione del Festival del Cortometraggio di Castellaro?"
    )
    assert not answer.abstained, answer.abstention_reason
    assert "Osei" in answer.text and "Gattai" not in answer.text, answer.text
    assert {citation.article_id for citation in answer.citations} == {"castellaro-13"}, answer.citations

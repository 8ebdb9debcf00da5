"""Bridge and total questions end to end on a small corpus written for the test, with the real models: the
bridge answer cites both hops, the total is computed from two cited figures."""

from __future__ import annotations

import time

import pytest

from qa.answering.multihop import MultiHop
from qa.assistant import Assistant
from qa.eval.normalize import normalize
from tests.conftest import assistant_over

pytestmark = pytest.mark.slow

ARTICLES = {
    "velmora-contract": (
        "Velmora port awards North Basin dredging contract",
        "2024-03-12",
        "The port authority of Velmora has awarded the contract to deepen the approach channel of its North "
        "Basin to the dredging company Tidewell Marine. The work is worth 48 million euros and is due to start "
        "in the autumn. The deeper channel will let container ships with a draught of up to 16 metres call at "
        "Velmora.",
    ),
    "tidewell-fleet": (
        "Tidewell Marine orders two electric dredgers",
        "2024-05-02",
        "Tidewell Marine, which is headquartered in Zwolle, has ordered two battery-electric trailing suction "
        "dredgers from a Polish shipyard. The company operates a fleet of 31 dredgers and employs 1,900 people. "
        "Its chief executive, Anneke Dorsman, said the new ships would be used on harbour projects in Europe.",
    ),
    "corran-fair-5": (
        "Corran Valley book fair closes its fifth edition",
        "2023-06-19",
        "The fifth Corran Valley book fair closed on Sunday after four days. The organisers counted 18,400 "
        "visitors, a record for the fair, and 212 exhibitors from nine countries.",
    ),
    "corran-fair-6": (
        "Sixth Corran Valley book fair draws bigger crowds",
        "2024-06-17",
        "The sixth Corran Valley book fair welcomed 21,150 visitors over its four days, the organisers said on "
        "Monday. Children's publishers had their own hall for the first time.",
    ),
    "lakeside-festival": (
        "Lakeside jazz festival sells out",
        "2024-07-08",
        "The Lakeside jazz festival sold all 9,000 tickets for its three evenings, the organisers said. Next "
        "year's festival will move to a larger site on the northern shore.",
    ),
}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    articles = {name: (title, published, "en", text) for name, (title, published, text) in ARTICLES.items()}
    return assistant_over(tmp_path_factory.mktemp("multihop"), articles)


def test_a_bridge_question_is_answered_about_the_entity_and_cites_both_hops(assistant: Assistant) -> None:
    answer = assistant.ask(
        "In which city is the company that won the contract to deepen the approach channel of Velmora's "
        "North Basin headquartered?"
    )
    assert not answer.abstained, answer.abstention_reason
    assert "Zwolle" in answer.text, answer.text
    assert "Tidewell Marine" in (answer.standalone_question or ""), answer.standalone_question
    cited = {citation.article_id for citation in answer.citations}
    assert cited == {"velmora-contract", "tidewell-fleet"}, answer.text
    link = next(c for c in answer.citations if c.article_id == "velmora-contract")
    assert "Tidewell Marine" in link.quote


def test_a_total_is_computed_from_two_cited_figures(assistant: Assistant) -> None:
    answer = assistant.ask("How many visitors did the fifth and sixth Corran Valley book fairs draw in total?")
    assert not answer.abstained, answer.abstention_reason
    assert "39550" in normalize(answer.text), answer.text
    quotes = {citation.article_id: citation.quote for citation in answer.citations}
    assert "18,400" in quotes.get("corran-fair-5", ""), answer.citations
    assert "21,150" in quotes.get("corran-fair-6", ""), answer.citations


def test_the_description_asked_as_a_question_of_its_own_names_the_entity(assistant: Assistant) -> None:
    # The fallback when the model's "Name:" reply repeats a name of the question: the real model answers
    # "who or what is <description>?" over the first passages, and the first new name is the entity.
    question = "How many dredgers does the company deepening the approach channel of Velmora's North Basin operate?"
    hits = assistant.retrieve(question)
    multihop = MultiHop(assistant.llm, assistant.prompts, assistant._answerer(), lambda text, n: [])
    assert multihop._described_name(question, hits, "en", time.perf_counter()) == "Tidewell Marine"

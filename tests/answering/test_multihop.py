"""Bridge and total questions end to end on a small corpus written for the test, with the real models: the
bridge answer cites both hops, the total is computed from two cited figures; and, with a stand-in model, a
difference whose two figures come from the same sentences is not given."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from qa.answering.answerer import Answerer
from qa.answering.citations import CitationChecker
from qa.answering.multihop import MultiHop, _naming_sentences, _new_name, _sentences_before
from qa.answering.prompts import Prompts
from qa.assistant import Assistant
from qa.eval.normalize import normalize
from qa.types import Answer, Article, Chunk, Hit
from tests.conftest import assistant_over

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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_total_is_computed_from_two_cited_figures(assistant: Assistant) -> None:
    answer = assistant.ask("How many visitors did the fifth and sixth Corran Valley book fairs draw in total?")
    assert not answer.abstained, answer.abstention_reason
    assert "39550" in normalize(answer.text), answer.text
    quotes = {citation.article_id: citation.quote for citation in answer.citations}
    assert "18,400" in quotes.get("corran-fair-5", ""), answer.citations
    assert "21,150" in quotes.get("corran-fair-6", ""), answer.citations


@pytest.mark.slow
def test_the_description_asked_as_a_question_of_its_own_names_the_entity(assistant: Assistant) -> None:
    # The fallback when the model's "Name:" reply repeats a name of the question: the real model answers
    # "who or what is <description>?" over the first passages, and the first new name is the entity.
    question = "How many dredgers does the company deepening the approach channel of Velmora's North Basin operate?"
    hits = assistant.retrieve(question)
    multihop = MultiHop(assistant.llm, assistant.prompts, assistant._answerer(), lambda text, n: [])
    assert multihop._described_name(question, hits, "en", time.perf_counter()) == "Tidewell Marine"


@pytest.mark.slow
def test_the_model_picks_the_entity_among_the_names_of_the_closest_sentences(assistant: Assistant) -> None:
    # The first fallback when the "Name:" reply repeats a name of the question: the sentences closest in meaning
    # to the description (real embedder), each with the one before it, the names they hold, and the real model's
    # pick among them.
    question = "How many dredgers does the company deepening the approach channel of Velmora's North Basin operate?"
    passages = assistant._answerer().select(assistant.retrieve(question))
    multihop = MultiHop(assistant.llm, assistant.prompts, assistant._answerer(), lambda text, n: [])
    assert multihop._picked_name(question, passages) == "Tidewell Marine"
    # Passages that name nothing the description could be: no name rather than a guess.
    unrelated = [hit for hit in passages if hit.article.id == "lakeside-festival"]
    assert multihop._picked_name(question, unrelated) is None


def test_sentences_offer_the_new_names_they_hold() -> None:
    text = (
        "Die Weserland Mediengruppe übernimmt das Oldenbrücker Tageblatt. Corvane paid 48 million euros on Monday. "
        "Le Monde rachète le Courrier de Lyon. Après la vente, le titre reste à Lyon. La vente est close après un an."
    )
    article = Article(id="a", title="Verkauf", text=text, language="de", published=datetime(2024, 5, 2))
    hits = [Hit(chunk=Chunk("a#0", "a", 0, text, 0, len(text)), article=article, score=0.8, rank=1)]
    found = _naming_sentences(hits, "wer fuhrt die verlagsgruppe, die das oldenbrucker tageblatt ubernimmt?")
    # Names of the question go, an article before two words goes, a weekday is no name, and a word opening a
    # sentence that the passages also write in lower case ("après") is none either.
    assert found == [
        ("Die Weserland Mediengruppe übernimmt das Oldenbrücker Tageblatt.", ["Weserland Mediengruppe"]),
        ("Corvane paid 48 million euros on Monday.", ["Corvane"]),
        ("Le Monde rachète le Courrier de Lyon.", ["Le Monde", "Courrier de Lyon"]),
        ("Après la vente, le titre reste à Lyon.", ["Lyon"]),
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # a participle instead of a relative clause; the unit between "how many" and "more"
        (
            "How many dredgers does the firm chosen to deepen the approach channel of Velmora's North Basin operate?",
            "31",
        ),
        ("How many visitors more did the sixth Corran Valley book fair draw than the fifth?", "2750"),
    ],
)
def test_other_wordings_of_bridge_and_difference_questions_are_answered_in_two_steps(
    assistant: Assistant, question: str, expected: str
) -> None:
    answer = assistant.ask(question)
    assert not answer.abstained, answer.abstention_reason
    assert expected in normalize(answer.text), answer.text
    assert len({citation.article_id for citation in answer.citations}) == 2, answer.citations


class _FirstPassageReader:
    """A stand-in language model: it splits any question into the same two questions and answers each from the
    first passage of its prompt, as the small model did when both parts named the same terminal."""

    model_name = "first-passage-reader"

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def prompt_tokens(self, messages: list[tuple[str, str]]) -> int:
        return sum(self.count_tokens(content) for _, content in messages)

    def stream_messages(self, messages: list[tuple[str, str]], usage: dict[str, int] | None = None) -> Iterator[str]:
        prompt = messages[-1][1]
        if "[1] " not in prompt:
            yield "1. How many TEU did the Tarragona terminal handle?\n2. How many TEU did the Livorno terminal handle?"
            return
        yield "The terminal handled " + prompt.split("[1] ", 1)[1].split(" handled ")[1].split(" TEU")[0] + " TEU [1]."


def _terminal(article_id: str, text: str, rank: int) -> Hit:
    article = Article(
        id=article_id, title="Container traffic", text=text, language="en", published=datetime(2025, 1, 8)
    )
    return Hit(chunk=Chunk(f"{article_id}#0", article_id, 0, text, 0, len(text)), article=article, score=0.8, rank=rank)


def test_a_difference_of_two_figures_read_from_the_same_sentence_is_not_given() -> None:
    hits = [
        _terminal("tarragona", "The Tarragona terminal handled 946,500 TEU in 2024.", 1),
        _terminal("livorno", "The Livorno terminal handled 812,000 TEU in 2024.", 2),
    ]
    llm = _FirstPassageReader()
    answerer = Answerer(llm=llm, prompts=Prompts.load(), checker=CitationChecker())
    multihop = MultiHop(llm, Prompts.load(), answerer, lambda text, k: hits)
    question = "How many more TEU did the Tarragona terminal handle than the Livorno terminal?"
    # Both parts were answered from the Tarragona sentence: a difference of 0 would be invented.
    assert multihop.answer(question, hits, "en", time.perf_counter()) is None


class _PartReader(_FirstPassageReader):
    """As `_FirstPassageReader`, but each part is answered with its own figure of the one passage."""

    def stream_messages(self, messages: list[tuple[str, str]], usage: dict[str, int] | None = None) -> Iterator[str]:
        prompt = messages[-1][1]
        if "[1] " not in prompt:
            yield "1. How many visitors did the sixth fair draw?\n2. How many visitors did the fifth fair draw?"
            return
        asked = prompt.split("Question: ", 1)[1]
        yield (
            "The sixth fair drew 21,150 visitors [1]."
            if "sixth" in asked
            else "The fifth fair drew 18,400 visitors [1]."
        )


def test_a_difference_of_two_figures_of_one_sentence_is_given() -> None:
    text = "The sixth fair drew 21,150 visitors, up from 18,400 at the fifth fair."
    article = Article(id="fair", title="Book fair", text=text, language="en", published=datetime(2024, 6, 17))
    hits = [Hit(chunk=Chunk("fair#0", "fair", 0, text, 0, len(text)), article=article, score=0.8, rank=1)]
    llm = _PartReader()
    multihop = MultiHop(
        llm, Prompts.load(), Answerer(llm=llm, prompts=Prompts.load(), checker=CitationChecker()), lambda t, k: hits
    )
    answer = multihop.answer(
        "How many more visitors did the sixth fair draw than the fifth?", hits, "en", time.perf_counter()
    )
    assert answer is not None and "Difference: 2,750." in answer.text, answer


def test_a_name_from_the_model_counts_only_as_whole_capitalised_words_of_the_passages() -> None:
    passages = (
        "Le contrat va au constructeur espagnol Talleres Orzábal, basé à L’Aquila.\nÉlodie Vautrin approuve. "
        "C’est la seule offre, only one bid, dit la Gemeinde Torremolar en 2024."
    )
    question = "How many people work for the manufacturer whose trams will run on Port-Ressac's metal line B?"
    assert _new_name("Talleres Orzabal", question, passages) == "Talleres Orzabal"  # accents aside
    assert _new_name("Talleres\nOrzábal", question, passages) == "Talleres\nOrzábal"  # line breaks aside
    assert _new_name("L'Aquila", question, passages) == "L'Aquila"  # apostrophes aside
    assert _new_name("Elodie Vautrin", question, passages) == "Elodie Vautrin"
    assert _new_name("Torremolar", question, passages) == "Torremolar"
    # not capitalised or not so in the passages, part of a word, a stop word, a figure, a name of the question
    for wrong in ("only", "Only", "Orz", "Talleres Orz", "La", "2024", "Port-Ressac", "", None):
        assert _new_name(wrong, question, passages) is None, wrong
    # a word of the question's is not a name of it ("metal" holds "Meta")
    assert _new_name("Meta", question, "Meta bought it.") == "Meta"


def test_each_sentence_knows_the_one_before_it_in_its_passage() -> None:
    text = "Jonas Albrektsen is the new coach. He replaces Renato Sciarrillo. Training starts in July."
    article = Article(id="a", title="Coach", text=text, language="en", published=datetime(2024, 6, 11))
    hits = [Hit(chunk=Chunk("a#0", "a", 0, text, 0, len(text)), article=article, score=0.8, rank=1)]
    assert _sentences_before(hits) == {
        "He replaces Renato Sciarrillo.": "Jonas Albrektsen is the new coach.",
        "Training starts in July.": "He replaces Renato Sciarrillo.",
    }


class _Silent(_FirstPassageReader):
    """A stand-in language model that fails the test if asked anything."""

    def stream_messages(self, messages: list[tuple[str, str]], usage: dict[str, int] | None = None) -> Iterator[str]:
        raise AssertionError(f"the model was asked: {messages[-1][1][:80]}")


@pytest.mark.parametrize(
    ("question", "abstained"),
    [
        ("Where was the person appointed to run the port operator born?", False),  # answered in one step
        ("Where is the company that won the contract based?", True),  # a company: two steps came first
        ("Who did Zuckerberg meet in Korea?", True),  # nothing described
    ],
)
def test_two_steps_are_retried_only_for_a_person_or_thing_described_whose_answer_abstained(
    question: str, abstained: bool
) -> None:
    llm = _Silent()
    multihop = MultiHop(
        llm, Prompts.load(), Answerer(llm=llm, prompts=Prompts.load(), checker=CitationChecker()), lambda t, k: []
    )
    hits = [_terminal("port", "Anna Berg was appointed to run the Brevant port operator, based in Velmora.", 1)]
    answer = Answer(question, "An answer [1].", [], hits, abstained=abstained, language="en")
    assert multihop.retry(question, answer, "en", time.perf_counter()) is None
    # The same passages behind an abstaining answer to a person described do reach the model.
    asked = "Where was the person appointed to run the port operator born?"
    with pytest.raises(AssertionError, match="the model was asked"):
        multihop.retry(asked, Answer(asked, "No.", [], hits, abstained=True, language="en"), "en", time.perf_counter())

"""An update in another language than the question, with the real models: "the latest" figure is the newer
report's, even though the older report, in the question's language, states its figure in the same words."""

from __future__ import annotations

import pytest

from qa.assistant import Assistant
from tests.conftest import assistant_over

pytestmark = pytest.mark.slow

ARTICLES = {
    "valdemora-first": (
        "Flash flood in Valdemora, death toll rises to 14",
        "2024-10-02",
        "en",
        "The number of people killed by the flash flood in the Spanish town of Valdemora has risen to 14, "
        "emergency services said on Wednesday, as rescuers searched the lower town for the missing.\n\n"
        "The river Tormesa burst its banks on Monday night after 180 litres of rain per square metre fell in six "
        "hours. About 600 residents spent the night in a sports hall.",
    ),
    "valdemora-update": (
        "Inondations à Valdemora, le bilan s'alourdit à 21 morts",
        "2024-10-06",
        "fr",
        "Le bilan des inondations qui ont frappé la ville espagnole de Valdemora s'élève désormais à 21 morts, "
        "ont annoncé dimanche les services de secours, après la découverte de sept nouveaux corps en aval.\n\n"
        "Les recherches ont officiellement pris fin. Environ 900 habitations ont été déclarées sinistrées.",
    ),
}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return assistant_over(tmp_path_factory.mktemp("latest"), ARTICLES, today="2024-10-20")


def test_the_latest_figure_comes_from_the_newer_report(assistant: Assistant) -> None:
    answer = assistant.ask("What is the latest death toll from the floods in Valdemora?")
    assert not answer.abstained, answer.abstention_reason
    assert "21" in answer.text and "14" not in answer.text, answer.text
    assert {citation.article_id for citation in answer.citations} == {"valdemora-update"}, answer.citations

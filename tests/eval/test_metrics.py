"""Tests for the pure scoring functions."""

from __future__ import annotations

import pytest

from qa.eval import metrics


def test_rank_articles_keeps_first_appearance() -> None:
    assert metrics.rank_articles(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_hit_at_k_and_gold_rank() -> None:
    ranked = ["x", "y", "g", "z"]
    assert metrics.gold_rank(ranked, {"g"}) == 3
    assert not metrics.hit_at_k(ranked, {"g"}, 1)
    assert metrics.hit_at_k(ranked, {"g"}, 5)
    assert metrics.gold_rank(ranked, {"nope"}) is None


def test_reciprocal_rank_within_k() -> None:
    assert metrics.reciprocal_rank(["g"], {"g"}) == 1.0
    assert metrics.reciprocal_rank(["x", "g"], {"g", "h"}) == 0.5
    ranked = [f"x{i}" for i in range(10)] + ["g"]
    assert metrics.reciprocal_rank(ranked, {"g"}, k=10) == 0.0


def test_recall_at_k_needs_every_gold_article() -> None:
    ranked = ["a", "x", "b", "y", "z", "c"]
    assert metrics.recall_at_k(ranked, {"a", "b"}, 5)
    assert not metrics.recall_at_k(ranked, {"a", "c"}, 5)
    assert metrics.recall_at_k(ranked, {"a", "c"}, 10)
    assert not metrics.recall_at_k(ranked, set(), 10)


@pytest.mark.parametrize(
    ("text", "answers", "language", "expected"),
    [
        ("The tower is 330 metres tall [1].", ["330 metres"], "en", True),
        ("About 350 000 people marched [2].", ["350,000"], "fr", True),
        ("Etwa 350.000 Menschen demonstrierten.", ["350000"], "de", True),
        ("L'inflation atteint 3,5 % [1].", ["3.5%"], "fr", True),
        ("It was 3.5 percent.", ["3"], "en", False),
        ("It was 35 percent.", ["3"], "en", False),
        ("Le président s'est rendu à l'Élysée.", ["l'Elysée"], "fr", True),
        ("Emmanuel Macron won.", ["The President", "Macron"], "en", True),
        ("Nobody knows.", ["Macron"], "en", False),
        ("比赛在东京举行。", ["东京"], "zh", True),
    ],
)
def test_contains_answer(text: str, answers: list[str], language: str, expected: bool) -> None:
    assert metrics.contains_answer(text, answers, language) is expected


def test_answer_groups_need_every_part() -> None:
    groups = [["Paris"], ["Lyon", "Lyons"]]
    assert metrics.answer_is_correct("Paris and Lyons", ["Paris", "Lyon", "Lyons"], groups, "en")
    assert not metrics.answer_is_correct("Only Paris", ["Paris", "Lyon", "Lyons"], groups, "en")
    assert metrics.answer_is_correct("Only Paris", ["Paris", "Lyon"], [], "en")


def test_token_f1_squad_style() -> None:
    assert metrics.token_f1("the Eiffel Tower", ["Eiffel Tower"], "en") == 1.0
    assert metrics.token_f1("tower", ["Eiffel Tower"], "en") == pytest.approx(2 / 3)
    assert metrics.token_f1("nothing here", ["Eiffel Tower"], "en") == 0.0
    assert metrics.token_f1("Eiffel", ["Louvre", "Eiffel Tower"], "en") == pytest.approx(2 / 3)
    assert metrics.token_f1("", [""], "en") == 1.0
    assert metrics.token_f1("350 000 personnes", ["350,000"], "fr") == pytest.approx(2 / 3)


def test_citation_markers_and_invalid_ones() -> None:
    text = "Paris [1]. Lyon [2, 3]. Nice [7]."
    assert metrics.citation_markers(text) == [1, 2, 3, 7]
    assert metrics.invalid_citation_markers(text, {1, 2, 3}) == 1
    assert metrics.invalid_citation_markers("no markers", set()) == 0


def test_citation_precision_and_recall() -> None:
    cases = [(["g1", "x"], {"g1"}), (["y"], {"g2"}), ([], {"g3"})]
    assert metrics.citation_precision(cases) == pytest.approx(1 / 3)
    assert metrics.citation_recall(cases) == pytest.approx(1 / 3)
    assert metrics.citation_precision([([], {"g"})]) is None
    assert metrics.citation_recall([]) is None


def test_abstention_rates_and_verdicts() -> None:
    cases = [(False, True), (False, False), (True, True), (True, False), (True, False), (True, False)]
    assert metrics.abstention_accuracy(cases) == 0.5
    assert metrics.false_abstention(cases) == 0.25
    assert metrics.abstention_accuracy([(True, False)]) is None
    assert metrics.verdict(False, True, False) == "correct_abstention"
    assert metrics.verdict(False, False, False) == "missed_abstention"
    assert metrics.verdict(True, True, False) == "false_abstention"
    assert metrics.verdict(True, False, True) == "correct"
    assert metrics.verdict(True, False, False) == "wrong"


def test_percentile_and_mean() -> None:
    assert metrics.percentile([], 50) is None
    assert metrics.percentile([3.0], 95) == 3.0
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert metrics.percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)
    assert metrics.mean([1.0, 2.0]) == 1.5
    assert metrics.mean([]) is None


def test_a_quote_matches_evidence_when_one_holds_the_other_or_they_share_most_words() -> None:
    evidence = ["Face à lui se trouvaient William Cho et Kwon Bong-seok, a indiqué LG."]
    assert metrics.quote_matches_evidence("Face à lui se trouvaient William Cho et Kwon Bong-seok", evidence)
    folded = "face a lui se trouvaient william cho et kwon bong-seok, a indique lg"
    assert metrics.quote_matches_evidence(folded, evidence)
    assert not metrics.quote_matches_evidence("Il devait rencontrer le président Yoon.", evidence)
    assert not metrics.quote_matches_evidence("", evidence)
    assert metrics.sentence_citation_precision([(1, 2), (1, 1)]) == pytest.approx(2 / 3)
    assert metrics.sentence_citation_precision([]) is None

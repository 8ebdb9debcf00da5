"""Tests for gold-file format detection and the newsqa, SQuAD and RGB readers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa.eval.errors import GoldFormatError
from qa.eval.formats import detect_format, load_gold, write_articles_jsonl
from qa.eval.rgb import passage_id

SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Super_Bowl_50",
            "paragraphs": [
                {
                    "context": "Super Bowl 50 was played at Levi's Stadium in Santa Clara, California.",
                    "qas": [
                        {
                            "id": "s1",
                            "question": "Where was Super Bowl 50 played?",
                            "answers": [
                                {"text": "Levi's Stadium", "answer_start": 28},
                                {"text": "Levi's Stadium", "answer_start": 28},
                                {"text": "Santa Clara, California", "answer_start": 46},
                            ],
                            "is_impossible": False,
                        },
                        {
                            "id": "s2",
                            "question": "Who sang at Super Bowl 49?",
                            "answers": [],
                            "plausible_answers": [{"text": "Katy Perry", "answer_start": 0}],
                            "is_impossible": True,
                        },
                    ],
                },
                {
                    "context": "The Broncos won the game 24 to 10.",
                    "qas": [{"id": "s3", "question": "Who won?", "answers": [{"text": "The Broncos"}]}],
                },
            ],
        }
    ],
}

RGB_ROWS = [
    {
        "id": 0,
        "query": "Who acquired Instagram?",
        "answer": ["Facebook"],
        "positive": [
            "Facebook bought Instagram in 2012.",
            "In 2012 Facebook acquired Instagram for $1 billion.",
        ],
        "negative": ["Instagram is a photo app.", "Facebook bought Instagram in 2012."],
    },
    {
        "id": 1,
        "query": "When is the Super Bowl 2022 and where?",
        "answer": [["Feb 13, 2022", "February 13"], ["SoFi Stadium"]],
        "positive": [["The game is on February 13."], ["It is played at SoFi Stadium."]],
        "negative": ["Instagram is a photo app."],
    },
    {
        "id": 2,
        "query": "Who won the 2030 World Cup?",
        "answer": "Nobody knows",
        "positive": [],
        "negative": ["x"],
    },
]


def test_newsqa_gold_jsonl(gold_file: Path) -> None:
    gold = load_gold(gold_file)
    assert gold.format == "newsqa" and not gold.articles
    assert [q.id for q in gold.questions] == ["q1", "q2", "q3"]
    q1, q2, q3 = gold.questions
    assert q1.answers == ("350,000",) and q1.gold_article_ids == ("a1",) and q1.type == "numeric"
    assert q2.language == "fr" and q2.answerable
    assert not q3.answerable


def test_detection_uses_content_not_extension(tmp_path: Path, jsonl: Any, gold_rows: list[dict[str, Any]]) -> None:
    squad = tmp_path / "squad.jsonl"
    squad.write_text(json.dumps(SQUAD), encoding="utf-8")
    rgb = jsonl(tmp_path / "data.json", RGB_ROWS)
    gold = jsonl(tmp_path / "gold.json", gold_rows)
    assert detect_format(squad.read_text(), squad) == "squad"
    assert detect_format(rgb.read_text(), rgb) == "rgb"
    assert detect_format(gold.read_text(), gold) == "newsqa"
    assert load_gold(squad).format == "squad"
    assert load_gold(rgb).format == "rgb"


def test_bad_json_line_names_file_and_line(tmp_path: Path, gold_rows: list[dict[str, Any]]) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps(gold_rows[0]) + "\n\n{not json}\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match=r"questions\.jsonl line 3: not valid JSON"):
        load_gold(path)


def test_missing_question_names_the_line(tmp_path: Path, jsonl: Any, gold_rows: list[dict[str, Any]]) -> None:
    path = jsonl(tmp_path / "questions.jsonl", [gold_rows[0], {"id": "q9", "answers": ["x"]}])
    with pytest.raises(GoldFormatError, match=r"questions\.jsonl line 2: missing 'question'"):
        load_gold(path)


def test_first_line_without_question_is_an_error(tmp_path: Path, jsonl: Any) -> None:
    path = jsonl(tmp_path / "questions.jsonl", [{"id": "q1", "answers": ["x"]}])
    with pytest.raises(GoldFormatError, match=r"line 1: missing 'question'"):
        load_gold(path)


def test_duplicate_ids_and_bad_field_types(tmp_path: Path, jsonl: Any, gold_rows: list[dict[str, Any]]) -> None:
    dup = jsonl(tmp_path / "dup.jsonl", [gold_rows[0], gold_rows[0]])
    with pytest.raises(GoldFormatError, match=r"dup\.jsonl line 2: question id 'q1' already used"):
        load_gold(dup)
    bad = jsonl(tmp_path / "bad.jsonl", [{**gold_rows[0], "answers": [{"x": 1}]}])
    with pytest.raises(GoldFormatError, match=r"bad\.jsonl line 1: 'answers' must be a list of strings"):
        load_gold(bad)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match="empty"):
        load_gold(empty)
    with pytest.raises(GoldFormatError, match="no such questions file"):
        load_gold(tmp_path / "nope.jsonl")


def test_squad_conversion(tmp_path: Path) -> None:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    gold = load_gold(path)
    assert [a.id for a in gold.articles] == ["squad-super-bowl-50-0", "squad-super-bowl-50-1"]
    assert gold.articles[0].title == "Super Bowl 50" and gold.articles[0].language == "en"
    s1, s2, s3 = gold.questions
    assert s1.answers == ("Levi's Stadium", "Santa Clara, California")
    assert s1.gold_article_ids == ("squad-super-bowl-50-0",) and s1.type == "squad"
    assert not s2.answerable and s2.type == "unanswerable"
    assert s3.gold_article_ids == ("squad-super-bowl-50-1",)


def test_squad_errors_name_the_json_path(tmp_path: Path) -> None:
    broken = {"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": "x", "answers": []}]}]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(GoldFormatError, match=r"data\[0\]\.paragraphs\[0\]\.qas\[0\]: missing 'question'"):
        load_gold(path)


def test_rgb_conversion(tmp_path: Path, jsonl: Any) -> None:
    gold = load_gold(jsonl(tmp_path / "en.json", RGB_ROWS))
    texts = [a.text for a in gold.articles]
    assert len(texts) == len(set(texts)) == 6  # the repeated passages are stored once
    r0, r1, r2 = gold.questions
    assert r0.id == "rgb-0" and r0.answers == ("Facebook",) and r0.answer_groups == ()
    assert r0.gold_article_ids == (
        passage_id("Facebook bought Instagram in 2012."),
        passage_id("In 2012 Facebook acquired Instagram for $1 billion."),
    )
    assert r1.answer_groups == (("Feb 13, 2022", "February 13"), ("SoFi Stadium",))
    assert r1.answers == ("Feb 13, 2022", "February 13", "SoFi Stadium") and r1.type == "integration"
    assert len(r1.gold_article_ids) == 2
    assert not r2.answerable and r2.type == "unanswerable"


def test_rgb_bad_line(tmp_path: Path, jsonl: Any) -> None:
    path = jsonl(tmp_path / "rgb.json", [RGB_ROWS[0], {"id": 5, "answer": "x", "positive": []}])
    with pytest.raises(GoldFormatError, match=r"rgb\.json line 2: missing 'query'"):
        load_gold(path)


def test_write_articles_jsonl_round_trip(tmp_path: Path, jsonl: Any) -> None:
    gold = load_gold(jsonl(tmp_path / "en.json", RGB_ROWS))
    out = write_articles_jsonl(gold.articles, tmp_path / "out" / "articles.jsonl")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [a.id for a in gold.articles]
    assert set(rows[0]) == {"id", "title", "source", "url", "published", "language", "text"}


def test_evidence_and_as_of_are_read_and_a_bad_as_of_names_the_line(tmp_path: Path, jsonl: Any) -> None:
    row = {
        "id": "q1",
        "question": "How many now?",
        "answers": ["23"],
        "evidence": ["The toll rose to 23."],
        "as_of": "2024-03-20",
    }
    question = load_gold(jsonl(tmp_path / "q.jsonl", [row])).questions[0]
    assert question.evidence == ("The toll rose to 23.",) and question.as_of == "2024-03-20"
    with pytest.raises(GoldFormatError, match=r"q\.jsonl line 1: 'as_of' must be a date"):
        load_gold(jsonl(tmp_path / "q.jsonl", [{**row, "as_of": "March"}]))


def test_the_bridge_probe_loads_and_its_evidence_is_quoted_from_its_articles() -> None:
    folder = Path(__file__).parents[2] / "samples" / "bridge"
    articles = {row["id"]: row for row in map(json.loads, (folder / "articles.jsonl").read_text().splitlines())}
    gold = load_gold(folder / "questions.jsonl")
    assert len(articles) == 22 and len(gold.questions) == 49
    bridges = [q for q in gold.questions if q.type == "bridge"]
    assert len(bridges) == 27 and all(len(q.gold_article_ids) == 2 for q in bridges)
    assert sum(not q.answerable for q in gold.questions) == 4
    for question in gold.questions:
        assert set(question.gold_article_ids) <= set(articles), question.id
        texts = [articles[i]["text"] for i in question.gold_article_ids] or list(
            row["text"] for row in articles.values()
        )
        for sentence in question.evidence:
            assert any(sentence in text for text in texts), (question.id, sentence)

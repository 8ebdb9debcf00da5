"""Shared fixtures for the evaluation tests: tiny gold files, hand-made records and a fake assistant."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.types import Answer, Article, Chunk, Citation, Hit


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Write one JSON value per line."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


GOLD_ROWS = [
    {
        "id": "q1",
        "question": "How many people marched in Paris?",
        "language": "en",
        "answers": ["350,000"],
        "gold_article_ids": ["a1"],
        "type": "numeric",
    },
    {
        "id": "q2",
        "question": "Qui a gagné l'élection ?",
        "language": "fr",
        "answers": ["Marie Curie"],
        "gold_article_ids": ["a2"],
        "type": "entity",
    },
    {
        "id": "q3",
        "question": "What did the mayor of Atlantis say?",
        "language": "en",
        "answers": [],
        "gold_article_ids": [],
        "type": "unanswerable",
    },
]

ARTICLES = [
    Article(id="a1", title="March", text="About 350 000 people marched in Paris on Sunday.", language="en"),
    Article(id="a2", title="Élection", text="Marie Curie a gagné l'élection municipale.", language="fr"),
    Article(id="a3", title="Weather", text="It rained in Lyon all week.", language="en"),
]


@pytest.fixture
def gold_rows() -> list[dict[str, Any]]:
    """The rows of the three-question gold file (copies, safe to change)."""
    return json.loads(json.dumps(GOLD_ROWS))


@pytest.fixture
def jsonl() -> Any:
    """`write_jsonl(path, rows)`: write one JSON value per line."""
    return write_jsonl


@pytest.fixture
def gold_file(tmp_path: Path) -> Path:
    """A three-question newsqa gold file: two answerable (en, fr) and one unanswerable."""
    return write_jsonl(tmp_path / "questions.jsonl", GOLD_ROWS)


@pytest.fixture
def articles_file(tmp_path: Path) -> Path:
    """The three articles the gold questions refer to, as an articles .jsonl."""
    return write_jsonl(
        tmp_path / "articles.jsonl",
        [{"id": a.id, "title": a.title, "language": a.language, "text": a.text} for a in ARTICLES],
    )


@dataclass
class FakeIngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)


class FakeEmbedder:
    """Bag-of-words hashing embedder: deterministic and model-free."""

    dim = 64

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, sum(map(ord, word.strip(".,?!'"))) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_documents(self, texts: list[str], titles: list[str], progress: bool = False) -> np.ndarray:
        assert len(texts) == len(titles)
        return self._encode(texts)


class FakeAssistant:
    """Answers from canned replies; records which questions it was asked."""

    def __init__(self, replies: dict[str, tuple[str, list[str], bool]] | None = None) -> None:
        self._articles: list[Article] = []
        self.replies = replies or {}
        self.asked: list[str] = []
        self.retrieved: list[str] = []
        self.ingested: list[list[Path]] = []
        self.embedder = FakeEmbedder()
        self.llm = None

    def ingest(self, paths: list[Path], progress: bool = False) -> FakeIngestReport:
        self.ingested.append(list(paths))
        report = FakeIngestReport()
        for path in paths:
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                self._articles.append(Article(id=row["id"], title=row["title"], text=row["text"]))
                report.added.append(row["id"])
        return report

    def articles(self) -> list[Article]:
        return list(self._articles)

    def retrieve(self, question: str, k: int = 10) -> list[Hit]:
        self.retrieved.append(question)
        words = set(question.lower().split())
        scored = sorted(self._articles, key=lambda a: -len(words & set(a.text.lower().split())))
        return [
            Hit(chunk=Chunk(f"{a.id}-0", a.id, 0, a.text, 0, len(a.text)), article=a, score=1.0, rank=i + 1)
            for i, a in enumerate(scored[:k])
        ]

    def ask(self, question: str) -> Answer:
        self.asked.append(question)
        text, cited, abstained = self.replies.get(question, ("I could not find that in the articles.", [], True))
        citations = [
            Citation(
                number=n,
                article_id=aid,
                chunk_id=f"{aid}-0",
                title="",
                source=None,
                url=None,
                published=None,
                language=None,
                passage="",
                start=0,
                end=0,
                quote="",
                quote_start=0,
                quote_end=0,
            )
            for n, aid in enumerate(cited, start=1)
        ]
        return Answer(
            question=question,
            text=text,
            citations=citations,
            hits=self.retrieve(question, k=3),
            abstained=abstained,
            language="en",
            timings={"retrieval": 0.01, "ttft": 0.2, "total": 0.5},
            prompt_tokens=300,
            output_tokens=20,
        )


@pytest.fixture
def fake_assistant() -> FakeAssistant:
    """A fake assistant answering q1 right with a citation, q2 wrong, and abstaining on anything else."""
    return FakeAssistant(
        {
            GOLD_ROWS[0]["question"]: ("About 350 000 people marched [1].", ["a1"], False),
            GOLD_ROWS[1]["question"]: ("Pierre Curie a gagné [1] [2].", ["a3"], False),
        }
    )


def make_records() -> list[Any]:
    """Hand-made, scored records covering every verdict, two types and two languages."""
    from qa.eval.gold import GoldQuestion
    from qa.eval.records import new_record

    def q(qid: str, answers: tuple[str, ...], gold: tuple[str, ...], qtype: str, lang: str = "en") -> GoldQuestion:
        return GoldQuestion(
            id=qid,
            question=f"Question {qid}?",
            language=lang,
            answers=answers,
            gold_article_ids=gold,
            type=qtype,
        )

    timings = {"retrieval": 0.05, "ttft": 0.4, "total": 1.2}
    return [
        new_record(
            q("c1", ("350,000",), ("a1",), "numeric"),
            ranked_article_ids=["a1", "a2"],
            answer="350 000 people [1].",
            citations=[{"number": 1, "article_id": "a1"}],
            abstained=False,
            timings=timings,
            prompt_tokens=300,
            output_tokens=10,
        ),
        new_record(
            q("w1", ("Marie Curie",), ("a2",), "entity", "fr"),
            ranked_article_ids=["a3", "a2"],
            answer="Pierre Curie [1] [2] | pipe",
            citations=[{"number": 1, "article_id": "a3"}],
            abstained=False,
            timings={**timings, "total": 2.0},
            prompt_tokens=320,
            output_tokens=12,
        ),
        new_record(
            q("fa", ("Lyon",), ("a3",), "entity"),
            ranked_article_ids=["a1"],
            answer="Not found.",
            abstained=True,
            timings=timings,
            prompt_tokens=0,
            output_tokens=0,
        ),
        new_record(
            q("ca", (), (), "unanswerable"),
            ranked_article_ids=["a1"],
            answer="Not found.",
            abstained=True,
            timings=timings,
            prompt_tokens=0,
            output_tokens=0,
        ),
        new_record(
            q("ma", (), (), "unanswerable", "fr"),
            ranked_article_ids=["a2"],
            answer="Paris [1].",
            citations=[{"number": 1, "article_id": "a2"}],
            abstained=False,
            timings=timings,
            prompt_tokens=280,
            output_tokens=8,
        ),
    ]


@pytest.fixture
def records() -> list[Any]:
    """Five scored records: correct, wrong, false abstention, correct abstention, missed abstention."""
    return make_records()

"""Gold questions: the dataclasses and the reader of newsqa's own `.jsonl` gold format."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from qa.eval.errors import GoldFormatError
from qa.eval.language import guess_language
from qa.types import Article


@dataclass(frozen=True)
class GoldQuestion:
    """One question with its acceptable answers and gold articles; no answers and no gold = unanswerable.

    `answer_groups`, when set, means the answer has several parts: one acceptable answer of every
    group must appear (RGB information-integration questions). `answers` is then all groups flattened.
    `evidence` holds the article sentences that state the answer (for sentence-level citation precision);
    `as_of` is the day the question is asked on, when it matters ("now", "so far", "latest").
    """

    id: str
    question: str
    language: str
    answers: tuple[str, ...] = ()
    gold_article_ids: tuple[str, ...] = ()
    type: str = "unspecified"
    notes: str = ""
    answer_groups: tuple[tuple[str, ...], ...] = ()
    evidence: tuple[str, ...] = ()
    as_of: str | None = None

    @property
    def answerable(self) -> bool:
        """Whether the question has an answer in the corpus (else the right behaviour is to abstain)."""
        return bool(self.answers or self.gold_article_ids)


@dataclass(frozen=True)
class GoldSet:
    """What a gold file holds: questions, plus the articles it carries itself (SQuAD, RGB)."""

    source: Path
    format: str
    questions: list[GoldQuestion]
    articles: list[Article] = field(default_factory=list)


def _string_list(value: Any, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return (str(value),)
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return tuple(dict.fromkeys(str(v) for v in value))
    raise GoldFormatError(f"{where}: '{what}' must be a list of strings, got {json.dumps(value)[:80]}")


def question_from_record(record: Any, where: str) -> GoldQuestion:
    """A GoldQuestion from one parsed gold record; `where` (file and line) prefixes every error."""
    if not isinstance(record, dict):
        raise GoldFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise GoldFormatError(f"{where}: missing 'question' (a non-empty string)")
    qid = record.get("id")
    if qid is None or isinstance(qid, bool) or not isinstance(qid, str | int) or not str(qid).strip():
        raise GoldFormatError(f"{where}: missing 'id' (a string)")
    language = record.get("language")
    if language is not None and not isinstance(language, str):
        raise GoldFormatError(f"{where}: 'language' must be a string")
    as_of = record.get("as_of")
    if as_of is not None:
        try:
            as_of = date.fromisoformat(str(as_of)).isoformat()
        except ValueError:
            raise GoldFormatError(f"{where}: 'as_of' must be a date like 2025-03-14, got {as_of!r}") from None
    return GoldQuestion(
        id=str(qid).strip(),
        question=question.strip(),
        language=(language or guess_language(question)).lower(),
        answers=_string_list(record.get("answers"), "answers", where),
        gold_article_ids=_string_list(record.get("gold_article_ids"), "gold_article_ids", where),
        type=str(record.get("type") or "unspecified"),
        notes=str(record.get("notes") or ""),
        evidence=_string_list(record.get("evidence"), "evidence", where),
        as_of=as_of,
    )


def check_unique_ids(questions: Iterable[tuple[GoldQuestion, str]]) -> list[GoldQuestion]:
    """The questions in order; a repeated id is an error naming where it appears again."""
    seen: dict[str, str] = {}
    out: list[GoldQuestion] = []
    for question, where in questions:
        if question.id in seen:
            raise GoldFormatError(f"{where}: question id {question.id!r} already used at {seen[question.id]}")
        seen[question.id] = where
        out.append(question)
    return out


def parse_gold_lines(text: str, source: Path) -> GoldSet:
    """Read newsqa's gold `.jsonl`: one question object per line, blank lines ignored."""
    parsed: list[tuple[GoldQuestion, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldFormatError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        parsed.append((question_from_record(record, where), where))
    if not parsed:
        raise GoldFormatError(f"{source}: no questions found")
    return GoldSet(source=source, format="newsqa", questions=check_unique_ids(parsed))

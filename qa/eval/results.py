"""Build the `results.json` document from system runs, and write and read it atomically."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.eval.errors import EvalError
from qa.eval.records import QuestionRecord
from qa.eval.summary import system_figures
from qa.files import atomic_write

RESULTS_FILE = "results.json"


@dataclass
class SystemRun:
    """One system's records by question id (newsqa or a baseline) and how to score it."""

    name: str
    description: str
    records: dict[str, QuestionRecord] = field(default_factory=dict)
    citations: bool = True

    def ordered(self, question_ids: Sequence[str]) -> list[QuestionRecord]:
        """The records of `question_ids` that exist, in that order."""
        return [self.records[qid] for qid in question_ids if qid in self.records]


def system_document(run: SystemRun, question_ids: Sequence[str], *, answers: bool) -> dict[str, Any]:
    """`summary`, `by_type`, `by_language` and `questions` of one system."""
    records = run.ordered(question_ids)
    return {
        "description": run.description,
        **system_figures(records, answers=answers, citations=run.citations),
        "questions": [record.to_dict() for record in records],
    }


def build_results(
    meta: Mapping[str, Any],
    main: SystemRun,
    baselines: Sequence[SystemRun],
    question_ids: Sequence[str],
    *,
    answers: bool = True,
) -> dict[str, Any]:
    """The whole results document: newsqa's figures at the top level, baselines under `baselines`."""
    return {
        "meta": {**meta, "system": main.name, "answers_scored": answers},
        **system_document(main, question_ids, answers=answers),
        "baselines": {run.name: system_document(run, question_ids, answers=answers) for run in baselines},
    }


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` as JSON so that a kill never leaves half a file (see `qa.files.atomic_write`)."""
    atomic_write(Path(path), json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))


def read_results(path: Path) -> dict[str, Any] | None:
    """A previous results document, or None when there is none; an unreadable one is an error."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalError(f"{path}: cannot read previous results ({exc}); delete it or choose another --out") from None
    if not isinstance(data, dict):
        raise EvalError(f"{path}: not a results document; delete it or choose another --out")
    return data

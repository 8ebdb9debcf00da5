"""Resume bookkeeping: which questions a previous run in the same output directory already finished."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.eval.errors import EvalError
from qa.eval.gold import GoldQuestion
from qa.eval.records import FULL, QuestionRecord, score_record

MAIN_SYSTEM = "newsqa"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (identifies the questions file a results document belongs to)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_same_questions(previous: Mapping[str, Any], questions_sha256: str, where: Path) -> None:
    """Refuse to resume from results made with another questions file."""
    found = (previous.get("meta") or {}).get("questions_sha256")
    if found != questions_sha256:
        raise EvalError(
            f"{where} holds results for another questions file (sha256 {str(found)[:12]}…, this one is "
            f"{questions_sha256[:12]}…); choose another --out directory or delete it"
        )


def previous_records(previous: Mapping[str, Any] | None, system: str) -> list[dict[str, Any]]:
    """The raw per-question records a previous results document holds for `system`."""
    if not previous:
        return []
    if system == MAIN_SYSTEM:
        return list(previous.get("questions") or [])
    return list(((previous.get("baselines") or {}).get(system) or {}).get("questions") or [])


def completed_records(
    previous: Mapping[str, Any] | None,
    system: str,
    questions: Sequence[GoldQuestion],
    *,
    retrieval_only: bool,
) -> dict[str, QuestionRecord]:
    """Records of `system` that need not be run again, re-scored with the current metrics, by question id.

    A record counts as done when it belongs to a current question with the same text, has no error, and
    was made in full mode (or the new run is retrieval-only, for which any mode will do).
    """
    wanted = {q.id: q.question for q in questions}
    done: dict[str, QuestionRecord] = {}
    for raw in previous_records(previous, system):
        record = QuestionRecord.from_dict(raw)
        if wanted.get(record.id) != record.question or record.error:
            continue
        if record.mode == FULL or retrieval_only:
            done[record.id] = score_record(record)
    return done


def pending_questions(questions: Sequence[GoldQuestion], done: Mapping[str, QuestionRecord]) -> list[GoldQuestion]:
    """The questions still to run, in file order."""
    return [q for q in questions if q.id not in done]

"""Convert RGB-style JSON lines (`query`, `answer`, `positive`, `negative`) to gold questions and articles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from qa.eval.errors import GoldFormatError
from qa.eval.gold import GoldQuestion, GoldSet, check_unique_ids
from qa.eval.language import guess_language
from qa.types import Article


def _flatten(value: Any, what: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [item for element in value for item in _flatten(element, what, where)]
    raise GoldFormatError(f"{where}: '{what}' must be a string or a (nested) list of strings")


def answer_groups(value: Any, where: str) -> list[tuple[str, ...]]:
    """RGB answers: a string, or a list whose elements are each required, an element being a string or a
    list of alternatives (`[["Jan 2", "January 2"]]` is one part with two spellings)."""
    elements = value if isinstance(value, list) else [value]
    groups = [tuple(dict.fromkeys(s.strip() for s in _flatten(e, "answer", where) if s.strip())) for e in elements]
    return [group for group in groups if group]


def passage_id(text: str) -> str:
    """Stable article id of a passage: identical passages share it."""
    return "rgb-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def passage_title(text: str, limit: int = 80) -> str:
    """A short title for a passage: its first words."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def _question_type(record: dict[str, Any], groups: list[tuple[str, ...]]) -> str:
    if record.get("type"):
        return str(record["type"])
    if "fakeanswer" in record or "positive_wrong" in record:
        return "counterfactual"
    return "integration" if len(groups) > 1 else "rgb"


def convert_rgb(text: str, source: Path) -> GoldSet:
    """Positive and negative passages become articles (deduplicated); gold articles are the positive ones.
    A question without positive passages is unanswerable."""
    articles: dict[str, Article] = {}
    parsed: list[tuple[GoldQuestion, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldFormatError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise GoldFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
        query = record.get("query")
        if not isinstance(query, str) or not query.strip():
            raise GoldFormatError(f"{where}: missing 'query' (a non-empty string)")
        language = str(record.get("language") or guess_language(query)).lower()
        gold: list[str] = []
        for kind in ("positive", "negative"):
            for passage in _flatten(record.get(kind), kind, where):
                passage = passage.strip()
                if not passage:
                    continue
                article_id = passage_id(passage)
                articles.setdefault(
                    article_id,
                    Article(
                        id=article_id,
                        title=passage_title(passage),
                        text=passage,
                        source="rgb",
                        language=language,
                    ),
                )
                if kind == "positive" and article_id not in gold:
                    gold.append(article_id)
        groups = answer_groups(record.get("answer"), where) if gold else []
        qid = record.get("id")
        parsed.append(
            (
                GoldQuestion(
                    id=f"rgb-{qid}" if qid not in (None, "") else f"rgb-line{number}",
                    question=query.strip(),
                    language=language,
                    answers=tuple(dict.fromkeys(a for group in groups for a in group)),
                    gold_article_ids=tuple(gold),
                    type=_question_type(record, groups) if gold else "unanswerable",
                    answer_groups=tuple(groups) if len(groups) > 1 else (),
                ),
                where,
            )
        )
    if not parsed:
        raise GoldFormatError(f"{source}: no questions found")
    return GoldSet(source=source, format="rgb", questions=check_unique_ids(parsed), articles=list(articles.values()))

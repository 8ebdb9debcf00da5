"""Convert SQuAD-style JSON (v1.1 or v2.0) into gold questions plus one article per paragraph."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from qa.eval.errors import GoldFormatError
from qa.eval.gold import GoldQuestion, GoldSet, check_unique_ids
from qa.eval.language import guess_language
from qa.eval.normalize import strip_accents
from qa.types import Article


def slug(text: str) -> str:
    """A lower-case ASCII slug for ids: 'Super_Bowl_50' → 'super-bowl-50'."""
    return re.sub(r"[^a-z0-9]+", "-", strip_accents(text).lower()).strip("-") or "untitled"


def _require(mapping: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(mapping, dict) or not isinstance(mapping.get(key), kind):
        raise GoldFormatError(f"{where}: missing '{key}' ({kind.__name__})")
    return mapping[key]


def _answers(qa: dict[str, Any], where: str) -> tuple[str, ...]:
    texts = []
    for i, answer in enumerate(qa.get("answers") or []):
        texts.append(_require(answer, "text", str, f"{where}.answers[{i}]").strip())
    return tuple(dict.fromkeys(t for t in texts if t))


def convert_squad(data: Any, source: Path) -> GoldSet:
    """Each paragraph becomes Article `squad-<title slug>-<n>`; `is_impossible` questions are unanswerable."""
    entries = _require(data, "data", list, str(source))
    articles: list[Article] = []
    questions: list[tuple[GoldQuestion, str]] = []
    counters: dict[str, int] = {}
    for e, entry in enumerate(entries):
        where_entry = f"{source}: data[{e}]"
        title = str(entry.get("title") or "untitled") if isinstance(entry, dict) else "untitled"
        paragraphs = _require(entry, "paragraphs", list, where_entry)
        language = ""
        for p, paragraph in enumerate(paragraphs):
            where = f"{where_entry}.paragraphs[{p}]"
            context = _require(paragraph, "context", str, where)
            language = language or guess_language(context)
            key = slug(title)
            n = counters.get(key, 0)
            counters[key] = n + 1
            article_id = f"squad-{key}-{n}"
            articles.append(
                Article(
                    id=article_id,
                    title=title.replace("_", " "),
                    text=context,
                    source="squad",
                    language=language,
                )
            )
            for q, qa in enumerate(paragraph.get("qas") or []):
                where_qa = f"{where}.qas[{q}]"
                text = _require(qa, "question", str, where_qa).strip()
                if not text:
                    raise GoldFormatError(f"{where_qa}: missing 'question' (a non-empty string)")
                qid = qa.get("id")
                impossible = bool(qa.get("is_impossible", False))
                questions.append(
                    (
                        GoldQuestion(
                            id=str(qid) if qid not in (None, "") else f"{article_id}-q{q}",
                            question=text,
                            language=language,
                            answers=() if impossible else _answers(qa, where_qa),
                            gold_article_ids=() if impossible else (article_id,),
                            type="unanswerable" if impossible else "squad",
                        ),
                        where_qa,
                    )
                )
    if not questions:
        raise GoldFormatError(f"{source}: no questions found in the SQuAD data")
    return GoldSet(source=source, format="squad", questions=check_unique_ids(questions), articles=articles)

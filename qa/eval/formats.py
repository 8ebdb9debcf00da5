"""Detect a gold file's format from its content and load it: newsqa `.jsonl`, SQuAD JSON or RGB JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.eval.errors import GoldFormatError
from qa.eval.gold import GoldSet, parse_gold_lines
from qa.eval.rgb import convert_rgb
from qa.eval.squad import convert_squad
from qa.types import Article

FORMATS = ("newsqa", "squad", "rgb")


def _format_of_record(record: Any, where: str) -> str:
    if isinstance(record, dict):
        if isinstance(record.get("data"), list):
            return "squad"
        if "question" in record:
            return "newsqa"
        if "query" in record:
            return "rgb"
    raise GoldFormatError(
        f'{where}: missing \'question\' — expected newsqa gold lines ({{"id", "question", "answers", ...}}), '
        'RGB lines ({"query", "answer", "positive", "negative"}) or SQuAD JSON ({"data": [...]})'
    )


def detect_format(text: str, source: Path) -> str:
    """'newsqa', 'squad' or 'rgb', judged from the content (the first record), not the file extension."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise GoldFormatError(f"{source}: the file is empty")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    else:
        if isinstance(whole, list):
            raise GoldFormatError(f"{source}: a JSON array is not a gold format; write one JSON object per line")
        return _format_of_record(whole, f"{source} line 1")
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if line.strip():
            where = f"{source} line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GoldFormatError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            return _format_of_record(record, where)
    raise GoldFormatError(f"{source}: the file is empty")  # pragma: no cover - stripped text is non-empty


def load_gold(path: Path) -> GoldSet:
    """Read a gold questions file in any supported format (see `detect_format`)."""
    path = Path(path)
    if not path.is_file():
        raise GoldFormatError(f"{path}: no such questions file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GoldFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    text = text.lstrip("\ufeff")
    kind = detect_format(text, path)
    if kind == "squad":
        return convert_squad(json.loads(text), path)
    if kind == "rgb":
        return convert_rgb(text, path)
    return parse_gold_lines(text, path)


def article_record(article: Article) -> dict[str, Any]:
    """An article as one line of the articles `.jsonl` format the assistant ingests."""
    return {
        "id": article.id,
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "published": article.published.date().isoformat() if article.published else None,
        "language": article.language,
        "text": article.text,
    }


def write_articles_jsonl(articles: list[Article], path: Path) -> Path:
    """Write `articles` as an articles `.jsonl` file (one JSON object per line) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for article in articles:
            handle.write(json.dumps(article_record(article), ensure_ascii=False) + "\n")
    return path

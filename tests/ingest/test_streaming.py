"""Line-oriented files (JSON Lines, CSV) past the whole-file limit are read line by line with bounded memory;
whole-document formats keep the limit and say what to do; ingestion saves a stream batch by batch."""

from __future__ import annotations

import csv
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.ingest import decoding
from qa.ingest.readers import iter_file, iter_paths, read_file
from qa.ingest.records import IngestIssue, build_article
from qa.types import Article

LIMIT = 64 * 1024  # the whole-file limit for these tests, so that a file past it stays small


@pytest.fixture()
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(decoding, "MAX_FILE_BYTES", LIMIT)
    return LIMIT


def record(number: int) -> dict[str, str]:
    words = " ".join(f"word{number}x{i}" for i in range(120))
    text = f"The council met on day {number}. {words}"
    return {"id": f"a{number}", "title": f"Article number {number}", "text": text}


def write_jsonl(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            out.write(json.dumps(record(number)) + "\n")
    return path


def test_jsonl_past_the_limit_streams_every_line(tmp_path: Path, small_limit: int) -> None:
    path = write_jsonl(tmp_path / "big.jsonl", 400)
    assert path.stat().st_size > 4 * small_limit
    with path.open("ab") as out:
        out.write(b"{not json\n")
        latin = {"id": "latin", "title": "Café", "text": "Un café ouvre."}
        out.write(json.dumps(latin, ensure_ascii=False).encode("cp1252"))
    items = list(iter_file(path))
    articles = [item for item in items if isinstance(item, Article)]
    issues = [item for item in items if isinstance(item, IngestIssue)]
    assert [a.id for a in articles[:400]] == [f"a{n}" for n in range(400)]
    assert articles[-1].id == "latin" and articles[-1].title == "Café"
    assert articles[7].metadata["origin"] == f"{path}:8"
    assert [(i.origin, i.skipped) for i in issues] == [(f"{path}:401", True), (f"{path}:402", False)]
    assert "invalid JSON line" in issues[0].reason and "cp1252" in issues[1].reason


def test_streaming_holds_one_line_at_a_time(tmp_path: Path, small_limit: int) -> None:
    path = write_jsonl(tmp_path / "big.jsonl", 1500)
    size = path.stat().st_size
    list(iter_file(write_jsonl(tmp_path / "warm.jsonl", 3)))  # language detection loads its data once, first
    seen = 0
    tracemalloc.start()
    try:
        for item in iter_file(path):
            seen += isinstance(item, Article)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == 1500
    assert size > 1_500_000 and peak < size / 10, f"peak {peak} bytes while reading a {size}-byte file"


def test_the_first_article_comes_before_the_file_is_read(tmp_path: Path, small_limit: int) -> None:
    path = write_jsonl(tmp_path / "big.jsonl", 300)
    stream = iter_paths([tmp_path])
    first = next(stream)
    assert isinstance(first, Article) and first.id == "a0"
    path.write_text("")  # a reader holding the whole file would still produce the rest; this one soon stops
    rest = [item for item in stream if isinstance(item, Article)]
    assert len(rest) < 50


def test_csv_past_the_limit_streams_rows_with_quoted_newlines(tmp_path: Path, small_limit: int) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["id", "title", "text"])
        writer.writeheader()
        for number in range(400):
            row = record(number)
            writer.writerow({**row, "text": row["text"].replace(". ", ".\n\n", 1)})
    assert path.stat().st_size > 4 * small_limit
    result = read_file(path)
    assert not result.issues
    assert len(result.articles) == 400 and "\n\n" in result.articles[5].text


def test_whole_document_formats_keep_the_limit(tmp_path: Path, small_limit: int) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps([record(n) for n in range(200)]), encoding="utf-8")
    result = read_file(path)
    assert not result.articles
    assert "the limit is" in result.issues[0].reason and "JSON Lines" in result.issues[0].reason
    utf16 = tmp_path / "wide.jsonl"
    utf16.write_text("\n".join(json.dumps(record(n)) for n in range(200)), encoding="utf-16")
    assert "re-save it as UTF-8" in read_file(utf16).issues[0].reason


def test_ingesting_a_stream_saves_finished_batches(tmp_path: Path, fast_settings: Settings) -> None:
    settings = fast_settings.with_overrides(ingest_batch_articles=2)

    def articles() -> Iterator[Article]:
        for number in range(20):
            yield build_article(record(number), f"stream:{number}")[0]
        raise KeyboardInterrupt  # the reader is stopped part-way, as by Ctrl-C

    index = tmp_path / "index"
    with pytest.raises(KeyboardInterrupt):
        Assistant.open(index, settings).ingest_articles(articles())
    # The stream is read a window of 8 batches at a time: the first window's batches were saved before the stop.
    saved = {article.id for article in Assistant.open(index, settings).articles()}
    assert saved == {f"a{n}" for n in range(16)}

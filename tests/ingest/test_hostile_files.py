"""Hostile files through the real readers: each bad file, row, date, id or value costs only itself."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from qa.ingest.csv_files import MAX_FIELD_CHARS
from qa.ingest.dates import parse_date
from qa.ingest.readers import read_paths
from qa.ingest.records import MAX_ID_CHARS, MAX_NESTING, ReadOptions

GOOD = "Oslo opened a new public library on Monday. It holds 450,000 books and stays open until midnight."


def _good_files(folder: Path, count: int = 3) -> set[str]:
    """`count` good Markdown articles; returns their ids."""
    ids = set()
    for number in range(count):
        article_id = f"good-{number}"
        (folder / f"good-{number}.md").write_text(
            f"---\nid: {article_id}\ntitle: Library {number}\npublished: 2024-03-0{number + 1}\n---\n{GOOD}\n",
            encoding="utf-8",
        )
        ids.add(article_id)
    return ids


def _by_origin(result, suffix: str):
    return [issue for issue in result.issues if issue.origin.endswith(suffix)]


@pytest.mark.parametrize("written", ["9999-12-31 23:00 PST", "1/1/0001 00:00 UTC+5", "0001-01-01T00:00:00+05:00"])
def test_dates_out_of_range_cost_only_the_date(tmp_path: Path, written: str) -> None:
    with pytest.raises(ValueError):
        parse_date(written)
    ids = _good_files(tmp_path)
    (tmp_path / "far.md").write_text(f"---\nid: far\ntitle: Far future\npublished: {written}\n---\n{GOOD}\n")
    result = read_paths([tmp_path])
    assert {a.id for a in result.articles} == ids | {"far"}
    far = next(a for a in result.articles if a.id == "far")
    assert far.published is None
    (issue,) = result.issues
    assert not issue.skipped and issue.origin.endswith("far.md") and issue.reason.startswith("date ignored")


def test_deep_metadata_is_refused_at_reading_with_a_reason(tmp_path: Path) -> None:
    ids = _good_files(tmp_path)
    deep: object = "bottom"
    for _ in range(500):
        deep = {"level": deep}
    lines = [json.dumps({"id": "deep", "text": GOOD, "extra": deep}), json.dumps({"id": "fine", "text": GOOD})]
    (tmp_path / "deep.jsonl").write_text("\n".join(lines), encoding="utf-8")
    result = read_paths([tmp_path])
    assert {a.id for a in result.articles} == ids | {"fine"}
    (issue,) = _by_origin(result, "deep.jsonl:1")
    assert issue.skipped and f"nested more than {MAX_NESTING} levels deep" in issue.reason


def test_a_csv_field_over_the_limit_is_reported_and_later_rows_are_read(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "text"])
        writer.writerow(["r1", "First", GOOD])
        writer.writerow(["huge", "Huge", "x" * (MAX_FIELD_CHARS + 1)])
        writer.writerow(["r3", "Third", GOOD + "\nWith a second line."])
        writer.writerow(["r4", "Fourth", GOOD])
    result = read_paths([path])
    assert [a.id for a in result.articles] == ["r1", "r3", "r4"]
    (issue,) = result.issues
    assert issue.origin.endswith("rows.csv:3") and issue.skipped and "field 'text' is 16 MB" in issue.reason


def test_a_malformed_csv_row_does_not_end_the_read(tmp_path: Path) -> None:
    path = tmp_path / "rows.tsv"
    path.write_text(f"id\ttitle\ttext\nt1\tOne\t{GOOD}\nt2\tTwo\t{GOOD}\tspare cell\nt3\tThree\t{GOOD}\n")
    result = read_paths([path])
    assert [a.id for a in result.articles] == ["t1", "t3"]
    assert [issue.origin.rsplit(":", 1)[1] for issue in result.issues] == ["3"]


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (["a", "b"], "a list"),
        (42, "a number"),
        (True, "true (a boolean)"),
        (float("nan"), "NaN"),
        ({"x": 1}, "an object"),
    ],
)
def test_wrong_json_types_are_rejected_with_a_reason(tmp_path: Path, value: object, named: str) -> None:
    lines = [json.dumps({"id": "bad", "title": "T", "text": value}), json.dumps({"id": "ok", "text": GOOD})]
    (tmp_path / "types.jsonl").write_text("\n".join(lines))
    result = read_paths([tmp_path / "types.jsonl"])
    assert [a.id for a in result.articles] == ["ok"]
    (issue,) = result.issues
    assert issue.skipped and issue.reason == f"field 'text' must be text, not {named}"


def test_numbers_are_refused_as_titles_in_json_but_front_matter_keeps_what_was_written(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": 7, "title": 1984, "text": GOOD}))
    (tmp_path / "b.md").write_text(f"---\nid: 8\ntitle: 1984\nauthor: No\npublished: 2024-02-30\n---\n{GOOD}\n")
    result = read_paths([tmp_path])
    (issue_a,) = _by_origin(result, "a.jsonl:1")
    assert issue_a.reason == "field 'title' must be text, not a number"
    (article,) = result.articles
    assert (article.id, article.title, article.author, article.published) == ("8", "1984", "No", None)
    (issue_b,) = _by_origin(result, "b.md")
    assert not issue_b.skipped and "date ignored" in issue_b.reason


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_text_files_with_a_utf16_or_utf32_byte_order_mark_are_read(tmp_path: Path, encoding: str) -> None:
    text = f"Bibliothèque d'Oslo\n\n{GOOD}\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (tmp_path / "wide.txt").write_bytes(data)
    result = read_paths([tmp_path / "wide.txt"])
    (article,) = result.articles
    assert article.title == "Bibliothèque d'Oslo" and article.text == GOOD
    (issue,) = result.issues
    assert not issue.skipped and "byte-order mark" in issue.reason


@pytest.mark.parametrize(
    ("article_id", "reason"),
    [
        ("x" * (MAX_ID_CHARS + 1), f"the limit is {MAX_ID_CHARS}"),
        ("evil\x00id", "U+0000"),
        ("two\nlines", "U+000A"),
        ("abc\u202edcba", "U+202E"),
        ("\u2066isolated\u2069", "U+2066"),
    ],
)
def test_ids_that_are_too_long_or_hold_invisible_characters_are_refused(
    tmp_path: Path, article_id: str, reason: str
) -> None:
    lines = [json.dumps({"id": article_id, "text": GOOD}), json.dumps({"id": "plain-id", "text": GOOD})]
    (tmp_path / "ids.jsonl").write_text("\n".join(lines))
    result = read_paths([tmp_path / "ids.jsonl"])
    assert [a.id for a in result.articles] == ["plain-id"]
    (issue,) = result.issues
    assert issue.skipped and issue.origin.endswith(":1") and reason in issue.reason


def test_html_extraction_over_its_time_limit_skips_that_document_only(tmp_path: Path) -> None:
    ids = _good_files(tmp_path)
    attributes = " ".join(f'data-a{n}="{n}"' for n in range(40_000))
    (tmp_path / "a-hostile.html").write_text(f"<html><body><p {attributes}>{GOOD}</p></body></html>")
    page = f"<html><head><title>Library</title></head><body><article><p>{GOOD}</p><p>{GOOD}</p></article></body></html>"
    (tmp_path / "later.html").write_text(page)  # read after the hostile page (folders are read in name order)
    result = read_paths([tmp_path], ReadOptions(extract_timeout_s=3))
    (issue,) = result.issues
    assert issue.origin.endswith("a-hostile.html") and issue.skipped
    assert "took longer than 3 s" in issue.reason and "extract_timeout_s" in issue.reason
    assert {a.id for a in result.articles} >= ids and any("450,000 books" in a.text for a in result.articles)
    assert len(result.articles) == len(ids) + 1  # the page after the stopped one is extracted by a new worker

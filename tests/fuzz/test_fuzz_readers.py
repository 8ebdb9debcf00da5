"""Property tests of the file readers: generated files go through the real readers from disk.

Valid records come back with the same title, text and date; garbage never raises, and every rejected
file, line or row is reported with its origin and a reason.
"""

from __future__ import annotations

import csv
import html
import json
from datetime import UTC, datetime

import yaml
from hypothesis import given
from hypothesis import strategies as st

from qa.errors import IngestError
from qa.ingest.decoding import read_text
from qa.ingest.readers import read_file
from tests.fuzz.strategies import (
    ANY_TEXT,
    JSON_VALUES,
    LINE,
    PARSERS,
    RECORDS,
    SLOW_PARSERS,
    assert_round_trip,
    assert_well_formed,
    mutated,
    public,
    scratch,
    valid_records,
)

# -- JSON and JSON Lines ------------------------------------------------------------------------


@PARSERS
@given(records=st.lists(valid_records(), min_size=1, max_size=5), shape=st.sampled_from(["list", "wrapped", "object"]))
def test_json_records_round_trip(records: list[dict], shape: str) -> None:
    records = records[:1] if shape == "object" else records
    data = [public(r) for r in records]
    payload = data[0] if shape == "object" else {"articles": data} if shape == "wrapped" else data
    with scratch() as folder:
        path = folder / "articles.json"
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        result = read_file(path)
        assert_well_formed(result, path)
        assert [issue for issue in result.issues if issue.skipped] == []
        assert len(result.articles) == len(records)
        for article, record in zip(result.articles, records):
            assert_round_trip(article, record)


def _jsonl_line(kind: str, value: object) -> str:
    if kind == "garbage":
        return str(value).replace("\n", " ").replace("\r", " ")
    if kind.startswith("valid"):
        value = public(value)  # type: ignore[arg-type]
    return json.dumps(value, ensure_ascii=kind == "valid-ascii")


@PARSERS
@given(
    lines=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["valid", "valid-ascii"]), valid_records()),
            st.tuples(st.just("json"), RECORDS | JSON_VALUES),
            st.tuples(st.just("garbage"), ANY_TEXT),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_every_jsonl_line_gives_an_article_or_a_reason(lines: list[tuple[str, object]]) -> None:
    rendered = [_jsonl_line(kind, value) for kind, value in lines]
    if not any(line.strip() for line in rendered):
        return  # a file of white space only: covered by the decoding properties
    with scratch() as folder:
        path = folder / "articles.jsonl"
        path.write_text("\n".join(rendered) + "\n", encoding="utf-8")
        result = read_file(path)
        assert_well_formed(result, path)
        numbered = [(n, kind, value) for n, ((kind, value), line) in enumerate(zip(lines, rendered), 1) if line.strip()]
        skipped = {issue.origin for issue in result.issues if issue.skipped}
        # Each non-blank line is either one article or one rejection naming that line.
        assert len(result.articles) + len(skipped) == len(numbered)
        kept = {article.metadata["origin"]: article for article in result.articles}
        for number, kind, value in numbered:
            origin = f"{path}:{number}"
            assert (origin in kept) != (origin in skipped)
            if kind.startswith("valid"):
                assert_round_trip(kept[origin], value)  # type: ignore[arg-type]


@PARSERS
@given(payload=JSON_VALUES, suffix=st.sampled_from([".json", ".jsonl"]))
def test_any_json_value_is_read_or_reported(payload: object, suffix: str) -> None:
    with scratch() as folder:
        path = folder / f"data{suffix}"
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=None), encoding="utf-8")
        assert_well_formed(read_file(path), path)


@PARSERS
@given(
    data=st.data(),
    records=st.lists(valid_records(), min_size=1, max_size=3),
    suffix=st.sampled_from([".json", ".jsonl"]),
)
def test_damaged_json_is_read_or_reported(data: st.DataObject, records: list[dict], suffix: str) -> None:
    if suffix == ".json":
        original = json.dumps([public(r) for r in records], ensure_ascii=False, indent=1)
    else:
        original = "\n".join(json.dumps(public(r), ensure_ascii=False) for r in records)
    with scratch() as folder:
        path = folder / f"damaged{suffix}"
        path.write_bytes(data.draw(mutated(original.encode("utf-8"))))
        assert_well_formed(read_file(path), path)


# -- CSV ----------------------------------------------------------------------------------------


@PARSERS
@given(records=st.lists(valid_records(), min_size=1, max_size=5), tabs=st.booleans())
def test_csv_rows_round_trip(records: list[dict], tabs: bool) -> None:
    fields = ["id", "title", "text", "published", "source"]
    with scratch() as folder:
        path = folder / ("articles.tsv" if tabs else "articles.csv")
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, delimiter="\t" if tabs else ",")
            writer.writeheader()
            writer.writerows({k: v for k, v in public(r).items() if k in fields} for r in records)
        result = read_file(path)
        assert_well_formed(result, path)
        assert [issue for issue in result.issues if issue.skipped] == []
        assert len(result.articles) == len(records)
        for article, record in zip(result.articles, records):
            assert_round_trip(article, record)


@PARSERS
@given(
    header=st.lists(st.one_of(st.sampled_from(["title", "text", "published", "id", ""]), ANY_TEXT), max_size=5),
    rows=st.lists(st.lists(ANY_TEXT, max_size=6), max_size=5),
)
def test_any_table_is_read_or_reported(header: list[str], rows: list[list[str]]) -> None:
    with scratch() as folder:
        path = folder / "table.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        if not path.read_text(encoding="utf-8").strip():
            path.write_text("title\n", encoding="utf-8")
        result = read_file(path)
        assert_well_formed(result, path)
        for issue in result.issues:
            if issue.skipped and issue.origin != str(path):
                assert issue.origin.startswith(f"{path}:"), issue


@PARSERS
@given(data=st.data(), records=st.lists(valid_records(), min_size=1, max_size=3))
def test_damaged_csv_is_read_or_reported(data: st.DataObject, records: list[dict]) -> None:
    with scratch() as folder:
        path = folder / "damaged.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "title", "text", "published", "source"])
            writer.writeheader()
            writer.writerows(public(r) for r in records)
        path.write_bytes(data.draw(mutated(path.read_bytes())))
        assert_well_formed(read_file(path), path)


# -- text and Markdown --------------------------------------------------------------------------


def _front_matter_file(record: dict) -> str:
    fields = {k: v for k, v in public(record).items() if k != "text"}
    return "---\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "---\n" + record["text"] + "\n"


@PARSERS
@given(record=valid_records(), suffix=st.sampled_from([".md", ".txt", ".markdown"]))
def test_front_matter_round_trip(record: dict, suffix: str) -> None:
    with scratch() as folder:
        path = folder / f"article{suffix}"
        path.write_text(_front_matter_file(record), encoding="utf-8")
        result = read_file(path)
        assert_well_formed(result, path)
        (article,) = result.articles
        assert_round_trip(article, record)


@PARSERS
@given(record=valid_records(), note=LINE)
def test_block_values_in_front_matter_do_not_end_it(record: dict, note: str) -> None:
    # A multi-line value (here a description) may hold any line, including an indented '---'.
    record = {**record, "description": f"{note}\n---\n{note}"}
    with scratch() as folder:
        path = folder / "article.md"
        path.write_text(_front_matter_file(record), encoding="utf-8")
        result = read_file(path)
        assert_well_formed(result, path)
        (article,) = result.articles
        assert_round_trip(article, record)
        assert article.metadata["description"] == record["description"]


_YAML_VALUES = st.one_of(
    ANY_TEXT.map(lambda s: s.replace("\n", " ")),
    st.sampled_from(
        ["2024-13-45", "2024-02-30", "2024-02-28 25:61:00", "9" * 5000, "[" * 3000, "{", "*nope", "&a [*a]",
         "!!binary ??", "!!python/object:os.system", "? [a]", ".nan", "~", "0x1F", "1e999", "|", ">-", "'", '"\\ud800"',
         "2024-02-29T12:00:00+25:00", "- a\n- b", "[1, 2]", "{a: 1}"]
    ),
)  # fmt: skip


@PARSERS
@given(
    entries=st.lists(st.tuples(st.one_of(st.sampled_from(["title", "published", "id", "text"]), LINE), _YAML_VALUES)),
    body=ANY_TEXT,
    closed=st.booleans(),
)
def test_any_front_matter_is_read_or_reported(entries: list[tuple[str, str]], body: str, closed: bool) -> None:
    lines = [f"{key.replace(':', ' ')}: {value}" for key, value in entries]
    text = "---\n" + "\n".join(lines) + ("\n---\n" if closed else "\n") + body
    with scratch() as folder:
        path = folder / "article.md"
        path.write_text(text, encoding="utf-8")
        assert_well_formed(read_file(path), path)


@PARSERS
@given(text=ANY_TEXT.filter(str.strip), suffix=st.sampled_from([".md", ".txt"]))
def test_any_plain_text_is_read_or_reported(text: str, suffix: str) -> None:
    with scratch() as folder:
        path = folder / f"note{suffix}"
        path.write_text(text, encoding="utf-8")
        result = read_file(path)
        assert_well_formed(result, path)
        for article in result.articles:
            # The title is the first line or comes from it; nothing of the body is invented.
            assert article.text in text.strip()


@PARSERS
@given(data=st.data(), record=valid_records())
def test_damaged_markdown_is_read_or_reported(data: st.DataObject, record: dict) -> None:
    with scratch() as folder:
        path = folder / "damaged.md"
        path.write_bytes(data.draw(mutated(_front_matter_file(record).encode("utf-8"))))
        assert_well_formed(read_file(path), path)


# -- HTML ---------------------------------------------------------------------------------------

_SENTENCE = st.lists(st.text(st.characters(categories=("L",)), min_size=2, max_size=9), min_size=8, max_size=20).map(
    lambda words: " ".join(words).capitalize() + "."
)


def _page(title: str, paragraphs: list[str], published: datetime | None) -> str:
    meta = f'<meta property="article:published_time" content="{published.isoformat()}">' if published else ""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>{meta}</head>'
        f"<body><nav><a href='/'>Home</a></nav><article><h1>{html.escape(title)}</h1>{body}</article></body></html>"
    )


@SLOW_PARSERS
@given(
    title=st.lists(st.text(st.characters(categories=("L",)), min_size=2, max_size=9), min_size=2, max_size=8).map(
        " ".join
    ),
    paragraphs=st.lists(_SENTENCE, min_size=2, max_size=5),
    # Page dates are only trusted from 1995 up to today (htmldate's plausibility window).
    published=st.none() | st.datetimes(datetime(1995, 1, 2), datetime(2024, 12, 30), timezones=st.just(UTC)),
)
def test_html_articles_keep_title_text_and_date(title: str, paragraphs: list[str], published: datetime | None) -> None:
    with scratch() as folder:
        path = folder / "page.html"
        path.write_text(_page(title, paragraphs, published), encoding="utf-8")
        result = read_file(path)
        assert_well_formed(result, path)
        (article,) = result.articles
        assert article.title == title
        # Extraction may keep a stray navigation link, but never loses or alters a paragraph.
        assert all(paragraph in article.text.split("\n\n") for paragraph in paragraphs)
        expected = datetime(published.year, published.month, published.day, tzinfo=UTC) if published else None
        assert article.published == expected


_MARKUP = st.sampled_from(
    ["<p>", "</p>", "<div>", "</div>", "<script>", "</script>", "<!--", "-->", "<![CDATA[", "&amp;", "&#0;", "&#xd800;",
     "&#99999999;", "<meta charset='utf-16'>", "<?xml version='1.0' encoding='latin-1'?>", "<title>", "</title>",
     "<article>", "<html lang='zz'>", "<meta name='date' content='2024-13-45'>", "<br>", "\n"]
)  # fmt: skip


@SLOW_PARSERS
@given(parts=st.lists(st.one_of(_MARKUP, ANY_TEXT, _SENTENCE), max_size=25))
def test_any_markup_is_read_or_reported(parts: list[str]) -> None:
    text = "".join(parts)
    with scratch() as folder:
        path = folder / "page.htm"
        path.write_text(text if text.strip() else "<p></p>", encoding="utf-8")
        assert_well_formed(read_file(path), path)


@SLOW_PARSERS
@given(data=st.data(), paragraphs=st.lists(_SENTENCE, min_size=1, max_size=3), title=LINE)
def test_damaged_html_is_read_or_reported(data: st.DataObject, paragraphs: list[str], title: str) -> None:
    with scratch() as folder:
        path = folder / "damaged.html"
        page = _page(title, paragraphs, datetime(2024, 5, 7, tzinfo=UTC)).encode("utf-8")
        path.write_bytes(data.draw(mutated(page)))
        assert_well_formed(read_file(path), path)


# -- bytes and encodings ------------------------------------------------------------------------


@PARSERS
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".txt", ".md", ".json", ".jsonl", ".csv", ".html"]))
def test_any_bytes_are_read_or_reported(data: bytes, suffix: str) -> None:
    with scratch() as folder:
        path = folder / f"blob{suffix}"
        path.write_bytes(data)
        try:
            text, _ = read_text(path)
            assert text.strip()
        except IngestError as error:
            assert str(error).strip()
        assert_well_formed(read_file(path), path)


@PARSERS
@given(text=ANY_TEXT.filter(str.strip), bom=st.booleans())
def test_utf8_text_decodes_exactly(text: str, bom: bool) -> None:
    with scratch() as folder:
        path = folder / "a.txt"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        assert read_text(path) == (text, None)


_CP1252 = st.text(st.characters(codec="cp1252", exclude_characters="\x00"), min_size=1, max_size=200)


@PARSERS
@given(text=_CP1252.filter(str.strip))
def test_windows_1252_text_decodes_exactly(text: str) -> None:
    data = text.encode("cp1252")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return  # also valid UTF-8 (e.g. plain ASCII): read as UTF-8, tested above
    with scratch() as folder:
        path = folder / "legacy.txt"
        path.write_bytes(data)
        assert read_text(path) == (text, "not UTF-8; decoded as cp1252")

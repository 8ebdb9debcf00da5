"""Property tests of record normalisation and date parsing on arbitrary values."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from qa.errors import IngestError
from qa.ingest.dates import parse_date
from qa.ingest.records import ReadResult, build_article, read_record
from tests.fuzz.strategies import (
    ANY_TEXT,
    JSON_VALUES,
    PARSERS,
    RECORDS,
    SLOW_PARSERS,
    assert_round_trip,
    assert_well_formed,
    public,
    valid_records,
    written_dates,
)

ORIGIN = "/feeds/articles.jsonl:7"


@SLOW_PARSERS
@given(record=RECORDS)
def test_any_record_becomes_an_article_or_a_reason(record: dict) -> None:
    try:
        article, warnings = build_article(record, ORIGIN)
    except IngestError as error:
        assert str(error).strip()
        return
    assert article.metadata["origin"] == ORIGIN
    for warning in warnings:
        assert warning.origin == ORIGIN and warning.reason.strip() and not warning.skipped
    result = ReadResult(articles=[article], issues=warnings)
    assert_well_formed(result, ORIGIN)  # type: ignore[arg-type]


@PARSERS
@given(value=JSON_VALUES)
def test_anything_read_as_a_record_is_kept_or_reported(value: object) -> None:
    result = ReadResult()
    read_record(value, ORIGIN, result)
    assert len(result.articles) + sum(issue.skipped for issue in result.issues) == 1
    assert_well_formed(result, ORIGIN)  # type: ignore[arg-type]


@PARSERS
@given(record=valid_records(with_id=False), url=st.none() | st.just("https://example.com/a"))
def test_valid_records_round_trip_with_derived_ids(record: dict, url: str | None) -> None:
    fields = public(record) | ({"url": url} if url else {})
    article, warnings = build_article(fields, ORIGIN)
    assert warnings == []
    assert_round_trip(article, record)
    assert article.id.startswith("url-" if url else "doc-")
    # The same content read again gets the same id; different content a different one.
    assert build_article(dict(fields), ORIGIN)[0].id == article.id
    if not url:
        assert build_article({**fields, "text": fields["text"] + " More."}, ORIGIN)[0].id != article.id


@PARSERS
@given(record=valid_records())
def test_field_aliases_mean_the_same_fields(record: dict) -> None:
    aliases = {"title": "headline", "text": "body", "published": "date", "source": "outlet"}
    renamed = {aliases.get(key, key): value for key, value in public(record).items()}
    article, _ = build_article(renamed, ORIGIN)
    assert_round_trip(article, record)


# -- dates --------------------------------------------------------------------------------------


@SLOW_PARSERS
@given(
    text=st.one_of(
        ANY_TEXT,
        st.sampled_from(
            ["2024-02-30", "31/02/2024", "Wed, 31 Feb 2024 09:00 GMT", "1e400", "99999999999999", "0", "-1", "NaN",
             "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "Mon, 20 Nov 99999 10:00:00 +9999",
             "in 100000000 years", "1000000 BC", "2024 +99:99", "28 février 2024", "28. Februar 2024",
             "Mar " * 1000]
        ),
    )
)  # fmt: skip
def test_any_text_is_a_date_or_a_value_error(text: str) -> None:
    try:
        parsed = parse_date(text)
    except ValueError as error:
        assert str(error).startswith("unrecognised date")
        return
    assert parsed is None if not text.strip() else parsed.tzinfo is not None


@PARSERS
@given(written=written_dates())
def test_written_dates_mean_the_same_instant(written: tuple[str, datetime]) -> None:
    text, instant = written
    assert parse_date(text) == instant
    assert parse_date(f"  {text}\n") == instant


@PARSERS
@given(value=st.one_of(st.dates(), st.datetimes(), st.datetimes(timezones=st.timezones())))
def test_date_objects_become_aware_datetimes(value: date | datetime) -> None:
    parsed = parse_date(value)
    assert parsed is not None and parsed.tzinfo is not None
    if isinstance(value, datetime):
        assert parsed.replace(tzinfo=None) == value.replace(tzinfo=None)
    else:
        assert parsed == datetime(value.year, value.month, value.day, tzinfo=UTC)

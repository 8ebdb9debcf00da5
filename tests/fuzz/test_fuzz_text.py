"""Property tests of chunking, the text helpers and search filters, on generated text and arbitrary strings."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from qa.errors import InputError
from qa.ingest.chunking import Chunker, count_tokens, paragraph_spans
from qa.retrieval.occasions import editions_named, occasion_of, years_stated
from qa.text import key_terms, names, numbers, sentence_spans, trim_spans
from qa.types import Article, Filters
from tests.fuzz.strategies import ANY_TEXT, PARSERS, PROSE

TEXTS = st.one_of(PROSE, ANY_TEXT)


def _assert_spans_cover(text: str, spans: list[tuple[int, int]]) -> None:
    """Spans are in order, non-empty, trimmed, and only white space lies outside them."""
    position = 0
    for start, end in spans:
        assert position <= start < end <= len(text), (spans, text)
        assert text[start:end].strip() == text[start:end], (start, end, text)
        assert not text[position:start].strip(), f"lost {text[position:start]!r} of {text!r}"
        position = end
    assert not text[position:].strip(), f"lost {text[position:]!r} of {text!r}"


# -- chunks -------------------------------------------------------------------------------------


@PARSERS
@given(text=TEXTS, chunk_size=st.integers(min_value=20, max_value=160), data=st.data())
def test_chunks_slice_and_cover_the_article_in_order(text: str, chunk_size: int, data: st.DataObject) -> None:
    min_chunk_size = data.draw(st.integers(min_value=0, max_value=chunk_size - 1))
    article = Article(id="art", title="t", text=text)
    chunks = Chunker(chunk_size, min_chunk_size).run(article)
    for position, chunk in enumerate(chunks):
        assert (chunk.id, chunk.article_id, chunk.position) == (f"art#{position}", "art", position)
        assert text[chunk.start : chunk.end] == chunk.text
    _assert_spans_cover(text, [(chunk.start, chunk.end) for chunk in chunks])
    assert bool(chunks) == bool(text.strip())
    for chunk in chunks:
        # Only a single sentence too long to cut may exceed the size.
        if count_tokens(chunk.text) > chunk_size:
            assert len(sentence_spans(chunk.text)) == 1, chunk.text


@PARSERS
@given(text=TEXTS)
def test_paragraphs_cover_the_text(text: str) -> None:
    _assert_spans_cover(text, paragraph_spans(text))


# -- text helpers -------------------------------------------------------------------------------


@PARSERS
@given(text=TEXTS)
def test_sentences_cover_the_text(text: str) -> None:
    _assert_spans_cover(text, sentence_spans(text))


@PARSERS
@given(text=TEXTS, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_trimmed_spans_stay_inside_and_drop_blank_ones(text: str, cuts: list[int]) -> None:
    bounds = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    spans = list(itertools.pairwise(bounds))
    trimmed = trim_spans(text, spans)
    assert len(trimmed) == sum(1 for s, e in spans if text[s:e].strip())
    _assert_spans_cover(text, trimmed)


@PARSERS
@given(text=TEXTS)
def test_numbers_and_terms_of_any_text(text: str) -> None:
    found = numbers(text)
    assert all(value and value.isdigit() for value in found)
    assert found <= key_terms(text) and found <= names(text)


@PARSERS
@given(text=TEXTS)
def test_editions_and_years_of_any_text(text: str) -> None:
    # Case-insensitive patterns match "ſecond" or "İ"; reading them must not fail.
    for variant in (text, f"the {text} edition", f"la {text} edizione of the 15th prize"):
        assert all(value > 0 for value in editions_named(variant))
        assert all(1900 <= year < 2100 for year in years_stated(variant, datetime(2024, 5, 1, tzinfo=UTC)))
        occasion_of(variant, date(2024, 5, 1))


@PARSERS
@given(
    value=st.integers(min_value=0, max_value=10**15),
    separator=st.sampled_from([",", ".", " ", "\u00a0", "\u202f", "'"]),
)
def test_numbers_drop_thousands_separators(value: int, separator: str) -> None:
    written = f"{value:,}".replace(",", separator)
    assert numbers(f"The cost was {written} euros.") == {str(value)}


@PARSERS
@given(first=st.integers(min_value=1, max_value=31), year=st.integers(min_value=1000, max_value=2999))
def test_a_comma_between_a_day_and_a_year_is_not_a_separator(first: int, year: int) -> None:
    assert numbers(f"February {first}, {year}") == {str(first), str(year)}


# -- filters ------------------------------------------------------------------------------------

DATE_STRINGS = st.one_of(ANY_TEXT, st.dates().map(date.isoformat), st.sampled_from(["2024-02-30", " 2024-02-28 ", ""]))


@PARSERS
@given(
    since=st.none() | DATE_STRINGS,
    until=st.none() | DATE_STRINGS,
    sources=st.none() | st.lists(ANY_TEXT, max_size=4),
    languages=st.none() | st.lists(ANY_TEXT, max_size=4),
    article_ids=st.none() | st.lists(ANY_TEXT, max_size=4),
)
def test_filters_from_any_strings_build_or_say_why(
    since: str | None,
    until: str | None,
    sources: list[str] | None,
    languages: list[str] | None,
    article_ids: list[str] | None,
) -> None:
    try:
        filters = Filters.build(since, until, sources, languages, article_ids)
    except InputError as error:
        assert str(error).strip()
        return
    for name, value in (("since", since), ("until", until)):
        built = getattr(filters, name)
        assert built == (date.fromisoformat(value.strip()) if value is not None else None)
    assert filters.sources == {s.strip().casefold() for s in sources or [] if s.strip()}
    assert filters.active == bool(since or until or filters.sources or filters.languages or article_ids)
    if filters.since and filters.until:
        assert filters.since <= filters.until
    # An article from a chosen outlet, dated inside the range, passes every condition it is tested on.
    for source in sources or []:
        if source.strip():
            article = Article(
                id=(article_ids or ["x"])[0],
                title="t",
                text="x",
                source=source.strip(),
                language=sorted(filters.languages)[0] if filters.languages else None,
                published=datetime.combine(
                    filters.since or filters.until or date(2024, 1, 1), datetime.min.time(), UTC
                ),
            )
            assert filters.accepts(article)


def test_sentence_splitting_stays_linear_on_runs_of_abbreviations() -> None:
    # Every period here may close an abbreviation; looking back over the whole run made this take minutes.
    text = "Dr. " * 20_000 + "End."
    started = time.perf_counter()
    assert sentence_spans(text) == [(0, len(text))]
    assert time.perf_counter() - started < 10

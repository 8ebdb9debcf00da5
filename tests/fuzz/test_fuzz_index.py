"""End-to-end property: ingesting a mix of valid and garbage files into a real index never loses stored articles.

Uses the real readers, chunker, the small English embedding model and the FAISS store on disk.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from qa.assistant import Assistant
from qa.config import Settings
from qa.store.store import Store
from tests.conftest import SAMPLES
from tests.fuzz.strategies import ANY_TEXT, INDEX, JSON_VALUES, mutated, public, scratch, valid_records

SEED_ARTICLES = ["en-albor-launch-2024.md", "en-veyra-gyor-2024.md", "fr-meta-lg-2024.md"]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, fast_settings: Settings) -> tuple[Assistant, Path]:
    """An assistant over a fresh index holding a few sample articles (shared by all examples)."""
    seed = tmp_path_factory.mktemp("seed")
    for name in SEED_ARTICLES:
        shutil.copy(SAMPLES / name, seed / name)
    index = tmp_path_factory.mktemp("fuzz-index") / "index"
    assistant = Assistant.open(index, fast_settings)
    report = assistant.ingest([seed])
    assert len(report.added) == len(SEED_ARTICLES), report.errors
    return assistant, index


def _render(record: dict, kind: str) -> tuple[str, bytes]:
    """A record as the bytes of one file of `kind`, with its file name."""
    fields = public(record)
    if kind == "md":
        front = yaml.safe_dump({k: v for k, v in fields.items() if k != "text"}, allow_unicode=True)
        return "article.md", f"---\n{front}---\n{fields['text']}\n".encode()
    if kind == "jsonl":
        return "articles.jsonl", (json.dumps(fields, ensure_ascii=False) + "\n").encode()
    if kind == "csv":
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=list(fields))
        writer.writeheader()
        writer.writerow(fields)
        return "articles.csv", out.getvalue().encode()
    return "article.json", json.dumps(fields, ensure_ascii=False).encode()


KINDS = st.sampled_from(["md", "jsonl", "csv", "json"])


@st.composite
def garbage_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A file that is probably not a usable article: damaged, random, or the wrong shape."""
    style = draw(st.sampled_from(["damaged", "bytes", "json", "text", "unsupported", "empty"]))
    if style == "damaged":
        record = draw(valid_records())
        record["id"] = "gz-" + record["id"][3:]
        name, data = _render(record, draw(KINDS))
        return name, draw(mutated(data))
    if style == "bytes":
        return draw(st.sampled_from(["blob.txt", "blob.json", "blob.csv", "blob.html"])), draw(st.binary(max_size=300))
    if style == "json":
        return draw(st.sampled_from(["x.json", "x.jsonl"])), json.dumps(draw(JSON_VALUES)).encode()
    if style == "text":
        return draw(st.sampled_from(["x.md", "x.txt", "x.html"])), draw(ANY_TEXT).encode()
    if style == "unsupported":
        return "scan.pdf", b"%PDF-1.7\n"
    return "empty.md", b""


@INDEX
@given(
    valid=st.lists(st.tuples(valid_records(), KINDS), max_size=3),
    garbage=st.lists(garbage_files(), min_size=1, max_size=4),
    as_folder=st.booleans(),
)
def test_bad_files_never_lose_stored_articles(
    indexed: tuple[Assistant, Path], valid: list[tuple[dict, str]], garbage: list[tuple[str, bytes]], as_folder: bool
) -> None:
    assistant, index = indexed
    before = {article.id for article in Store.load(index).articles()}
    expected: dict[str, dict] = {}
    with scratch() as folder:
        paths = []
        for number, (record, kind) in enumerate(valid):
            record = {**record, "id": f"{record['id']}-{number}"}
            name, data = _render(record, kind)
            paths.append(folder / f"v{number}-{name}")
            paths[-1].write_bytes(data)
            expected[record["id"]] = record
        for number, (name, data) in enumerate(garbage):
            paths.append(folder / f"g{number}-{name}")
            paths[-1].write_bytes(data)
        report = assistant.ingest([folder] if as_folder else paths)

    for issue in report.errors:
        assert issue.reason.strip() and issue.origin.startswith(str(folder)), issue
    store = Store.load(index)
    after = {article.id: article for article in store.articles()}
    assert before <= after.keys(), f"lost {before - after.keys()}"
    assert set(report.added) <= after.keys() and set(report.replaced) <= after.keys()
    for article_id, record in expected.items():
        assert after[article_id].title == record["title"] and after[article_id].text == record["text"]
    # The index on disk is whole: every article has its chunks, each slicing its text, one vector each.
    chunk_total = 0
    for article in after.values():
        chunks = store.chunks_of(article.id)
        assert chunks, article.id
        assert all(article.text[c.start : c.end] == c.text for c in chunks)
        assert store.vectors_of(article.id).shape == (len(chunks), store.dimension)
        chunk_total += len(chunks)
    assert chunk_total == store.chunk_count

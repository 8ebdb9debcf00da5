"""Fuzz newsqa's parsers with random mutations of the sample articles, for a fixed time, and print the figures.

Every parser gets inputs in turn: the sample articles rendered as each file format, then damaged (bytes flipped,
cut, duplicated, re-encoded, nasty tokens spliced in). The run starts from SEEDS, inputs that once crashed, hung or
lost articles (each is tried as it is first, then mutated like the rest). An input is accepted, rejected with a
reason, or a crash (an unexpected exception, or a result that breaks newsqa's rules: a reason-less rejection, an
article the index could not store, chunks that do not slice the text). The "batch" target reads a hostile input
together with good files and counts the good articles that did not come through ("lost"). Crashing inputs are
saved for replay. Exits 1 on any crash or lost article.

The "store" target damages copies of a small index (built once with the fast embedder): random byte edits of
its files, and the damage of F10–F14 (noise in the vectors, a passage line deleted or garbled, an article line
garbled or its text edited, the manifest lost or its dimension changed, with and without the embedding cache).
`check` must find every change; `check --repair` must give back every article whole or name it as lost. It
costs seconds an input, so it runs once every STORE_EVERY rounds. The "fetch" seed (F3) is a server on
127.0.0.1 that sends its headers one byte at a time: the fetch must end at its timeout.

Usage:
    .venv/bin/python scripts/fuzz.py [--seconds 300] [--seed 1] [--articles samples/news] [--crashes fuzz-crashes]
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import logging
import random
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.assistant import Assistant  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.errors import NewsqaError  # noqa: E402
from qa.ingest.chunking import Chunker  # noqa: E402
from qa.ingest.dates import parse_date  # noqa: E402
from qa.ingest.decoding import read_text  # noqa: E402
from qa.ingest.fetch import FetchConfig, Fetcher, FetchError, FetchResult, _retry_after_s  # noqa: E402
from qa.ingest.readers import read_file, read_paths  # noqa: E402
from qa.ingest.records import ReadResult, build_article  # noqa: E402
from qa.ingest.web_pages import page_record  # noqa: E402
from qa.store.layout import VECTORS  # noqa: E402
from qa.text import key_terms, numbers, sentence_spans  # noqa: E402
from qa.types import Article, Filters  # noqa: E402
from tests.store.corruption import FolderBackend, Stored, read_stored  # noqa: E402

STORE_EMBEDDING = "all-minilm-l6-v2"  # the fast embedder: the store target is about damage, not answers
STORE_EVERY = 4  # rounds between two store inputs (one takes seconds, a parser input milliseconds)

PER_INPUT_SECONDS = 30
# Tokens that have broken parsers before, or that parsers must treat with care.
NASTY = [
    b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xe9", b"\x81\x8d", b"\xe2\x80\xa8", b"\xc2\x85", b"\x1e", b"\r", b"\r\n",
    b"---\n", b"  ---\n", b"\n---", b'"', b"'", b"\\", b"\\ud800", b'"\\udc00"', b"{", b"}", b"[" * 3000, b"]", b",",
    b"\t", b"<", b"</p>", b"<script>", b"<!--", b"&#0;", b"&#xd800;", b"<?xml version='1.0' encoding='utf-16'?>",
    b"9" * 5000, b"1e999", b"NaN", b"-Infinity", b"2024-13-45", b"2024-02-30", b"published: 2024-02-30\n",
    b"&a [*a]", b"*a", b"!!binary", b"? [a]\n", b"\xe2\x80\xa6 ", b". ", b'." ', b"Dr. " * 50, b"1 000 000",
]  # fmt: skip
FORMATS = ["md", "txt", "json", "jsonl", "csv", "tsv", "html"]


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"level": value}
    return value


_LINE = {"title": "Seed", "text": "Oslo opened a new public library on Monday; it holds 450,000 books."}
# Inputs that once crashed a run, hung it or lost articles (F1–F9 here, F10–F14 in STORE_DAMAGE), by target.
# The costly ones (a 16 MB CSV field, a page that keeps HTML extraction busy past its limit, a server that
# drips its headers) are tried once, never mutated.
SEEDS: dict[str, list[bytes]] = {
    "retry-after": [
        "²".encode(),
        "٣".encode(),
        b"1e9",
        b"Fri, 31 Dec 9999 23:59:59 GMT",
        b"Mon, 01 Jan 0001 00:00:00 +1400",
        b"-1",
    ],
    "page": [
        b'<html><head><link rel="canonical" href="http://["><title>Seed</title></head><body><article><p>'
        + _LINE["text"].encode() * 3
        + b"</p></article></body></html>",
        b'<html lang="\x00"><head><link rel="canonical" href="javascript:alert(1)"></head><body><p>x</p></body></html>',
    ],
    "dates": [
        b"9999-12-31 23:00 PST",
        b"1/1/0001 00:00 UTC+5",
        b"0001-01-01T00:00:00+05:00",
        b"9999-12-31T23:59:59-12:00",
    ],
    "read .md": [
        f"---\ntitle: Far\npublished: {when}\n---\n{_LINE['text']}\n".encode()
        for when in ("9999-12-31 23:00 PST", "1/1/0001 00:00 UTC+5", "2024-02-30", "1984")
    ],
    "read .jsonl": [
        json.dumps({**_LINE, "extra": _nested(500)}).encode(),  # F6
        json.dumps({**_LINE, "id": "x" * 100_000}).encode(),  # F9
        *(json.dumps({**_LINE, "id": f"a{char}b"}).encode() for char in ("\x00", "\n", "\u202e", "\u2066")),
        *(json.dumps({**_LINE, "text": value}).encode() for value in (["a", "b"], 42, True, float("nan"))),
        ("\n".join(json.dumps({**_LINE, "text": f"{_LINE['text']} Line {n}."}) for n in range(4))).encode(),  # F8
    ],
    "read .txt": [f"Seed title\n\n{_LINE['text']}\n".encode("utf-16"), f"{_LINE['text']}\n".encode("utf-32")],
}
ONCE: dict[str, list[bytes]] = {
    "read .csv": [
        b"id,title,text\nr1,One,"
        + _LINE["text"].encode()
        + b"\nr2,Two,"
        + b"x" * (16 * 1024 * 1024 + 1)
        + b"\nr3,Three,"
        + _LINE["text"].encode()
        + b"\n"
    ],  # F7
    "read .html": [
        b"<html><body><p "
        + b" ".join(b'data-a%d="%d"' % (n, n) for n in range(40_000))
        + b">"
        + _LINE["text"].encode()
        + b"</p></body></html>"
    ],  # F4
    "fetch": [b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Drip: " + b"x" * 40 + b"\r\n\r\n<p>late</p>"],  # F3
}


class Hang(Exception):
    """An input took longer than PER_INPUT_SECONDS."""


class RuleBroken(AssertionError):
    """A parser returned, but its result breaks newsqa's rules."""


@dataclass
class Tally:
    """Figures for one parser."""

    tried: int = 0
    accepted: int = 0
    rejected: int = 0
    crashes: int = 0
    lost: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    reasons: Counter = field(default_factory=Counter)


# -- inputs ---------------------------------------------------------------------------------------


def render(article: Article, kind: str) -> bytes:
    """An article as the bytes of a file of `kind`."""
    fields = {
        "id": article.id,
        "title": article.title,
        "text": article.text,
        "source": article.source,
        "published": article.published.isoformat() if article.published else None,
        "language": article.language,
        "url": article.url,
    }
    fields = {k: v for k, v in fields.items() if v}
    if kind == "md":
        front = yaml.safe_dump({k: v for k, v in fields.items() if k != "text"}, allow_unicode=True, sort_keys=False)
        return f"---\n{front}---\n{article.text}\n".encode()
    if kind == "txt":
        return f"{article.title}\n\n{article.text}\n".encode()
    if kind == "json":
        return json.dumps({"articles": [fields]}, ensure_ascii=False, indent=1).encode()
    if kind == "jsonl":
        return (json.dumps(fields, ensure_ascii=False) + "\n").encode()
    if kind in ("csv", "tsv"):
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=list(fields), delimiter="\t" if kind == "tsv" else ",")
        writer.writeheader()
        writer.writerow(fields)
        return out.getvalue().encode()
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article.text.split("\n\n"))
    date = f'<meta property="article:published_time" content="{fields.get("published", "")}">'
    return (
        f"<!doctype html><html lang='{article.language}'><head><meta charset='utf-8'>"
        f"<title>{html.escape(article.title)}</title>{date}</head><body><article><h1>{html.escape(article.title)}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


def mutate(rng: random.Random, data: bytes, donors: list[bytes]) -> bytes:
    """`data` after 1–6 random edits (or unchanged, now and then, to keep valid inputs in the mix)."""
    if rng.random() < 0.1:
        return data
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(buffer))
        kind = rng.choice(["flip", "delete", "duplicate", "nasty", "nasty", "splice", "truncate", "random", "encode"])
        if kind == "flip" and buffer:
            buffer[min(at, len(buffer) - 1)] = rng.randrange(256)
        elif kind == "delete":
            del buffer[at : at + rng.randint(1, 64)]
        elif kind == "duplicate":
            buffer[at:at] = buffer[at : at + rng.randint(1, 256)] * rng.randint(1, 4)
        elif kind == "nasty":
            buffer[at:at] = rng.choice(NASTY)
        elif kind == "splice":
            donor = rng.choice(donors)
            start = rng.randint(0, len(donor))
            buffer[at:at] = donor[start : start + rng.randint(1, 400)]
        elif kind == "truncate":
            del buffer[at:]
        elif kind == "random":
            buffer[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == "encode":
            text = bytes(buffer).decode("utf-8", errors="replace")
            buffer = bytearray(text.encode(rng.choice(["cp1252", "latin-1", "utf-16", "mac_roman"]), errors="replace"))
    return bytes(buffer)


def mutate_text(rng: random.Random, text: str, donors: list[bytes]) -> str:
    """A mutated string (through the byte mutations, decoded leniently)."""
    return mutate(rng, text.encode("utf-8", "surrogatepass"), donors).decode(
        "utf-8", errors=rng.choice(["replace", "ignore", "surrogateescape"])
    )


# -- checks ---------------------------------------------------------------------------------------


def check_result(result: ReadResult, origin: str) -> None:
    """Raise RuleBroken unless every issue has an origin and reason and every article is storable."""
    for issue in result.issues:
        if not issue.reason.strip() or not issue.origin.startswith(origin):
            raise RuleBroken(f"issue without a clear origin or reason: {issue!r}")
    for article in result.articles:
        if not (article.id and article.title and article.text and article.text == article.text.strip()):
            raise RuleBroken(f"article with an empty or untrimmed field: {article.id!r}")
        stored = json.dumps(article.to_dict(), ensure_ascii=False, default=str).encode("utf-8")
        back = Article.from_dict(json.loads(stored))
        if (back.title, back.text, back.published) != (article.title, article.text, article.published):
            raise RuleBroken(f"article {article.id!r} does not survive the index's JSON")
    if not result.articles and not any(issue.skipped for issue in result.issues):
        raise RuleBroken("nothing read and no reason given")


def check_cover(text: str, spans: list[tuple[int, int]]) -> None:
    """Raise RuleBroken unless the spans are ordered, trimmed, and leave only white space out."""
    position = 0
    for start, end in spans:
        if not (position <= start < end <= len(text)) or text[start:end] != text[start:end].strip():
            raise RuleBroken(f"bad span {(start, end)}")
        if text[position:start].strip():
            raise RuleBroken(f"text lost between spans: {text[position:start]!r}")
        position = end
    if text[position:].strip():
        raise RuleBroken(f"text lost at the end: {text[position:]!r}")


# -- one parser each ------------------------------------------------------------------------------

Outcome = tuple[bool, str | None]  # (accepted, reason when rejected)
Target = Callable[[random.Random, list[Article], list[bytes], Path], Outcome]


def keep(folder: Path, text: str) -> None:
    """Write a non-file input where a crash report will find it."""
    (folder / "input.txt").write_bytes(text.encode("utf-8", "backslashreplace"))


def base_input(rng: random.Random, name: str, fallback: bytes) -> bytes:
    """A seed of target `name` now and then (so the run keeps mutating them), else `fallback`."""
    seeds = SEEDS.get(name)
    return rng.choice(seeds) if seeds and rng.random() < 0.3 else fallback


def file_target(kind: str) -> Target:
    def run(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
        data = mutate(rng, base_input(rng, f"read .{kind}", render(rng.choice(articles), kind)), donors)
        return read_input(data, kind, folder)

    return run


def read_input(data: bytes, kind: str, folder: Path) -> Outcome:
    """Read `data` as a file of `kind` and check the result."""
    path = folder / f"input.{kind}"
    path.write_bytes(data)
    result = read_file(path)
    check_result(result, str(path))
    skipped = [issue.reason for issue in result.issues if issue.skipped]
    return (bool(result.articles), None if result.articles else skipped[0])


def decoding_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    data = mutate(rng, render(rng.choice(articles), rng.choice(FORMATS)), donors)
    path = folder / "input.bin"
    path.write_bytes(data)
    try:
        text, _ = read_text(path)
    except NewsqaError as error:
        return (False, str(error))
    if not text.strip():
        raise RuleBroken("decoded to white space only")
    return (True, None)


def date_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    moment = rng.choice([a.published for a in articles if a.published])
    base = rng.choice(
        [moment.isoformat(), moment.date().isoformat(), format_datetime(moment), moment.strftime("%d %B %Y")]
    )
    text = mutate_text(rng, base_input(rng, "dates", base.encode()).decode("utf-8", "replace"), [base.encode()])
    return check_date(text, folder)


def check_date(text: str, folder: Path) -> Outcome:
    """Parse one date; a crash unless it parses to an aware datetime or is refused with ValueError."""
    keep(folder, text)
    try:
        parsed = parse_date(text)
    except ValueError as error:
        return (False, str(error))
    if parsed is not None and parsed.tzinfo is None:
        raise RuleBroken("naive datetime")
    return (True, None)


def record_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    record: dict[str, Any] = {k: v for k, v in rng.choice(articles).to_dict().items() if k != "metadata"}
    values = [None, True, 0, -1, 1.5, float("nan"), float("inf"), "", " ", "\ud800", [], {}, [[[]]], "2024-02-30",
              "x" * 100_000, {"nested": {"deeper": ["x"]}}, 10**100]  # fmt: skip
    for _ in range(rng.randint(1, 4)):
        key = rng.choice([*record, "content", "body", "headline", "date", "link", "extra", "Title"])
        record[key] = rng.choice(values) if rng.random() < 0.6 else mutate_text(rng, str(record.get(key)), donors)
    origin = "fuzz:1"
    keep(folder, repr(record))
    try:
        article, warnings = build_article(record, origin)
    except NewsqaError as error:
        return (False, str(error))
    check_result(ReadResult([article], warnings), origin)
    return (True, None)


def chunk_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    text = mutate_text(rng, rng.choice(articles).text, donors)
    size = rng.randint(20, 200)
    keep(folder, text)
    chunks = Chunker(size, rng.randint(0, size - 1)).run(Article(id="a", title="t", text=text))
    if any(text[c.start : c.end] != c.text for c in chunks):
        raise RuleBroken("chunk offsets do not slice the text")
    check_cover(text, [(c.start, c.end) for c in chunks])
    return (bool(chunks), None if chunks else "no text")


def text_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    text = mutate_text(rng, rng.choice(articles).text, donors)
    keep(folder, text)
    check_cover(text, sentence_spans(text))
    if not all(n.isdigit() for n in numbers(text)):
        raise RuleBroken("a number with non-digits")
    key_terms(text)
    return (True, None)


def filter_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    article = rng.choice(articles)
    day = article.published.date().isoformat() if article.published else "2024-01-01"
    since, until = (mutate_text(rng, day, donors) if rng.random() < 0.5 else day for _ in range(2))
    sources = [mutate_text(rng, article.source or "x", donors) for _ in range(rng.randint(0, 2))]
    languages = [mutate_text(rng, article.language or "en", donors) for _ in range(rng.randint(0, 2))]
    keep(folder, repr([since, until, sources, languages]))
    try:
        filters = Filters.build(since, until, sources, languages)
    except NewsqaError as error:
        return (False, str(error))
    filters.accepts(article)
    return (True, None)


def retry_after_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    base = base_input(rng, "retry-after", rng.choice([b"120", b"Wed, 21 Oct 2015 07:28:00 GMT", b"0"]))
    text = mutate_text(rng, base.decode("utf-8", "replace"), [base])
    return check_retry_after(text, folder)


def check_retry_after(text: str, folder: Path) -> Outcome:
    """A Retry-After header value: a non-negative number of seconds, or None (the usual backoff)."""
    keep(folder, text)
    seconds = _retry_after_s(text)
    if seconds is not None and not seconds >= 0:
        raise RuleBroken(f"Retry-After {text!r} gave {seconds}")
    return (seconds is not None, None if seconds is not None else "not a delay")


def page_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    data = mutate(rng, base_input(rng, "page", render(rng.choice(articles), "html")), donors)
    return check_page(data, folder)


def check_page(data: bytes, folder: Path) -> Outcome:
    """A fetched web page (as the fetcher hands it over) into article fields."""
    (folder / "input.html").write_bytes(data)
    result = FetchResult(
        url="https://news.example/a",
        final_url="https://news.example/a",
        status=200,
        content_type="text/html",
        body=data,
        charset="utf-8",
    )
    try:
        record = page_record(result)
        build_article({k: v for k, v in record.items() if v is not None}, "https://news.example/a")
    except NewsqaError as error:
        return (False, str(error))
    return (True, None)


def batch_target(rng: random.Random, articles: list[Article], donors: list[bytes], folder: Path) -> Outcome:
    """A hostile input read together with good files: every good article must still come through."""
    kind = rng.choice(FORMATS)
    hostile = mutate(rng, base_input(rng, f"read .{kind}", render(rng.choice(articles), kind)), donors)
    return check_batch(hostile, kind, rng.sample(articles, 3), folder)


def check_batch(hostile: bytes, kind: str, good: list[Article], folder: Path) -> Outcome:
    batch = folder / "batch"
    batch.mkdir()
    (batch / f"0-hostile.{kind}").write_bytes(hostile)
    for number, article in enumerate(good):
        (batch / f"{number + 1}-good.jsonl").write_bytes(render(article, "jsonl"))
    result = read_paths([batch])
    check_result(result, str(batch))
    found = {a.id for a in result.articles}
    lost = [article.id for article in good if article.id not in found]
    if lost:
        raise ArticlesLost(len(lost), f"good articles lost next to a hostile .{kind}: {lost}")
    return (True, None)


def check_fetch(data: bytes, folder: Path) -> Outcome:
    """F3: a server on 127.0.0.1 sends `data` one byte every 0.25 s; a fetch with a 1 s timeout must end as a
    timeout long before the server is done (wall time alone would blame a starved machine for a hang)."""
    keep(folder, data.decode("utf-8", "replace"))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        stop = threading.Event()

        def drip() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                for byte in data:
                    if stop.wait(0.25):
                        return
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        return

        server = threading.Thread(target=drip, daemon=True)
        server.start()
        config = FetchConfig(allow_hosts=("127.0.0.1",), timeout_s=1.0, retries=0, respect_robots=False)
        with Fetcher(config) as fetcher:
            began = time.perf_counter()
            try:
                fetcher.fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/slow")
            except FetchError as error:
                kind, reason = error.kind, str(error)
            else:
                kind, reason = "none", "the whole response came through"
            finally:
                stop.set()
            took = time.perf_counter() - began
    dripping = 0.25 * len(data)
    if kind != "timeout" or took > dripping / 2:
        raise RuleBroken(f"a fetch with a 1 s timeout from a {dripping:.0f} s drip: {reason} after {took:.1f} s")
    return (False, reason)


class BuiltIndex:
    """A small index of sample articles, built once in two saves."""

    def __init__(self, articles: list[Article], root: Path) -> None:
        self.settings = Settings(embedding_model=STORE_EMBEDDING)
        self.backend = FolderBackend(root)
        for number, batch in enumerate((articles[:2], articles[2:4])):
            folder = root / f"batch{number}"
            folder.mkdir(parents=True)
            for article in batch:
                (folder / f"{article.id}.jsonl").write_bytes(render(article, "jsonl"))
            Assistant.open(self.backend.location, self.settings).ingest([folder])
        self.before: Stored = read_stored(self.backend.location, self.settings)
        if len(self.before.articles) != 4:
            raise SystemExit(f"the store target's index holds {len(self.before.articles)} articles, not 4")


def _word_of(rng: random.Random, backend: FolderBackend, article_id: str) -> str:
    """An ASCII word of the article's stored line (so the edit changes exactly that line)."""
    line = next(line.decode("utf-8") for line in backend.records("articles") if json.loads(line)["id"] == article_id)
    text = json.loads(line)["text"]
    return rng.choice([w for w in re.findall(r"\b[a-z]{5,}\b", text) if w in line])


# F10–F14, as done to a copy of the built index: (name, damage).
STORE_DAMAGE: list[tuple[str, Callable[[random.Random, FolderBackend, str], None]]] = [
    ("F10 noise in the vectors", lambda rng, b, a: b.write_part(
        VECTORS, _noise(rng, b.read_part(VECTORS)))),
    ("F11 a passage line deleted", lambda rng, b, a: b.delete_chunk(a, 0)),
    ("F11 a passage line garbled", lambda rng, b, a: b.garble_chunk(a, 0)),
    ("F12 an article's text garbled", lambda rng, b, a: b.garble_article(a, "text")),
    ("F12 an article's title garbled", lambda rng, b, a: b.garble_article(a, "title")),
    ("F13 an article's text edited", lambda rng, b, a: b.edit_article(a, w := _word_of(rng, b, a), w.upper())),
    ("F14 the manifest lost", lambda rng, b, a: b.remove_manifest()),
    ("F14 a wrong dimension", lambda rng, b, a: b.set_dimension(rng.choice([1, 383, 385, 768]))),
]  # fmt: skip


def _noise(rng: random.Random, data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(rng.randrange(256) for _ in range(256)) + data[middle + 256 :]


def store_target(
    built: BuiltIndex, rng: random.Random, donors: list[bytes], folder: Path, seed: int | None = None
) -> Outcome:
    """Damage a copy of the built index: `check` finds it; `check --repair` restores or names what is lost.

    `seed` picks one of STORE_DAMAGE as it is, with the embedding cache kept; else the damage is random."""
    backend = built.backend.copy_to(folder / "copy")
    if seed is None and rng.random() < 0.3:
        backend.forget_cache()
    parts = {part: backend.read_part(part) for part in backend.parts()}
    article_id = rng.choice(sorted(built.before.articles))
    if seed is not None or rng.random() < 0.5:
        name, damage = STORE_DAMAGE[seed] if seed is not None else rng.choice(STORE_DAMAGE)
        damage(rng, backend, article_id)
    else:
        part = rng.choice(sorted(parts))
        name = f"random edits of {part}"
        backend.write_part(part, mutate(rng, parts[part], donors))
    keep(folder, name)
    changed = any(backend.read_part(part) != data for part, data in parts.items())
    if changed and Assistant.check_index(backend.location, built.settings).ok:
        raise RuleBroken(f"{name}: `check` did not find the damage")
    try:
        report = Assistant.check_index(backend.location, built.settings, repair=True)
    except NewsqaError as error:
        return (False, f"{name}: repair refused: {error}")
    after = read_stored(backend.location, built.settings)
    silent = [
        i
        for i, fields in built.before.articles.items()
        if not any(i in item for item in report.lost)
        and (after.articles.get(i) != fields or after.passages.get(i) != built.before.passages[i])
    ]
    if silent:
        raise ArticlesLost(len(silent), f"{name}: articles changed or gone and not named as lost: {silent}")
    if report.lost:
        return (False, f"{name}: named as lost: {report.lost[0]}")
    if not Assistant.check_index(backend.location, built.settings).ok:
        raise RuleBroken(f"{name}: `check --repair` said it repaired, `check` still finds problems")
    return (True, None)


class ArticlesLost(RuleBroken):
    """Good articles did not come through a batch with a hostile input in it."""

    def __init__(self, count: int, message: str) -> None:
        super().__init__(message)
        self.count = count


TARGETS: dict[str, Target] = {
    **{f"read .{kind}": file_target(kind) for kind in FORMATS},
    "decoding": decoding_target,
    "dates": date_target,
    "records": record_target,
    "chunker": chunk_target,
    "text": text_target,
    "filters": filter_target,
    "retry-after": retry_after_target,
    "page": page_target,
    "batch": batch_target,
}


def seed_runs(articles: list[Article]) -> list[tuple[str, Callable[[Path], Outcome]]]:
    """Every seed (and every run-once input) as it is, through its target and in a batch with good files."""
    runs: list[tuple[str, Callable[[Path], Outcome]]] = []
    checks: dict[str, Callable[[bytes, Path], Outcome]] = {
        "retry-after": lambda data, folder: check_retry_after(data.decode(), folder),
        "dates": lambda data, folder: check_date(data.decode(), folder),
        "page": check_page,
        "fetch": check_fetch,
    }
    good = articles[:3]
    for name, inputs in [*SEEDS.items(), *ONCE.items()]:
        for data in inputs:
            if name.startswith("read ."):
                kind = name.removeprefix("read .")
                runs.append((name, lambda folder, d=data, k=kind: read_input(d, k, folder)))
                runs.append(("batch", lambda folder, d=data, k=kind: check_batch(d, k, good, folder)))
            else:
                runs.append((name, lambda folder, d=data, check=checks[name]: check(d, folder)))
    return runs


# -- the run --------------------------------------------------------------------------------------


def reason_kind(reason: str) -> str:
    """A rejection reason with its particulars (quoted values, numbers, paths) blanked, for counting."""
    reason = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", " ".join(reason.split()))
    reason = re.sub(r"\d+", "N", reason)
    return reason[:90]


def _alarm(signum: int, frame: Any) -> None:
    raise Hang(f"over {PER_INPUT_SECONDS} s on one input")


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer; returns 1 when any input crashed a parser or cost good articles."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long to run (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (a run is repeatable per seed)")
    parser.add_argument("--articles", type=Path, default=ROOT / "samples" / "news", help="articles to mutate")
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="where crashing inputs go")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # trafilatura logs every page it cannot parse

    articles = read_paths([args.articles]).articles
    if not articles:
        print(f"no articles under {args.articles}", file=sys.stderr)
        return 2
    donors = [render(article, kind) for article in articles for kind in FORMATS]
    rng = random.Random(args.seed)
    tallies = {name: Tally() for name in [*TARGETS, "fetch", "store"]}
    signal.signal(signal.SIGALRM, _alarm)
    started = time.perf_counter()
    deadline = started + args.seconds
    with tempfile.TemporaryDirectory(prefix="newsqa-fuzz-") as scratch:
        folder = Path(scratch) / "input"
        folder.mkdir()
        built = BuiltIndex(articles, Path(scratch) / "built")
        check_page(render(articles[0], "html"), folder)  # loads what parsers load once (language model), untimed

        def attempt(name: str, call: Callable[[Path], Outcome]) -> None:
            tally = tallies[name]
            for old in folder.iterdir():
                shutil.rmtree(old) if old.is_dir() else old.unlink()
            began = time.perf_counter()
            signal.alarm(PER_INPUT_SECONDS)
            try:
                (accepted, reason) = call(folder)
            except Exception as error:
                signal.alarm(0)
                tally.crashes += 1
                tally.lost += error.count if isinstance(error, ArticlesLost) else 0
                save_crash(args.crashes, name, args.seed, folder, error)
            else:
                signal.alarm(0)
                tally.accepted += accepted
                if not accepted:
                    tally.rejected += 1
                    tally.reasons[reason_kind(reason or "")] += 1
            took = time.perf_counter() - began
            tally.tried += 1
            tally.seconds += took
            tally.slowest = max(tally.slowest, took)

        for name, call in seed_runs(articles):  # the seeds first, each as it is
            attempt(name, call)
        for number in range(len(STORE_DAMAGE)):
            attempt("store", lambda folder, n=number: store_target(built, rng, donors, folder, seed=n))
        rounds = 0
        while time.perf_counter() < deadline:
            for name, target in TARGETS.items():
                attempt(name, lambda folder, target=target: target(rng, articles, donors, folder))
            if rounds % STORE_EVERY == 0:
                attempt("store", lambda folder: store_target(built, rng, donors, folder))
            rounds += 1
    elapsed = time.perf_counter() - started
    print_report(tallies, elapsed, args.seed)
    return 1 if any(t.crashes or t.lost for t in tallies.values()) else 0


def save_crash(folder: Path, name: str, seed: int, scratch: Path, error: Exception) -> None:
    """Keep the crashing input and its traceback; print a one-line note."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{re.sub(r'[^a-z]+', '-', name)}-{len(list(folder.iterdir())):04d}"
    for path in scratch.iterdir():
        if path.is_dir():  # a batch of files, a damaged index
            shutil.copytree(path, folder / f"{stem}-{path.name}")
        else:
            shutil.copyfile(path, folder / f"{stem}{path.suffix}")
    (folder / f"{stem}.txt").write_text(f"parser: {name}\nseed: {seed}\n\n{traceback.format_exc()}")
    print(f"CRASH in {name}: {type(error).__name__}: {str(error)[:160]} (saved as {folder / stem}.*)", file=sys.stderr)


def print_report(tallies: dict[str, Tally], elapsed: float, seed: int) -> None:
    """The figures: per parser, then the commonest rejection reasons."""
    print(f"\nnewsqa fuzz run: {elapsed:.0f} s, seed {seed}\n")
    header = (
        f"{'parser':12} {'tried':>7} {'accepted':>9} {'rejected':>9} {'crashes':>8} {'ms/input':>9} {'slowest s':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, t in tallies.items():
        per = 1000 * t.seconds / t.tried if t.tried else 0
        print(f"{name:12} {t.tried:7} {t.accepted:9} {t.rejected:9} {t.crashes:8} {per:9.1f} {t.slowest:10.2f}")
    total = Tally()
    for t in tallies.values():
        total.tried += t.tried
        total.accepted += t.accepted
        total.rejected += t.rejected
        total.crashes += t.crashes
        total.lost += t.lost
    print("-" * len(header))
    print(f"{'total':12} {total.tried:7} {total.accepted:9} {total.rejected:9} {total.crashes:8}")
    print(f"\ngood articles lost next to hostile inputs: {tallies['batch'].lost} (in {tallies['batch'].tried} batches)")
    store = tallies["store"]
    print(f"articles lost silently by a damaged index's repair: {store.lost} (in {store.tried} damaged indexes)")
    print("\ncommonest rejection reasons (particulars blanked):")
    for name, t in tallies.items():
        for reason, count in t.reasons.most_common(3):
            print(f"  {name:12} {count:6}  {reason}")


if __name__ == "__main__":
    sys.exit(main())

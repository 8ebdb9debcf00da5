"""What only the PostgreSQL backend has: a schema made once and versioned, iterative HNSW scans, its check and
repair, and the command line on a database URL. Against a real server started by the test session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psycopg
import pytest

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.errors import StoreError
from qa.store.feeds import FeedState
from qa.store.postgres import SCHEMA, PostgresBackend
from qa.types import Filters
from tests.conftest import write_article
from tests.store.concurrency_harness import STORE_WRITER, split_corpus
from tests.store.test_backends import DIM, MODEL, make_article


def test_concurrent_first_use_creates_the_schema_once(postgres_url: str) -> None:
    # Each thread has its own connection: four sessions race to create the schema, as four processes would.
    gate = threading.Barrier(4)

    def first_use(_: int) -> int:
        backend = PostgresBackend(postgres_url)
        gate.wait()
        return backend.create(MODEL, DIM).dimension

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(first_use, range(4))) == [DIM] * 4
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute(f"SELECT count(*) FROM {SCHEMA}.meta").fetchone()[0] == 1
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [SCHEMA]).fetchone()[0]
    assert tables == 5
    with pytest.raises(StoreError, match="use another database"):
        PostgresBackend(postgres_url).create(MODEL, DIM * 2)


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    PostgresBackend(postgres_url).create(MODEL, DIM)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"UPDATE {SCHEMA}.meta SET schema_version = 99")
    with pytest.raises(StoreError, match=r"schema version 99.*upgrade newsqa"):
        PostgresBackend(postgres_url).load()


def test_unreachable_server_is_a_clear_error() -> None:
    backend = PostgresBackend("postgresql://newsqa:secret@127.0.0.1:9/nothing")
    with pytest.raises(StoreError, match=r"cannot connect to postgresql://newsqa:\*\*\*@127.0.0.1:9/nothing"):
        backend.exists()


def test_iterative_scan_gives_k_rows_where_a_plain_hnsw_scan_does_not(postgres_url: str) -> None:
    backend = PostgresBackend(postgres_url)
    store = backend.create(MODEL, DIM)
    rng = np.random.default_rng(1)
    for number in range(1000):
        article, chunks, _ = make_article(f"a{number:04d}", 1, number, language="fr" if number % 100 == 0 else "en")
        vector = rng.normal(size=(1, DIM)).astype(np.float32)
        store.upsert(article, chunks, vector / np.linalg.norm(vector))
    store.save()
    connection = backend.connection()
    # Only the HNSW index is left to the planner, as at scale where it wins over the others.
    connection.execute(f"DROP INDEX {SCHEMA}.passages_language")
    connection.execute("SET enable_seqscan = off")
    query = rng.normal(size=DIM).astype(np.float32)
    french = Filters.build(languages=["fr"])
    connection.execute("SET hnsw.iterative_scan = off")
    plain = store.nearest(query, 5, french)
    connection.execute("SET hnsw.iterative_scan = relaxed_order")
    iterative = store.nearest(query, 5, french)
    assert len(plain) < 5, "without iterative scan the HNSW candidates run out before 5 French passages"
    assert len(iterative) == 5


def test_check_finds_damage_and_repair_re_embeds(postgres_url: str, tmp_path: Path, fast_settings: Settings) -> None:
    for name, text in (
        ("tram", "Lyon opened a new tram line on Monday. It links the station to the university."),
        ("bridge", "Leeds approved a cycling bridge. It costs 12 million pounds."),
        ("port", "Bergen's harbour will get shore power for cruise ships in 2026."),
    ):
        write_article(tmp_path, f"{name}.md", name.title(), text, id=name, language="en", source="City Post")
    assistant = Assistant.open(postgres_url, fast_settings)
    assistant.ingest([tmp_path])
    assert Assistant.check_index(postgres_url, fast_settings).ok

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"DROP INDEX {SCHEMA}.passages_embedding")
        connection.execute(f"UPDATE {SCHEMA}.passages SET text = 'tampered' WHERE article_id = 'tram'")
        connection.execute(f"UPDATE {SCHEMA}.passages SET language = 'zz' WHERE article_id = 'bridge'")
        connection.execute(f"DELETE FROM {SCHEMA}.passages WHERE article_id = 'port'")
        connection.execute(
            f"INSERT INTO {SCHEMA}.feeds (url, state) VALUES (%s, %s)",
            ["https://feeds.example/rss", json.dumps(FeedState(url="https://other.example/rss").to_dict())],
        )
    report = Assistant.check_index(postgres_url, fast_settings)
    kinds = {(p.kind, p.subject) for p in report.problems}
    assert {
        ("index", "passages_embedding"),
        ("filter-copy", "bridge"),
        ("missing-vectors", "port"),
        ("feeds", "https://feeds.example/rss"),
    } <= kinds
    assert any(kind == "offsets" for kind, _ in kinds) and not report.ok
    assert report.missing_vectors == ["port", "tram"]

    repaired = Assistant.check_index(postgres_url, fast_settings, repair=True)
    left = {p.kind for p in repaired.remaining}
    assert left == {"feeds"}, repaired.summary()  # a feed is not guessed: the message says to add it again
    fresh = Assistant.open(postgres_url, fast_settings)
    assert all(fresh.store.chunks_of(name) for name in ("tram", "bridge", "port"))
    assert "tampered" not in {c.text for c in fresh.store.chunks_of("tram")}
    hits = fresh.retrieve("tram line in Lyon", k=1, filters=Filters.build(languages=["en"]))
    assert hits[0].article.id == "tram"
    assert fresh.retrieve("cycling bridge", k=3, filters=Filters.build(languages=["en"]))[0].article.id == "bridge"


def test_command_line_on_a_database(
    postgres_url: str, tmp_path: Path, fast_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    write_article(tmp_path, "tram.md", "Lyon tram", "Lyon opened a new tram line on Monday.", id="tram")
    write_article(tmp_path, "quote.md", "Italie", "L'Italie a voté.", id="it-1", source="l'Italie", language="fr")
    common = ["--index", postgres_url, "--embedding-model", fast_settings.embedding_model]
    assert main(["ingest", str(tmp_path), *common]) == 0
    assert "2 added" in capsys.readouterr().out
    assert main(["list", "--json", *common]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(a["id"] for a in listed) == ["it-1", "tram"]
    assert main(["stats", "--json", *common]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["articles"] == 2 and stats["index"] == postgres_url and stats["languages"]["fr"] == 1
    assert main(["check", *common]) == 0
    assert "consistent" in capsys.readouterr().out
    hits = Assistant.open(postgres_url, fast_settings).retrieve(
        "vote", k=3, filters=Filters.build(sources=["l'Italie"])
    )
    assert [h.article.id for h in hits] == ["it-1"]
    assert main(["delete", "tram", *common]) == 0
    assert "deleted 1 of 1" in capsys.readouterr().out
    assert main(["ingest", str(tmp_path), "--json", *common]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == ["tram"] and report["unchanged"] == ["it-1"]


def test_a_killed_writer_leaves_no_half_article(postgres_url: str, tmp_path: Path) -> None:
    first, _, texts = split_corpus(tmp_path, 400, 0.0)
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    rng = np.random.default_rng(5)
    stored_before = 0
    for _ in range(2):
        writer = subprocess.Popen(
            [sys.executable, "-c", STORE_WRITER, postgres_url, str(first), "4", str(DIM)],
            stderr=subprocess.PIPE, text=True, env=environment,
        )  # fmt: skip
        assert writer.stderr is not None
        # Killed after a random number of its saves (1–10 of 50), not after a delay: a busy machine cannot
        # let the writer run to the end before the kill.
        for _ in range(int(rng.integers(1, 11))):
            assert writer.stderr.readline().startswith("saved")
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        report = PostgresBackend(postgres_url).check()
        assert report.ok, report.summary()
        store = PostgresBackend(postgres_url).load()
        assert len(store) >= stored_before, "a saved article was lost"
        stored_before = len(store)
        for article in store.articles():
            chunks = store.chunks_of(article.id)
            assert [c.position for c in chunks] == list(range(len(texts[article.id].split("\n\n"))))
    assert stored_before < 200, "a writer finished before it was killed: the kill tested nothing"


def test_a_schema_1_database_reads_and_is_upgraded_without_guessing_its_embedder(postgres_url: str) -> None:
    PostgresBackend(postgres_url).create(MODEL, DIM, embedder={"backend": "torch", "titles": False})
    with psycopg.connect(postgres_url, autocommit=True) as connection:  # as newsqa made databases before
        connection.execute(f"ALTER TABLE {SCHEMA}.meta DROP COLUMN embedder")
        connection.execute(f"UPDATE {SCHEMA}.meta SET schema_version = 1")
    old = PostgresBackend(postgres_url)
    assert "embedder" not in old.manifest() and old.manifest()["schema_version"] == 1
    old.feeds().update(lambda feeds: None)  # the first use that writes upgrades the schema
    upgraded = PostgresBackend(postgres_url).manifest()
    assert upgraded["schema_version"] == 2 and "embedder" not in upgraded
    assert len(PostgresBackend(postgres_url).load().articles()) == 0

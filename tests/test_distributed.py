"""`newsqa ingest --ray` on a real two-node Ray cluster writing into a real PostgreSQL: every article once,
the same passages as a local ingest, and a killed embedding actor's articles retried, not lost or doubled."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest
import ray

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.distributed import EMBEDDER_NAME, RayIngestOptions, ingest_on_ray
from qa.ingest.readers import read_paths
from tests.conftest import FAST_EMBEDDING, SAMPLES

NODE = {"num_cpus": 2, "object_store_memory": 96 * 2**20}  # Ray's smallest object store is 75 MiB


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes on this machine (ray.cluster_utils), this process their driver."""
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    nodes.add_node(**NODE)
    try:
        nodes.wait_for_nodes()
        ray.init(address=nodes.address, logging_level="WARNING")
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


def _settings() -> Settings:
    return Settings(embedding_model=FAST_EMBEDDING, ingest_batch_articles=4)


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(sql).fetchall()


def _passages(url: str) -> int:
    """How many passages the database holds (0 before the first save created the tables)."""
    if _rows(url, "SELECT to_regclass('newsqa.passages')")[0][0] is None:
        return 0
    return _rows(url, "SELECT count(*) FROM newsqa.passages")[0][0]


def _assert_each_article_once(url: str, expected: dict[str, int]) -> None:
    """Every expected article stored once with its expected number of passages, and no passage id twice."""
    assert _rows(url, "SELECT count(*), count(DISTINCT id) FROM newsqa.articles") == [(len(expected), len(expected))]
    stored = dict(_rows(url, "SELECT article_id, count(*) FROM newsqa.passages GROUP BY article_id"))
    assert stored == expected
    assert _rows(url, "SELECT chunk_id FROM newsqa.passages GROUP BY chunk_id HAVING count(*) > 1") == []


def test_two_nodes_store_what_a_local_ingest_stores(cluster, postgres_url: str, tmp_path: Path) -> None:
    settings = _settings()
    local = Assistant(tmp_path / "index", settings)
    assert local.ingest([SAMPLES]).skipped == []
    expected = {a.id: len(local.store.chunks_of(a.id)) for a in local.articles()}

    report = ingest_on_ray(Assistant(postgres_url, settings), [SAMPLES], RayIngestOptions(actors=2))

    assert sorted(report.added) == sorted(expected) and report.errors == []
    assert report.chunks == sum(expected.values())
    _assert_each_article_once(postgres_url, expected)
    shared = Assistant(postgres_url, settings)
    for article_id in expected:
        assert shared.store.chunks_of(article_id) == local.store.chunks_of(article_id)
        assert shared.store.article(article_id).metadata == local.store.article(article_id).metadata
        cosines = np.sum(shared.store.vectors_of(article_id) * local.store.vectors_of(article_id), axis=1)
        assert cosines.min() > 0.999
    assert shared.check().ok

    again = ingest_on_ray(shared, [SAMPLES])  # a second run finds everything stored
    assert sorted(again.unchanged) == sorted(expected) and again.added == again.replaced == []
    _assert_each_article_once(postgres_url, expected)


def _corpus(folder: Path, count: int) -> Path:
    """`count` articles of four paragraphs, in JSON Lines files of 10."""
    folder.mkdir()
    for first in range(0, count, 10):
        lines = []
        for n in range(first, min(first + 10, count)):
            paragraphs = [
                f"Report {n}, part {p}: the harbour authority of town {n} counted {n * 7 + p} ships this week, "
                f"and the mayor said that trade on route {p} had grown for {n % 9 + 2} months in a row."
                for p in range(4)
            ]
            lines.append(
                json.dumps({"id": f"r{n:04d}", "title": f"Harbour report {n}", "text": "\n\n".join(paragraphs)})
            )
        (folder / f"part-{first:04d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _embedding_actors() -> dict[str, dict]:
    """The embedding actors by id, from the cluster's actor table (the GCS's; `ray.util.state` needs the dashboard,
    which `ray[data]` does not install)."""
    from ray._private.state import actors

    return {key: actor for key, actor in actors().items() if EMBEDDER_NAME in actor["ActorClassName"]}


def test_a_killed_embedding_actor_loses_and_doubles_nothing(cluster, postgres_url: str, tmp_path: Path) -> None:
    settings = _settings()
    folder = _corpus(tmp_path / "corpus", 40)
    chunker = Assistant(tmp_path / "unused", settings).chunker
    expected = {a.id: len(chunker.run(a)) for a in read_paths([folder]).articles}
    outcome: dict = {}

    def run() -> None:
        try:
            options = RayIngestOptions(actors=2, embed_batch_articles=2)
            outcome["report"] = ingest_on_ray(Assistant(postgres_url, settings), [folder], options)
        except BaseException as error:  # the main thread asserts on it
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    killed = None
    deadline = time.monotonic() + 300
    while worker.is_alive() and time.monotonic() < deadline and killed is None:
        written = _passages(postgres_url)
        alive = [a for a in _embedding_actors().values() if a["State"] == "ALIVE" and a["Pid"]] if written else []
        if alive:
            killed = {"pid": alive[0]["Pid"], "passages": written, "actor": alive[0]["ActorID"]}
            os.kill(killed["pid"], signal.SIGKILL)
        time.sleep(0.2)
    worker.join(timeout=300)

    assert killed is not None, "the run ended before an embedding actor could be killed"
    assert 0 < killed["passages"] < sum(expected.values()), "the kill came while passages were being written"
    with pytest.raises(ProcessLookupError):
        os.kill(killed["pid"], 0)
    assert _embedding_actors()[killed["actor"]]["NumRestarts"] >= 1, "Ray restarted the killed actor"
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert sorted(report.added) == sorted(expected) and report.errors == []
    _assert_each_article_once(postgres_url, expected)


def test_ray_takes_only_a_database_index(tmp_path: Path, capsys) -> None:
    code = main(["ingest", "--ray", str(SAMPLES), "--index", str(tmp_path / "index")])
    assert code == 1
    error = capsys.readouterr().err
    assert "postgresql://" in error and "without --ray" in error
    assert not (tmp_path / "index").exists()


def test_ray_does_not_fetch_urls(capsys) -> None:
    assert main(["ingest", "--ray", "auto", "https://example.com/a"]) == 2
    assert "URLs without --ray" in capsys.readouterr().err

"""Verify an index in PostgreSQL, and repair what can be repaired without losing stored articles."""

from __future__ import annotations

from typing import Any

from qa.errors import StoreError
from qa.store.check import WARNING, CheckReport, Problem, merge
from qa.store.feeds import feed_from_entry
from qa.store.postgres import (
    EF_SEARCH,
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    INDEX_DDL,
    INDEX_NAMES,
    SCHEMA,
    PostgresBackend,
    scalar,
)

ITERATIVE_SCAN_SINCE = (0, 8)  # pgvector's first version with hnsw.iterative_scan


def check(backend: PostgresBackend, repair: bool = False) -> CheckReport:
    """Verify the index in `backend`'s database: schema, pgvector, indexes, vector dimension, passage offsets,
    the passages' copies of their article's filter fields, articles without passages, feeds.

    With `repair`: rebuild missing or invalid indexes, correct the filter copies, and drop the passages of
    articles whose passages do not match their text; those articles (and any without passages) stay stored,
    listed in `missing_vectors` for the assistant to re-embed."""
    report, plan = _inspect(backend)
    if not repair or not report.problems:
        return report
    _repair(backend, plan)
    after, _ = _inspect(backend)
    return merge(report, after)


def _inspect(backend: PostgresBackend) -> tuple[CheckReport, dict[str, Any]]:
    meta = backend.meta_row()
    if meta is None or meta[1] is None:
        raise StoreError(f"no index at {backend.describe()}; build one with `newsqa ingest PATH --index URL`")
    schema_version, _, dimension, version = meta
    connection = backend.connection()
    report = CheckReport(path=backend.describe(), snapshot=f"schema {schema_version}, version {version}")
    plan: dict[str, Any] = {"indexes": [], "copies": {}, "offsets": set()}

    row = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    pgvector = row[0] if row else "missing"
    numbers = tuple(int(part) for part in pgvector.split(".")[:2] if part.isdigit()) if row else (0, 0)
    if numbers < ITERATIVE_SCAN_SINCE:
        report.problems.append(
            Problem(
                "extension",
                "vector",
                f"pgvector {pgvector} has no iterative index scans: filtered searches can return fewer passages "
                "than asked; upgrade pgvector to 0.8 or later",
                WARNING,
            )
        )

    valid: dict[str, bool] = dict(
        connection.execute(
            """SELECT c.relname, i.indisvalid FROM pg_index i
               JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s""",
            [SCHEMA],
        ).fetchall()
    )
    for name in INDEX_NAMES:
        if not valid.get(name):
            state = "is invalid" if name in valid else "is missing"
            report.problems.append(Problem("index", name, f"index {name} {state}; searches are slow or fail"))
            plan["indexes"].append(name)

    column = connection.execute(
        """SELECT format_type(atttypid, atttypmod) FROM pg_attribute
           WHERE attrelid = %s::regclass AND attname = 'embedding'""",
        [f"{SCHEMA}.passages"],
    ).fetchone()
    if column is None or column[0] != f"vector({dimension})":
        found = column[0] if column else "no embedding column"
        report.problems.append(
            Problem("dimension", "passages.embedding", f"the vectors are {found}, the index says vector({dimension})")
        )

    for vector_id, chunk_id, article_id, start, end, length in connection.execute(
        f"""SELECT p.vector_id, p.chunk_id, p.article_id, p.start_char, p.end_char, length(a.text)
            FROM {SCHEMA}.passages p JOIN {SCHEMA}.articles a ON a.id = p.article_id
            WHERE NOT (0 <= p.start_char AND p.start_char < p.end_char AND p.end_char <= length(a.text))
               OR substr(a.text, p.start_char + 1, p.end_char - p.start_char) <> p.text
            ORDER BY p.vector_id"""
    ).fetchall():
        report.problems.append(
            Problem(
                "offsets",
                str(vector_id),
                f"chunk {chunk_id} ({start}-{end}) does not match its article's text ({length} characters)",
            )
        )
        plan["offsets"].add(article_id)

    for article_id, source, keys, differs in connection.execute(
        f"""SELECT a.id, a.source, array_agg(DISTINCT COALESCE(p.source_key, '')),
                   bool_or(p.published IS DISTINCT FROM a.published OR p.language IS DISTINCT FROM a.language)
            FROM {SCHEMA}.articles a JOIN {SCHEMA}.passages p ON p.article_id = a.id
            GROUP BY a.id, a.source ORDER BY a.id"""
    ).fetchall():
        key = (source or "").casefold()
        if differs or keys != [key]:
            report.problems.append(
                Problem(
                    "filter-copy",
                    article_id,
                    f"the passages of article {article_id} disagree with it on date, language or outlet, "
                    "so filtered searches would miss or wrongly include them",
                )
            )
            plan["copies"][article_id] = key

    missing = [
        row[0]
        for row in connection.execute(
            f"""SELECT a.id FROM {SCHEMA}.articles a
                WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.passages p WHERE p.article_id = a.id) ORDER BY a.id"""
        ).fetchall()
    ]
    for article_id in missing:
        report.problems.append(Problem("missing-vectors", article_id, f"article {article_id} has no chunks or vectors"))
    report.missing_vectors = sorted(set(missing) | plan["offsets"])

    for url, state in connection.execute(f"SELECT url, state FROM {SCHEMA}.feeds ORDER BY added").fetchall():
        feed = feed_from_entry(state)
        if feed is None or feed.url != url:
            why = "its state names another URL" if feed is not None else "no URL, or fields of the wrong type"
            report.problems.append(
                Problem(
                    "feeds",
                    url,
                    f"feed {url!r} is unusable and ignored ({why}); `newsqa feeds add {url}` follows it again",
                )
            )

    report.articles = int(scalar(connection.execute(f"SELECT count(*) FROM {SCHEMA}.articles")))
    report.chunks = report.vectors = int(scalar(connection.execute(f"SELECT count(*) FROM {SCHEMA}.passages")))
    report.index = {
        "kind": "hnsw",
        "m": HNSW_M,
        "ef_construction": HNSW_EF_CONSTRUCTION,
        "ef_search": EF_SEARCH,
        "iterative_scan": "relaxed_order",
        "pgvector": pgvector,
    }
    return report, plan


def _repair(backend: PostgresBackend, plan: dict[str, Any]) -> None:
    connection = backend.connection()
    with connection.transaction():
        for name in plan["indexes"]:
            statement = next(s for s in INDEX_DDL if f"INDEX {name} " in s)
            connection.execute(f"DROP INDEX IF EXISTS {SCHEMA}.{name}")
            connection.execute(statement)
        for article_id, key in plan["copies"].items():
            connection.execute(
                f"""UPDATE {SCHEMA}.passages p SET published = a.published, language = a.language, source_key = %s
                    FROM {SCHEMA}.articles a WHERE a.id = p.article_id AND p.article_id = %s""",
                [key, article_id],
            )
        if plan["offsets"]:
            # Their vectors were made from other text: the articles stay, their passages are embedded again.
            connection.execute(f"DELETE FROM {SCHEMA}.passages WHERE article_id = ANY(%s)", [sorted(plan["offsets"])])
        if plan["indexes"] or plan["copies"] or plan["offsets"]:
            connection.execute(f"UPDATE {SCHEMA}.meta SET version = version + 1, saved_at = now()")

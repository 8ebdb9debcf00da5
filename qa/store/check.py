"""Verify an index folder on disk, and repair what can be repaired without losing stored articles.

Every byte of a snapshot is covered by a checksum (see `qa.store.records`), so `check` finds any
change; repair then takes each damaged part from the snapshot before (or an older one), rebuilds a
damaged article line from its passages, re-chunks an article whose passages are damaged, and leaves
articles whose vectors cannot be recovered to be re-embedded. What cannot be recovered is named.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.errors import StoreError
from qa.store import database
from qa.store.ann import flat_index, index_kind, index_vectors
from qa.store.feeds import feeds_file_problems
from qa.store.layout import (
    ARTICLES_FILE,
    CHUNKS_FILE,
    CURRENT,
    FAISS_FILE,
    FEEDS,
    FORMAT_VERSION,
    MANIFEST,
    RECORDS,
    RECORDS_SIDE,
    TMP_MARK,
    VECTORS,
    current_name,
    has_records,
    has_snapshots,
    is_ann_name,
    parse_manifest,
    read_manifest,
    snapshot_names,
    snapshot_version,
    write_lock,
)
from qa.store.records import (
    ARTICLE_FIELDS,
    ArticleRecord,
    ChunkRecord,
    correct_flipped_bit,
    digest,
    field_digest,
    file_digest,
    read_article_line,
    read_chunk_line,
    salvage_flat,
    seal_state,
    spelled_text,
    vector_crc,
)
from qa.store.store import Store
from qa.types import Article, Chunk

ERROR = "error"
WARNING = "warning"
SHOWN_PROBLEMS = 40
SAMPLES_FOR_MODEL = 8
REINGEST = "ingest it again from its source"
_GAPS = {0: "", 1: " ", 2: "\n\n"}  # the usual white space between passages, for lines that did not record it

# Given a few (article, chunk, stored vector or None) of an index without any manifest, and the
# dimension of its vectors when known: the embedding model that made them and its dimension, or None.
ModelHint = Callable[[list[tuple[Article, Chunk, np.ndarray | None]], int | None], tuple[str, int | None] | None]


@dataclass
class Problem:
    """One thing wrong with an index. `subject` names what it is about (an article id, a file…);
    warnings (leftover files) do not make the index unusable."""

    kind: str
    subject: str
    message: str
    severity: str = ERROR
    repaired: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """What identifies this problem across two checks."""
        return (self.kind, self.subject)

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}" + (" [repaired]" if self.repaired else "")


@dataclass
class CheckReport:
    """What `check` found in an index folder, what it repaired, and what could not be recovered."""

    path: str
    snapshot: str | None = None
    articles: int = 0
    chunks: int = 0
    vectors: int = 0
    index: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    missing_vectors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no error is left unrepaired and nothing was lost (warnings allowed)."""
        return not self.remaining and not self.lost

    @property
    def remaining(self) -> list[Problem]:
        """Errors not repaired."""
        return [p for p in self.problems if p.severity == ERROR and not p.repaired]

    def summary(self) -> str:
        """Lines for people."""
        kind = self.index.get("kind", "?")
        lines = [
            f"{self.path}: snapshot {self.snapshot or '-'}, {self.articles} articles, {self.chunks} chunks, "
            f"{self.vectors} vectors ({kind} index)"
        ]
        lines += [str(problem) for problem in self.problems[:SHOWN_PROBLEMS]]
        if len(self.problems) > SHOWN_PROBLEMS:
            lines.append(f"… and {len(self.problems) - SHOWN_PROBLEMS} more (all of them with --json)")
        if self.missing_vectors:
            shown = ", ".join(self.missing_vectors[:10]) + (" …" if len(self.missing_vectors) > 10 else "")
            lines.append(
                f"articles to re-embed ({len(self.missing_vectors)}; `newsqa check --repair` does it): {shown}"
            )
        lines += [f"lost: {item}" for item in self.lost]
        remaining = len(self.remaining)
        if remaining:
            lines.append(f"problems left: {remaining}")
        elif self.lost:
            lines.append(f"repaired, but {len(self.lost)} things could not be recovered (listed as lost above)")
        else:
            lines.append("consistent")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def merge(before: CheckReport, after: CheckReport) -> CheckReport:
    """The report after a repair: `before`'s problems, each marked repaired unless `after` still
    finds it unrepaired, then any problem only `after` finds; counts from `after`, losses from both."""
    found_after = {p.key for p in after.problems if not p.repaired}
    problems = [
        Problem(p.kind, p.subject, p.message, p.severity, p.repaired or p.key not in found_after)
        for p in before.problems
    ]
    seen = {p.key for p in before.problems}
    problems += [p for p in after.problems if p.key not in seen]
    return CheckReport(
        path=after.path,
        snapshot=after.snapshot,
        articles=after.articles,
        chunks=after.chunks,
        vectors=after.vectors,
        index=after.index,
        problems=problems,
        missing_vectors=after.missing_vectors,
        lost=list(dict.fromkeys([*before.lost, *after.lost])),
    )


def check(
    path: str | Path, repair: bool = False, lock_timeout_s: float = 30.0, model_hint: ModelHint | None = None
) -> CheckReport:
    """Verify the index at `path`: CURRENT, manifest, every file's checksum, articles, chunks,
    vectors (present, finite, matching their CRC), leftovers, feeds.json.

    With `repair`, fix what can be fixed without losing articles: fall back to the newest intact
    snapshot when CURRENT is damaged, rebuild a damaged manifest (from another snapshot, else from
    the files, with `model_hint` naming the embedding model), restore damaged article and chunk
    lines from older snapshots or rebuild them from the passages and the article text, salvage
    vectors from older snapshots, drop orphans and leftover files. Articles whose vectors cannot be
    recovered stay stored, listed in `missing_vectors` (the assistant re-chunks and re-embeds
    them); what cannot be recovered is listed in `lost`. Holds the writer lock while it runs."""
    path = Path(path)
    if not path.is_dir() or not (has_records(path) or has_snapshots(path)):
        raise StoreError(f"no index at {path}; build one with `newsqa ingest PATH --index {path}`")
    with write_lock(path, lock_timeout_s):
        report, plan = _inspect(path, model_hint)
        if not repair or not report.problems:
            return report
        _repair(path, report, plan)
        after, _ = _inspect(path, model_hint)
        return merge(report, after)


# -- reading a snapshot leniently ------------------------------------------------------------


@dataclass
class _Snapshot:
    """What could be read of one snapshot folder; only intact lines become articles and chunks."""

    folder: Path
    manifest: dict[str, Any] | None = None
    manifest_error: str | None = None
    sealed: bool = False  # written with checksums (format 2 and later)
    articles: dict[str, Article] | None = None
    article_seals: dict[str, str] = field(default_factory=dict)
    damaged_articles: list[ArticleRecord] = field(default_factory=list)
    chunks: dict[int, Chunk] | None = None
    chunk_records: dict[int, ChunkRecord] = field(default_factory=dict)
    damaged_chunks: list[ChunkRecord] = field(default_factory=list)
    duplicate_chunks: list[int] = field(default_factory=list)
    index: faiss.Index | None = None
    records: bool = False  # a format-3 folder (a records database), not a snapshot folder
    broken: bool = False  # its database is damaged beyond SQLite's reading: the records were salvaged
    manifest_text: str | None = None
    stray_ann: list[str] = field(default_factory=list)  # an IVF file that differs from its checksum
    errors: list[str] = field(default_factory=list)  # files that could not be read at all
    changed: list[str] = field(default_factory=list)  # files that differ from their recorded checksum
    corrected: dict[str, list[int]] = field(default_factory=lambda: {ARTICLES_FILE: [], CHUNKS_FILE: []})
    _by_article: dict[str, list[tuple[int, ChunkRecord]]] | None = None

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def intact(self) -> bool:
        return not (self.errors or self.changed or self.damaged_articles or self.damaged_chunks) and (
            self.manifest is not None
        )

    def chunks_of(self, article_id: str) -> list[tuple[int, ChunkRecord]]:
        """(vector id, record) of an article's intact chunk lines, by position."""
        if self._by_article is None:
            self._by_article = {}
            for vector_id, record in self.chunk_records.items():
                if record.chunk is not None:
                    self._by_article.setdefault(record.chunk.article_id, []).append((vector_id, record))
            for found in self._by_article.values():
                found.sort(key=lambda item: item[1].chunk.position if item[1].chunk else 0)
        return self._by_article.get(article_id, [])

    def vector(self, vector_id: int) -> np.ndarray | None:
        """The stored vector with this id, if any."""
        if self.index is None:
            return None
        try:
            return np.asarray(self.index.reconstruct(vector_id), dtype=np.float32)
        except RuntimeError:
            return None


def _read_snapshot(folder: Path) -> _Snapshot:
    snapshot = _Snapshot(folder)
    try:
        snapshot.manifest = read_manifest(folder)
        snapshot.sealed = int(snapshot.manifest["format"]) >= 2
    except StoreError as error:
        snapshot.manifest_error = str(error)
    recorded = (snapshot.manifest or {}).get("files") or {}
    for name, read in ((ARTICLES_FILE, _read_articles), (CHUNKS_FILE, _read_chunks)):
        try:
            data = (folder / name).read_bytes()
        except OSError as error:
            snapshot.errors.append(f"{name}: {error.strerror or error}")
            continue
        expected = recorded.get(name)
        if expected and (len(data) != expected.get("bytes") or digest(data) != expected.get("sha256")):
            snapshot.changed.append(name)
        read(data, snapshot)
    vectors = folder / FAISS_FILE
    try:
        size = vectors.stat().st_size
        expected = recorded.get(vectors.name)
        if expected and (size != expected.get("bytes") or file_digest(vectors) != expected.get("sha256")):
            snapshot.changed.append(vectors.name)
        _read_vectors(vectors, snapshot)
    except OSError as error:
        snapshot.errors.append(f"{vectors.name}: {error.strerror or error}")
    return snapshot


def _read_vectors(file: Path, snapshot: _Snapshot) -> None:
    """The FAISS index of a snapshot. A file that differs from its checksum (or has none) is not given
    to FAISS, which would trust its sizes: an exact index's vectors are salvaged from it instead."""
    trusted = snapshot.sealed and file.name not in snapshot.changed
    salvaged = None if trusted else salvage_flat(file.read_bytes())
    if salvaged is not None:
        ids, vectors = salvaged
        snapshot.index = flat_index(vectors.shape[1])
        snapshot.index.add_with_ids(vectors, ids)
        return
    if not trusted and snapshot.sealed:
        snapshot.errors.append(f"{FAISS_FILE}: damaged beyond reading (no vector could be salvaged)")
        return
    try:
        snapshot.index = faiss.read_index(str(file))
        index_kind(snapshot.index)
    except (RuntimeError, StoreError, MemoryError, ValueError) as error:
        snapshot.index = None
        snapshot.errors.append(f"{FAISS_FILE}: {str(error).splitlines()[0][:200] if str(error) else 'unreadable'}")


def _text_lines(data: bytes, corrected: list[int]) -> Iterator[tuple[int, str]]:
    """(line number, text) of the records; undecodable bytes become U+FFFD (the seal then fails). Every
    record starts with `{"`, so a line that does not is the rest of a record a damaged byte split. A
    record with one flipped bit is given back as it was sealed, its line number added to `corrected`."""
    records: list[tuple[int, bytes]] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        if records and not line.startswith(b'{"'):
            records[-1] = (records[-1][0], records[-1][1] + b"\n" + line)
        else:
            records.append((number, line))
    for number, line in records:
        text = line.decode("utf-8", errors="replace")
        if seal_state(text)[1] is False or (b'"sha256": "' in line and seal_state(text)[0] is None):
            fixed = correct_flipped_bit(line)
            if fixed is not None:
                corrected.append(number)
                text = fixed.decode("utf-8")
        yield number, text


def _read_articles(data: bytes, snapshot: _Snapshot) -> None:
    snapshot.articles = {}
    records = [read_article_line(number, line) for number, line in _text_lines(data, snapshot.corrected[ARTICLES_FILE])]
    sealed = snapshot.sealed or any(r.sealed for r in records)  # then a line without a seal was damaged
    for record in records:
        if (
            record.intact
            and record.article is not None
            and record.article.id not in snapshot.articles
            and (record.sealed or not sealed)
        ):
            snapshot.articles[record.article.id] = record.article
            if record.sealed:
                snapshot.article_seals[record.article.id] = record.sealed
        else:
            record.intact = False
            snapshot.damaged_articles.append(record)


def _read_chunks(data: bytes, snapshot: _Snapshot) -> None:
    counts: Counter[int] = Counter()
    records = [read_chunk_line(number, line) for number, line in _text_lines(data, snapshot.corrected[CHUNKS_FILE])]
    sealed = snapshot.sealed or any(r.sealed for r in records)  # then a line without a seal was damaged
    for record in records:
        if record.vector_id is not None and record.chunk is not None:
            counts[record.vector_id] += 1
        if (
            record.intact
            and (record.sealed or not sealed)
            and record.chunk is not None
            and record.vector_id not in snapshot.chunk_records
        ):
            snapshot.chunk_records[int(record.vector_id)] = record  # type: ignore[arg-type]
        else:
            record.intact = False
            snapshot.damaged_chunks.append(record)
    snapshot.duplicate_chunks = sorted(v for v, n in counts.items() if n > 1)
    snapshot.chunks = {v: r.chunk for v, r in snapshot.chunk_records.items() if r.chunk is not None}


# -- inspection ------------------------------------------------------------------------------


class _Donors:
    """The snapshots other than the checked one, newest first, each read only when first needed."""

    def __init__(self, read: Callable[[str], _Snapshot], names: list[str]) -> None:
        self._read = read
        self._names = names

    def __iter__(self) -> Iterator[_Snapshot]:
        for name in self._names:
            yield self._read(name)


@dataclass
class _Plan:
    """What a repair would write: a manifest, articles, chunks and the vector of each chunk."""

    manifest: dict[str, Any] | None = None
    articles: dict[str, Article] = field(default_factory=dict)
    chunks: dict[int, Chunk] = field(default_factory=dict)
    vectors: dict[int, np.ndarray] = field(default_factory=dict)
    crcs: dict[int, int] = field(default_factory=dict)
    source: _Snapshot | None = None
    donors: _Donors | None = None
    reembed: set[str] = field(default_factory=set)  # articles whose chunks go, to be re-chunked and re-embedded
    leftovers: list[Path] = field(default_factory=list)
    rewrite: bool = False


def _inspect(path: Path, model_hint: ModelHint | None) -> tuple[CheckReport, _Plan]:
    if has_records(path):
        return _inspect_records(path, model_hint)
    report = CheckReport(path=str(path))
    plan = _Plan()
    names = snapshot_names(path)
    snapshots: dict[str, _Snapshot] = {}

    def snapshot(name: str) -> _Snapshot:
        if name not in snapshots:
            snapshots[name] = _read_snapshot(path / name)
        return snapshots[name]

    current = _check_current(path, names, snapshot, plan, report)
    chosen: _Snapshot | None
    if current is not None:
        chosen = snapshot(current)
    else:
        newest_first = [snapshot(n) for n in reversed(names)]
        chosen = next((s for s in newest_first if s.intact), None) or next(
            (s for s in newest_first if s.articles is not None), None
        )
        if chosen is None:
            report.problems.append(
                Problem(
                    "snapshot",
                    "-",
                    f"no readable snapshot is left; nothing can be recovered: rebuild the index with "
                    f"`newsqa ingest PATH --index {path}`",
                )
            )
            return report, plan
        report.problems[-1].message += f"; the newest intact snapshot is {chosen.name}"
    plan.source = chosen
    plan.donors = _Donors(snapshot, [n for n in reversed(names) if n != chosen.name])
    report.snapshot = chosen.name
    _check_files(chosen, plan, report)
    _check_articles(chosen, plan, report)
    _check_chunks(chosen, plan, report)
    _check_vectors(chosen, plan, report)
    _check_manifest(chosen, plan, report, model_hint)
    _check_counts(chosen, plan, report)
    _check_leftovers(path, chosen.name if current else None, names, plan, report)
    _check_feeds(path, report)
    return report, plan


def _inspect_records(path: Path, model_hint: ModelHint | None) -> tuple[CheckReport, _Plan]:
    """`_inspect` for a format-3 folder: the records database and the vectors file, with no older copy."""
    report = CheckReport(path=str(path))
    plan = _Plan()
    chosen = _read_records(path)
    plan.source = chosen
    plan.donors = _Donors(lambda name: chosen, [])
    version = (chosen.manifest or {}).get("version")
    report.snapshot = f"v{version:06d}" if isinstance(version, int) else None
    _check_files(chosen, plan, report)
    _check_articles(chosen, plan, report)
    _check_chunks(chosen, plan, report)
    _check_vectors(chosen, plan, report)
    _check_manifest(chosen, plan, report, model_hint)
    _check_counts(chosen, plan, report)
    _check_record_leftovers(path, chosen, plan, report)
    _check_feeds(path, report)
    return report, plan


def _read_records(folder: Path) -> _Snapshot:
    """What can be read of a format-3 folder: SQLite's own check of the database, every row against
    its seal (rows read from the file's bytes when SQLite cannot read them), the vectors file."""
    snapshot = _Snapshot(folder, sealed=True, records=True)
    lines: tuple[list[str], list[str]] | None = None
    header = database.header_problem(folder)
    if header is not None:
        snapshot.errors.append(header)
    try:
        connection = database.connect(folder, writing=False)
        try:
            found = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if found != ["ok"]:
                snapshot.errors.append(f"{RECORDS}: SQLite finds it damaged ({'; '.join(found[:3])[:300]})")
            snapshot.manifest_text = _corrected_manifest(database.read_manifest_text(connection), snapshot)
            articles = [database.row_text(r[0]) for r in connection.execute("SELECT line FROM articles ORDER BY rowid")]
            chunks = [database.row_text(r[0]) for r in connection.execute("SELECT line FROM chunks ORDER BY vector_id")]
            lines = (articles, chunks)
        finally:
            connection.close()
    except (sqlite3.DatabaseError, StoreError) as error:
        snapshot.errors.append(f"{RECORDS}: SQLite cannot read it ({str(error).splitlines()[0][:200]})")
    if snapshot.errors:
        snapshot.broken = True
        salvaged, manifest_text = database.salvage_lines((folder / RECORDS).read_bytes())
        articles = [line for line in salvaged if '"article_id": ' not in line.split('"text": ')[0]]
        chunks = [line for line in salvaged if '"article_id": ' in line.split('"text": ')[0]]
        if lines is not None:  # what SQLite still read, and what the bytes hold besides
            articles = list(dict.fromkeys([*lines[0], *articles]))
            chunks = list(dict.fromkeys([*lines[1], *chunks]))
        lines = (articles, chunks)
        snapshot.manifest_text = snapshot.manifest_text or manifest_text
    if snapshot.manifest_text is None:
        snapshot.manifest_error = "its manifest is missing"
    else:
        try:
            snapshot.manifest = parse_manifest(snapshot.manifest_text, folder)
            snapshot.manifest.pop("sha256", None)
        except StoreError as error:
            snapshot.manifest_error = str(error)
    assert lines is not None  # read by SQLite, else salvaged
    _read_articles(database.line_bytes(lines[0]), snapshot)
    _read_chunks(database.line_bytes(lines[1]), snapshot)
    _read_record_vectors(folder, snapshot)
    return snapshot


def _read_record_vectors(folder: Path, snapshot: _Snapshot) -> None:
    """The vectors of the chunk rows (whole or damaged) from the vectors file, as an exact index."""
    dimension = (snapshot.manifest or {}).get("dimension")
    damaged = {r.vector_id for r in snapshot.damaged_chunks if r.vector_id is not None}
    wanted = sorted(set(snapshot.chunk_records) | damaged)
    file = folder / VECTORS
    if not isinstance(dimension, int) or dimension < 1:
        dimension = _guess_dimension(file, snapshot)
        if dimension is None:
            snapshot.errors.append(f"{VECTORS}: no manifest tells the width of its rows")
            return
    try:
        size = file.stat().st_size
    except OSError as error:
        snapshot.errors.append(f"{VECTORS}: {error.strerror or error}")
        return
    rows = min(size // (4 * dimension), int((snapshot.manifest or {}).get("vector_rows", size // (4 * dimension))))
    ids = np.asarray([v for v in wanted if 0 <= v < rows], dtype=np.int64)
    snapshot.index = flat_index(dimension)
    if len(ids):
        matrix = np.memmap(file, dtype="<f4", mode="r", shape=(rows, dimension))
        snapshot.index.add_with_ids(np.ascontiguousarray(matrix[ids], dtype=np.float32), ids)
    info = (snapshot.manifest or {}).get("index") or {}
    if info.get("file"):
        ann = folder / str(info["file"])
        try:
            intact = ann.stat().st_size == info.get("bytes") and file_digest(ann) == info.get("sha256")
        except OSError:
            intact = False
        if not intact:
            snapshot.stray_ann.append(str(info["file"]))


def _corrected_manifest(text: str | None, snapshot: _Snapshot) -> str | None:
    """The manifest row, given back as it was sealed when one bit of it was flipped."""
    if text is None or seal_state(text)[1] is not False:
        return text
    fixed = correct_flipped_bit(text.encode("utf-8", "surrogateescape"))
    if fixed is None:
        return text
    snapshot.corrected.setdefault("manifest", []).append(1)
    return fixed.decode("utf-8")


def _guess_dimension(file: Path, snapshot: _Snapshot) -> int | None:
    """The vector width that divides the vectors file into rows for every chunk, when a manifest is missing."""
    try:
        size = file.stat().st_size
    except OSError:
        return None
    top = max([*snapshot.chunk_records, -1]) + 1
    if not top or size % 4:
        return None
    for dimension in (384, 768, 1024, 512, 256, 1536, 128, 64, 32, 16, 8, 4096, 3072, 2048):
        if size % (4 * dimension) == 0 and size // (4 * dimension) >= top:
            return dimension
    return None


def _check_record_leftovers(path: Path, chosen: _Snapshot, plan: _Plan, report: CheckReport) -> None:
    """Files no save uses any more: those of an interrupted save, stale IVF files, the snapshot folders of
    an interrupted upgrade. An IVF file that differs from its checksum is rebuilt from the vectors."""
    named = ((chosen.manifest or {}).get("index") or {}).get("file")
    for name in chosen.stray_ann:
        report.problems.append(
            Problem("ann", name, f"{name} changed after it was saved; it is rebuilt from the vectors", WARNING)
        )
        plan.rewrite = True
    for entry in sorted(path.iterdir()):
        if _interrupted_save_leftover(entry, plan, report):
            continue
        if (is_ann_name(entry.name) and entry.name != named) or (
            entry.name == CURRENT or snapshot_version(entry.name) is not None
        ):
            report.problems.append(
                Problem("leftover", entry.name, f"{entry.name} is no longer used by the index", WARNING)
            )
            plan.leftovers.append(entry)


def _check_current(
    path: Path, names: list[str], snapshot: Callable[[str], _Snapshot], plan: _Plan, report: CheckReport
) -> str | None:
    """The snapshot CURRENT names, or None (with a problem) when it names none, or an older one than
    a complete snapshot that no interrupted save left behind."""
    try:
        current = current_name(path)
    except StoreError:
        raw = _read_text(path / CURRENT)
        what = "is missing" if raw is None else f"names {raw.strip()[:40]!r}, which is not a snapshot here"
        report.problems.append(Problem("current", CURRENT, f"{CURRENT} {what}"))
        plan.rewrite = True
        return None
    newer = [n for n in names if (snapshot_version(n) or 0) > (snapshot_version(current) or 0)]
    pending = {(_read_text(p) or "").strip() for p in path.iterdir() if p.name.startswith(f".{CURRENT}{TMP_MARK}")}
    for name in reversed(newer):
        if name in pending or not snapshot(name).intact:
            continue
        report.problems.append(
            Problem(
                "current",
                CURRENT,
                f"{CURRENT} names {current}, but the newer complete snapshot {name} exists and no interrupted "
                f"save left it: {CURRENT} was changed",
            )
        )
        plan.rewrite = True
        return None
    return current


def _check_files(chosen: _Snapshot, plan: _Plan, report: CheckReport) -> None:
    for error in chosen.errors:
        name = error.split(":")[0]
        report.problems.append(Problem("snapshot", f"{chosen.name}:{name}", f"{chosen.name}: {error}"))
        plan.rewrite = True
    for name in chosen.changed if not chosen.records else ():
        report.problems.append(
            Problem(
                "checksum",
                f"{chosen.name}:{name}",
                f"{chosen.name}/{name} changed after it was saved (its checksum differs)",
            )
        )
        plan.rewrite = True
    for name, lines in chosen.corrected.items():
        for number in lines:
            report.problems.append(
                Problem(
                    "flipped-bit", f"{name}:{number}", f"{_line(chosen, number, name)} had one flipped bit; corrected"
                )
            )
            plan.rewrite = True
    if chosen.manifest is not None and not chosen.sealed:
        report.problems.append(
            Problem(
                "unsealed",
                chosen.name,
                f"{chosen.name} was saved by an older newsqa, without checksums, so damage to it can go unnoticed; "
                "`newsqa check --repair` (or the next save) adds them",
                WARNING,
            )
        )
        plan.rewrite = True


# -- articles ---------------------------------------------------------------------------------


def _check_articles(chosen: _Snapshot, plan: _Plan, report: CheckReport) -> None:
    """Intact article lines are kept; a damaged or missing one is restored from an older snapshot,
    else rebuilt from its passages and the fields of the damaged line that still match their digests."""
    articles = dict(chosen.articles or {})
    if chosen.articles is None:
        # No articles file at all: the newest snapshot that has one keeps them.
        donor = next((d for d in plan.donors or [] if d.articles is not None), None)
        if donor is not None:
            articles = {k: v for k, v in donor.articles.items()}  # type: ignore[union-attr]
    damaged: dict[str, ArticleRecord] = {}
    nameless: list[ArticleRecord] = []
    record: ArticleRecord | None
    for record in chosen.damaged_articles:
        article_id = record.article_id
        if article_id is None or article_id in articles or article_id in damaged:
            nameless.append(record)
        else:
            damaged[article_id] = record
    # Passages of an article with no line are orphans, unless the articles file itself was damaged.
    suspect = chosen.articles is None or ARTICLES_FILE in chosen.changed or bool(chosen.damaged_articles)
    referenced = {r.chunk.article_id for r in chosen.chunk_records.values() if r.chunk} - set(articles)
    referenced = referenced - set(damaged) if suspect else set()
    for record in list(nameless):
        guess = record.fields.get("id")
        if isinstance(guess, str) and guess in referenced and guess not in damaged:
            damaged[guess] = record  # an id that no longer matches its digest, but passages carry it
            nameless.remove(record)
    for article_id in sorted(set(damaged) | referenced):
        record = damaged.get(article_id)
        where = (
            f"{_line(chosen, record.line, ARTICLES_FILE)} is damaged"
            if record
            else f"its {_line(chosen, None, ARTICLES_FILE)} is gone"
        )
        article, how, lost = _recover_article(article_id, record, chosen, plan)
        if article is None:
            report.problems.append(Problem("damaged-article", article_id, f"article {article_id}: {where}; {how}"))
            report.lost.append(f"article {article_id}: {how}; {REINGEST}")
            plan.rewrite = True
            continue
        articles[article_id] = article
        report.problems.append(Problem("damaged-article", article_id, f"article {article_id}: {where}; {how}"))
        if lost:
            report.lost.append(f"article {article_id}: its {', '.join(lost)} (kept from a damaged line or left empty)")
        plan.rewrite = True
    for record in nameless:
        guess = record.fields.get("id")
        named = f" (perhaps article {guess!r})" if isinstance(guess, str) and guess not in articles else ""
        if isinstance(guess, str) and guess in articles:
            message = (
                f"{_line(chosen, record.line, ARTICLES_FILE)} is damaged; article {guess} is stored intact elsewhere"
            )
            report.problems.append(Problem("damaged-line", f"{ARTICLES_FILE}:{record.line}", message))
        else:
            message = (
                f"{_line(chosen, record.line, ARTICLES_FILE)} is damaged{named}, and no snapshot or passage tells "
                "which article it held"
            )
            report.problems.append(Problem("damaged-line", f"{ARTICLES_FILE}:{record.line}", message))
            report.lost.append(f"the article on {_line(chosen, record.line, ARTICLES_FILE)}{named}; {REINGEST}")
        plan.rewrite = True
    plan.articles = articles


def _recover_article(
    article_id: str, record: ArticleRecord | None, chosen: _Snapshot, plan: _Plan
) -> tuple[Article | None, str, list[str]]:
    """(the article, how it was recovered, fields that could not be) for a damaged or missing line."""
    own_chunks = chosen.chunks_of(article_id)
    for donor in plan.donors or []:
        candidate = (donor.articles or {}).get(article_id)
        if candidate is None:
            continue
        exact = (
            record is not None and record.sealed is not None and donor.article_seals.get(article_id) == record.sealed
        )
        if exact or _agrees(candidate, record, own_chunks):
            return candidate, f"restored from {donor.name}", []
    text, exact = _spelled(own_chunks)
    verified = exact and record is not None and record.digests.get("text") == field_digest(text)
    source = f"its {len(own_chunks)} passage" + ("s" if len(own_chunks) != 1 else "")
    if not verified and record is not None and record.verified("text"):
        text, verified, source = record.fields["text"], True, "its damaged line, whose text still matches its digest"
    if text is None:
        reason = "no snapshot holds a copy and its passages do not hold its whole text"
        return None, f"{reason}; it is lost", []
    values: dict[str, Any] = {"id": article_id, "text": text}
    lost = [] if verified else ["text (rebuilt from its passages, not verified)"]
    for name in ARTICLE_FIELDS:
        if name in ("id", "text"):
            continue
        if record is not None and record.verified(name):
            values[name] = record.fields[name]
        elif record is not None and record.digests.get(name) == field_digest(None):
            values[name] = None  # the field was empty
        else:
            lost.append(name)
    if "title" not in values:
        guess = record.fields.get("title") if record is not None else None
        values["title"] = guess if isinstance(guess, str) and guess.strip() else article_id
    values = {k: v for k, v in values.items() if v is not None or k not in ("title", "metadata")}
    try:
        article = Article.from_dict(values)
    except (ValueError, TypeError):
        article = Article(id=article_id, title=str(values["title"]), text=text)
        lost = [n for n in ARTICLE_FIELDS if n not in ("id", "text", "title")]
    return article, f"no intact copy in any snapshot; rebuilt from {source}", lost


def _agrees(candidate: Article, record: ArticleRecord | None, chunks: list[tuple[int, ChunkRecord]]) -> bool:
    """True when an older copy of an article matches what the current snapshot still holds of it: the
    fields of its damaged line that match their digests, and the text of its intact passages."""
    if record is not None:
        data = candidate.to_dict()
        for name in ARTICLE_FIELDS:
            if name in record.digests and record.digests[name] != field_digest(data.get(name)):
                return False
    for _, chunk_record in chunks:
        chunk = chunk_record.chunk
        if chunk is None or candidate.text[chunk.start : chunk.end] != chunk.text:
            return False
    return True


def _spelled(chunks: list[tuple[int, ChunkRecord]]) -> tuple[str | None, bool]:
    """(the article text its chunk lines spell, whether exactly); None when they cannot. Lines written
    without the text around each chunk get white space guessed between them (not exact)."""
    parts = [r for _, r in chunks if r.chunk is not None]
    if not parts or [r.chunk.position for r in parts] != list(range(len(parts))):  # type: ignore[union-attr]
        return None, False
    exact = all(r.before is not None for r in parts)
    pieces, cursor = [], 0
    for record in parts:
        chunk = record.chunk
        assert chunk is not None
        gap = chunk.start - cursor
        if gap < 0:
            return None, False
        pieces.append((chunk, record.before if exact else _GAPS.get(gap, "\n" * gap), record.after))
        cursor = chunk.end
    return spelled_text([(c, b or "", a) for c, b, a in pieces]), exact


# -- chunks -----------------------------------------------------------------------------------


def _check_chunks(chosen: _Snapshot, plan: _Plan, report: CheckReport) -> None:
    """Each article's chunks must spell its text (or, for snapshots without checksums, slice it at their
    offsets); when they do not, the chunks come from an older snapshot, else the article is re-chunked."""
    articles = plan.articles
    for record in chosen.damaged_chunks:
        what = f" (vector {record.vector_id})" if record.vector_id is not None else ""
        report.problems.append(
            Problem(
                "damaged-chunk",
                f"{CHUNKS_FILE}:{record.line}",
                f"{_line(chosen, record.line, CHUNKS_FILE)} is damaged{what}",
            )
        )
        plan.rewrite = True
    for vector_id in chosen.duplicate_chunks:
        report.problems.append(
            Problem("duplicate-chunk", str(vector_id), f"vector id {vector_id} is given to more than one chunk")
        )
        plan.rewrite = True
    chunks: dict[int, Chunk] = {}
    crcs: dict[int, int] = {}
    for vector_id, record in sorted(chosen.chunk_records.items()):
        chunk = record.chunk
        if chunk is None:
            continue
        if chunk.article_id not in articles:
            report.problems.append(
                Problem(
                    "orphan-chunk",
                    str(vector_id),
                    f"chunk {chunk.id} belongs to article {chunk.article_id}, not stored",
                )
            )
            plan.rewrite = True
    suspects = {chosen.chunk_records[v].chunk.article_id for v in chosen.duplicate_chunks if v in chosen.chunk_records}  # type: ignore[union-attr]
    for article_id, article in sorted(articles.items()):
        own = chosen.chunks_of(article_id)
        if own and article_id not in suspects and _fits(article, own, chosen.sealed):
            for vector_id, record in own:
                chunks[vector_id] = record.chunk  # type: ignore[assignment]
                if record.crc is not None:
                    crcs[vector_id] = record.crc
            continue
        if not own:
            report.problems.append(
                Problem("missing-vectors", article_id, f"article {article_id} has no chunks or vectors")
            )
        else:
            report.problems.append(
                Problem(
                    "offsets",
                    article_id,
                    f"the {len(own)} passages of article {article_id} do not match its text "
                    f"({len(article.text)} characters): a chunk line is damaged or missing",
                )
            )
        plan.rewrite = True
        restored = _donor_chunks(article, chosen, plan, used=set(chunks))
        if restored is None:
            plan.reembed.add(article_id)
            continue
        for vector_id, (chunk, crc, vector) in restored.items():
            chunks[vector_id] = chunk
            crcs[vector_id] = crc
            plan.vectors[vector_id] = vector
    plan.chunks, plan.crcs = chunks, crcs


def _fits(article: Article, chunks: list[tuple[int, ChunkRecord]], sealed: bool) -> bool:
    """True when these chunk lines are all of the article's chunks and match its text."""
    if sealed:
        text, exact = _spelled(chunks)
        return exact and text == article.text
    if [r.chunk.position for _, r in chunks if r.chunk] != list(range(len(chunks))):
        return False
    return all(
        r.chunk is not None
        and 0 <= r.chunk.start < r.chunk.end <= len(article.text)
        and article.text[r.chunk.start : r.chunk.end] == r.chunk.text
        for _, r in chunks
    )


def _donor_chunks(
    article: Article, chosen: _Snapshot, plan: _Plan, used: set[int]
) -> dict[int, tuple[Chunk, int, np.ndarray]] | None:
    """An article's chunks and vectors from the newest older snapshot that holds all of them for this
    very text, each vector matching its CRC; None when no snapshot does."""
    for donor in plan.donors or []:
        own = donor.chunks_of(article.id)
        if not own or not _fits(article, own, donor.sealed) or used & {v for v, _ in own}:
            continue
        found: dict[int, tuple[Chunk, int, np.ndarray]] = {}
        for vector_id, record in own:
            for source in (chosen, donor):
                vector = source.vector(vector_id)
                if vector is not None and _good_vector(vector, record.crc):
                    found[vector_id] = (record.chunk, vector_crc(vector), vector)  # type: ignore[assignment]
                    break
            else:
                break
        if len(found) == len(own):
            return found
    return None


# -- vectors ----------------------------------------------------------------------------------


def _good_vector(vector: np.ndarray, crc: int | None) -> bool:
    return bool(np.isfinite(vector).all()) and (crc is None or vector_crc(vector) == crc)


def _check_vectors(chosen: _Snapshot, plan: _Plan, report: CheckReport) -> None:
    """Every kept chunk needs one finite vector matching its CRC: from the checked snapshot, else an
    older one holding the same passage, else its article is re-embedded. Other vectors are dropped."""
    index = chosen.index
    ids, matrix = index_vectors(index) if index is not None else (np.zeros(0, dtype=np.int64), None)
    counts = Counter(ids.tolist())
    rows = {int(v): row for row, v in enumerate(ids.tolist())}
    known = {v for v, r in chosen.chunk_records.items()} | {r.vector_id for r in chosen.damaged_chunks}
    for vector_id, n in sorted(counts.items()):
        if n > 1:
            report.problems.append(
                Problem("duplicate-vector", str(vector_id), f"vector id {vector_id} is stored {n} times")
            )
            plan.rewrite = True
        if vector_id not in known and vector_id not in plan.chunks:
            report.problems.append(Problem("orphan-vector", str(vector_id), f"vector {vector_id} belongs to no chunk"))
            plan.rewrite = True
    if matrix is not None:
        finite = np.isfinite(matrix).all(axis=1)
    for vector_id, chunk in sorted(plan.chunks.items()):
        if vector_id in plan.vectors:
            continue
        crc = plan.crcs.get(vector_id)
        row = rows.get(vector_id) if counts.get(vector_id) == 1 else None
        if row is not None and matrix is not None:
            if finite[row] and (crc is None or vector_crc(matrix[row]) == crc):
                plan.vectors[vector_id] = matrix[row]
                continue
            kind, what = (
                ("non-finite", "is not finite (NaN or infinite values)")
                if not finite[row]
                else ("vector-checksum", "does not match its checksum")
            )
            report.problems.append(
                Problem(kind, str(vector_id), f"the vector of chunk {chunk.id} (article {chunk.article_id}) {what}")
            )
        elif index is not None and counts.get(vector_id, 0) == 0:
            report.problems.append(
                Problem(
                    "missing-vector", str(vector_id), f"chunk {chunk.id} of article {chunk.article_id} has no vector"
                )
            )
        plan.rewrite = True
        vector = None if chunk.article_id in plan.reembed else _donor_vector(plan.donors or [], vector_id, chunk, crc)
        if vector is None:
            plan.reembed.add(chunk.article_id)
        else:
            plan.vectors[vector_id] = vector
    dropped = {v for v, c in plan.chunks.items() if c.article_id in plan.reembed}
    plan.chunks = {v: c for v, c in plan.chunks.items() if v not in dropped}
    plan.vectors = {v: x for v, x in plan.vectors.items() if v in plan.chunks}
    has_chunks = {chunk.article_id for chunk in plan.chunks.values()}
    report.missing_vectors = sorted(set(plan.articles) - has_chunks)
    report.articles, report.chunks, report.vectors = len(plan.articles), len(plan.chunks), len(ids)
    for article_id in report.missing_vectors:
        if ("missing-vectors", article_id) not in {p.key for p in report.problems}:
            report.problems.append(
                Problem("missing-vectors", article_id, f"article {article_id} has vectors that cannot be recovered")
            )
    if index is not None:
        info = (chosen.manifest or {}).get("index") or {}
        report.index = {**info, "kind": index_kind(index)}


def _donor_vector(donors: Any, vector_id: int, chunk: Chunk, crc: int | None) -> np.ndarray | None:
    """The vector of this chunk in an older snapshot: vector ids are never reused, and the chunk
    there must be the same passage, its vector finite and matching the recorded CRC."""
    for donor in donors:
        if not donor.chunks or donor.chunks.get(vector_id) != chunk:
            continue
        vector = donor.vector(vector_id)
        expected = crc if crc is not None else donor.chunk_records[vector_id].crc
        if vector is not None and _good_vector(vector, expected):
            return vector
    return None


# -- manifest and counts ----------------------------------------------------------------------


def _check_manifest(chosen: _Snapshot, plan: _Plan, report: CheckReport, model_hint: ModelHint | None) -> None:
    index_dimension = int(chosen.index.d) if chosen.index is not None else None
    if chosen.manifest is not None:
        plan.manifest = dict(chosen.manifest)
    else:
        message = f"{chosen.name}: {chosen.manifest_error}"
        if _newer_format(chosen):
            report.problems.append(Problem("manifest", chosen.name, f"{message}; upgrade newsqa to read it"))
            return
        donor = next((d for d in plan.donors or [] if d.manifest is not None), None)
        if donor is not None and donor.manifest is not None:
            plan.manifest = {k: v for k, v in donor.manifest.items() if k not in ("index", "files")}
            report.problems.append(Problem("manifest", chosen.name, f"{message}; rebuilt from {donor.name}"))
        else:
            found = model_hint(_samples(chosen, plan), index_dimension) if model_hint else None
            if found is None:
                report.problems.append(
                    Problem(
                        "manifest",
                        chosen.name,
                        f"{message}; no other snapshot and no cached vector tells which model embedded it, and the "
                        "configured model does not give its vectors back: name the model with "
                        "`newsqa check --repair --embedding-model NAME`",
                    )
                )
                return
            model, dimension = found
            plan.manifest = {"embedding_model": model, "dimension": dimension or index_dimension}
            report.problems.append(
                Problem("manifest", chosen.name, f"{message}; rebuilt from the files (embedding model {model})")
            )
        plan.manifest.update(format=FORMAT_VERSION, version=snapshot_version(chosen.name) or 1, next_vector_id=0)
        plan.rewrite = True
    dimension = plan.manifest.get("dimension")
    if index_dimension is not None and dimension != index_dimension:
        if chosen.manifest is not None:
            report.problems.append(
                Problem(
                    "dimension",
                    FAISS_FILE,
                    f"the vectors have {index_dimension} dimensions, the manifest says {dimension}; "
                    f"the vectors' own {index_dimension} is kept",
                )
            )
        plan.manifest["dimension"] = index_dimension
        plan.rewrite = True
    if not isinstance(plan.manifest.get("dimension"), int) or plan.manifest["dimension"] < 1:
        report.problems.append(
            Problem(
                "dimension",
                FAISS_FILE,
                "neither the vectors nor any manifest tells their dimension; rebuild the index with `newsqa ingest`",
            )
        )
        plan.manifest = None


def _samples(chosen: _Snapshot, plan: _Plan) -> list[tuple[Article, Chunk, np.ndarray | None]]:
    found = []
    for vector_id, chunk in sorted(plan.chunks.items()):
        article = plan.articles.get(chunk.article_id)
        if article is not None:
            found.append((article, chunk, plan.vectors.get(vector_id)))
        if len(found) >= SAMPLES_FOR_MODEL:
            break
    return found


def _check_counts(chosen: _Snapshot, plan: _Plan, report: CheckReport) -> None:
    manifest = chosen.manifest or {}
    held = (("articles", len(chosen.articles or {})), ("chunks", len(chosen.chunks or {})))
    whole = chosen.articles is not None and chosen.chunks is not None and not chosen.changed
    whole = whole and not (chosen.records and (chosen.damaged_articles or chosen.damaged_chunks or chosen.broken))
    for key, actual in held if whole else ():
        if key in manifest and manifest[key] != actual:
            report.problems.append(
                Problem("counts", key, f"the manifest counts {manifest[key]} {key}, the snapshot holds {actual}")
            )
            plan.rewrite = True
    if plan.manifest is None:
        return
    used = max([*plan.chunks, -1]) + 1
    if plan.manifest.get("next_vector_id", 0) < used:
        if chosen.manifest is not None:
            report.problems.append(
                Problem(
                    "next-id",
                    "next_vector_id",
                    f"next_vector_id {plan.manifest.get('next_vector_id')} is not above the ids in use "
                    f"(up to {used - 1})",
                )
            )
        plan.manifest["next_vector_id"] = used
        plan.rewrite = True


def _interrupted_save_leftover(entry: Path, plan: _Plan, report: CheckReport) -> bool:
    """Report and plan to remove `entry` if an interrupted save left it (a temporary file or staging folder)."""
    if TMP_MARK not in entry.name:
        return False
    what = "staging folder" if entry.is_dir() else "temporary file"
    report.problems.append(
        Problem("leftover", entry.name, f"leftover {what} {entry.name} of an interrupted save", WARNING)
    )
    plan.leftovers.append(entry)
    return True


def _check_leftovers(path: Path, current: str | None, names: list[str], plan: _Plan, report: CheckReport) -> None:
    fallback = None
    if current is not None:
        older = [n for n in names if (snapshot_version(n) or 0) < (snapshot_version(current) or 0)]
        fallback = older[-1] if older else None
    for entry in sorted(path.iterdir()):
        if _interrupted_save_leftover(entry, plan, report):
            continue
        if current is not None and entry.is_dir() and entry.name in names and entry.name not in {current, fallback}:
            report.problems.append(
                Problem("leftover", entry.name, f"snapshot {entry.name} is neither current nor the fallback", WARNING)
            )
            plan.leftovers.append(entry)


def _check_feeds(path: Path, report: CheckReport) -> None:
    feeds = path / FEEDS
    if not feeds.exists():
        return
    try:
        data = json.loads(feeds.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        report.problems.append(
            Problem(
                "feeds",
                FEEDS,
                f"{FEEDS} does not parse ({error}); fix it, or delete it and add the feeds again",
            )
        )
        return
    for number, message in enumerate(feeds_file_problems(data), start=1):
        report.problems.append(Problem("feeds", f"{FEEDS}:{number}", message))


# -- repair ----------------------------------------------------------------------------------


def _repair(path: Path, report: CheckReport, plan: _Plan) -> None:
    if plan.rewrite and plan.manifest is not None and plan.source is not None:
        _write_repaired(path, plan)
    for entry in plan.leftovers:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _write_repaired(path: Path, plan: _Plan) -> None:
    """A new snapshot from the plan; the chunks of articles to re-embed are left out, the articles kept."""
    assert plan.manifest is not None
    dimension = int(plan.manifest["dimension"])
    kept = {v: c for v, c in plan.chunks.items() if v in plan.vectors and len(plan.vectors[v]) == dimension}
    index = flat_index(dimension)
    if kept:
        ids = np.fromiter(sorted(kept), dtype=np.int64, count=len(kept))
        index.add_with_ids(np.stack([plan.vectors[int(v)] for v in ids]).astype(np.float32), ids)
    manifest = {**plan.manifest, "index": {"kind": "flat"}}
    store = Store.assemble(path, manifest, plan.articles.values(), sorted(kept.items()), index, plan.crcs)
    if plan.source is not None and plan.source.broken:
        # SQLite cannot be trusted with this file any more: the salvaged records go into a new one.
        aside = path / f"{RECORDS}.damaged"
        os.replace(path / RECORDS, aside)
        for side in RECORDS_SIDE:
            (path / f"{RECORDS}{side}").unlink(missing_ok=True)
        store.save()
        aside.unlink()
        return
    store.save()
    if plan.source is not None and not plan.source.records:
        from qa.store.legacy import remove_snapshots

        remove_snapshots(path)  # a repaired format-1 or -2 folder is format 3 now


def _line(chosen: _Snapshot, number: int | None, file: str) -> str:
    """Where a record is, for messages: a line of a snapshot file, or a row of a table of the records database."""
    table = file.split(".")[0]
    if chosen.records:
        return f"row {number} of the {table} table" if number is not None else f"row in the {table} table"
    return f"line {number} of {file}" if number is not None else f"line in {file}"


def _newer_format(chosen: _Snapshot) -> bool:
    """True when the snapshot's manifest reads fine but was written by a newer newsqa."""
    text = chosen.manifest_text if chosen.records else _read_text(chosen.folder / MANIFEST)
    try:
        manifest = json.loads(text or "")
    except ValueError:
        return False
    found = manifest.get("format") if isinstance(manifest, dict) else None
    return isinstance(found, int) and found > FORMAT_VERSION


def _read_text(file: Path) -> str | None:
    try:
        return file.read_text()
    except (OSError, UnicodeDecodeError):
        return None

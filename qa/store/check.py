"""Verify an index folder on disk, and repair what can be repaired without losing stored articles."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.errors import StoreError
from qa.store.ann import flat_index, index_kind, index_vectors
from qa.store.layout import (
    CURRENT,
    FORMAT_VERSION,
    TMP_MARK,
    current_name,
    read_manifest,
    snapshot_names,
    snapshot_version,
    write_lock,
)
from qa.store.store import Store
from qa.types import Article, Chunk

ERROR = "error"
WARNING = "warning"
FEEDS_FILE = "feeds.json"
SHOWN_PROBLEMS = 40


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
    """What `check` found in an index folder, and what it repaired."""

    path: str
    snapshot: str | None = None
    articles: int = 0
    chunks: int = 0
    vectors: int = 0
    index: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    missing_vectors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no error is left unrepaired (warnings allowed)."""
        return not self.remaining

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
        remaining = len(self.remaining)
        lines.append("consistent" if not remaining else f"problems left: {remaining}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def merge(before: CheckReport, after: CheckReport) -> CheckReport:
    """The report after a repair: `before`'s problems, each marked repaired unless `after` still
    finds it unrepaired, then any problem only `after` finds; counts from `after`."""
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
    )


def check(path: str | Path, repair: bool = False, lock_timeout_s: float = 30.0) -> CheckReport:
    """Verify the index at `path`: CURRENT, manifest, articles, chunks, vectors, leftovers, feeds.json.

    With `repair`, fix what can be fixed without losing articles: fall back to the newest intact
    snapshot when CURRENT is damaged, rebuild a damaged manifest, salvage vectors from the previous
    snapshot, drop orphan vectors and chunks and leftover files. Articles whose vectors cannot be
    recovered stay stored, listed in `missing_vectors` (the assistant re-embeds them). Holds the
    writer lock while it runs."""
    path = Path(path)
    if not path.is_dir() or not ((path / CURRENT).exists() or snapshot_names(path)):
        raise StoreError(f"no index at {path}; build one with `newsqa ingest PATH --index {path}`")
    with write_lock(path, lock_timeout_s):
        report, plan = _inspect(path)
        if not repair or not report.problems:
            return report
        _repair(path, report, plan)
        after, _ = _inspect(path)
        return merge(report, after)


# -- reading a snapshot leniently ------------------------------------------------------------


@dataclass
class _Snapshot:
    """What could be read of one snapshot folder."""

    folder: Path
    manifest: dict[str, Any] | None = None
    articles: dict[str, Article] | None = None
    chunks: dict[int, Chunk] | None = None
    index: faiss.Index | None = None
    errors: list[str] = field(default_factory=list)
    duplicate_chunks: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def intact(self) -> bool:
        return not self.errors


def _read_snapshot(folder: Path) -> _Snapshot:
    snapshot = _Snapshot(folder)
    try:
        snapshot.manifest = read_manifest(folder)
    except StoreError as error:
        snapshot.errors.append(f"manifest: {error}")
    snapshot.articles = _read_records(folder / "articles.jsonl", snapshot, _article_record)
    chunks = _read_records(folder / "chunks.jsonl", snapshot, _chunk_record)
    if chunks is not None:
        counts = Counter(vector_id for vector_id, _ in chunks)
        snapshot.duplicate_chunks = sorted(v for v, n in counts.items() if n > 1)
        snapshot.chunks = dict(chunks)
    try:
        snapshot.index = faiss.read_index(str(folder / "vectors.faiss"))
        index_kind(snapshot.index)
    except (RuntimeError, StoreError) as error:
        snapshot.index = None
        snapshot.errors.append(f"vectors.faiss: {str(error).splitlines()[0][:200]}")
    return snapshot


def _article_record(data: dict[str, Any]) -> tuple[str, Article]:
    article = Article.from_dict(data)
    return article.id, article


def _chunk_record(data: dict[str, Any]) -> tuple[int, Chunk]:
    vector_id = data.pop("vector_id")
    if not isinstance(vector_id, int):
        raise TypeError("vector_id is not an integer")
    return vector_id, Chunk.from_dict(data)


def _read_records(file: Path, snapshot: _Snapshot, build: Any) -> Any:
    """Records of a JSONL file, bad lines skipped (and counted in `snapshot.errors`); None if unreadable."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        snapshot.errors.append(f"{file.name}: {error}")
        return None
    records, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(build(json.loads(line)))
        except (ValueError, TypeError, KeyError, AttributeError):
            bad += 1
    if bad:
        snapshot.errors.append(f"{file.name}: {bad} unreadable lines")
    return dict(records) if build is _article_record else records


# -- inspection ------------------------------------------------------------------------------


class _Donors:
    """The snapshots other than the checked one, newest first, each read only when first needed."""

    def __init__(self, read: Any, names: list[str]) -> None:
        self._read = read
        self._names = names

    def __iter__(self) -> Iterator[_Snapshot]:
        for name in self._names:
            yield self._read(name)


@dataclass
class _Plan:
    """The parts a repair would write: a manifest, articles, chunks and where each vector comes from."""

    manifest: dict[str, Any] | None = None
    articles: dict[str, Article] = field(default_factory=dict)
    chunks: dict[int, Chunk] = field(default_factory=dict)
    source: _Snapshot | None = None
    donors: _Donors | None = None
    drop_vectors_of: set[str] = field(default_factory=set)  # articles whose chunks and vectors go
    leftovers: list[Path] = field(default_factory=list)
    rewrite: bool = False


def _inspect(path: Path) -> tuple[CheckReport, _Plan]:
    report = CheckReport(path=str(path))
    plan = _Plan()
    names = snapshot_names(path)
    snapshots: dict[str, _Snapshot] = {}

    def snapshot(name: str) -> _Snapshot:
        if name not in snapshots:
            snapshots[name] = _read_snapshot(path / name)
        return snapshots[name]

    # CURRENT, and which snapshot to check
    try:
        current: str | None = current_name(path)
    except StoreError:
        current = None
        raw = _read_text(path / CURRENT)
        what = "is missing" if raw is None else f"names {raw.strip()[:40]!r}, which is not a snapshot here"
        report.problems.append(Problem("current", CURRENT, f"{CURRENT} {what}"))
        plan.rewrite = True
    if current is not None:
        chosen = snapshot(current)
    else:
        newest_first = [snapshot(n) for n in reversed(names)] if names else []
        chosen = next((s for s in newest_first if s.intact), None) or next(
            (s for s in newest_first if s.articles is not None), None
        )
        if chosen is None:
            report.problems.append(
                Problem("snapshot", "-", "no readable snapshot is left; rebuild with `newsqa ingest`")
            )
            return report, plan
        report.problems[-1].message += f"; the newest intact snapshot is {chosen.name}"
    plan.source = chosen
    plan.donors = _Donors(snapshot, [n for n in reversed(names) if n != chosen.name])
    report.snapshot = chosen.name
    for error in chosen.errors:
        if not error.startswith("manifest:"):
            report.problems.append(
                Problem("snapshot", f"{chosen.name}:{error.split(':')[0]}", f"{chosen.name}: {error}")
            )
            plan.rewrite = True

    _check_manifest(chosen, plan, report)
    _check_contents(chosen, plan, report)
    _check_leftovers(path, chosen.name if current else None, names, plan, report)
    _check_feeds(path, report)
    return report, plan


def _check_manifest(chosen: _Snapshot, plan: _Plan, report: CheckReport) -> None:
    if chosen.manifest is not None:
        plan.manifest = dict(chosen.manifest)
        return
    message = next(e for e in chosen.errors if e.startswith("manifest:"))
    if _newer_format(plan.source):
        report.problems.append(Problem("manifest", chosen.name, f"{chosen.name} {message}; upgrade newsqa to read it"))
        return
    donor = next((d.manifest for d in plan.donors if d.manifest is not None), None)
    if donor is None:
        report.problems.append(
            Problem(
                "manifest", chosen.name, f"{chosen.name} {message}; no other snapshot tells which model embedded it"
            )
        )
        return
    report.problems.append(Problem("manifest", chosen.name, f"{chosen.name} {message}"))
    plan.manifest = {**donor, "version": snapshot_version(chosen.name) or donor["version"]}
    if chosen.index is not None:
        plan.manifest["dimension"] = int(chosen.index.d)
    plan.manifest.pop("index", None)
    plan.rewrite = True


def _check_contents(chosen: _Snapshot, plan: _Plan, report: CheckReport) -> None:
    articles = dict(chosen.articles or {})
    chunks = dict(chosen.chunks or {})
    if chosen.articles is None:
        # No articles file at all: the newest snapshot that has one keeps them.
        donor = next((d for d in plan.donors if d.articles is not None), None)
        if donor is not None:
            articles = dict(donor.articles)
    for vector_id in chosen.duplicate_chunks:
        chunk = chunks[vector_id]
        report.problems.append(
            Problem("duplicate-chunk", str(vector_id), f"vector id {vector_id} is given to more than one chunk")
        )
        plan.drop_vectors_of.add(chunk.article_id)

    # Chunks whose article is missing: restore the article from an older snapshot, else drop them.
    for vector_id, chunk in sorted(chunks.items()):
        if chunk.article_id in articles:
            continue
        restored = next(
            (d.articles[chunk.article_id] for d in plan.donors if d.articles and chunk.article_id in d.articles), None
        )
        if restored is not None and chosen.articles is not None and any("articles.jsonl" in e for e in chosen.errors):
            articles[chunk.article_id] = restored
            continue
        report.problems.append(
            Problem(
                "orphan-chunk", str(vector_id), f"chunk {chunk.id} belongs to article {chunk.article_id}, not stored"
            )
        )
        del chunks[vector_id]
        plan.rewrite = True

    for vector_id, chunk in sorted(chunks.items()):
        text = articles[chunk.article_id].text
        if not (0 <= chunk.start < chunk.end <= len(text)) or text[chunk.start : chunk.end] != chunk.text:
            report.problems.append(
                Problem(
                    "offsets",
                    str(vector_id),
                    f"chunk {chunk.id} ({chunk.start}-{chunk.end}) does not match its article's text "
                    f"({len(text)} characters)",
                )
            )
            plan.drop_vectors_of.add(chunk.article_id)

    index = chosen.index
    stored = index_vectors(index, with_vectors=False)[0] if index is not None else np.zeros(0, dtype=np.int64)
    counts = Counter(stored.tolist())
    dimension = plan.manifest.get("dimension") if plan.manifest else None
    if index is not None and dimension is not None and index.d != dimension:
        report.problems.append(
            Problem(
                "dimension", "vectors.faiss", f"the vectors have {index.d} dimensions, the manifest says {dimension}"
            )
        )
    for vector_id, n in sorted(counts.items()):
        if n > 1:
            report.problems.append(
                Problem("duplicate-vector", str(vector_id), f"vector id {vector_id} is stored {n} times")
            )
            if vector_id in chunks:
                plan.drop_vectors_of.add(chunks[vector_id].article_id)
            plan.rewrite = True
        if vector_id not in chunks:
            report.problems.append(Problem("orphan-vector", str(vector_id), f"vector {vector_id} belongs to no chunk"))
            plan.rewrite = True
    for vector_id, chunk in sorted(chunks.items()):
        if counts.get(vector_id, 0) == 0:
            if index is not None:  # an unreadable vector file is one problem, reported above
                report.problems.append(
                    Problem(
                        "missing-vector",
                        str(vector_id),
                        f"chunk {chunk.id} of article {chunk.article_id} has no vector",
                    )
                )
            if _donor_vector(plan.donors, vector_id, chunk) is None:
                plan.drop_vectors_of.add(chunk.article_id)
            plan.rewrite = True
    if plan.drop_vectors_of:
        plan.rewrite = True

    has_chunks = {chunk.article_id for chunk in chunks.values()}
    missing = sorted((set(articles) - has_chunks) | plan.drop_vectors_of)
    for article_id in missing:
        if article_id not in has_chunks:
            report.problems.append(
                Problem("missing-vectors", article_id, f"article {article_id} has no chunks or vectors")
            )
    report.missing_vectors = missing

    manifest = chosen.manifest or {}
    held = (("articles", len(chosen.articles or {})), ("chunks", len(chosen.chunks or {})))
    for key, actual in held if chosen.articles is not None and chosen.chunks is not None else ():
        if key in manifest and manifest[key] != actual:
            report.problems.append(
                Problem("counts", key, f"the manifest counts {manifest[key]} {key}, the snapshot holds {actual}")
            )
            plan.rewrite = True
    used = max([*chunks, -1]) + 1
    if plan.manifest is not None and plan.manifest.get("next_vector_id", 0) < used:
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

    plan.articles, plan.chunks = articles, chunks
    report.articles, report.chunks, report.vectors = len(articles), len(chunks), len(stored)
    if index is not None:
        info = (chosen.manifest or {}).get("index") or {}
        report.index = {**info, "kind": index_kind(index)}


def _check_leftovers(path: Path, current: str | None, names: list[str], plan: _Plan, report: CheckReport) -> None:
    fallback = None
    if current is not None:
        older = [n for n in names if (snapshot_version(n) or 0) < (snapshot_version(current) or 0)]
        fallback = older[-1] if older else None
    for entry in sorted(path.iterdir()):
        if TMP_MARK in entry.name:
            what = "staging folder" if entry.is_dir() else "temporary file"
            report.problems.append(
                Problem("leftover", entry.name, f"leftover {what} {entry.name} of an interrupted save", WARNING)
            )
            plan.leftovers.append(entry)
        elif current is not None and entry.is_dir() and entry.name in names and entry.name not in {current, fallback}:
            report.problems.append(
                Problem("leftover", entry.name, f"snapshot {entry.name} is neither current nor the fallback", WARNING)
            )
            plan.leftovers.append(entry)


def _check_feeds(path: Path, report: CheckReport) -> None:
    feeds = path / FEEDS_FILE
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
                FEEDS_FILE,
                f"{FEEDS_FILE} does not parse ({error}); fix it, or delete it and add the feeds again",
            )
        )


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
    """A new snapshot from the plan: vectors from the checked snapshot, else from older ones; the
    chunks of articles whose vectors are lost are dropped, the articles themselves kept."""
    assert plan.manifest is not None and plan.source is not None
    dimension = int(plan.manifest["dimension"])
    vectors: dict[int, np.ndarray] = {}
    if plan.source.index is not None and plan.source.index.d == dimension:
        ids, matrix = index_vectors(plan.source.index)
        counts = Counter(ids.tolist())
        for row, vector_id in enumerate(ids.tolist()):
            if counts[vector_id] == 1 and vector_id in plan.chunks:
                vectors[vector_id] = matrix[row]
    for vector_id, chunk in plan.chunks.items():
        if vector_id not in vectors:
            found = _donor_vector(plan.donors, vector_id, chunk)
            if found is not None and len(found) == dimension:
                vectors[vector_id] = found
    lost = {chunk.article_id for v, chunk in plan.chunks.items() if v not in vectors} | plan.drop_vectors_of
    kept = {v: c for v, c in plan.chunks.items() if c.article_id not in lost}
    index = flat_index(dimension)
    if kept:
        ids = np.fromiter(sorted(kept), dtype=np.int64, count=len(kept))
        index.add_with_ids(np.stack([vectors[int(v)] for v in ids]).astype(np.float32), ids)
    manifest = {**plan.manifest, "index": {"kind": "flat"}}
    store = Store.assemble(path, manifest, plan.articles.values(), sorted(kept.items()), index)
    store.save()


def _donor_vector(donors: list[_Snapshot], vector_id: int, chunk: Chunk) -> np.ndarray | None:
    """The vector of this chunk in an older snapshot: vector ids are never reused, and the chunk
    there must be the same passage."""
    for donor in donors:
        if donor.index is None or not donor.chunks or donor.chunks.get(vector_id) != chunk:
            continue
        try:
            return np.asarray(donor.index.reconstruct(vector_id), dtype=np.float32)
        except RuntimeError:
            continue
    return None


def _newer_format(snapshot: _Snapshot | None) -> bool:
    """True when the snapshot's manifest reads fine but was written by a newer newsqa."""
    if snapshot is None:
        return False
    try:
        manifest = json.loads(_read_text(Path(snapshot.folder) / "manifest.json") or "")
    except ValueError:
        return False
    found = manifest.get("format") if isinstance(manifest, dict) else None
    return isinstance(found, int) and found > FORMAT_VERSION


def _read_text(file: Path) -> str | None:
    try:
        return file.read_text()
    except (OSError, UnicodeDecodeError):
        return None

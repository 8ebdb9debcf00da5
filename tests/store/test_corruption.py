"""Corruption scenarios: an index damaged on disk is found damaged by `newsqa check`, and every scenario
ends either recovered with nothing lost or refused with a message that names what is lost.

The index is real (the small English embedding model, six articles saved in two batches); each scenario
damages a copy of it through the backend's own means (tests/store/corruption.py) and judges only through
the Assistant and the CLI. A folder keeps no older copy of its records, so what a damaged record alone
held is rebuilt from what survives (passages, field digests, one flipped bit), re-embedded, or named as lost.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.errors import StoreError
from qa.store.layout import RECORDS, VECTORS
from tests.conftest import FAST_EMBEDDING, write_article
from tests.store.corruption import BACKENDS, FolderBackend, Stored, read_stored

FIRST = {  # saved first
    "tram": (
        "Lyon opens its tram line",
        [
            "Lyon opened its new tram line to the university on Monday, after four years of works that closed two "
            "bridges, moved the weekly market twice and kept the old station square fenced off for most of that time.",
            "The line cost 410 million euros, the city council said, and it is expected to carry up to 60,000 "
            "passengers a day between the main station, the hospital district and the campus on the hill.",
            "Shop owners along the route asked the council for compensation for the trade they lost during the "
            "works, and a commission will examine the first claims in the spring, the deputy mayor said.",
        ],
    ),
    "bridge": (
        "Leeds approves a cycling bridge",
        [
            "Leeds approved a cycling bridge across the river near the old docks on Tuesday, the first new crossing "
            "to be built in that part of the city since the ring road bridge opened in 1974.",
            "The council expects some 4,000 cyclists a day once the bridge opens next spring, and says it will "
            "close the last gap in the riverside route that runs from the city centre to the university.",
        ],
    ),
    "library": (
        "Bergen reopens its library",
        [
            "Bergen reopened its central library on Saturday after a renovation of two years that added a reading "
            "room for children, a workshop for repairing books and a roof terrace open until late evening.",
            "More than 9,000 people came through the doors on the first day, the librarians said, many of them to "
            "see the restored murals of the main hall, which had been hidden behind shelves for decades.",
        ],
    ),
    "harbour": (
        "Porto electrifies its harbour",
        [
            "Porto finished electrifying its cruise harbour this week, letting the ships that dock there plug into "
            "shore power instead of running their diesel engines for the whole of their stay in the city.",
            "The port authority says the change cuts the harbour's emissions of nitrogen oxides by about a third, "
            "as measured over the first summer season, and that two more berths will follow next year.",
        ],
    ),
}
SECOND = {  # saved second
    "hospital": (
        "Gdansk inaugurates a hospital wing",
        [
            "Gdansk inaugurated a new hospital wing on Wednesday that doubles the number of intensive care beds in "
            "the region to 96, after a winter in which patients had to be taken as far as Warsaw.",
            "The wing was paid for by a regional fund of 85 million zloty, the governor said, and its first "
            "patients were moved in on the same day from the old building across the courtyard.",
        ],
    ),
    "depot": (
        "Turin converts its bus depot",
        [
            "Turin converted its largest bus depot so that it can charge forty electric buses overnight, the city "
            "transport company said on Thursday, after eight months of work on the roof and the grid connection.",
            "Drivers will be trained on the new buses during the winter months, and the remaining diesel fleet is "
            "to be retired within three years, according to the plan the city council approved.",
        ],
    ),
}
ALL = {**FIRST, **SECOND}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def built(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> FolderBackend:
    """One index of the six articles per backend, built once; scenarios damage copies of it."""
    root = tmp_path_factory.mktemp("corruption-built")
    settings = Settings(embedding_model=FAST_EMBEDDING)
    backend = BACKENDS[request.param](root)
    for number, batch in enumerate((FIRST, SECOND)):
        folder = root / f"batch{number}"
        folder.mkdir()
        for article_id, (title, paragraphs) in batch.items():
            write_article(
                folder,
                f"{article_id}.md",
                title,
                "\n\n".join(paragraphs),
                id=article_id,
                published="2024-03-0" + str(number + 1),
                source="Courier",
            )
        report = Assistant.open(backend.location, settings).ingest([folder])
        assert sorted(report.added) == sorted(batch), report.errors
    return backend


@pytest.fixture()
def backend(built: FolderBackend, tmp_path: Path) -> FolderBackend:
    """A fresh copy of the built index."""
    return built.copy_to(tmp_path)


@pytest.fixture()
def settings() -> Settings:
    return Settings(embedding_model=FAST_EMBEDDING)


# -- outcomes ----------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run `newsqa ARGS`; (exit code, stdout and stderr)."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def repair(backend: FolderBackend, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    """`newsqa check` must find the damage; then `newsqa check --repair`."""
    code, found = cli(capsys, "check", "--index", backend.location, *options)
    assert code == 1, f"the damage went unnoticed:\n{found}"
    return cli(capsys, "check", "--repair", "--index", backend.location, *options)


def assert_nothing_lost(backend: FolderBackend, before: Stored, settings: Settings, output: str) -> None:
    """Recovered with nothing lost: consistent, every article whole, every passage and vector as before."""
    after = read_stored(backend.location, settings)
    assert "lost:" not in output, output
    assert after.articles == before.articles, output
    assert after.passages == before.passages, output
    for article_id, vectors in before.vectors.items():
        got = after.vectors[article_id]
        assert got.shape == vectors.shape and np.isfinite(got).all(), article_id
        agreement = np.sum(got * vectors, axis=1)
        assert agreement.min() > 0.999, f"{article_id}: a passage no longer finds itself ({agreement})"
    report = Assistant.check_index(backend.location, settings)
    assert report.ok and report.remaining == [], report.summary()


def assert_refused(output: str, code: int, lost: list[str]) -> None:
    """Refused with a clear message: exit code 1, and each lost thing named on a `lost:` line."""
    assert code == 1, output
    lines = [line for line in output.splitlines() if line.startswith("lost:")]
    for name in lost:
        assert any(name in line for line in lines), f"{name!r} is not named as lost:\n{output}"


@pytest.fixture()
def before(built: FolderBackend, settings: Settings) -> Stored:
    return read_stored(built.location, settings)


def _opens(backend: FolderBackend) -> bool:
    try:
        Assistant.open(backend.location)
    except StoreError:
        return False
    return True


# -- scenarios ---------------------------------------------------------------------------------


def test_any_changed_byte_of_the_index_is_found(backend: FolderBackend) -> None:
    """F10: one byte changed anywhere in the stored records or vectors (every byte of the small pieces, a
    spread of the large ones) is found by `check`, and an index with a changed byte is never opened."""
    rng = random.Random(10)
    missed, opened = [], []
    for part in backend.parts():
        original = backend.read_part(part)
        positions = (
            range(len(original))
            if len(original) < 300
            else sorted({0, 1, len(original) // 2, len(original) - 1, *rng.sample(range(len(original)), 30)})
        )
        for position in positions:
            for value in {original[position] ^ 0x01, rng.choice([b for b in range(256) if b != original[position]])}:
                backend.write_part(part, original[:position] + bytes([value]) + original[position + 1 :])
                if Assistant.check_index(backend.location).ok:
                    missed.append((part, position, value))
                if _opens(backend):
                    opened.append((part, position, value))
        backend.write_part(part, original)
    assert missed == [], f"changes not found: {missed[:10]}"
    assert opened == [], f"damaged files opened: {opened[:10]}"
    assert Assistant.check_index(backend.location).ok


def test_a_changed_byte_of_the_database_file_is_found(backend: FolderBackend) -> None:
    """F10, seen from the disk: a byte changed in the database file, inside a stored record or in the
    header SQLite reads it by, is found by `check`, and the index is not opened. (Bytes of SQLite's
    free space carry nothing and are not looked at.)"""
    file = Path(backend.location) / RECORDS
    original = file.read_bytes()
    rng = random.Random(11)
    positions = list(range(24))
    for part in ("manifest", "articles", "chunks"):
        for line in backend.records(part):
            at = original.find(line)
            assert at > 0, "each record is stored in one piece"
            positions += [at, at + len(line) - 1, *rng.sample(range(at, at + len(line)), 2)]
    missed, opened = [], []
    for position in positions:
        value = original[position] ^ (1 << rng.randrange(8))
        file.write_bytes(original[:position] + bytes([value]) + original[position + 1 :])
        if Assistant.check_index(backend.location).ok:
            missed.append((position, value))
        if _opens(backend):
            opened.append((position, value))
    file.write_bytes(original)
    assert missed == [], f"changes not found: {missed[:10]}"
    assert opened == [], f"damaged files opened: {opened[:10]}"
    assert Assistant.check_index(backend.location).ok


@pytest.mark.parametrize("part", ["manifest", "articles", "chunks", VECTORS])
def test_a_changed_byte_is_repaired(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str], part: str
) -> None:
    """F10: after any one-byte change, `check --repair` gives back the index as it was."""
    rng = random.Random(part)
    original = backend.read_part(part)
    for _ in range(3):
        position = rng.randrange(len(original))
        backend.write_part(part, original[:position] + bytes([original[position] ^ 0x20]) + original[position + 1 :])
        code, output = repair(backend, capsys, "--embedding-model", FAST_EMBEDDING)
        assert code == 0, output
        assert_nothing_lost(backend, before, settings, output)
        original = backend.read_part(part)


def test_random_bytes_in_the_vectors_are_found_and_repaired(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """F10: random bytes in the middle of the vector file: found (vectors that no longer match their
    checksum or are not finite) and re-embedded."""
    data = backend.read_part(VECTORS)
    middle = len(data) // 2
    noise = np.random.default_rng(3).integers(0, 256, 256, dtype=np.uint8).tobytes()
    backend.write_part(VECTORS, data[:middle] + noise + data[middle + len(noise) :])
    code, output = repair(backend, capsys, "--embedding-model", FAST_EMBEDDING)
    assert code == 0 and "vector-checksum" not in output, output
    assert "does not match its checksum" in output or "not finite" in output
    assert_nothing_lost(backend, before, settings, output)


def test_non_finite_vectors_are_reported_and_re_embedded(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """NaN vectors stored by a faulty embedder are named by `check` and re-embedded by `--repair`."""
    backend.poison_vectors("depot")
    code, found = cli(capsys, "check", "--index", backend.location, "--json")
    assert code == 1 and found.count('"kind": "non-finite"') == 2 and "article depot" in found, found
    code, output = cli(capsys, "check", "--repair", "--index", backend.location)
    assert code == 0, output
    assert_nothing_lost(backend, before, settings, output)


@pytest.mark.parametrize("damage", ["deleted", "garbled"])
def test_a_damaged_passage_is_re_chunked_from_the_article(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """F11: a deleted or garbled chunk row: the article is re-chunked from its text and re-embedded,
    never left without the passage."""
    (backend.delete_chunk if damage == "deleted" else backend.garble_chunk)("hospital", 1)
    code, output = repair(backend, capsys, "--embedding-model", FAST_EMBEDDING)
    assert code == 0, output
    assert_nothing_lost(backend, before, settings, output)


def test_a_garbled_article_text_is_rebuilt_from_its_passages(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """F12: the garbled text of an article is rebuilt from its passages (and checked against the digest
    its row kept), not deleted."""
    backend.garble_article("hospital", "text")
    code, output = repair(backend, capsys)
    assert code == 0 and "rebuilt from its 2 passages" in output, output
    assert_nothing_lost(backend, before, settings, output)


def test_a_garbled_title_is_named_as_lost(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """F12: what exists nowhere else (the garbled title of an article) is named as lost; the article
    itself, its text and passages stay."""
    backend.garble_article("depot", "title")
    code, output = repair(backend, capsys)
    assert_refused(output, code, ["article depot", "title"])
    after = read_stored(backend.location, settings)
    assert after.passages == before.passages and set(after.articles) == set(ALL)
    assert after.articles["depot"]["text"] == before.articles["depot"]["text"]
    assert {k: v for k, v in after.articles.items() if k != "depot"} == {
        k: v for k, v in before.articles.items() if k != "depot"
    }
    code, output = cli(capsys, "check", "--index", backend.location)
    assert code == 0, "the loss is reported once; the index is consistent again"


def test_a_lone_surrogate_escape_in_a_stored_line_is_found_and_repaired(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `\\ud800` escape written into a title (it parses, but is no text UTF-8 can hold): `check` finds it
    and `check --repair` names the title as lost (nothing else holds it), instead of failing on it."""
    backend.edit_article("tram", "Lyon opens", "\\ud800Lyon opens")
    code, output = repair(backend, capsys)
    assert_refused(output, code, ["article tram", "title"])
    assert cli(capsys, "check", "--index", backend.location)[0] == 0


@pytest.mark.parametrize("article_id", ["tram", "hospital"])
def test_edited_article_text_is_not_kept_as_truth(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str], article_id: str
) -> None:
    """F13: `million` → `billion` in a stored article is found, never served, and repaired back."""
    backend.edit_article(article_id, "million", "billion")
    with pytest.raises(StoreError, match="check --repair"):
        Assistant.open(backend.location, settings)
    code, output = repair(backend, capsys)
    assert code == 0 and f"article {article_id}" in output, output
    assert_nothing_lost(backend, before, settings, output)
    assert "billion" not in read_stored(backend.location, settings).articles[article_id]["text"]


def test_a_lost_manifest_is_rebuilt_with_the_model_found_in_the_cache(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """F14: an index without its manifest: rebuilt from the records, the embedding model read from the
    embedding cache (the configured default model is another one), and `list` works again."""
    backend.remove_manifest()
    code, output = cli(capsys, "list", "--index", backend.location)
    assert code == 1 and "check --repair" in output
    code, output = repair(backend, capsys)  # default settings: EmbeddingGemma, which did not embed this index
    assert code == 0 and FAST_EMBEDDING in output, output
    assert_nothing_lost(backend, before, settings, output)
    code, output = cli(capsys, "list", "--index", backend.location)
    assert code == 0 and "6 articles" in output


def test_a_lost_manifest_without_cache_takes_the_model_given(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """F14: no manifest, no cache, and no model that can be confirmed: `check --repair` says how to name
    the model (never back to itself unchanged); named, the model is confirmed against stored vectors."""
    backend.forget_cache()
    backend.remove_manifest()
    code, output = repair(backend, capsys, "--embedding-model", "/nowhere/no-such-model")
    assert code == 1 and "--embedding-model NAME" in output, output
    code, output = cli(capsys, "list", "--index", backend.location)
    assert code == 1 and "check --repair" in output
    code, output = cli(capsys, "check", "--repair", "--index", backend.location, "--embedding-model", FAST_EMBEDDING)
    assert code == 0, output
    assert_nothing_lost(backend, before, settings, output)


def test_a_wrong_dimension_in_the_manifest_is_repaired(
    backend: FolderBackend, before: Stored, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """F14: a manifest whose dimension was changed is found and rebuilt; `list` works again."""
    backend.set_dimension(768)
    code, output = cli(capsys, "list", "--index", backend.location)
    assert code == 1 and "check --repair" in output
    code, output = repair(backend, capsys)
    assert code == 0, output
    assert_nothing_lost(backend, before, settings, output)
    code, output = cli(capsys, "list", "--index", backend.location)
    assert code == 0 and "6 articles" in output

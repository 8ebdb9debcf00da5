"""OpenVINO backend: the exported tokenizer, read without transformers, tokenises exactly as transformers does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from qa.config import Settings
from qa.embedding.embedder import Embedder
from qa.embedding.openvino_backend import TOKENIZER_DIR, ExportedTokenizer
from tests.conftest import FAST_EMBEDDING

TEXTS = [
    "task: search result | query: Who did Zuckerberg meet in Korea?",
    "title: Séoul (2024-02-28) | text: Mark Zuckerberg a rencontré M. Cho et Kwon Bong-seok à Séoul.",
    "Der Hafen erhält 12 Mio. Euro für Landstrom; ca. 300 Beschäftigte, am 5. März.",
    "  El nuevo estadio   abrirá\tsus puertas en marzo.  ",
    "東京で新しい路線が開業した。 Москва объявила бюджет. 🚋 tram",
    "",
    "Budget",
    # far past every model's limit, so truncation and the closing special token are compared too
    "Lyon opened a new tram line on Monday, and trams run every six minutes at peak hours. " * 120,
]


@pytest.mark.parametrize(
    "model", [FAST_EMBEDDING, pytest.param(Settings().embedding_model, marks=pytest.mark.slow)], ids=["minilm", "gemma"]
)
def test_the_exported_tokenizer_gives_transformers_ids_pad_token_and_side(model: str) -> None:
    from transformers import AutoTokenizer

    embedder = Embedder(model, Settings().models_dir, backend="openvino")
    embedder.warm_up()
    assert embedder.active_backend == "openvino"
    encoder = embedder.model
    folder = encoder.folder / TOKENIZER_DIR
    reference = AutoTokenizer.from_pretrained(str(folder))
    ours = ExportedTokenizer(folder, encoder.max_seq_length)
    expected = reference(TEXTS, truncation=True, max_length=encoder.max_seq_length)["input_ids"]
    assert ours.ids(TEXTS) == expected
    assert max(len(row) for row in expected) == encoder.max_seq_length  # the long text was truncated
    assert ours.pad_token_id == (reference.pad_token_id or 0)
    assert ours.padding_side == reference.padding_side


def _edited_copy(source: Path, target: Path, config: dict[str, Any], truncation_side: str | None = None) -> Path:
    """A copy of an exported tokenizer folder with `config` merged into (None: removed from) its
    tokenizer_config.json, and tokenizer.json's own truncation side set when given."""
    from tokenizers import Tokenizer

    shutil.copytree(source, target)
    config_file = target / "tokenizer_config.json"
    merged = {**json.loads(config_file.read_text(encoding="utf-8")), **config}
    config_file.write_text(json.dumps({k: v for k, v in merged.items() if v is not None}), encoding="utf-8")
    if truncation_side:
        saved = Tokenizer.from_file(str(target / "tokenizer.json"))
        saved.enable_truncation(64, direction=truncation_side)
        saved.save(str(target / "tokenizer.json"))
    return target


@pytest.mark.parametrize(
    ("config", "file_side"),
    [
        ({"truncation_side": "left", "padding_side": "left", "pad_token": "[UNK]"}, None),
        ({"split_special_tokens": True}, None),
        ({"truncation_side": None, "padding_side": None}, "left"),
    ],
    ids=["config-sides-and-pad", "split-special-tokens", "sides-from-tokenizer-json"],
)
def test_settings_of_the_tokenizer_files_are_followed_as_transformers_follows_them(
    tmp_path: Path, config: dict[str, Any], file_side: str | None
) -> None:
    from transformers import AutoTokenizer

    embedder = Embedder(FAST_EMBEDDING, Settings().models_dir, backend="openvino")
    embedder.warm_up()
    folder = _edited_copy(embedder.model.folder / TOKENIZER_DIR, tmp_path / "tokenizer", config, file_side)
    reference = AutoTokenizer.from_pretrained(str(folder))
    ours = ExportedTokenizer(folder, 32)
    texts = [*TEXTS, "A question [SEP] with a [CLS] marker written out."]
    assert ours.ids(texts) == reference(texts, truncation=True, max_length=32)["input_ids"]
    assert ours.pad_token_id == (reference.pad_token_id or 0)
    assert ours.padding_side == reference.padding_side


def test_a_tokenizer_without_tokenizer_json_is_read_through_transformers(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    embedder = Embedder(FAST_EMBEDDING, Settings().models_dir, backend="openvino")
    embedder.warm_up()
    folder = tmp_path / "tokenizer"
    AutoTokenizer.from_pretrained(str(embedder.model.folder / TOKENIZER_DIR)).save_pretrained(str(folder))
    (folder / "tokenizer.json").unlink()
    ours = ExportedTokenizer(folder, 32)
    reference = AutoTokenizer.from_pretrained(str(folder))
    assert ours.ids(TEXTS) == reference(TEXTS, truncation=True, max_length=32)["input_ids"]


def test_encoding_a_question_imports_neither_transformers_nor_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from qa.config import Settings\n"
        "from qa.embedding.embedder import Embedder\n"
        f"e = Embedder({FAST_EMBEDDING!r}, Settings().models_dir, backend='openvino')\n"
        "v = e.encode_query(['Who did Zuckerberg meet in Korea?'])\n"
        "assert e.active_backend == 'openvino' and v.shape[0] == 1\n"
        "print(sorted(m for m in ('transformers', 'torch', 'sentence_transformers') if m in sys.modules))\n"
    )
    # the export exists once the test above (or any OpenVINO test) ran; make sure of it in this process
    Embedder(FAST_EMBEDDING, Settings().models_dir, backend="openvino").warm_up()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"

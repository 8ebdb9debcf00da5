"""OpenVINO backend: the exported tokenizer, read without transformers, tokenises exactly as transformers does."""

from __future__ import annotations

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

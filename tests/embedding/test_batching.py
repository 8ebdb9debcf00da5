"""OpenVINO batches by token budget: every batch within the budget (padding counted), the same vectors as by count."""

from __future__ import annotations

import numpy as np

from qa.config import Settings
from qa.embedding.embedder import Embedder
from qa.embedding.openvino_backend import _batches

TEXTS = [
    "Budget",
    "Lyon opened a new tram line on Monday after three years of works. " * 6,
    "¿Cuándo abrirá el nuevo estadio?",
    "Der Hafen von Bergen erhält 2026 Landstrom für Kreuzfahrtschiffe. " * 3,
    "Le conseil municipal a voté le budget.",
]


def test_batches_keep_rows_times_longest_within_the_budget() -> None:
    lengths = [50, 40, 40, 30, 10, 10, 10, 500]
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches = _batches(order, lengths, batch_size=16, token_budget=100)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert batches[0] == [7], "a text longer than the budget goes alone"
    for batch in batches[1:]:
        assert len(batch) * max(lengths[i] for i in batch) <= 100
    assert _batches(order, lengths, batch_size=3, token_budget=0) == [order[:3], order[3:6], order[6:]]


def test_token_budget_batches_give_the_vectors_of_count_batches(fast_settings: Settings) -> None:
    by_count = Embedder(fast_settings.embedding_model, fast_settings.models_dir, backend="openvino", batch_size=2)
    by_tokens = Embedder(fast_settings.embedding_model, fast_settings.models_dir, backend="openvino", batch_tokens=64)
    first = by_count._encode_batch(TEXTS, progress=False)
    second = by_tokens._encode_batch(TEXTS, progress=False)
    assert by_count.active_backend == by_tokens.active_backend == "openvino"
    assert np.sum(first * second, axis=1).min() >= 0.9999

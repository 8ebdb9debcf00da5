"""Chunks follow paragraphs and sentences, and their offsets point at the exact article text."""

from __future__ import annotations

import itertools

import pytest

from qa.errors import ConfigError
from qa.ingest.chunking import Chunker, count_tokens
from qa.types import Article

SEED = (
    "Le PDG de Meta, Mark Zuckerberg, a rencontré mercredi les dirigeants de LG Electronics à Séoul "
    "pour discuter d'appareils de réalité étendue."
    """

M. Cho a exprimé son intérêt pour les modèles de langage de Meta. Il a aussi évoqué l'IA embarquée.

Dateline.

"""
) + " ".join(f"Phrase numéro {i} d'un très long paragraphe qui continue encore et encore." for i in range(30))


def _article(text: str) -> Article:
    return Article(id="a", title="t", text=text)


def test_offsets_map_back_to_exact_text() -> None:
    chunks = Chunker(chunk_size=60, min_chunk_size=10).run(_article(SEED))
    assert len(chunks) > 3
    for position, chunk in enumerate(chunks):
        assert SEED[chunk.start : chunk.end] == chunk.text
        assert chunk.position == position and chunk.id == f"a#{position}"
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))


def test_paragraphs_become_chunks_and_short_ones_merge() -> None:
    chunks = Chunker(chunk_size=60, min_chunk_size=10).run(_article(SEED))
    assert chunks[0].text.startswith("Le PDG") and chunks[0].text.endswith("réalité étendue.")
    # "M. Cho" does not end a sentence, and the one-word "Dateline." joins its neighbour.
    assert chunks[1].text.startswith("M. Cho a exprimé") and "Dateline." in chunks[1].text


def test_long_paragraph_is_cut_between_sentences_within_budget() -> None:
    chunks = Chunker(chunk_size=60, min_chunk_size=10).run(_article(SEED))
    long_pieces = [c for c in chunks if c.text.startswith("Phrase numéro")]
    assert len(long_pieces) >= 5
    for chunk in long_pieces:
        assert count_tokens(chunk.text) <= 60
        assert chunk.text.endswith("encore.")


def test_invalid_sizes_fail_fast() -> None:
    with pytest.raises(ConfigError, match="chunk_size"):
        Chunker(chunk_size=5)
    with pytest.raises(ConfigError, match="min_chunk_size"):
        Chunker(chunk_size=50, min_chunk_size=50)

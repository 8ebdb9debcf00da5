"""Embedder: the content cache (reuse, keys, damage, bounds), truncation, config round trips, OpenVINO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.embedding.cache import CACHE_FILE, EmbeddingCache, EmbeddingCacheWarning, cache_key
from qa.embedding.embedder import Embedder, EmbeddingBackendWarning
from qa.embedding.openvino_backend import export_folder, record_failed_export
from qa.models import resolve
from qa.store.store import Store
from tests.conftest import FAST_EMBEDDING, write_article

TRAM = (
    "Lyon opened a new tram line on Monday. It links the main station to the university campus in twenty "
    "minutes, and trams run every six minutes at peak hours. The city says the line will carry forty "
    "thousand passengers a day by 2026. Construction took three years and cost 310 million euros, "
    "slightly above the first estimate. Shops along the route complained about the works for months, "
    "and the council set up a compensation fund of two million euros. The next extension, towards the "
    "airport, is planned for 2028 if the regional government agrees to pay half of its cost."
)
BRIDGE = "Leeds approved a new cycling bridge on Tuesday. Construction starts in 2025 and costs 12 million pounds."
SENTENCES = [
    "Zuckerberg met Samsung's chairman in Seoul to discuss AI chips.",
    "Der Hafen von Bergen erhält 2026 Landstrom für Kreuzfahrtschiffe.",
    "El nuevo estadio de Ribera abrirá sus puertas en marzo.",
    "Le Grand Prix d'Ance a été reporté à cause de la pluie.",
    "Who did Zuckerberg meet in Korea?",
]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "tram.md", "Lyon tram", TRAM, id="tram", published="2024-03-04")
    write_article(folder, "bridge.md", "Leeds bridge", BRIDGE, id="bridge", published="2024-05-07")
    return folder


def cached_settings(fast_settings: Settings, cache: Path) -> Settings:
    return fast_settings.with_overrides(embedding_cache_dir=str(cache), embedding_backend="torch")


def test_a_second_ingest_of_the_same_articles_embeds_nothing(
    tmp_path: Path, corpus: Path, fast_settings: Settings
) -> None:
    settings = cached_settings(fast_settings, tmp_path / "cache")
    first = Assistant.open(tmp_path / "one", settings)
    report = first.ingest([corpus])
    assert report.chunks >= 3
    assert first.embedder.embedded == report.chunks and first.embedder.reused == 0

    second = Assistant.open(tmp_path / "two", settings)
    again = second.ingest([corpus])
    assert sorted(again.added) == ["bridge", "tram"]
    assert second.embedder.embedded == 0 and second.embedder.reused == again.chunks
    for article_id in ("tram", "bridge"):
        np.testing.assert_array_equal(
            Store.load(tmp_path / "one").vectors_of(article_id), Store.load(tmp_path / "two").vectors_of(article_id)
        )
    hits = second.retrieve("How much does the cycling bridge in Leeds cost?", k=2)
    assert hits[0].article.id == "bridge"


def test_an_edited_article_embeds_only_its_changed_chunks(
    tmp_path: Path, corpus: Path, fast_settings: Settings
) -> None:
    assistant = Assistant.open(tmp_path / "index", fast_settings)  # the cache lives in the index folder
    assistant.ingest([corpus])
    assert (tmp_path / "index" / "embcache" / CACHE_FILE).is_file()
    tram_chunks = len(assistant.store.chunks_of("tram"))
    assert tram_chunks >= 2

    write_article(corpus, "tram.md", "Lyon tram", TRAM + " Tickets cost two euros.", id="tram", published="2024-03-04")
    again = Assistant.open(tmp_path / "index", fast_settings)
    report = again.ingest([corpus])
    assert report.replaced == ["tram"] and report.unchanged == ["bridge"]
    assert 1 <= again.embedder.embedded < tram_chunks
    assert again.embedder.reused == report.chunks - again.embedder.embedded


def test_cache_keys_change_with_model_backend_prompt_title_and_text(tmp_path: Path, fast_settings: Settings) -> None:
    models = fast_settings.models_dir
    base = Embedder(FAST_EMBEDDING, models)
    document = base.document_texts(["The tram opens."], ["Lyon tram (2024-03-04)"])[0]
    key = cache_key(base.cache_space, document)
    assert key == cache_key(Embedder(FAST_EMBEDDING, models).cache_space, document)
    assert key != cache_key(Embedder("embeddinggemma-300m", models).cache_space, document)
    assert key != cache_key(Embedder(FAST_EMBEDDING, models, backend="openvino").cache_space, document)
    retitled = base.document_texts(["The tram opens."], ["Lyon tram (2024-03-05)"])[0]
    untitled = Embedder(FAST_EMBEDDING, models, titles=False).document_texts(["The tram opens."], ["Lyon tram"])[0]
    edited = base.document_texts(["The tram opens today."], ["Lyon tram (2024-03-04)"])[0]
    prompted = cache_key(base.cache_space, "title: Lyon tram | text: The tram opens.")
    assert len({key, prompted, *(cache_key(base.cache_space, d) for d in (retitled, untitled, edited))}) == 5


def test_a_damaged_cache_file_is_ignored_with_a_warning(tmp_path: Path, corpus: Path, fast_settings: Settings) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    settings = cached_settings(fast_settings, cache)
    assistant = Assistant.open(tmp_path / "one", settings)
    with pytest.warns(EmbeddingCacheWarning, match="damaged"):
        report = assistant.ingest([corpus])
    assert sorted(report.added) == ["bridge", "tram"] and assistant.embedder.embedded == report.chunks

    healed = Assistant.open(tmp_path / "two", settings)
    healed.ingest([corpus])
    assert healed.embedder.embedded == 0


def test_the_cache_keeps_at_most_max_entries_dropping_the_least_recently_used(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, max_entries=3)
    keys = [cache_key("space", f"text {i}") for i in range(5)]
    for i, key in enumerate(keys[:3]):
        cache.put({key: np.full(4, i, dtype=np.float32)})
    assert set(cache.get([keys[0]])) == {keys[0]}  # used again: now the most recent
    cache.put({keys[3]: np.ones(4, dtype=np.float32), keys[4]: np.ones(4, dtype=np.float32)})
    assert len(cache) == 3
    assert set(cache.get(keys)) == {keys[0], keys[3], keys[4]}
    np.testing.assert_array_equal(cache.get([keys[0]])[keys[0]], np.zeros(4, dtype=np.float32))


def test_truncated_vectors_are_the_renormalised_leading_components(fast_settings: Settings) -> None:
    full = Embedder(FAST_EMBEDDING, fast_settings.models_dir)
    short = Embedder(FAST_EMBEDDING, fast_settings.models_dir, dimension=128)
    whole = full.encode_query(SENTENCES[:2])
    cut = short.encode_query(SENTENCES[:2])
    assert cut.shape == (2, 128) and short.dimension == 128
    expected = whole[:, :128] / np.linalg.norm(whole[:, :128], axis=1, keepdims=True)
    np.testing.assert_allclose(cut, expected, atol=1e-5)


def test_config_round_trips_and_an_index_fixes_model_and_dimension(tmp_path: Path) -> None:
    embedder = Embedder(
        FAST_EMBEDDING, tmp_path, 8, backend="openvino", dimension=256, titles=False, cache_dir=tmp_path / "c"
    )
    assert Embedder.from_dict(embedder.to_dict()).to_dict() == embedder.to_dict()
    old = {"model": FAST_EMBEDDING, "models_dir": str(tmp_path), "batch_size": 16, "device": "cpu"}
    assert Embedder.from_dict(old).backend == "torch" and Embedder.from_dict(old).cache_dir is None

    settings = Settings(embedding_model="embeddinggemma-300m", embedding_dimension=256, embedding_backend="openvino")
    fresh = Embedder.from_settings(settings)
    assert fresh.truncate_to == 256 and fresh.cache_dir is None  # the index's own cache is its backend's
    shared = Embedder.from_settings(settings.with_overrides(embedding_cache_dir=str(tmp_path / "shared")))
    assert shared.cache_dir == tmp_path / "shared"
    manifest = {"embedding_model": FAST_EMBEDDING, "dimension": 384, "embedder": {"backend": "torch"}}
    existing = Embedder.from_settings(settings, manifest)
    assert (existing.model_name, existing.truncate_to, existing.backend) == (FAST_EMBEDDING, 384, "torch")
    assert Embedder.from_settings(settings.with_overrides(embedding_cache=False)).cache is None


def test_a_model_whose_export_failed_before_runs_on_pytorch_with_a_warning(
    tmp_path: Path, fast_settings: Settings
) -> None:
    folder = resolve(FAST_EMBEDDING, "embedding", fast_settings.models_dir)
    record_failed_export(export_folder(folder, folder, tmp_path), folder, RuntimeError("conversion failed"))
    embedder = Embedder(folder, tmp_path, backend="openvino")
    with pytest.warns(EmbeddingBackendWarning, match="conversion failed"):
        vectors = embedder.encode_query(SENTENCES[:2])
    assert embedder.active_backend == "torch" and vectors.shape == (2, 384)
    assert not [p for p in (tmp_path / "openvino").iterdir() if p.is_dir()]


@pytest.mark.slow
def test_openvino_backend_agrees_with_pytorch_on_embeddinggemma(settings: Settings) -> None:
    reference = Embedder(settings.embedding_model, settings.models_dir, backend="torch")
    fast = Embedder(settings.embedding_model, settings.models_dir, backend="openvino")
    titles = ["Zuckerberg in Seoul (2024-02-28)", "Bergen (2024-05-02)", "Ribera", "Grand Prix", "Korea"]
    documents = np.sum(fast.encode_documents(SENTENCES, titles) * reference.encode_documents(SENTENCES, titles), 1)
    queries = np.sum(fast.encode_query(SENTENCES) * reference.encode_query(SENTENCES), axis=1)
    assert fast.active_backend == "openvino"
    assert documents.min() >= 0.98 and queries.min() >= 0.98


@pytest.mark.slow
def test_openvino_export_of_a_model_folder_lives_beside_the_models(tmp_path: Path, fast_settings: Settings) -> None:
    folder = resolve(FAST_EMBEDDING, "embedding", fast_settings.models_dir)
    fast = Embedder(folder, tmp_path, backend="openvino")
    vectors = fast.encode_query(SENTENCES)
    assert fast.active_backend == "openvino"
    exports = [p.name for p in (tmp_path / "openvino").iterdir() if not p.name.startswith(".")]
    assert len(exports) == 1 and exports[0].startswith(Path(folder).name)
    reference = Embedder(folder, tmp_path).encode_query(SENTENCES)
    assert np.sum(vectors * reference, axis=1).min() >= 0.98
    reloaded = Embedder(folder, tmp_path, backend="openvino")
    np.testing.assert_allclose(reloaded.encode_query(SENTENCES), vectors, atol=1e-5)


class _BrokenEmbedder(Embedder):
    """The real small model, except that any batch holding a passage about 'poison' comes back NaN,
    and so does that passage on its own: a backend fault injected to see what ingestion does with it."""

    def _encode_batch(self, texts: list[str], progress: bool) -> np.ndarray:
        vectors = super()._encode_batch(texts, progress)
        for row, text in enumerate(texts):
            if "poison" in text:
                vectors[row] = np.nan
        return vectors


def test_an_article_with_a_non_finite_vector_is_skipped_and_the_others_go_in(
    tmp_path: Path, fast_settings: Settings
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "tram.md", "Tram", TRAM, id="tram")
    write_article(folder, "bad.md", "Bad", "The poison pill article says nothing else.", id="bad")
    write_article(folder, "bridge.md", "Bridge", BRIDGE, id="bridge")
    assistant = Assistant.open(tmp_path / "index", fast_settings)
    assistant.embedder = _BrokenEmbedder.from_settings(fast_settings)
    assistant.embedder.cache = assistant.backend.embedding_cache()
    with pytest.warns(EmbeddingBackendWarning, match="1 still not finite"):
        report = assistant.ingest([folder])
    assert sorted(report.added) == ["bridge", "tram"]
    assert [(i.origin.endswith("bad.md"), "not finite" in i.reason) for i in report.skipped] == [(True, True)]
    stored = Store.load(tmp_path / "index")
    assert sorted(a.id for a in stored.articles()) == ["bridge", "tram"]
    # nothing non-finite reached the cache either: a healthy embedder encodes the article now
    healthy = Assistant.open(tmp_path / "index", fast_settings).ingest([folder])
    assert healthy.added == ["bad"]


# Mixed lengths in one batch: a single word beside a text past the 512-token sliding window of EmbeddingGemma.
MIXED = ["Budget", TRAM * 11, "Lyon opened a new tram line on Monday.", TRAM, "¿Cuándo?"]


@pytest.fixture(scope="module")
def torch_mixed(settings: Settings) -> np.ndarray:
    """PyTorch's vectors for MIXED, each text alone: the reference every backend is held to."""
    embedder = Embedder(settings.embedding_model, settings.models_dir, backend="torch")
    vectors = np.concatenate([embedder._encode_batch([text], progress=False) for text in MIXED])
    tokens = [len(embedder.model.tokenizer(text)["input_ids"]) for text in MIXED]
    assert min(tokens) <= 4 and max(tokens) >= 1000
    return vectors


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "alone_min", "torch_min"),
    [("torch", 0.9999, 0.9999), ("openvino", 0.999, 0.99), ("openvino-int8", 0.999, 0.99)],
)
def test_mixed_length_batches_give_finite_vectors_that_match_single_encodings(
    settings: Settings, torch_mixed: np.ndarray, backend: str, alone_min: float, torch_min: float
) -> None:
    embedder = Embedder(settings.embedding_model, settings.models_dir, backend=backend, batch_size=len(MIXED))
    batched = embedder._encode_batch(MIXED, progress=False)  # no finiteness repair: the backend itself must hold
    alone = np.concatenate([embedder._encode_batch([text], progress=False) for text in MIXED])
    assert embedder.active_backend == backend
    assert np.isfinite(batched).all() and np.isfinite(alone).all()
    assert np.sum(batched * alone, axis=1).min() >= alone_min
    assert np.sum(batched * torch_mixed, axis=1).min() >= torch_min

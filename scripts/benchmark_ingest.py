"""Compare newsqa's embedding options side by side in one run: encoding speed, vector agreement, recall.

Speed figures on a shared machine move a lot from run to run; the ratios to the PyTorch fp32 baseline,
measured in the same run on the same passages, are what to compare. Prints tables; asserts nothing.

    .venv/bin/python scripts/benchmark_ingest.py [--articles samples/news] [--sample 64] [--repeat 2]
        [--evals eval-out/embedding] [--run-evals]

`--run-evals` runs the retrieval-only gold evaluation for each eval variant (into `--evals`/<name>,
sharing one embedding cache); without it, results already there are read and shown.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.assistant import Assistant
from qa.config import Settings
from qa.embedding.embedder import Embedder
from qa.embedding.openvino_backend import OpenVINOEncoder, export_folder
from qa.ingest.chunking import Chunker
from qa.ingest.indexing import context_title
from qa.ingest.readers import read_paths
from qa.models import resolve

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "torch fp32 bs16"

# name → settings changes; each runs `newsqa eval --retrieval-only` on the gold questions.
EVAL_VARIANTS: dict[str, dict[str, object]] = {
    "torch": {"embedding_backend": "torch"},
    "openvino": {"embedding_backend": "openvino"},
    "openvino-int8": {"embedding_backend": "openvino-int8"},
    "openvino-no-titles": {"embedding_backend": "openvino", "embed_titles": False},
    "openvino-dim512": {"embedding_backend": "openvino", "embedding_dimension": 512},
    "openvino-dim256": {"embedding_backend": "openvino", "embedding_dimension": 256},
}


def passages(articles: Path, settings: Settings) -> tuple[list[str], list[str]]:
    """Chunk texts and their context titles, as ingestion makes them."""
    chunker = Chunker(settings.chunk_size, settings.min_chunk_size)
    texts: list[str] = []
    titles: list[str] = []
    for article in read_paths([articles]).articles:
        for chunk in chunker.run(article):
            texts.append(chunk.text)
            titles.append(context_title(article))
    return texts, titles


def encoders(settings: Settings, names: set[str] | None) -> dict[str, Callable[[list[str]], np.ndarray]]:
    """Encode functions for each speed variant: prompts already applied, vectors normalised."""
    import torch
    from sentence_transformers import SentenceTransformer

    location = resolve(settings.embedding_model, "embedding", settings.models_dir)
    base = SentenceTransformer(location, device="cpu")

    def with_torch(model: object, batch_size: int = 16, threads: int | None = None) -> Callable:
        def encode(texts: list[str]) -> np.ndarray:
            before = torch.get_num_threads()
            if threads:
                torch.set_num_threads(threads)
            try:
                vectors = model.encode(texts, prompt="", batch_size=batch_size, normalize_embeddings=True)
            finally:
                torch.set_num_threads(before)
            return np.asarray(vectors, dtype=np.float32)

        return encode

    def quantised() -> object:
        model = copy.deepcopy(base)
        model[0].model = torch.ao.quantization.quantize_dynamic(model[0].model, {torch.nn.Linear}, dtype=torch.qint8)
        return model

    for backend in ("openvino", "openvino-int8"):  # export once if needed (int8 needs nncf installed)
        Embedder(settings.embedding_model, settings.models_dir, backend=backend).warm_up()
    folder = export_folder(settings.embedding_model, location, settings.models_dir)
    openvino_auto = OpenVINOEncoder(folder)
    openvino_f32 = OpenVINOEncoder(folder, precision="f32")
    int8_folder = export_folder(settings.embedding_model, location, settings.models_dir, "int8")
    openvino_int8 = OpenVINOEncoder(int8_folder) if (int8_folder / "newsqa-export.json").exists() else None

    def with_openvino(encoder: OpenVINOEncoder, batch_size: int = 16) -> Callable:
        return lambda texts: encoder.encode(texts, batch_size=batch_size)

    variants: dict[str, Callable[[], Callable]] = {
        BASELINE: lambda: with_torch(base),
        "torch fp32 bs16 1 thread": lambda: with_torch(base, threads=1),
        "torch fp32 bs32": lambda: with_torch(base, batch_size=32),
        "torch int8-dynamic bs16": lambda: with_torch(quantised()),
        "torch bf16 bs16": lambda: with_torch(copy.deepcopy(base).to(torch.bfloat16)),
        f"openvino {openvino_auto.precision} bs8": lambda: with_openvino(openvino_auto, 8),
        f"openvino {openvino_auto.precision} bs16": lambda: with_openvino(openvino_auto, 16),
        f"openvino {openvino_auto.precision} bs32": lambda: with_openvino(openvino_auto, 32),
        f"openvino {openvino_auto.precision} bs64": lambda: with_openvino(openvino_auto, 64),
        "openvino f32 bs16": lambda: with_openvino(openvino_f32, 16),
    }
    if openvino_int8 is not None:
        variants[f"openvino-int8 {openvino_int8.precision} bs16"] = lambda: with_openvino(openvino_int8, 16)
    return {name: make() for name, make in variants.items() if names is None or name in names or name == BASELINE}


def measure_speed(
    variants: dict[str, Callable[[list[str]], np.ndarray]], documents: list[str], repeat: int
) -> dict[str, dict[str, float]]:
    """Best-of-`repeat` passages/s and CPU seconds per passage for each variant (rounds interleave the
    variants, so load from other processes hits them alike), and cosine to the baseline's vectors."""
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    for encode in variants.values():
        encode(documents[:2])  # first-call setup out of the timing
    for round_ in range(repeat):
        for name, encode in variants.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            vectors[name] = encode(documents)
            seconds = time.perf_counter() - started
            best[name] = min(best.get(name, seconds), seconds)
            cpu[name] = min(cpu.get(name, np.inf), time.process_time() - cpu_started)
            print(f"  round {round_ + 1} {name}: {len(documents) / seconds:.2f} passages/s", flush=True)
    reference = vectors[BASELINE]
    return {
        name: {
            "rate": len(documents) / best[name],
            "ratio": best[BASELINE] / best[name],
            "cpu_per_passage": cpu[name] / len(documents),
            "cosine_mean": float(np.mean(np.sum(vectors[name] * reference, axis=1))),
            "cosine_min": float(np.min(np.sum(vectors[name] * reference, axis=1))),
        }
        for name in variants
    }


def prompt_cost(settings: Settings, texts: list[str], titles: list[str]) -> dict[str, float]:
    """Mean tokens per embedded passage with and without the title line."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve(settings.embedding_model, "embedding", settings.models_dir))
    result = {}
    for label, keep in (("with title and date", True), ("without title", False)):
        embedder = Embedder(settings.embedding_model, settings.models_dir, titles=keep)
        documents = embedder.document_texts(texts, titles)
        result[label] = float(np.mean([len(tokenizer(d)["input_ids"]) for d in documents]))
    return result


def measure_ingestion(settings: Settings, articles: Path) -> list[tuple[str, float, int, int, float]]:
    """Whole ingestions (model loaded beforehand): the first version's way, OpenVINO with a cold cache,
    the same corpus into a new index with that cache warm, and one edited article."""
    rows: list[tuple[str, float, int, int, float]] = []
    work = Path(tempfile.mkdtemp(prefix="newsqa-ingest-bench-"))
    try:
        cached = {"embedding_backend": "openvino", "embedding_cache_dir": str(work / "cache")}
        int8 = {"embedding_backend": "openvino-int8", "embedding_cache_dir": str(work / "cache")}
        runs = [
            (
                "torch, no cache (first version)",
                "torch-nocache",
                {"embedding_backend": "torch", "embedding_cache": False},
            ),
            ("openvino, cold cache", "ov-cold", cached),
            ("openvino-int8, cold cache", "ov8-cold", int8),
            ("openvino, warm cache, new index", "ov-warm", cached),
        ]
        for label, index, changes in runs:
            assistant = Assistant.open(work / index, settings.with_overrides(**changes))
            if index != "ov-warm":
                assistant.embedder.warm_up()
            report = assistant.ingest([articles])
            embedder = assistant.embedder
            rows.append((label, report.seconds, report.chunks, embedder.embedded, report.chunks / report.seconds))
        edited = work / "edited"
        shutil.copytree(articles, edited)
        first = sorted(edited.glob("*.md"))[0]
        first.write_text(first.read_text(encoding="utf-8") + "\nA correction was added to this article later.\n")
        assistant = Assistant.open(work / "ov-warm", settings.with_overrides(**cached))
        assistant.embedder.warm_up()
        report = assistant.ingest([edited])
        rows.append(("openvino, one article edited", report.seconds, report.chunks, assistant.embedder.embedded, 0.0))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def run_evals(settings: Settings, articles: Path, out: Path) -> None:
    """The retrieval-only gold evaluation for every eval variant, hybrid and dense-only."""
    from qa.eval.config import EvalConfig
    from qa.eval.runner import run_eval

    for name, changes in EVAL_VARIANTS.items():
        target = out / name
        if (target / "results.json").exists():
            continue
        config = EvalConfig(
            questions=ROOT / "samples" / "gold" / "dev" / "questions.jsonl",
            articles=[articles, ROOT / "samples" / "gold" / "dev" / "articles.jsonl"],
            out_dir=target,
            retrieval_only=True,
            settings=settings.with_overrides(embedding_cache_dir=str(out / "cache"), **changes),
            progress=False,
        )
        started = time.perf_counter()
        report = run_eval(config)
        print(f"  eval {name}: hit@5 {report.summary['hit@5']:.3f} in {time.perf_counter() - started:.0f} s")


def eval_table(out: Path) -> list[str]:
    """hit@1, hit@5 and MRR@10 of every eval found under `out`."""
    lines = [f"{'eval variant':<28} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'recall@5':>8}"]
    for name in EVAL_VARIANTS:
        path = out / name / "results.json"
        if not path.exists():
            lines.append(f"{name:<28} (not run: add --run-evals)")
            continue
        summary = json.loads(path.read_text())["summary"]
        lines.append(
            f"{name:<28} {summary['hit@1']:>6.3f} {summary['hit@5']:>6.3f} {summary['mrr@10']:>6.3f} "
            f"{summary['recall@5']:>8.3f}"
        )
    return lines


def main() -> None:
    """Run the measurements and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=ROOT / "samples" / "news")
    parser.add_argument("--sample", type=int, default=64, help="passages per speed measurement (0: all)")
    parser.add_argument("--repeat", type=int, default=2, help="timed rounds per variant (best counts)")
    parser.add_argument("--only", action="append", help="speed variants to run besides the baseline (repeatable)")
    parser.add_argument("--evals", type=Path, default=ROOT / "eval-out" / "embedding")
    parser.add_argument("--run-evals", action="store_true", help="run the missing retrieval-only evaluations")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    settings = Settings()

    texts, titles = passages(args.articles, settings)
    print(f"{len(texts)} passages from {args.articles}")
    if not args.skip_speed:
        documents = Embedder(settings.embedding_model, settings.models_dir).document_texts(texts, titles)
        if args.sample and args.sample < len(documents):
            picks = np.linspace(0, len(documents) - 1, args.sample).astype(int)
            documents = [documents[i] for i in picks]
        for label, tokens in prompt_cost(settings, texts, titles).items():
            print(f"mean tokens per passage, {label}: {tokens:.1f}")
        print(f"\nencoding {len(documents)} passages, best of {args.repeat} interleaved rounds:")
        results = measure_speed(encoders(settings, set(args.only) if args.only else None), documents, args.repeat)
        print(
            f"\n{'variant':<26} {'passages/s':>10} {'× fp32':>7} {'CPU s/passage':>13} {'cos mean':>9} {'cos min':>8}"
        )
        for name, row in results.items():
            print(
                f"{name:<26} {row['rate']:>10.2f} {row['ratio']:>7.2f} {row['cpu_per_passage']:>13.3f} "
                f"{row['cosine_mean']:>9.4f} {row['cosine_min']:>8.4f}"
            )
    if not args.skip_ingest:
        print("\nwhole ingestion of the corpus (model loaded beforehand, except with a warm cache):")
        rows = measure_ingestion(settings, args.articles)
        baseline = rows[0][1]
        print(f"{'ingestion':<34} {'seconds':>8} {'chunks':>6} {'embedded':>8} {'chunks/s':>8} {'× first':>8}")
        for label, seconds, chunks, embedded, rate in rows:
            speed = f"{rate:>8.1f} {baseline / seconds:>8.1f}" if rate else f"{'-':>8} {'-':>8}"
            print(f"{label:<34} {seconds:>8.1f} {chunks:>6} {embedded:>8} {speed}")
    if args.run_evals:
        print("\nretrieval-only evaluations:")
        run_evals(settings, args.articles, args.evals)
    print()
    print("\n".join(eval_table(args.evals)))


if __name__ == "__main__":
    main()

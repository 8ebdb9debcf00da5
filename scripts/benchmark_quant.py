"""Prompt-evaluation speed of the default LLM in other llama.cpp quantisations, side by side in one process.

The GGUF is requantised with llama.cpp's own quantiser (from its Q4_K_M weights, so only speed is meaningful
here, not quality), then every file evaluates the same news prompt from an empty context in alternating rounds.
Prints tokens/s per file (median of the rounds).

    .venv/bin/python scripts/benchmark_quant.py [--types q4_0 q8_0] [--tokens 480] [--rounds 4]
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.models import resolve

ROOT = Path(__file__).resolve().parent.parent
FILE_TYPES = {"q4_0": 2, "q4_1": 3, "q5_0": 8, "q5_k_m": 17, "q6_k": 18, "q8_0": 7}  # llama_ftype values


def requantise(source: str, target: Path, name: str) -> None:
    """Write `source` requantised to `name` at `target`."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FILE_TYPES[name]
    params.allow_requantize = True
    if llama_cpp.llama_model_quantize(source.encode(), str(target).encode(), ctypes.byref(params)) != 0:
        raise SystemExit(f"llama.cpp could not requantise {source} to {name}")


def news_prompt() -> str:
    """The sample articles' text, long enough for any token count asked."""
    return "\n\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "samples" / "news").glob("*.md")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", nargs="+", default=["q4_0", "q8_0"], choices=sorted(FILE_TYPES))
    parser.add_argument("--tokens", type=int, default=480, help="prompt tokens evaluated per round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    from llama_cpp import Llama

    settings = Settings.load()
    source = resolve(settings.llm_model, "llm", settings.models_dir)
    with tempfile.TemporaryDirectory(dir=Path(source).parent) as scratch:
        files = {"default": source}
        for name in args.types:
            files[name] = str(Path(scratch) / f"{name}.gguf")
            requantise(source, Path(files[name]), name)
        options: dict[str, Any] = {
            "n_ctx": 2048,
            "n_threads": settings.threads,
            "n_batch": 512,
            "n_ubatch": 512,
            "use_mmap": False,
        }
        models = {label: Llama(model_path=path, verbose=False, **options) for label, path in files.items()}
        text = news_prompt().encode()
        tokens = {label: model.tokenize(text)[: args.tokens] for label, model in models.items()}
        rates: dict[str, list[float]] = {label: [] for label in models}
        for _ in range(args.rounds):
            for label, model in models.items():
                model.reset()
                started = time.perf_counter()
                model.eval(tokens[label])
                rates[label].append(len(tokens[label]) / (time.perf_counter() - started))
        print(f"{settings.threads} threads; {args.rounds} alternating rounds")
        print("| file | size MB | prompt tokens | tokens/s (median) | rounds |")
        print("|---|---|---|---|---|")
        for label, path in files.items():
            size = Path(path).stat().st_size / 1e6
            rounds = ", ".join(f"{rate:.0f}" for rate in rates[label])
            print(f"| {label} | {size:.0f} | {len(tokens[label])} | {statistics.median(rates[label]):.1f} | {rounds} |")


if __name__ == "__main__":
    main()

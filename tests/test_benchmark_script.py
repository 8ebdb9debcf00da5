"""scripts/benchmark.py's choice of questions: every cold or served run puts a question no run put before."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "benchmark.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cold_runs_each_put_a_new_question_none_of_the_warm_ones() -> None:
    benchmark = _benchmark()
    warm = benchmark.dev_questions(6)
    cold = benchmark.cold_questions(6, 3)
    assert len(cold) == 3 and len(set(cold)) == 3, "a cold run repeats a question"
    assert not set(cold) & set(warm), "a cold run repeats a warm question"
    assert benchmark.COLD_QUESTION not in cold

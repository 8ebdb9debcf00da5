"""Evaluation of newsqa on gold questions: `run_eval(EvalConfig(...))` writes results, a report and plots."""

from __future__ import annotations

from qa.eval.config import EvalConfig
from qa.eval.runner import run_eval

__all__ = ["EvalConfig", "run_eval"]

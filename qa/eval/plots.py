"""PNG plots of a results document: accuracy by question type and latency distribution (Agg, no pyplot)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.eval.errors import EvalError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ACCURACY_PLOT = "accuracy_by_type.png"
LATENCY_PLOT = "latency.png"


def _systems(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    main = (results.get("meta") or {}).get("system", "newsqa")
    return {main: results, **(results.get("baselines") or {})}


def _matplotlib() -> tuple[Any, Any]:
    """matplotlib's Figure and Agg canvas, imported on first use: only the eval's plots need it."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise EvalError(
            "the eval's plots need matplotlib, which comes with the eval extra: pip install 'newsqa[eval]'"
        ) from None
    return Figure, FigureCanvasAgg


def _save(figure: Figure, path: Path) -> Path:
    _matplotlib()[1](figure)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=110)
    return path


def accuracy_by_type(results: Mapping[str, Any], path: Path) -> Path:
    """Grouped bars: per question type, each system's overall accuracy (hit@5 for retrieval-only runs)."""
    answers = (results.get("meta") or {}).get("answers_scored", True)
    key, label = ("overall_accuracy", "overall accuracy") if answers else ("hit@5", "hit@5")
    systems = _systems(results)
    types = sorted({t for doc in systems.values() for t in doc.get("by_type") or {}})
    figure = _matplotlib()[0](figsize=(max(6.0, 1.2 * len(types) * max(1, len(systems)) / 2 + 3), 4.2))
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(systems))
    for i, (name, doc) in enumerate(systems.items()):
        values = [((doc.get("by_type") or {}).get(t) or {}).get(key) for t in types]
        xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(types))]
        bars = axes.bar(xs, [100 * (v or 0.0) for v in values], width=width, label=name)
        for bar, value in zip(bars, values, strict=True):
            text = "–" if value is None else f"{100 * value:.0f}"
            axes.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    axes.set_xticks(range(len(types)), types, rotation=20 if len(types) > 4 else 0)
    axes.set_ylim(0, 110)
    axes.set_ylabel(f"{label} (%)")
    axes.set_title(f"{label.capitalize()} by question type")
    if not types:
        axes.text(0.5, 0.5, "no questions", ha="center", va="center", transform=axes.transAxes)
    if len(systems) > 1:
        axes.legend(fontsize=8)
    return _save(figure, path)


def latency(results: Mapping[str, Any], path: Path) -> Path:
    """Box plots of per-question times: retrieval, time to first token and total, for every system."""
    series: list[tuple[str, list[float]]] = []
    for name, doc in _systems(results).items():
        for timing in ("retrieval", "ttft", "total"):
            values = [
                float(q["timings"][timing])
                for q in doc.get("questions") or []
                if (q.get("timings") or {}).get(timing) is not None
            ]
            if values:
                series.append((f"{name} · {timing}", values))
    figure = _matplotlib()[0](figsize=(7.5, 1.0 + 0.45 * max(3, len(series))))
    axes = figure.add_subplot()
    if series:
        axes.boxplot([values for _, values in series], vert=False, showfliers=True)
        axes.set_yticks(range(1, len(series) + 1), [label for label, _ in series], fontsize=8)
        axes.invert_yaxis()
        everything = [v for _, values in series for v in values if v > 0]
        if everything and max(everything) / min(everything) > 20:
            axes.set_xscale("log")
        axes.set_xlabel("seconds per question")
    else:
        axes.text(0.5, 0.5, "no timings", ha="center", va="center", transform=axes.transAxes)
    axes.set_title("Latency distribution")
    return _save(figure, path)


def write_plots(results: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """Write both PNG plots into `out_dir` and return their paths."""
    out_dir = Path(out_dir)
    return [accuracy_by_type(results, out_dir / ACCURACY_PLOT), latency(results, out_dir / LATENCY_PLOT)]

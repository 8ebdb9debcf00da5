"""Render a results document as a readable Markdown report (`report.md`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.eval.summary import SUMMARY_KEYS

REPORT_FILE = "report.md"
_LABELS = {
    "n_questions": "questions",
    "n_answerable": "answerable",
    "n_unanswerable": "unanswerable",
    "n_errors": "errors",
    "answer_accuracy": "answer accuracy (normalised match)",
    "answer_f1": "answer token F1",
    "overall_accuracy": "overall accuracy (correct answers + abstentions)",
    "abstention_accuracy": "abstention accuracy (unanswerable)",
    "false_abstention": "false abstention (answerable)",
    "citation_precision": "citation precision",
    "citation_recall": "citation recall",
    "invalid_citations": "invalid [n] markers",
    "retrieval_p50_s": "retrieval p50",
    "retrieval_p95_s": "retrieval p95",
    "ttft_p50_s": "time to first token p50",
    "ttft_p95_s": "time to first token p95",
    "total_p50_s": "total time p50",
    "total_p95_s": "total time p95",
    "prompt_tokens_mean": "prompt tokens (mean)",
    "output_tokens_mean": "output tokens (mean)",
}
_BREAKDOWN_KEYS = (
    "n_questions",
    "hit@5",
    "mrr@10",
    "answer_accuracy",
    "answer_f1",
    "overall_accuracy",
    "abstention_accuracy",
    "false_abstention",
    "citation_precision",
    "citation_recall",
    "total_p50_s",
)
_SHORT_LABELS = {
    "n_questions": "n",
    "mrr@10": "MRR@10",
    "answer_accuracy": "answer acc.",
    "answer_f1": "F1",
    "overall_accuracy": "overall acc.",
    "abstention_accuracy": "abstention acc.",
    "false_abstention": "false abst.",
    "citation_precision": "cite P",
    "citation_recall": "cite R",
    "total_p50_s": "total p50",
}
_FAILURE_ORDER = {
    "error": 0,
    "wrong": 1,
    "missed_abstention": 2,
    "false_abstention": 3,
    "unscored": 4,
    None: 5,
    "correct": 6,
    "correct_abstention": 7,
}
_PLOTS = (("accuracy_by_type.png", "Accuracy by question type"), ("latency.png", "Latency distribution"))


def _kind(key: str) -> str:
    if key.startswith("n_") or key == "invalid_citations":
        return "count"
    if key.endswith("_s"):
        return "seconds"
    if key.endswith("_mean"):
        return "tokens"
    if key in ("mrr@10", "answer_f1"):
        return "score"
    return "rate"


def format_value(key: str, value: Any) -> str:
    """A figure for a table cell: rates as %, MRR/F1 to 3 decimals, seconds, counts; '–' when missing."""
    if value is None:
        return "–"
    kind = _kind(key)
    if kind == "count":
        return str(int(value))
    if kind == "seconds":
        return f"{value:.2f} s"
    if kind == "tokens":
        return f"{value:.1f}"
    if kind == "score":
        return f"{value:.3f}"
    return f"{100 * value:.1f}%"


def format_delta(key: str, ours: Any, theirs: Any) -> str:
    """newsqa minus a baseline, in the figure's unit (percentage points for rates)."""
    if ours is None or theirs is None:
        return "–"
    delta = ours - theirs
    kind = _kind(key)
    if kind == "count":
        return f"{int(delta):+d}"
    if kind == "seconds":
        return f"{delta:+.2f} s"
    if kind == "tokens":
        return f"{delta:+.1f}"
    if kind == "score":
        return f"{delta:+.3f}"
    return f"{100 * delta:+.1f} pp"


def cell(value: Any, limit: int = 300) -> str:
    """Text made safe for one Markdown table cell (pipes escaped, newlines flattened, long text cut)."""
    text = " ".join(str(value if value is not None else "").split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def summary_table(results: Mapping[str, Any]) -> list[str]:
    """Every summary figure for newsqa, and each baseline beside it with newsqa's delta."""
    main = results.get("meta", {}).get("system", "newsqa")
    baselines = results.get("baselines") or {}
    header = ["metric", main]
    for name in baselines:
        header += [name, f"Δ {main}−{name}"]
    rows = []
    for key in SUMMARY_KEYS:
        ours = results["summary"].get(key)
        row = [f"{_LABELS.get(key, key)}", format_value(key, ours)]
        for doc in baselines.values():
            theirs = doc["summary"].get(key)
            row += [format_value(key, theirs), format_delta(key, ours, theirs)]
        rows.append(row)
    return _table(header, rows)


def breakdown_table(groups: Mapping[str, Mapping[str, Any]], label: str) -> list[str]:
    """One row per type (or language) with the main figures."""
    header = [label] + [_SHORT_LABELS.get(k, k) for k in _BREAKDOWN_KEYS]
    rows = [
        [cell(value)] + [format_value(k, figures.get(k)) for k in _BREAKDOWN_KEYS] for value, figures in groups.items()
    ]
    return _table(header, rows)


def comparison_table(results: Mapping[str, Any], field: str, key: str, label: str) -> list[str]:
    """One figure (`key`) per type or language (`field`) for newsqa and every baseline side by side."""
    main = results.get("meta", {}).get("system", "newsqa")
    systems = {
        main: results[field],
        **{name: doc[field] for name, doc in (results.get("baselines") or {}).items()},
    }
    values = sorted({value for groups in systems.values() for value in groups})
    header = [label, *systems]
    rows = [
        [cell(value)] + [format_value(key, (groups.get(value) or {}).get(key)) for groups in systems.values()]
        for value in values
    ]
    return _table(header, rows)


def _citations(record: Mapping[str, Any]) -> str:
    gold = set(record.get("gold_article_ids") or [])
    return ", ".join(
        f"[{c.get('number')}] {c.get('article_id')}{' ✓' if c.get('article_id') in gold else ''}"
        for c in record.get("citations") or []
    )


def question_rows(results: Mapping[str, Any]) -> list[str]:
    """The per-question table, failures first (errors, wrong answers, missed and false abstentions)."""
    baselines = results.get("baselines") or {}
    verdicts = {
        name: {q["id"]: q.get("verdict") for q in doc.get("questions") or []} for name, doc in baselines.items()
    }

    def order(item: tuple[int, Mapping[str, Any]]) -> tuple[int, int, int]:
        index, record = item
        retrieved = record.get("gold_rank") is not None or not record.get("gold_article_ids")
        return (_FAILURE_ORDER.get(record.get("verdict"), 5), int(retrieved), index)

    header = ["verdict", "id", "type", "lang", "question", "expected", "answer", "citations", "gold rank"]
    header += [f"{name} verdict" for name in baselines]
    rows = []
    for _, record in sorted(enumerate(results.get("questions") or []), key=order):
        expected = " / ".join(record.get("answers") or []) or "(unanswerable)"
        answer = record.get("answer")
        if record.get("error"):
            answer = f"ERROR: {record['error']}"
        row = [
            cell(record.get("verdict") or "–"),
            cell(record.get("id")),
            cell(record.get("type")),
            cell(record.get("language")),
            cell(record.get("question")),
            cell(expected, 120),
            cell(answer if answer is not None else "–"),
            cell(_citations(record), 160),
            cell(record.get("gold_rank") if record.get("gold_rank") is not None else "–"),
        ]
        row += [cell(verdicts[name].get(record.get("id")) or "–") for name in baselines]
        rows.append(row)
    return _table(header, rows)


def _meta_lines(meta: Mapping[str, Any]) -> list[str]:
    lines = [
        f"- questions: `{meta.get('questions_file')}` ({meta.get('questions_format')} format, "
        f"sha256 `{str(meta.get('questions_sha256'))[:12]}…`)",
        f"- articles: {', '.join(f'`{a}`' for a in meta.get('articles') or []) or '(already in the index)'}; "
        f"index `{meta.get('index_dir')}`",
        f"- mode: {'retrieval only' if meta.get('retrieval_only') else 'retrieval + answers'}"
        f"{'; limit ' + str(meta['limit']) if meta.get('limit') else ''}",
    ]
    if meta.get("started"):
        lines.append(f"- started {meta['started']}, last updated {meta.get('updated')}")
    if meta.get("n_articles") is not None:
        lines.append(f"- {meta['n_articles']} articles in the index")
    for warning in meta.get("warnings") or []:
        lines.append(f"- ⚠️ {warning}")
    return lines


def render_report(results: Mapping[str, Any], plots: Sequence[str] = ()) -> str:
    """The Markdown report of a results document; `plots` are PNG file names beside the report."""
    meta = results.get("meta") or {}
    key = "overall_accuracy" if meta.get("answers_scored", True) else "hit@5"
    lines = ["# newsqa evaluation", "", *_meta_lines(meta), "", "## Summary", "", *summary_table(results)]
    baselines = results.get("baselines") or {}
    if baselines:
        lines += ["", "Baselines (same questions, same articles, same models):", ""]
        lines += [f"- **{name}**: {doc.get('description', '')}" for name, doc in baselines.items()]
    lines += ["", "## By question type", "", *breakdown_table(results.get("by_type") or {}, "type")]
    if baselines:
        lines += ["", f"{_LABELS.get(key, key)} by type, all systems:", ""]
        lines += comparison_table(results, "by_type", key, "type")
    lines += ["", "## By language", "", *breakdown_table(results.get("by_language") or {}, "language")]
    if baselines:
        lines += ["", f"{_LABELS.get(key, key)} by language, all systems:", ""]
        lines += comparison_table(results, "by_language", key, "language")
    names = dict(_PLOTS)
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{names.get(name, name)}]({name})" for name in plots]
    lines += ["", "## Questions (failures first)", "", *question_rows(results)]
    return "\n".join(lines) + "\n"


def write_report(results: Mapping[str, Any], out_dir: Path, plots: Sequence[Path] = ()) -> Path:
    """Write `report.md` into `out_dir` and return its path."""
    path = Path(out_dir) / REPORT_FILE
    path.write_text(render_report(results, [p.name for p in plots]), encoding="utf-8")
    return path

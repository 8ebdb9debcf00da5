"""Run an evaluation: ingest, ask every gold question (resuming), score, write results, report and plots."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import perf_counter
from typing import Any, Protocol

from tqdm import tqdm

from qa.config import Settings
from qa.errors import NewsqaError
from qa.eval.config import EvalConfig, EvalReport
from qa.eval.errors import EvalError
from qa.eval.formats import load_gold, write_articles_jsonl
from qa.eval.gold import GoldQuestion, GoldSet
from qa.eval.metrics import rank_articles
from qa.eval.plots import write_plots
from qa.eval.records import FULL, RETRIEVAL, QuestionRecord, new_record
from qa.eval.report import write_report
from qa.eval.results import RESULTS_FILE, SystemRun, build_results, read_results, write_json_atomic
from qa.eval.resume import (
    MAIN_SYSTEM,
    check_same_questions,
    completed_records,
    file_sha256,
    pending_questions,
)
from qa.store.protocol import redact
from qa.types import Answer, Article, Hit

GOLD_ARTICLES_FILE = "gold-articles.jsonl"
MAIN_DESCRIPTION = "newsqa: its own retrieval (top-k hits), grounded answer with [n] citations, abstention logic"


class AssistantLike(Protocol):
    """The part of `qa.assistant.Assistant` the evaluation uses."""

    embedder: Any
    llm: Any
    settings: Any

    def ingest(self, paths: list[Path], *, progress: bool = False) -> Any: ...
    def retrieve(self, question: str, k: int = 10) -> list[Hit]: ...
    def ask(self, question: str) -> Answer: ...
    def articles(self) -> list[Article]: ...


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


@dataclass
class RunState:
    """Everything a run has so far; `save()` rewrites results.json atomically after every question."""

    path: Path
    meta: dict[str, Any]
    question_ids: list[str]
    answers: bool
    main: SystemRun
    baselines: list[SystemRun] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The current results document."""
        return build_results(self.meta, self.main, self.baselines, self.question_ids, answers=self.answers)

    def save(self) -> dict[str, Any]:
        """Write results.json atomically and return the document written."""
        self.meta["updated"] = _now()
        document = self.document()
        write_json_atomic(self.path, document)
        return document


def open_assistant(index_dir: Path | str, settings: Settings) -> AssistantLike:
    """newsqa's assistant on `index_dir` (created when missing)."""
    from qa.assistant import Assistant

    return Assistant.open(index_dir, settings=settings)


def warm_up(assistant: AssistantLike, *, llm: bool) -> float:
    """Load the embedding model (and the LLM) before timing anything; returns the seconds it took."""
    started = perf_counter()
    for component in (assistant.embedder, assistant.llm if llm else None):
        if component is not None and hasattr(component, "warm_up"):
            component.warm_up()
    return perf_counter() - started


def ingest_sources(
    assistant: AssistantLike, paths: Sequence[Path], *, progress: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Ingest the article sources; returns a summary for the results' meta and warnings for the report."""
    if not paths:
        return {"added": 0, "replaced": 0, "unchanged": 0, "errors": []}, []
    report = assistant.ingest(list(paths), progress=progress)
    errors = [
        {"origin": str(e.origin), "reason": str(e.reason), "skipped": bool(getattr(e, "skipped", True))}
        for e in report.errors
    ]
    summary = {
        "added": len(report.added),
        "replaced": len(report.replaced),
        "unchanged": len(report.unchanged),
        "errors": errors,
    }
    warnings = []
    skipped = [e for e in errors if e["skipped"]]
    if skipped:
        first = skipped[0]
        warnings.append(f"{len(skipped)} input(s) could not be ingested, e.g. {first['origin']}: {first['reason']}")
    if len(errors) > len(skipped):
        warnings.append(f"{len(errors) - len(skipped)} ingest warning(s): see meta.ingest.errors in results.json")
    return summary, warnings


def missing_gold_articles(questions: Sequence[GoldQuestion], articles: Sequence[Article]) -> list[str]:
    """Gold article ids that no indexed article has (usually ids that do not match the articles file)."""
    known = {article.id for article in articles}
    return sorted({gid for q in questions for gid in q.gold_article_ids if gid not in known})


def run_newsqa_question(
    assistant: AssistantLike, question: GoldQuestion, *, k: int = 10, retrieval_only: bool = False
) -> QuestionRecord:
    """Retrieve the top `k` hits for the retrieval figures, then (unless retrieval-only) ask for an answer."""
    mode = RETRIEVAL if retrieval_only else FULL
    ranked: list[str] = []
    timings: dict[str, float] = {}
    with asked_on(assistant, question.as_of):
        return _run_question(assistant, question, k, retrieval_only, mode, ranked, timings)


@contextmanager
def asked_on(assistant: AssistantLike, as_of: str | None) -> Iterator[None]:
    """Answer as if today were `as_of` (a question's own date: "now", "so far" count from it)."""
    settings = getattr(assistant, "settings", None)
    if as_of is None or settings is None:
        yield
        return
    assistant.settings = settings.with_overrides(today=as_of)
    try:
        yield
    finally:
        assistant.settings = settings


def _run_question(
    assistant: AssistantLike,
    question: GoldQuestion,
    k: int,
    retrieval_only: bool,
    mode: str,
    ranked: list[str],
    timings: dict[str, float],
) -> QuestionRecord:
    try:
        started = perf_counter()
        hits = assistant.retrieve(question.question, k=k)
        timings["retrieval"] = perf_counter() - started
        ranked = rank_articles(hit.chunk.article_id for hit in hits)
        if retrieval_only:
            return new_record(question, mode=mode, ranked_article_ids=ranked, timings=timings)
        answer = assistant.ask(question.question)
    except NewsqaError as exc:  # a bad question or a model failure: record it and go on with the next one
        return new_record(
            question,
            mode=mode,
            ranked_article_ids=ranked,
            answer=None if retrieval_only else "",
            abstained=None if retrieval_only else False,
            timings=timings,
            error=f"{type(exc).__name__}: {exc}",
        )
    retrieve_time = timings["retrieval"]
    timings = {name: float(value) for name, value in answer.timings.items() if value is not None}
    timings.setdefault("retrieval", retrieve_time)
    timings["retrieval_top_k"] = retrieve_time
    return new_record(
        question,
        mode=FULL,
        ranked_article_ids=ranked,
        context_article_ids=rank_articles(hit.chunk.article_id for hit in answer.hits),
        answer=answer.text,
        citations=[
            {"number": c.number, "article_id": c.article_id, "chunk_id": c.chunk_id, "quote": c.quote}
            for c in answer.citations
        ],
        abstained=bool(answer.abstained),
        abstention_reason=answer.abstention_reason,
        support=answer.support,
        timings=timings,
        prompt_tokens=answer.prompt_tokens,
        output_tokens=answer.output_tokens,
    )


def run_system(
    run: SystemRun,
    questions: Sequence[GoldQuestion],
    ask: Callable[[GoldQuestion], QuestionRecord],
    state: RunState,
    *,
    progress: bool = True,
) -> int:
    """Run `ask` on every question `run` has not done yet, saving after each; returns how many ran."""
    pending = pending_questions(questions, run.records)
    done = len(questions) - len(pending)
    with tqdm(total=len(questions), initial=done, desc=run.name, unit="q", disable=not progress) as bar:
        for question in pending:
            record = ask(question)
            run.records[question.id] = record
            state.save()
            bar.update()
            if record.verdict is not None:
                ok = sum(1 for r in run.records.values() if r.verdict in ("correct", "correct_abstention"))
                bar.set_postfix_str(f"{ok}/{len(run.records)} ok")
    return len(pending)


def _sources(config: EvalConfig, gold: GoldSet, out_dir: Path) -> list[Path]:
    paths: list[Path] = []
    for source in config.article_sources:
        if not source.exists():
            raise EvalError(f"{source}: no such articles file or folder")
        paths.append(source)
    if gold.articles:
        paths.append(write_articles_jsonl(gold.articles, out_dir / GOLD_ARTICLES_FILE))
    return paths


def _load_questions(config: EvalConfig) -> tuple[GoldSet, list[GoldQuestion]]:
    gold = load_gold(Path(config.questions))
    questions = gold.questions[: config.limit] if config.limit else list(gold.questions)
    return gold, questions


def run_eval(config: EvalConfig, *, assistant: AssistantLike | None = None) -> EvalReport:
    """Evaluate newsqa (and, with `config.baselines`, both baselines) on a gold questions file.

    Writes `results.json` after every question (resuming from one already in the output directory),
    then `report.md` and the PNG plots. `assistant` is for tests; by default one is opened on the index.
    """
    gold, questions = _load_questions(config)
    out_dir = config.resolved_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / RESULTS_FILE
    digest = file_sha256(Path(config.questions))
    previous = read_results(results_path)
    if previous is not None:
        check_same_questions(previous, digest, results_path)
    retrieval_only = config.retrieval_only
    main = SystemRun(
        MAIN_SYSTEM,
        MAIN_DESCRIPTION,
        completed_records(previous, MAIN_SYSTEM, questions, retrieval_only=retrieval_only),
    )
    resumed = len(main.records)

    index_dir = config.index_dir if config.index_dir is not None else out_dir / "index"  # a folder or a database URL
    sources = _sources(config, gold, out_dir)
    if assistant is None:
        assistant = open_assistant(index_dir, config.settings)
    ingest_summary, warnings = ingest_sources(assistant, sources, progress=config.progress)
    articles = assistant.articles()
    if not articles:
        raise EvalError(f"the index {redact(index_dir)} holds no articles: pass --articles (a folder or a .jsonl file)")
    missing = missing_gold_articles(questions, articles)
    if missing:
        warnings.append(
            f"{len(missing)} gold article id(s) are not in the index, e.g. {', '.join(missing[:5])}: "
            "check that the questions' gold_article_ids match the article ids"
        )
    settings = getattr(assistant, "settings", config.settings)
    meta: dict[str, Any] = {
        "questions_file": str(config.questions),
        "questions_sha256": digest,
        "questions_format": gold.format,
        "n_questions_in_file": len(gold.questions),
        "limit": config.limit,
        "retrieval_only": retrieval_only,
        "k": config.k,
        "articles": [str(p) for p in sources],
        "index_dir": redact(index_dir),
        "n_articles": len(articles),
        "settings": settings.to_dict() if hasattr(settings, "to_dict") else None,
        "started": ((previous or {}).get("meta") or {}).get("started") or _now(),
        "ingest": ingest_summary,
        "missing_gold_article_ids": missing,
        "warnings": warnings,
    }
    state = RunState(results_path, meta, [q.id for q in questions], not retrieval_only, main)
    if pending_questions(questions, main.records):
        meta["warm_up_s"] = warm_up(assistant, llm=not retrieval_only)
    state.save()

    ran = run_system(
        main,
        questions,
        lambda q: run_newsqa_question(assistant, q, k=config.k, retrieval_only=retrieval_only),
        state,
        progress=config.progress,
    )
    if config.baselines:
        ran += _run_baselines(assistant, articles, questions, previous, state, config)

    document = state.save()
    plots = write_plots(document, out_dir)
    report_path = write_report(document, out_dir, plots)
    return EvalReport(
        out_dir=out_dir,
        results_path=results_path,
        report_path=report_path,
        plot_paths=plots,
        summary=document["summary"],
        baseline_summaries={name: doc["summary"] for name, doc in document["baselines"].items()},
        n_questions=len(questions),
        n_run=ran,
        n_resumed=resumed,
        warnings=warnings,
    )


def _run_baselines(
    assistant: AssistantLike,
    articles: Sequence[Article],
    questions: Sequence[GoldQuestion],
    previous: dict[str, Any] | None,
    state: RunState,
    config: EvalConfig,
) -> int:
    from qa.eval.baselines import BM25, DESCRIPTIONS, VANILLA, build_baselines, run_baseline_question

    retrieval_only = config.retrieval_only
    runs = [
        SystemRun(
            name,
            DESCRIPTIONS[name],
            completed_records(previous, name, questions, retrieval_only=retrieval_only),
            False,
        )
        for name in (VANILLA, BM25)
    ]
    state.baselines = runs
    if all(not pending_questions(questions, run.records) for run in runs):
        return 0
    warm_up(assistant, llm=not retrieval_only)
    llm = None if retrieval_only else assistant.llm.llama_index
    baselines = {
        b.name: b for b in build_baselines(articles, assistant.embedder, llm, k=config.k, progress=config.progress)
    }
    ran = 0
    for run in runs:
        baseline = baselines[run.name]
        ran += run_system(
            run,
            questions,
            functools.partial(run_baseline_question, baseline, retrieval_only=retrieval_only),
            state,
            progress=config.progress,
        )
    return ran

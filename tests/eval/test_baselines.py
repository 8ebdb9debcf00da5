"""Tests for the llama-index baselines with a fake embedder and llama-index's MockLLM (no real models)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from qa.eval.abstention import says_no_answer
from qa.eval.baselines import BM25, VANILLA, article_nodes, build_baselines, run_baseline_question
from qa.eval.bm25 import BM25Index, bm25_tokens
from qa.eval.config import EvalConfig
from qa.eval.embedding import AssistantEmbedding
from qa.eval.gold import GoldQuestion
from qa.eval.runner import run_eval
from qa.types import Article

ARTICLES = [
    Article(id="a1", title="March", text="About 350 000 people marched in Paris on Sunday.", language="en"),
    Article(id="a2", title="Élection", text="Marie Curie a gagné l'élection municipale à Lyon.", language="fr"),
    Article(id="a3", title="Weather", text="It rained in Marseille all week long.", language="en"),
]


@pytest.mark.parametrize(
    "text",
    [
        "The context does not contain information about the mayor.",
        "The provided text doesn't mention it.",
        "Le contexte ne contient pas cette information.",
        "Der Text enthält keine Angaben dazu.",
        "El contexto no menciona al alcalde.",
        "Empty Response",
        "",
    ],
)
def test_says_no_answer(text: str) -> None:
    assert says_no_answer(text)


def test_real_answers_are_not_abstentions() -> None:
    assert not says_no_answer("About 350,000 people marched in Paris.")
    assert not says_no_answer("Marie Curie a gagné l'élection.")


def test_bm25_tokens_fold_accents_and_drop_stopwords() -> None:
    assert bm25_tokens("L'élection de la Maire à Lyon") == ["election", "maire", "lyon"]


def test_bm25_index_ranks_by_terms() -> None:
    index = BM25Index(article_nodes(ARTICLES))
    found = index.search("élection Lyon", 10)
    assert found and found[0].node.metadata["article_id"] == "a2"
    assert index.search("zzzz unknown", 10) == []


def test_assistant_embedding_delegates(fake_assistant: Any) -> None:
    embedding = AssistantEmbedding(fake_assistant.embedder)
    vector = embedding.get_query_embedding("people marched")
    assert len(vector) == fake_assistant.embedder.dim
    assert embedding.get_text_embedding_batch(["a", "b c"]) == [
        [float(x) for x in row] for row in fake_assistant.embedder.encode_documents(["a", "b c"], ["", ""])
    ]


def test_baselines_retrieve_and_answer(fake_assistant: Any) -> None:
    from llama_index.core.llms import MockLLM

    baselines = build_baselines(ARTICLES, fake_assistant.embedder, MockLLM(max_tokens=4), k=10)
    assert [b.name for b in baselines] == [VANILLA, BM25]
    question = GoldQuestion(
        id="q", question="people marched Paris", language="en", answers=("350,000",), gold_article_ids=("a1",)
    )
    for baseline in baselines:
        record = run_baseline_question(baseline, question, retrieval_only=False)
        assert record.ranked_article_ids[0] == "a1", baseline.name
        assert set(record.ranked_article_ids) <= {"a1", "a2", "a3"}
        assert record.answer == "text text text text" and record.abstained is False
        assert record.verdict == "wrong" and record.timings["total"] >= 0
        assert record.context_article_ids and record.context_article_ids[0] == "a1"
        retrieval = run_baseline_question(baseline, question, retrieval_only=True)
        assert retrieval.verdict is None and retrieval.gold_rank == 1


def test_run_eval_with_baselines(gold_file: Path, articles_file: Path, tmp_path: Path, fake_assistant: Any) -> None:
    warmed: list[str] = []
    prompts: list[list[tuple[str, str]]] = []

    def reply(messages: list[tuple[str, str]], usage: dict[str, int] | None = None) -> Iterator[str]:
        prompts.append(list(messages))
        return iter(["text ", "text"])

    fake_assistant.llm = SimpleNamespace(
        model_name="fake", stream_messages=reply, warm_up=lambda: warmed.append("llm"), to_dict=dict
    )
    config = EvalConfig(
        questions=gold_file, articles=articles_file, out_dir=tmp_path / "out", baselines=True, progress=False
    )
    report = run_eval(config, assistant=fake_assistant)
    assert warmed == ["llm", "llm"]  # before newsqa and before the baselines (a no-op once loaded)
    assert set(report.baseline_summaries) == {VANILLA, BM25}
    # Both baselines answered through newsqa's LLM, each question as one user turn holding the question.
    assert len(prompts) >= 4 and all(len(p) == 1 and p[0][0] == "user" and "Query:" in p[0][1] for p in prompts)
    results = json.loads(report.results_path.read_text(encoding="utf-8"))
    for name in (VANILLA, BM25):
        doc = results["baselines"][name]
        assert len(doc["questions"]) == 3 and doc["summary"]["citation_precision"] is None
        assert doc["summary"]["hit@10"] is not None and doc["summary"]["answer_accuracy"] is not None
    text = report.report_path.read_text(encoding="utf-8")
    assert f"Δ newsqa−{VANILLA}" in text and f"Δ newsqa−{BM25}" in text
    warmed.clear()
    again = run_eval(config, assistant=fake_assistant)
    assert again.n_run == 0 and warmed == []  # all done: no model warm-up, no index building

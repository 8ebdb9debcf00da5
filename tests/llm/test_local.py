"""Tests of the local LLM's prompts: each GGUF is prompted in its own chat template and stops at its own tokens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa import models
from qa.config import DEFAULT_LLM_MODEL, Settings
from qa.errors import ModelError
from qa.llm.local import ChatTemplate, LocalLLM

GEMMA = "gemma3-270m-q4_k_m"
ANSWER_TURNS = [("system", "Answer from the passages only."), ("user", "Passages:\n[1] Seoul.\n\nWhere? [1]")]
CONVERSATION = [*ANSWER_TURNS, ("assistant", "In Seoul [1]."), ("user", "And when?")]


def previous_chatml(messages: list[tuple[str, str]]) -> str:
    """The ChatML newsqa wrote by hand before prompts came from the GGUF (the reference for the default model)."""
    return (
        "".join(f"<|im_start|>{role}\n{content}<|im_end|>\n" for role, content in messages) + "<|im_start|>assistant\n"
    )


def vocab(name: str) -> object:
    """The tokenizer and metadata of a fetched registry GGUF (no weights loaded); skips when it is not fetched."""
    from llama_cpp import Llama

    root = Settings().models_dir
    if not models.verify(name, root):
        pytest.skip(f"{name} is not fetched (newsqa models fetch {name})")
    return Llama(model_path=str(models.model_path(name, root)), vocab_only=True, verbose=False)


def test_a_gguf_is_prompted_in_its_own_template() -> None:
    template = ChatTemplate(vocab(DEFAULT_LLM_MODEL))  # no registry format: the GGUF's own Jinja template
    assert template.source and not template.builtin
    for messages in (ANSWER_TURNS, CONVERSATION):
        assert template.render(messages) == previous_chatml(messages)
    assert template.stop_tokens == {"<|im_end|>": 151645}


def test_the_default_model_is_prompted_in_chatml_without_a_default_system_turn() -> None:
    model = vocab(DEFAULT_LLM_MODEL)
    template = ChatTemplate(model, models.get_spec(DEFAULT_LLM_MODEL).chat_format)
    assert template.builtin == "chatml"
    for messages in (ANSWER_TURNS, CONVERSATION, [("user", "Is it stated? Reply yes or no.")]):
        assert template.render(messages) == previous_chatml(messages)
    assert template.stop_tokens == {"<|im_end|>": 151645}


def test_a_conversation_without_system_turn_gets_the_templates_default_system_turn() -> None:
    # Qwen2.5's own template adds a system turn when none is given: proof that the template, not newsqa,
    # writes the prompt (and what llama.cpp's server sends for the same messages); the registry's ChatML
    # avoids it for the default model.
    rendered = ChatTemplate(vocab(DEFAULT_LLM_MODEL)).render([("user", "Is it stated? Reply yes or no.")])
    assert rendered == previous_chatml(
        [
            ("system", "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."),
            ("user", "Is it stated? Reply yes or no."),
        ]
    )


def test_a_gguf_without_chat_template_uses_the_registry_format_else_is_refused() -> None:
    model = vocab(GEMMA)
    assert "tokenizer.chat_template" not in model.metadata  # verified: this base-model GGUF ships none
    template = ChatTemplate(model, models.get_spec(GEMMA).chat_format)
    assert template.render(CONVERSATION) == (
        "<start_of_turn>user\nAnswer from the passages only.\n\nPassages:\n[1] Seoul.\n\nWhere? [1]<end_of_turn>\n"
        "<start_of_turn>model\nIn Seoul [1].<end_of_turn>\n<start_of_turn>user\nAnd when?<end_of_turn>\n"
        "<start_of_turn>model\n"
    )
    assert template.stop_tokens == {"<eos>": 1, "<end_of_turn>": 106}
    with pytest.raises(ModelError, match="no chat template"):
        ChatTemplate(model)


def test_prompt_tokens_count_the_bos_token_once() -> None:
    llm = LocalLLM(GEMMA, Settings().models_dir)
    llm._model = vocab(GEMMA)
    llm._template = ChatTemplate(llm._model, "gemma")
    tokens = llm._tokens(llm.render(ANSWER_TURNS))
    assert tokens[0] == llm._model.token_bos() and tokens.count(llm._model.token_bos()) == 1
    assert llm.prompt_tokens(ANSWER_TURNS) == len(tokens)


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> LocalLLM:
    """The small Gemma GGUF, fetched if needed, loaded for real."""
    root = Settings().models_dir
    models.fetch(GEMMA, root, progress=False)
    llm = LocalLLM(GEMMA, root, context_window=1024, max_new_tokens=24)
    llm.warm_up()
    return llm


@pytest.mark.slow
def test_gemma_generation_stops_at_its_end_of_turn_token(gemma: LocalLLM) -> None:
    prompt = gemma.render([("user", "Say: red"), ("assistant", "red"), ("user", "Say: green")])
    assert prompt.count("<start_of_turn>") == 4 and "<|im_start|>" not in prompt  # 3 turns, then the reply
    end_of_turn = gemma.template.stop_tokens["<end_of_turn>"]
    assert end_of_turn == gemma.model._model.token_eot()
    # This base model never chose <end_of_turn> on its own (its chat tokens are untrained: it writes a stray
    # word instead, then runs on into a next turn), so the token is made the likeliest: the reply ends there,
    # before a single token is added to the context.
    prompt_tokens = len(gemma._tokens(prompt))
    assert "".join(gemma.stream(prompt, logit_bias={end_of_turn: 100.0})) == ""
    assert gemma.model.n_tokens == prompt_tokens
    # The same push on <start_of_turn>, which ends nothing, runs on to the token limit.
    start_of_turn = gemma.model.tokenize(b"<start_of_turn>", add_bos=False, special=True)[0]
    assert "".join(gemma.stream(prompt, logit_bias={start_of_turn: 100.0})) == ""  # control tokens show no text
    assert gemma.model.n_tokens >= prompt_tokens + gemma.max_new_tokens - 1
    unbiased = "".join(gemma.stream(prompt))
    assert unbiased.strip() and "<end_of_turn>" not in unbiased and "<|im_end|>" not in unbiased


@pytest.mark.slow
def test_ask_with_the_gemma_gguf_returns_a_well_formed_answer(tmp_path: Path, gemma: LocalLLM) -> None:
    from qa import Answer, Assistant
    from tests.conftest import FAST_EMBEDDING, SAMPLES

    settings = Settings(embedding_model=FAST_EMBEDDING, llm_model=GEMMA, context_window=1024, max_new_tokens=24)
    assistant = Assistant.open(tmp_path / "index", settings)
    assistant.ingest([SAMPLES / "en-vision-pro-launch-2024.md"])
    answer = assistant.ask("How much does the Apple Vision Pro cost?")
    assert isinstance(answer, Answer) and answer.text.strip()
    assert assistant.llm.template.builtin == "gemma"  # prompted in Gemma's turn format
    if answer.abstained:
        assert answer.abstention_reason
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers <= {c.number for c in answer.citations}
    for citation in answer.citations:
        assert citation.quote and citation.quote in citation.passage

"""Follow-up questions: rewrite "and Samsung?" into a standalone question using the conversation so far."""

from __future__ import annotations

import re

from qa.llm.protocol import LLM
from qa.text import strip_citations

MAX_TURNS = 3
MAX_ANSWER_CHARS = 300


def format_history(history: list[tuple[str, str]]) -> str:
    """The last few turns as plain text (answers without citation markers, shortened)."""
    lines = []
    for question, answer in history[-MAX_TURNS:]:
        clean = strip_citations(answer)
        lines.append(f"Question: {question.strip()}\nAnswer: {clean[:MAX_ANSWER_CHARS]}")
    return "\n".join(lines)


class QuestionRewriter:
    """Turns a follow-up into a standalone question with one short LLM call."""

    def __init__(self, llm: LLM, template: str) -> None:
        self.llm = llm
        self.template = template

    def run(self, question: str, history: list[tuple[str, str]]) -> str:
        """The standalone form of `question` (unchanged when there is no history)."""
        if not history:
            return question
        prompt = self.template.format(history=format_history(history), question=question.strip())
        rewritten = "".join(self.llm.stream_messages([("user", prompt)])).strip().splitlines()
        candidate = rewritten[0].strip().strip('"') if rewritten else ""
        candidate = re.sub(r"^(standalone question|question)\s*:\s*", "", candidate, flags=re.IGNORECASE)
        # A rewrite that is empty or rambles is worse than the previous question plus this one.
        if not candidate or len(candidate) > 3 * len(question) + 150:
            return f"{history[-1][0].strip()} {question.strip()}"
        return candidate

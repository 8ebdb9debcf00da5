"""Stage 5, answering: passages → prompt → LLM → an `Answer` whose every citation is checked, or an abstention."""

from __future__ import annotations

from qa.answering.answerer import Answerer
from qa.answering.citations import CitationChecker
from qa.answering.conversation import QuestionRewriter
from qa.answering.prompts import Prompts

__all__ = ["Answerer", "CitationChecker", "Prompts", "QuestionRewriter"]

"""Hits → prompt (from `prompts/`) → LLM → checked `Answer` with verified citations."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

from qa.answering.citations import CitationChecker, closest_citation
from qa.answering.grounding import unanswered_reason
from qa.answering.injection import without_instructions
from qa.answering.modality import asks_for_fact
from qa.answering.prompts import Prompts
from qa.errors import ConfigError
from qa.language import LANGUAGE_NAMES, detect_language
from qa.llm.protocol import LLM
from qa.retrieval.timeparse import parse_time_hint
from qa.text import key_terms, names, numbers, same_meaning, strip_citations
from qa.types import Answer, Citation, Hit


class Answerer:
    """Writes a short, cited answer from the best passages, or says the articles don't say."""

    def __init__(
        self,
        llm: LLM,
        prompts: Prompts,
        checker: CitationChecker,
        context_passages: int = 6,
        context_tokens: int = 420,
        min_score: float = 0.3,
        translate_quotes: bool = False,
        min_support: float = 0.0,
    ) -> None:
        if not 0.0 <= min_support < 1.0:
            raise ConfigError(f"min_support is a probability in [0, 1), got {min_support}")
        self.llm = llm
        self.min_support = min_support
        self.translate_quotes = translate_quotes
        self.prompts = prompts
        self.checker = checker
        self.context_passages = context_passages
        self.context_tokens = context_tokens
        self.min_score = min_score

    def select(self, hits: list[Hit]) -> list[Hit]:
        """The passages the model will see: the best ones above the relevance floor, within the token budget,
        grouped by article (best article first) and in reading order inside each article; a passage that only
        addresses an assistant is left out."""
        chosen: list[Hit] = []
        used = 0
        for hit in hits:
            if len(chosen) >= self.context_passages:
                break
            if hit.score < self.min_score or not without_instructions(hit.chunk.text):
                continue
            cost = self.llm.count_tokens(hit.chunk.text)
            if chosen and used + cost > self.context_tokens:
                continue
            chosen.append(hit)
            used += cost
        article_order = {hit.article.id: index for index, hit in reversed(list(enumerate(chosen)))}
        return sorted(chosen, key=lambda hit: (article_order[hit.article.id], hit.chunk.position))

    def messages(self, question: str, passages: list[Hit], language: str) -> list[tuple[str, str]]:
        """The chat messages, as (role, content) pairs, for `question` over `passages` (numbered [1]…)."""
        blocks: list[str] = []
        lines: list[str] = []
        for number, hit in enumerate(passages, start=1):
            # A sentence recognised as addressed to an assistant never reaches the model (nor counts as evidence).
            text = without_instructions(hit.chunk.text).replace("<", "‹").replace(">", "›")
            lines.append(f"[{number}] {text}")
            last_of_article = number == len(passages) or passages[number].article.id != hit.article.id
            if last_of_article:
                article = hit.article
                blocks.append(
                    self.prompts.article.format(
                        title=_attribute(article.title),
                        source=_attribute(article.source or "unknown"),
                        date=article.published.date().isoformat() if article.published else "undated",
                        passages="\n".join(lines),
                    )
                )
                lines = []
        user = self.prompts.user.format(
            passages="\n".join(blocks), question=question.strip(), language=LANGUAGE_NAMES.get(language, "English")
        )
        return [("system", self.prompts.system), ("user", user)]

    def stream(
        self, question: str, hits: list[Hit], started: float | None = None, language: str | None = None
    ) -> Iterator[str | Answer]:
        """Answer text as it is generated, then the final checked `Answer` (always last), in `language`
        (default: the question's).

        For a question that asks for the latest state ("latest", "now", "so far"), an answer taken from an
        older report than others in the context is asked again of the newer reports alone; their answer, when
        it holds up, replaces it: the small model copies the figure of the report in the question's language
        even when a newer report in another language updates it."""
        started = time.perf_counter() if started is None else started
        language = language or detect_language(question)
        answer: Answer | None = None
        for item in self._stream(question, hits, started, language):
            if isinstance(item, Answer):
                answer = item
            else:
                yield item
        assert answer is not None
        newer = self._newer_passages(question, answer)
        if newer:
            renewed = final_answer(self._stream(question, newer, started, language))
            timings, prompt_tokens, output_tokens = followed_by(answer, renewed, "newer_reports")
            if not renewed.abstained:
                renewed.hits = answer.hits
                answer = renewed
            answer.timings = timings
            answer.prompt_tokens, answer.output_tokens = prompt_tokens, output_tokens
        yield answer

    def latest_asked(self, question: str) -> str | None:
        """The words by which `question` asks for the latest state ("latest", "so far", "aktuell"), or None."""
        hint = parse_time_hint(question, self.checker.today or date.today())
        return hint.recency if hint.prefer_recent else None

    def _newer_passages(self, question: str, answer: Answer) -> list[Hit]:
        """For a question asking for the latest state, the passages from reports of a later day than every
        article `answer` cites that name everything the question names (none when it cites the newest, or
        abstained)."""
        if answer.abstained or not answer.citations:
            return []
        if self.latest_asked(question) is None:
            return []
        cited = [c.published.date() for c in answer.citations if c.published is not None]
        if len(cited) < len(answer.citations):
            return []
        # By day: a report of a later day, whatever the time zones of the two dates.
        newest_cited = max(cited)
        return [
            hit
            for hit in self.select(answer.hits)
            if hit.article.published is not None
            and hit.article.published.date() > newest_cited
            and _names_all(question, f"{hit.article.title}\n{hit.chunk.text}")
        ]

    def _stream(self, question: str, hits: list[Hit], started: float, language: str) -> Iterator[str | Answer]:
        passages = self.select(hits)
        timings: dict[str, float] = {}
        if not passages:
            yield self._abstain(question, hits, [], language, timings, started, "no passage is relevant enough")
            return
        messages = self.messages(question, passages, language)
        generation_started = time.perf_counter()
        raw = ""
        first_token_at = None
        usage: dict[str, int] = {}
        for delta in self.llm.stream_messages(messages, usage=usage):
            if first_token_at is None:
                first_token_at = time.perf_counter()
            raw += delta
            yield delta
        finished = time.perf_counter()
        timings["ttft"] = (first_token_at or finished) - started
        timings["prompt_eval"] = (first_token_at or finished) - generation_started
        timings["generation"] = finished - generation_started
        # The endpoint's own counts when it reports them (a remote model's `count_tokens` only estimates).
        prompt_tokens = usage.get("prompt_tokens") or self.llm.prompt_tokens(messages)
        output_tokens = usage.get("completion_tokens") or self.llm.count_tokens(raw)
        support = None
        if not raw.strip() or self.prompts.is_abstention(raw):
            answer = self._abstain(question, hits, passages, language, timings, started, "the model found no answer")
        else:
            check_started = time.perf_counter()
            text, citations = self.checker.run(_joined_thousands(_clean(raw), passages), passages, question)
            timings["citation_check"] = time.perf_counter() - check_started
            reason = unanswered_reason(question, text) if citations else "no passage supports the answer"
            if not reason and self.min_support > 0:
                verify_started = time.perf_counter()
                support = self.support(question, text, citations)
                timings["self_check"] = time.perf_counter() - verify_started
                if support < self.min_support:
                    reason = f"the self-check doubts the passages give this answer to the question (p={support:.2f})"
            if reason:
                answer = self._abstain(question, hits, passages, language, timings, started, reason)
            else:
                if self.translate_quotes:
                    translate_started = time.perf_counter()
                    citations = [self._translated(citation, language) for citation in citations]
                    timings["translation"] = time.perf_counter() - translate_started
                answer = Answer(question, text, citations, hits, abstained=False, language=language, timings=timings)
        answer.support = support
        answer.prompt_tokens, answer.output_tokens = prompt_tokens, output_tokens
        answer.timings["total"] = time.perf_counter() - started
        yield answer

    def support(self, question: str, answer: str, citations: list[Citation]) -> float:
        """The model's probability, asked afresh, that the cited passages state `answer` to `question`; when
        that clears `min_support`, the lower of it and the probability that they answer the question at all.

        A new prompt rather than a follow-up turn: asked to judge its own reply, the model says yes
        (measured: 0.83–0.92 on every unanswerable question it had answered). The second question, without
        the answer, catches an answer that the passages state but that answers another question (another
        edition's figure, an agreement only expected) and that, shown the answer, the model accepts."""
        stated = self.llm.yes_probability([("user", self.verification_prompt(question, answer, citations))])
        if stated < self.min_support:
            return stated
        answers = self.llm.yes_probability([("user", self.verification_prompt(question, None, citations))])
        return min(stated, answers)

    def verification_prompt(self, question: str, answer: str | None, citations: list[Citation]) -> str:
        """The self-check prompt: the cited passages (without sentences addressed to an assistant, which
        could otherwise ask for a "yes"), the question and the answer without its markers; with no `answer`,
        whether the passages answer the question. Both start alike, so the judge reuses the cached passages."""
        passages = []
        for citation in citations:
            published = citation.published.date().isoformat() if citation.published else "undated"
            text = without_instructions(citation.passage)
            passages.append(f"[{citation.number}] ({citation.source or 'unknown'}, {published}) {text}")
        # A question about a plan is answered by the plan; one about what happened is not.
        rule = self.prompts.verify_rule["fact" if asks_for_fact(question, detect_language(question)) else "plan"]
        fields = {"passages": "\n".join(passages), "question": question.strip(), "rule": rule}
        if answer is None:
            return self.prompts.verify_question.format(**fields)
        return self.prompts.verify.format(answer=strip_citations(answer), **fields)

    def _translated(self, citation: Citation, language: str) -> Citation:
        """`citation` with its quote translated into `language` when the quote is in another language."""
        if not citation.language or citation.language == language:
            return citation
        prompt = self.prompts.translate.format(
            language=LANGUAGE_NAMES.get(language, "English"), quote=" ".join(citation.quote.split())
        )
        translation = _clean("".join(self.llm.stream_messages([("user", prompt)])))
        return replace(citation, translation=translation or None)

    def _abstain(
        self,
        question: str,
        hits: list[Hit],
        passages: list[Hit],
        language: str,
        timings: dict[str, float],
        started: float,
        reason: str,
    ) -> Answer:
        """The articles-don't-say answer; with passages, it also quotes the closest one, cited as [1]."""
        timings.setdefault("ttft", time.perf_counter() - started)
        message = self.prompts.no_answer_message(language)
        citations = []
        if passages:
            closest = closest_citation(passages, question, self.checker.encode)
            citations = [closest]
            message = f"{message} {self.prompts.closest_message(language, ' '.join(closest.quote.split()))}"
        timings["total"] = time.perf_counter() - started
        answer = Answer(question, message, citations, hits, abstained=True, language=language, timings=timings)
        answer.abstention_reason = reason
        return answer


# Words that only point at the source before a marker ("…, as reported in [1]", "…, citata in [1]", "according
# to [1]"): dropped, so the marker ends the claim and the sentence is not left ending on "in". A participle counts
# only after a comma or "as" ("The body was found in [1]" is an unfinished answer, not a pointer), and words that
# are also ordinary words ("see", "laut" = loud, "secondo" = second) only after a comma. A match starts where
# white space starts and its words at a word boundary: no word is cut ("Tennessee [1]"), long spaces stay linear.
_REFERENCE_VERBS = (
    r"reported|announced|stated|mentioned|cited|noted|indicated|shown|given|described|said|explained|confirmed|"
    r"found|detailed|quoted|seen|indiqu[ée]e?s?|mentionn[ée]e?s?|cit[ée]e?s?|rapport[ée]e?s?|pr[ée]cis[ée]e?s?|"
    r"annonc[ée]e?s?|angegeben|berichtet|erw[äa]hnt|genannt|zitiert|beschrieben|indicad[oa]s?|mencionad[oa]s?|"
    r"citad[oa]s?|se[ñn]alad[oa]s?|informad[oa]s?|citat[oaie]|riportat[oaie]|indicat[oaie]|menzionat[oaie]|"
    r"annunciat[oaie]|descritt[oaie]"
)
_REFERENCE_PREPOSITIONS = r"in|dans|en|im|in den|nel|nella|nei|from|by|par|von|da|por"
_SOURCE_WORDS = r"passages?|articles?|sources?|passaggio|articolo|fonte|pasaje|art[íi]culo|fuente|artikel|quelle"
_AUXILIARY = r"(?:(?:is|was|are|were|it is|est|ist|wird|es|è)\s+)?"
_SOURCE_REFERENCE = re.compile(
    r"(?<!\s)(?:,\s*+\b(?:see|laut|secondo"
    rf"|{_AUXILIARY}(?:{_REFERENCE_VERBS})\s+(?:{_REFERENCE_PREPOSITIONS}))"
    r"|,?\s*+\b(?:(?:according to|as per|selon|d'apr[èe]s|gem[äa][ßs]|seg[úu]n|stando a)"
    rf"(?:\s+(?:the\s+|le\s+|la\s+|l'|el\s+|il\s+)?(?:{_SOURCE_WORDS}))?"
    rf"|(?:as|comme|wie|come|como|tel que|così come)\s+{_AUXILIARY}"
    rf"(?:{_REFERENCE_VERBS})\s+(?:{_REFERENCE_PREPOSITIONS})"
    r"|(?:in|from|dans|en|im|nel|nella)\s+(?:the\s+|le\s+|la\s+|der\s+|dem\s+|el\s+|il\s+)?"
    rf"(?:{_SOURCE_WORDS})))"
    r"\s*(?=\[\d+\])",
    re.IGNORECASE,
)


def _names_all(question: str, text: str) -> bool:
    """True when `text` names everything `question` names (its figures aside), in any of newsqa's languages:
    a newer report on the same story, not a newer story."""
    asked = same_meaning({name for name in names(question) if not name.isdigit()}, question)
    return asked <= same_meaning(names(text) | key_terms(text), text)


def followed_by(first: Answer, second: Answer, step: str) -> tuple[dict[str, float], int, int]:
    """The timings and the prompt and output token counts of `first` followed by `second`, both timed from one
    start: the first token streamed was the first answer's, `step` is the second's own time, and the total and
    the token counts cover both."""
    timings = {**first.timings, step: second.timings["total"] - first.timings["total"]}
    timings["total"] = second.timings["total"]
    return timings, first.prompt_tokens + second.prompt_tokens, first.output_tokens + second.output_tokens


def final_answer(items: Iterator[str | Answer]) -> Answer:
    """The `Answer` that ends an answer stream."""
    *_, last = items
    assert isinstance(last, Answer)
    return last


def _clean(raw: str) -> str:
    """The model's reply without chat debris (role tags, a leading 'Answer:')."""
    text = re.sub(r"<\|[^|]*\|>", "", raw).strip()
    text = re.sub(r"(?<!\s)\s*\[n\]", "", text)  # the prompt's placeholder, copied literally
    text = _SOURCE_REFERENCE.sub(" ", text)
    return re.sub(r"^(answer|réponse|antwort|respuesta|risposta)\s*:\s*", "", text, flags=re.IGNORECASE)


_SPACED_THOUSANDS = re.compile(r"(?<![\d.,])(?<!, )(\d{1,3}), (\d{3})(?![\d,])")


def _joined_thousands(text: str, passages: list[Hit]) -> str:
    """ "1, 140 stores" as "1,140 stores" when the passages give 1140 and not both 1 and 140: a thousands
    separator the model spaced out when rewriting "1.140" ("on June 3, 150 people" stays as it is)."""
    given: set[str] = set()
    for hit in passages:
        given |= numbers(hit.chunk.text)

    def join(match: re.Match[str]) -> str:
        head, tail = match.groups()
        if head + tail in given and not {head, tail} <= given:
            return f"{head},{tail}"
        return match.group()

    return _SPACED_THOUSANDS.sub(join, text)


def _attribute(value: str) -> str:
    """A value safe inside a double-quoted attribute of the prompt's article tag."""
    return " ".join(value.split()).replace('"', "'").replace("<", "‹").replace(">", "›")

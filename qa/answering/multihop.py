"""Answers that need two retrievals: a bridge question answered about the entity it describes, and a total or
difference computed in code from two separately answered and checked figures."""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace

from qa.answering.answerer import Answerer, final_answer, followed_by
from qa.answering.citations import cite_sentence
from qa.answering.comparison import change_parts, comparison_parts, separates_sides
from qa.answering.decompose import (
    aggregation_operation,
    bridge_description,
    bridge_question,
    is_bridge_question,
    may_be_bridge_question,
    names_in,
    parse_bridge,
    parse_split,
)
from qa.answering.figures import Figure, combine, figures, format_figure, is_year_figure
from qa.answering.prompts import Prompts
from qa.llm.protocol import LLM
from qa.text import (
    CALENDAR_WORDS,
    CITATION_MARKER,
    STOPWORDS,
    fold,
    key_terms,
    sentence_spans,
    strip_citations,
    unaccented,
)
from qa.types import Answer, Hit

Retrieve = Callable[[str, int | None], list[Hit]]  # (question, k or None for the setting) → hits
PICK_SENTENCES = 3  # how many of the sentences closest to the description the model picks a name from
SECOND_HOP_K = 10  # the second hop leaves out the first hop's article, so it looks further down the ranking
log = logging.getLogger("newsqa.multihop")


class MultiHop:
    """Decomposes bridge and aggregation questions; `answer` returns None for every other question, and
    whenever a step fails, so that the one-retrieval answer is given instead; `retry` tries the two steps on a
    question describing a person or thing once its one-retrieval answer has abstained."""

    def __init__(self, llm: LLM, prompts: Prompts, answerer: Answerer, retrieve: Retrieve) -> None:
        self.llm = llm
        self.prompts = prompts
        self.answerer = answerer
        self.retrieve = retrieve

    def answer(self, question: str, hits: list[Hit], language: str, started: float) -> Answer | None:
        """The decomposed answer to `question` (whose first retrieval gave `hits`), or None."""
        if is_bridge_question(question):
            return self.bridge(question, hits, language, started)
        # "¿Cuánto creció X entre A y B?" is a difference too, though its words do not say so.
        operation = aggregation_operation(question) or ("difference" if change_parts(question) else None)
        if operation is not None:
            return self.aggregate(question, operation, hits, language, started)
        return None

    def retry(self, question: str, answer: Answer, language: str, started: float) -> Answer | None:
        """The two-step answer to a question describing a person or thing whose one-retrieval `answer`
        abstained; None for any other question or answer, and when the two steps fail too."""
        if not answer.abstained or not may_be_bridge_question(question):
            return None
        retried = self.bridge(question, answer.hits, language, started, wide=True)
        if retried is None:
            return None
        retried.timings, retried.prompt_tokens, retried.output_tokens = followed_by(answer, retried, "bridge_retry")
        return retried

    def bridge(
        self, question: str, hits: list[Hit], language: str, started: float, wide: bool = False
    ) -> Answer | None:
        """Name the described entity from the first passages, ask the question about that name among the
        other articles (retrieved, checked and self-checked as usual), and cite the first-hop sentence that
        names the entity (`wide`: the description may be of a person or thing)."""
        passages = self.answerer.select(hits)
        if not passages:
            return None
        listing = "\n".join(f"[{n}] {' '.join(hit.chunk.text.split())}" for n, hit in enumerate(passages, 1))
        reply = self._complete(self.prompts.bridge.format(passages=listing, question=question))
        name = _new_name(parse_bridge(reply), question, " ".join(hit.chunk.text for hit in passages))
        if name is None:
            # A small model often repeats a name of the question here, or a word of the prompt ("Name: only.").
            # Shown only the passage sentences closest in meaning to the description and the names they hold,
            # it picks the right one far more often; failing that, the description is asked as an ordinary
            # checked question.
            log.info("bridge: no new name in the reply %r; picking from the closest sentences", reply)
            name = self._picked_name(question, passages, wide)
        if name is None:
            log.info("bridge: no name picked; asking for the description")
            name = self._described_name(question, hits, language, started, wide)
        if name is None:
            return None
        terms = key_terms(re.sub(r"['’]s\b", "", question))  # "Castelmare's new coach" names Castelmare
        if not any(terms & key_terms(f"{hit.article.title} {hit.chunk.text}") for hit in passages):
            # No passage shares a word with the question: they are in another language, so any one may link.
            terms = set()
        link = _naming_sentence(passages, fold(name), terms)
        if link is None:
            log.info("bridge: no passage names %r with the question's description", name)
            return None
        hit = link[0]
        # The second hop asks about the name instead of the description, among the other articles.
        about = bridge_question(question, name, wide)
        second = [h for h in self.retrieve(about, SECOND_HOP_K) if h.article.id != hit.article.id]
        answer = final_answer(self.answerer.stream(about, second, started=started, language=language))
        if answer.abstained:
            log.info("bridge: %r abstained (%s)", about, answer.abstention_reason)
            return None
        answer.standalone_question = about
        number = len(answer.citations) + 1
        citation = cite_sentence(number, hit, link[1], link[2])
        mention = re.search(re.escape(name), answer.text, re.IGNORECASE)
        if mention:
            text = f"{answer.text[: mention.end()]} [{number}]{answer.text[mention.end() :]}"
        else:
            text = f"{name} [{number}]: {answer.text}"
        answer.text, answer.citations = text, [*answer.citations, citation]
        return answer

    def _picked_name(self, question: str, passages: list[Hit], wide: bool = False) -> str | None:
        """The name the model picks for the question's description among the new names of the passage
        sentences closest to it in meaning, shown together; None without a description, an encoder or a
        sentence naming anything new, or when the model picks none."""
        description = bridge_description(question, wide)
        encode = self.answerer.checker.encode
        if description is None or encode is None:
            return None
        naming = _naming_sentences(passages, fold(question))
        if not naming:
            return None
        vectors = encode([description] + [sentence for sentence, _ in naming])
        closeness = vectors[1:] @ vectors[0]
        closest = sorted(range(len(naming)), key=lambda i: -float(closeness[i]))[:PICK_SENTENCES]
        # Each with the sentence before it in its passage: the one closest to the description often names the
        # entity only by a pronoun ("Prende il posto di…"), the one before by name.
        names = dict(naming)
        before = _sentences_before(passages)
        shown: list[str] = []
        for index in closest:
            sentence = naming[index][0]
            shown += [s for s in (before.get(sentence), sentence) if s and s not in shown]
        options = list(dict.fromkeys(name for sentence in shown for name in names.get(sentence, [])))
        sentences = "\n".join(shown)
        reply = self._complete(
            self.prompts.bridge_pick.format(sentences=sentences, description=description, options="; ".join(options))
        )
        picked = reply.strip().strip("\"'“”«»*.").strip()
        # One of the options, or a name inside one ("Torremolar" of "Gemeinde Torremolar": in German every noun
        # is capitalised, so an option may hold a common noun before the name).
        found = next((name for name in options if fold(name) == fold(picked)), None) or _new_name(
            picked if any(re.search(rf"\b{re.escape(picked)}\b", name) for name in options) else None,
            question,
            sentences,
        )
        if found is None:
            log.info("bridge: no name picked among %r (%r)", options, reply)
        return found

    def _described_name(
        self, question: str, hits: list[Hit], language: str, started: float, wide: bool = False
    ) -> str | None:
        """The first name, not already in `question`, of the checked answer to "who or what is <the question's
        description>?" over the first passages; None when there is no description or no such answer."""
        description = bridge_description(question, wide)
        if description is None:
            return None
        frame = self.prompts.bridge_name.get(language, self.prompts.bridge_name["en"])
        asked = frame.format(description=description)
        answer = final_answer(self.answerer.stream(asked, hits, started=started, language=language))
        if answer.abstained:
            log.info("bridge: %r abstained (%s)", asked, answer.abstention_reason)
            return None
        named = fold(question)
        return next((n for n in names_in(strip_citations(answer.text)) if fold(n) not in named), None)

    def aggregate(self, question: str, operation: str, hits: list[Hit], language: str, started: float) -> Answer | None:
        """Split the question into one question per figure, answer each (checked as usual), read one figure
        from each answer and give their sum or difference, computed here rather than by the model."""
        # "How many more … A … than B?" and "by how much did X grow from A to B?" are split in code; the model
        # splits the other shapes (totals, other wordings).
        parts = (comparison_parts(question) or change_parts(question)) if operation == "difference" else None
        if parts is None:
            reply = self._complete(self.prompts.split.format(question=question))
            parts = parse_split(reply)
            if parts is None or any(aggregation_operation(p) for p in parts) or not separates_sides(*parts, question):
                log.info("aggregation: no two questions in the reply %r", reply)
                return None
        # "According to the latest figures, how many … and … combined?": each part asks for the latest too.
        latest = self.answerer.latest_asked(question)
        answers: list[Answer] = []
        found: list[Figure] = []
        for part in parts:
            if latest is not None and self.answerer.latest_asked(part) is None:
                part = f"{part} ({latest})"
            answer = final_answer(
                self.answerer.stream(part, self.retrieve(part, None), started=started, language=language)
            )
            figure = None if answer.abstained else _answered_figure(answer.text, part)
            if figure is None:
                log.info("aggregation: no figure answers %r (%s)", part, answer.abstention_reason or answer.text)
                return None
            answers.append(answer)
            found.append(figure)
        first, second = answers
        if found[0].value == found[1].value and {c.quote for c in first.citations} == {
            c.quote for c in second.citations
        }:
            # The same figure read twice from the same sentences: the two parts asked about the same thing.
            log.info("aggregation: both parts were answered with one figure of the same sentences (%r)", parts)
            return None
        shift = len(first.citations)
        moved = CITATION_MARKER.sub(lambda m: f"[{int(m.group(1)) + shift}]", second.text)
        citations = [*first.citations, *(replace(c, number=c.number + shift) for c in second.citations)]
        value = combine(operation, found[0].value, found[1].value)
        like = next((figure for figure in found if figure.scale), None)
        result = self.prompts.result_line(operation, language, format_figure(value, language, like))
        answer = Answer(
            question,
            f"{first.text} {moved} {result}",
            citations,
            hits,
            abstained=False,
            language=language,
            timings={"ttft": time.perf_counter() - started, "total": time.perf_counter() - started},
            standalone_question=" / ".join(parts),
        )
        supports = [a.support for a in answers if a.support is not None]
        answer.support = min(supports) if supports else None
        answer.prompt_tokens = sum(a.prompt_tokens for a in answers)
        answer.output_tokens = sum(a.output_tokens for a in answers)
        return answer

    def _complete(self, prompt: str) -> str:
        return "".join(self.llm.stream_messages([("user", prompt)]))


def _new_name(name: str | None, question: str, passages: str) -> str | None:
    """`name` when the passages write it as a name — its words as whole words (accents, apostrophes and line
    breaks aside), its first one capitalised there too, and a single word never in lower case or a stop word —
    and the question does not already hold it; else None."""
    if not name or not name[0].isupper():
        return None
    plain, written = _plain(name), _plain(passages)
    if not re.search(rf"(?<!\w){re.escape(plain)}(?!\w)", written):
        return None
    # Case kept, accents dropped: "Orzabal" is the passages' "Orzábal", "Only" is not their "only".
    cased = _unaccented(passages)
    if not re.search(rf"(?<!\w){re.escape(_unaccented(name.split()[0]))}", cased):
        return None
    if " " not in plain and (
        plain in STOPWORDS or re.search(rf"(?<!\w){re.escape(_unaccented(name).lower())}(?!\w)", cased)
    ):
        return None
    return None if re.search(rf"(?<!\w){re.escape(plain)}(?!\w)", _plain(question)) else name


def _plain(text: str) -> str:
    return " ".join(fold(text).replace("’", "'").split())


def _unaccented(text: str) -> str:
    return unaccented(text).replace("’", "'")


def _sentences_before(passages: list[Hit]) -> dict[str, str]:
    """Each passage sentence → the sentence before it in its passage."""
    before: dict[str, str] = {}
    for hit in passages:
        spans = sentence_spans(hit.chunk.text)
        for (start, end), (next_start, next_end) in itertools.pairwise(spans):
            before.setdefault(hit.chunk.text[next_start:next_end], hit.chunk.text[start:end])
    return before


def _naming_sentences(passages: list[Hit], asked: str) -> list[tuple[str, list[str]]]:
    """Each passage sentence that names something the folded question `asked` does not, with those names (an
    article before two or more words goes: "Die Weserland Mediengruppe" is "Weserland Mediengruppe", "Le Monde"
    stays). A single capitalised word opening a sentence is no name when the passages also write it in lower
    case ("Según", "Après"), and months and weekdays are none."""
    sentences = [hit.chunk.text[s:e] for hit in passages for s, e in sentence_spans(hit.chunk.text)]
    lower = {word for sentence in sentences for word in re.findall(r"\b[^\W\d_A-ZÀ-ÖØ-Þ][\w'’-]*", sentence)}
    found: list[tuple[str, list[str]]] = []
    for sentence in sentences:
        names: list[str] = []
        for written in names_in(sentence):
            words = written.split()
            name = " ".join(words[1:]) if len(words) > 2 and fold(words[0]) in STOPWORDS else written
            opener = " " not in name and sentence.lstrip().startswith(name)
            common = opener and (name.lower() in lower or fold(name) in STOPWORDS)
            if common or fold(name) in CALENDAR_WORDS or fold(name) in asked or name in names:
                continue
            names.append(name)
        if names:
            found.append((sentence, names))
    return found


def _naming_sentence(passages: list[Hit], name: str, description: set[str]) -> tuple[Hit, int, int] | None:
    """The first sentence naming `name` in a passage that holds a term of the question's description
    (any passage naming it when the description adds no term), as (hit, start, end)."""
    for hit in passages:
        if description and not description & key_terms(f"{hit.article.title} {hit.chunk.text}"):
            continue
        for start, end in sentence_spans(hit.chunk.text):
            if name in fold(hit.chunk.text[start:end]):
                return hit, start, end
    return None


def _answered_figure(text: str, question: str) -> Figure | None:
    """The first figure of an answer that is neither a year nor a figure the question itself states."""
    asked = {figure.value for figure in figures(question)}
    stated = figures(strip_citations(text))
    return next((f for f in stated if not is_year_figure(f) and f.value not in asked), None)

"""Check the model's answer against its passages: keep, re-point or drop each [n], and quote the support."""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from qa.answering.injection import is_instruction
from qa.answering.measures import measures_other
from qa.answering.modality import asks_for_fact, expected_clause, states_expectation
from qa.language import detect_language
from qa.retrieval.occasions import Occasion, occasion_of
from qa.text import (
    LAST_YEAR,
    MONTH_NAME,
    citation_numbers,
    fold,
    is_year,
    key_terms,
    names,
    numbers,
    quantities,
    same_meaning,
    sentence_spans,
    spelled_numbers,
    strip_citations,
    undated_numbers,
    weekdays_named,
)
from qa.types import Citation, Hit

# Questions that combine figures from several reports (a total, a difference, a comparison), folded, en/fr/de/es/it.
AGGREGATION = re.compile(
    r"\b(together|in total|total|combined|altogether|overall|sum|difference|how many more|how much more|"
    r"more than|fewer than|less than|compared|ensemble|au total|en tout|de plus que|de moins que|"
    r"insgesamt|zusammen|mehr als|weniger als|en total|juntos|juntas|en conjunto|mas que|menos que|"
    r"in tutto|in totale|complessivamente|insieme|piu di|meno di)\b"
)


def derived_numbers(question: str, hits: list[Hit]) -> set[str]:
    """For a question that combines figures, the sums and differences of any two non-year figures the
    passages give: an answer may state the result of that arithmetic, and nothing else that is new."""
    if not AGGREGATION.search(fold(question)):
        return set()
    given = sorted({int(n) for hit in hits for n in undated_numbers(hit.chunk.text) if not is_year(n) and len(n) <= 12})
    found = set()
    for i, a in enumerate(given):
        for b in given[i + 1 :]:
            found |= {str(a + b), str(b - a)}
    return found


def days_meant(text: str, published: date) -> set[date]:
    """The days a dated article's `text` can give as the date of what it reports: its own day, and the last of
    each weekday it names ("mardi" in a Wednesday paper is the day before)."""
    named = weekdays_named(text)
    return {published} | {published - timedelta(days=(published.weekday() - index) % 7) for index in named}


# A sentence is supported by a passage when enough of what it asserts is found there.
SUPPORT_THRESHOLD = 0.45
Encoder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Support:
    """How well one passage supports one answer sentence, and the passage sentence that does it best."""

    score: float
    quote_start: int
    quote_end: int


def _coverage(claim: set[str], evidence: set[str]) -> float:
    return len(claim & evidence) / len(claim) if claim else 0.0


def lexical_support(
    sentence: str, passage: str, asked: Set[str] = frozenset(), derived: Set[str] = frozenset()
) -> float:
    """Share of the sentence's names/numbers (or, lacking those, content words) that the passage contains,
    in any of newsqa's languages for number words, months, weekdays and countries (`same_meaning`).

    Terms the question already holds (`asked`) are left out when anything else remains: in "Zuckerberg met
    William Cho" the names that answer are William and Cho, and the sentence that names them is the support,
    not one that only repeats Zuckerberg. `derived` figures (a total the question asks for) count as found."""
    claim_names = _answering(same_meaning(names(sentence), sentence), asked)
    claim_words = _answering(same_meaning(key_terms(sentence), sentence), asked)
    passage_terms = same_meaning(key_terms(passage) | names(passage), passage) | derived
    name_cover = _coverage(claim_names, passage_terms)
    word_cover = _coverage(claim_words, passage_terms)
    return max(name_cover, word_cover) if not claim_names else 0.7 * name_cover + 0.3 * word_cover


def _answering(terms: set[str], asked: Set[str]) -> set[str]:
    """`terms` without those of the question, unless that leaves nothing."""
    return (terms - asked) or terms


def question_terms(question: str) -> frozenset[str]:
    """The folded names and key terms of a question (words of one meaning made one, see `same_meaning`),
    which an answer's support need not repeat."""
    return frozenset(same_meaning(names(question) | key_terms(question), question))


class CitationChecker:
    """Attributes answer sentences to passages with lexical overlap plus embedding similarity."""

    def __init__(
        self, encode: Encoder | None = None, threshold: float = SUPPORT_THRESHOLD, today: date | None = None
    ) -> None:
        self.encode = encode
        self.threshold = threshold
        self.today = today  # what "this year" in a question means; None: the real date

    def _supports(self, sentences: list[str], hits: list[Hit], question: str = "") -> list[list[Support]]:
        """supports[i][j]: how passage j supports answer sentence i."""
        passage_sentences = [[(s, e, hit.chunk.text[s:e]) for s, e in sentence_spans(hit.chunk.text)] for hit in hits]
        similarity = None
        if self.encode is not None:
            flat = [text for spans in passage_sentences for _, _, text in spans]
            vectors = self.encode([strip_citations(s) for s in sentences] + flat)
            similarity = vectors[: len(sentences)] @ vectors[len(sentences) :].T
        # Text addressed to an assistant is never evidence: flag it once per passage sentence.
        instructions = [[is_instruction(text) for _, _, text in spans] for spans in passage_sentences]
        asked = question_terms(question)
        derived = derived_numbers(question, hits)
        # A passage sentence about another edition or year than the question names supports nothing.
        occasion = occasion_of(question, self.today or date.today())
        # For a question about what happened, a sentence that only expects or plans the answer supports nothing.
        asked_language = detect_language(question) if question else "en"
        fact_asked = bool(question) and asks_for_fact(question, asked_language)
        result: list[list[Support]] = []
        for i, sentence in enumerate(sentences):
            # An answer that keeps an expectation one may cite it (`only_expected`, decided once per sentence).
            plans_refused = fact_asked and not states_expectation(strip_citations(sentence), asked_language)
            row = []
            offset = 0
            for j, hit in enumerate(hits):
                spans = passage_sentences[j]
                best = (-1.0, 0, len(hit.chunk.text))
                usable: list[str] = []
                for k, (s, e, text) in enumerate(spans):
                    if instructions[j][k] or self._other_occasion(occasion, sentence, question, text, hit):
                        continue
                    if plans_refused and expected_clause(sentence, question, text, hit.article.language):
                        continue
                    usable.append(text)
                    lexical = lexical_support(sentence, text, asked, derived)
                    semantic = float(similarity[i, offset + k]) if similarity is not None else lexical
                    score = 0.5 * lexical + 0.5 * semantic
                    if score > best[0]:
                        best = (score, s, e)
                offset += len(spans)
                whole = lexical_support(sentence, " ".join(usable), asked, derived) if usable else 0.0
                found = _numbers_found(sentence, hit, question, derived, asked_language)
                score = max(whole, best[0]) if found else 0.0
                row.append(Support(score, best[1], best[2]))
            result.append(row)
        return result

    @staticmethod
    def _other_occasion(occasion: Occasion, sentence: str, question: str, text: str, hit: Hit) -> bool:
        """True when the passage sentence `text` is about another edition or year than the question's."""
        if not occasion.active:
            return False
        article = hit.article
        return occasion.contradicted_by(sentence, question, text, hit.chunk.text, article.text, article.published)

    def run(self, answer: str, hits: list[Hit], question: str = "") -> tuple[str, list[Citation]]:
        """The answer with only supported, renumbered [n] markers, and the citations they map to.

        Sentences that no passage supports are dropped; an empty result means nothing was supported.
        """
        sentences = _answer_sentences(answer)
        if not sentences or not hits:
            return "", []
        supports = self._supports(sentences, hits, question)
        kept_sentences: list[tuple[str, list[int]]] = []
        for sentence, row in zip(sentences, supports):
            claimed = [n - 1 for n in citation_numbers(sentence) if 1 <= n <= len(hits)]
            chosen = [j for j in dict.fromkeys(claimed) if row[j].score >= self.threshold]
            if not chosen:
                best = max(range(len(hits)), key=lambda j: row[j].score)
                if row[best].score >= self.threshold:
                    chosen = [best]
            # A sentence the model repeated word for word is said once.
            if chosen and all(fold(strip_citations(sentence)) != fold(text) for text, _ in kept_sentences):
                kept_sentences.append((strip_citations(sentence), chosen))
        numbering: dict[int, int] = {}
        citations: list[Citation] = []
        parts = []
        for text, passages in kept_sentences:
            markers = []
            for j in passages:
                if j not in numbering:
                    numbering[j] = len(numbering) + 1
                    best_row = max((supports[i][j] for i in range(len(sentences))), key=lambda support: support.score)
                    citations.append(_citation(numbering[j], hits[j], best_row))
                markers.append(f"[{numbering[j]}]")
            body = re.sub(r"[\s,;:]+$", "", text)
            end = re.search(r"[.!?…]+$", body)
            cited = " " + "".join(markers)
            parts.append(body[: end.start()] + cited + end.group() if end else body + cited)
        return " ".join(parts), citations


def _numbers_found(
    sentence: str, hit: Hit, question: str, derived: Set[str] = frozenset(), language: str = "en"
) -> bool:
    """Every number the sentence states appears in the passage or its title, is part of the article's
    date (day and month only in a sentence that names a month), or is a non-year number of the question:
    figures must be exact, and a year the question asks about must be the passage's year. A figure given
    with a unit keeps that unit when the passage gives it with one, the day of a date is no count, and a
    figure measures what the question asks about (`measures_other`)."""
    article = hit.article
    # A figure stated only in a sentence addressed to an assistant is never evidence for it.
    evidence = [hit.chunk.text[s:e] for s, e in sentence_spans(hit.chunk.text)]
    evidence = [text for text in evidence if not is_instruction(text)]
    stated = " ".join(evidence)
    source = f"{stated} {article.title}"
    # "sechs Tote" gives the 6 of "6 people died".
    dated: set[str] = set()  # the article's own date
    if article.published is not None:
        published = article.published
        dated.add(str(published.year))
        if LAST_YEAR.search(fold(hit.chunk.text)):
            dated.add(str(published.year - 1))
        if MONTH_NAME.search(fold(sentence)):
            for day in days_meant(hit.chunk.text, published.date()):
                dated |= {str(day.day), f"{day.day:02d}", str(day.month), f"{day.month:02d}"}
    asked = {n for n in numbers(question) if not is_year(n)}
    given = numbers(source) | spelled_numbers(source) | asked | derived | dated
    claimed = strip_citations(sentence)
    if not numbers(claimed) <= given:
        return False
    # A count must be a count of the passage, not the day of one of its dates ("3 people" from "June 3"); the
    # answer's own dates are read loosely, the passage's strictly.
    counted = undated_numbers(source) | spelled_numbers(source) | derived | dated
    counted |= {n for n in undated_numbers(question) if not is_year(n)} | {n for n in given if is_year(n)}
    claimed_counts = undated_numbers(claimed, loose=True)
    if not claimed_counts <= counted:
        return False
    # A figure must measure what the question asks about ("400 persone" counts no dredgers; a revenue is no net
    # profit) unless the answer says what it measures: it fails when every sentence of the passage stating it
    # measures something else.
    for number in claimed_counts - asked:
        stating = [text for text in evidence if number in numbers(text)]
        if is_year(number) or not stating:
            continue
        if all(measures_other(question, claimed, language, number, text) for text in stating):
            return False
    # A figure with a unit must not be the passage's figure with another unit ("12 years" from "12 days").
    measured = quantities(source)
    return all(
        (number, unit) in measured or not any(number == other for other, _ in measured)
        for number, unit in quantities(claimed)
    )


def _answer_sentences(answer: str) -> list[str]:
    text = answer.strip()
    return [text[s:e] for s, e in sentence_spans(text) if re.search(r"\w", text[s:e])]


def cite_sentence(number: int, hit: Hit, start: int, end: int) -> Citation:
    """Citation `number` of `hit` quoting its text[start:end]."""
    return _citation(number, hit, Support(1.0, start, end))


def _citation(number: int, hit: Hit, support: Support) -> Citation:
    chunk, article = hit.chunk, hit.article
    return Citation(
        number=number,
        article_id=article.id,
        chunk_id=chunk.id,
        title=article.title,
        source=article.source,
        url=article.url,
        published=article.published,
        language=article.language,
        passage=chunk.text,
        start=chunk.start,
        end=chunk.end,
        quote=chunk.text[support.quote_start : support.quote_end],
        quote_start=chunk.start + support.quote_start,
        quote_end=chunk.start + support.quote_end,
        also_carried_by=hit.also_carried_by,
    )


def closest_citation(hits: list[Hit], question: str, encode: Encoder | None = None) -> Citation:
    """Citation [1] of the passage sentence closest to `question`: by meaning with `encode` (the question and
    every sentence of `hits`), else by shared key terms; ties go to the better-ranked passage. Sentences
    addressed to an assistant are never chosen."""
    candidates = [
        (hit, s, e)
        for hit in hits
        for s, e in (sentence_spans(hit.chunk.text) or [(0, len(hit.chunk.text))])
        if not is_instruction(hit.chunk.text[s:e])
    ] or [(hits[0], 0, len(hits[0].chunk.text))]
    texts = [hit.chunk.text[s:e] for hit, s, e in candidates]
    if encode is not None:
        vectors = encode([question, *texts])
        scores = [float(v) for v in vectors[1:] @ vectors[0]]
    else:
        asked = key_terms(question) | names(question)
        scores = [float(len(asked & key_terms(text))) for text in texts]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    hit, start, end = candidates[best]
    return _citation(1, hit, Support(1.0, start, end))

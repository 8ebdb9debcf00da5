"""Check the model's answer against its passages: keep, re-point or drop each [n], and quote the support."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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
    sentence_spans,
    strip_citations,
)
from qa.types import Citation, Hit

# Sentences addressed to an assistant rather than to readers (a prompt injection), en/fr/de/es/it, folded.
INSTRUCTION = re.compile(
    "|".join(
        (
            r"\b(ignore|disregard|forget) (all |any )?(your |the )?(previous |prior |above |earlier )?"
            r"(instructions|rules|prompt)",
            r"\b(system|assistant|asistente|assistente) ?:",
            r"\byou are now\b",
            r"\b(reply|respond|answer) only\b",
            r"\bignore[zr]? (les|vos|toutes) ",
            r"\bignoriere ",
            r"\bignora (las|tus|todas|le) ",
            r"\bignori (le|tutte) ",
            r"\binstruccion para el asistente",
            r"\b(repondez|reponds|antworte|responde|rispondi) (uniquement|nur|solo|solamente|soltanto)\b",
        )
    )
)


def is_instruction(sentence: str) -> bool:
    """True for a sentence addressed to an assistant (see INSTRUCTION): never evidence, never shown to a check."""
    return bool(INSTRUCTION.search(fold(sentence)))


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


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's names/numbers (or, lacking those, content words) that the passage contains."""
    claim_names = names(sentence)
    passage_terms = key_terms(passage) | names(passage)
    name_cover = _coverage(claim_names, passage_terms)
    word_cover = _coverage(key_terms(sentence), passage_terms)
    return max(name_cover, word_cover) if not claim_names else 0.7 * name_cover + 0.3 * word_cover


class CitationChecker:
    """Attributes answer sentences to passages with lexical overlap plus embedding similarity."""

    def __init__(self, encode: Encoder | None = None, threshold: float = SUPPORT_THRESHOLD) -> None:
        self.encode = encode
        self.threshold = threshold

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
        evidence = [
            " ".join(text for (_, _, text), flagged in zip(spans, flags, strict=True) if not flagged)
            for spans, flags in zip(passage_sentences, instructions, strict=True)
        ]
        result: list[list[Support]] = []
        for i, sentence in enumerate(sentences):
            row = []
            offset = 0
            for j, hit in enumerate(hits):
                spans = passage_sentences[j]
                best = (-1.0, 0, len(hit.chunk.text))
                for k, (s, e, text) in enumerate(spans):
                    if instructions[j][k]:
                        continue
                    lexical = lexical_support(sentence, text)
                    semantic = float(similarity[i, offset + k]) if similarity is not None else lexical
                    score = 0.5 * lexical + 0.5 * semantic
                    if score > best[0]:
                        best = (score, s, e)
                offset += len(spans)
                whole = lexical_support(sentence, evidence[j])
                score = max(whole, best[0]) if _numbers_found(sentence, hit, question) else 0.0
                row.append(Support(score, best[1], best[2]))
            result.append(row)
        return result

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
            if chosen:
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


def _numbers_found(sentence: str, hit: Hit, question: str) -> bool:
    """Every number the sentence states appears in the passage or its title, is part of the article's
    date (day and month only in a sentence that names a month), or is a non-year number of the question:
    figures must be exact, and a year the question asks about must be the passage's year. A figure given
    with a unit keeps that unit when the passage gives it with one."""
    article = hit.article
    source = f"{hit.chunk.text} {article.title}"
    given = numbers(source) | {n for n in numbers(question) if not is_year(n)}
    if article.published is not None:
        published = article.published
        given.add(str(published.year))
        if LAST_YEAR.search(fold(hit.chunk.text)):
            given.add(str(published.year - 1))
        if MONTH_NAME.search(fold(sentence)):
            given |= {str(published.day), f"{published.day:02d}", str(published.month), f"{published.month:02d}"}
    claimed = strip_citations(sentence)
    if not numbers(claimed) <= given:
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


def closest_citation(hit: Hit, question: str) -> Citation:
    """Citation [1] of the passage sentence sharing the most key terms with `question`."""
    asked = key_terms(question) | names(question)
    spans = sentence_spans(hit.chunk.text) or [(0, len(hit.chunk.text))]
    start, end = max(spans, key=lambda span: len(asked & (key_terms(hit.chunk.text[span[0] : span[1]]))))
    return _citation(1, hit, Support(1.0, start, end))

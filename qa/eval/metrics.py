"""Pure scoring functions: retrieval ranks, answer match and F1, citations, abstention, percentiles."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from qa.eval.normalize import articles_for, has_cjk, normalize, normalize_answer, tokens

_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")


# --- retrieval ---------------------------------------------------------------------------------------------


def rank_articles(article_ids: Iterable[str]) -> list[str]:
    """Article ranking from ranked hits: each article id in order of its first appearance."""
    return list(dict.fromkeys(article_ids))


def gold_rank(ranked: Sequence[str], gold: Collection[str]) -> int | None:
    """1-based rank of the first gold article in `ranked`, or None when none was retrieved."""
    return next((i for i, article_id in enumerate(ranked, start=1) if article_id in gold), None)


def hit_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> bool:
    """Whether any gold article is among the first `k` ranked articles."""
    return any(article_id in gold for article_id in ranked[:k])


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """1 / rank of the first gold article within the first `k`, else 0 (averaged, this is MRR@k)."""
    rank = gold_rank(ranked[:k], gold)
    return 1.0 / rank if rank else 0.0


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> bool:
    """Whether every gold article is among the first `k` ranked articles (multi-article questions)."""
    top = set(ranked[:k])
    return bool(gold) and all(article_id in top for article_id in gold)


# --- answers -----------------------------------------------------------------------------------------------


def contains_answer(text: str, acceptable: Iterable[str], language: str | None = None) -> bool:
    """Whether the normalised `text` contains any acceptable answer (normalised, leading article dropped)."""
    haystack = normalize(text)
    padded = f" {haystack} "
    for answer in acceptable:
        needle = normalize_answer(answer, language)
        if not needle:
            continue
        if has_cjk(needle) and needle in haystack:
            return True
        if f" {needle} " in padded:
            return True
    return False


def answer_is_correct(
    text: str, answers: Sequence[str], groups: Sequence[Sequence[str]] = (), language: str | None = None
) -> bool:
    """Normalised match: one acceptable answer, or one of every group when the answer has several parts."""
    if groups:
        return all(contains_answer(text, group, language) for group in groups)
    return contains_answer(text, answers, language)


def _f1_tokens(text: str, language: str | None) -> list[str]:
    drop = articles_for(language)
    return [token for token in tokens(normalize(text)) if token not in drop]


def token_f1(prediction: str, acceptable: Iterable[str], language: str | None = None) -> float:
    """SQuAD-style token F1 between `prediction` and the best-matching acceptable answer (0 when none)."""
    predicted = _f1_tokens(prediction, language)
    best = 0.0
    for answer in acceptable:
        expected = _f1_tokens(answer, language)
        if not predicted or not expected:
            best = max(best, float(predicted == expected))
            continue
        common = sum((Counter(predicted) & Counter(expected)).values())
        if common:
            precision, recall = common / len(predicted), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


# --- citations ---------------------------------------------------------------------------------------------


def citation_markers(text: str) -> list[int]:
    """Every number cited inline in `text`: `[2]` → [2], `[1, 3]` → [1, 3]."""
    return [int(n) for group in _MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]


def invalid_citation_markers(text: str, citation_numbers: Collection[int]) -> int:
    """How many inline markers in `text` point to no citation (this should always be 0)."""
    return sum(1 for number in citation_markers(text) if number not in citation_numbers)


def gold_citation_count(cited_article_ids: Iterable[str], gold: Collection[str]) -> int:
    """How many citations point to a passage of a gold article."""
    return sum(1 for article_id in cited_article_ids if article_id in gold)


def quote_matches_evidence(quote: str, evidence: Iterable[str]) -> bool:
    """Whether a citation's quoted sentence overlaps one gold evidence sentence: one holds the other, or
    they share at least half of the shorter one's words (quotes may be cut at a different boundary)."""
    words = set(_f1_tokens(quote, None))
    if not words:
        return False
    folded = normalize_answer(quote)
    for sentence in evidence:
        other = normalize_answer(sentence)
        if folded and other and (folded in other or other in folded):
            return True
        theirs = set(_f1_tokens(sentence, None))
        if theirs and len(words & theirs) >= 0.5 * min(len(words), len(theirs)):
            return True
    return False


def sentence_citation_precision(cases: Iterable[tuple[int, int]]) -> float | None:
    """Citations whose quote overlaps a gold evidence sentence / all citations, over (matching, cited) cases."""
    matching = cited = 0
    for hits, count in cases:
        matching += hits
        cited += count
    return matching / cited if cited else None


def citation_precision(cases: Iterable[tuple[Sequence[str], Collection[str]]]) -> float | None:
    """Citations to gold articles / all citations over (cited ids, gold ids) cases; None if none."""
    cited = gold_hits = 0
    for cited_ids, gold in cases:
        cited += len(cited_ids)
        gold_hits += gold_citation_count(cited_ids, gold)
    return gold_hits / cited if cited else None


def citation_recall(cases: Iterable[tuple[Sequence[str], Collection[str]]]) -> float | None:
    """Share of (cited article ids, gold ids) cases with at least one citation to a gold article."""
    return mean(float(gold_citation_count(cited_ids, gold) > 0) for cited_ids, gold in cases)


# --- abstention --------------------------------------------------------------------------------------------


def abstention_accuracy(cases: Iterable[tuple[bool, bool]]) -> float | None:
    """Share of unanswerable questions the system abstained on, over (answerable, abstained) cases."""
    return mean(float(abstained) for answerable, abstained in cases if not answerable)


def false_abstention(cases: Iterable[tuple[bool, bool]]) -> float | None:
    """Share of answerable questions the system abstained on, over (answerable, abstained) cases."""
    return mean(float(abstained) for answerable, abstained in cases if answerable)


def verdict(answerable: bool, abstained: bool, correct: bool) -> str:
    """correct / wrong for answered answerable questions, else which kind of (missed) abstention."""
    if not answerable:
        return "correct_abstention" if abstained else "missed_abstention"
    if abstained:
        return "false_abstention"
    return "correct" if correct else "wrong"


# --- aggregation -------------------------------------------------------------------------------------------


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    items = list(values)
    return math.fsum(items) / len(items) if items else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0–100, linear interpolation like numpy's default), or None for no values."""
    items = sorted(values)
    if not items:
        return None
    position = (len(items) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return items[low] + (items[high] - items[low]) * (position - low)

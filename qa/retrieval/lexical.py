"""BM25 over the stored chunks, each stemmed and stop-worded in its article's language."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import bm25s
import numpy as np
import Stemmer
from bm25s import stopwords as bm25_stopwords

from qa.language import LANGUAGE_NAMES
from qa.text import fold

_WORD = re.compile(r"\w\w+", re.UNICODE)


def _stopword_list(name: str) -> tuple[str, ...]:
    """bm25s's stop words for a language named in English (its English list is the one called EN)."""
    return tuple(getattr(bm25_stopwords, "STOPWORDS_EN" if name == "English" else f"STOPWORDS_{name.upper()}"))


# language code → (Snowball stemmer, bm25s stop-word list), for every language newsqa knows
LANGUAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    code: (name.lower(), _stopword_list(name)) for code, name in LANGUAGE_NAMES.items()
}
_ALL_STOPWORDS = frozenset(fold(w) for _, words in LANGUAGES.values() for w in words)


@cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(LANGUAGES.get(language, LANGUAGES["en"])[0])


@cache
def _stopwords(language: str) -> frozenset[str]:
    return frozenset(fold(w) for w in LANGUAGES.get(language, LANGUAGES["en"])[1])


def tokens(text: str, language: str | None) -> list[str]:
    """Folded, stop-word-free, stemmed word tokens of `text` read as `language` (English if unknown)."""
    language = language if language in LANGUAGES else "en"
    stop = _stopwords(language)
    words = [w for w in _WORD.findall(fold(text)) if w not in stop]
    return _stemmer(language).stemWords(words)


def query_tokens(question: str, languages: Iterable[str]) -> list[str]:
    """The question's tokens as each corpus language would stem them, so that a question in one language
    still matches names, numbers and shared words in articles of another. Stop words of every language go."""
    words = [w for w in _WORD.findall(fold(question)) if w not in _ALL_STOPWORDS]
    found: dict[str, None] = {}
    for language in sorted(set(languages) | {"en"}):
        stemmer = _stemmer(language if language in LANGUAGES else "en")
        for token in stemmer.stemWords(words):
            found.setdefault(token)
    return list(found)


class LexicalIndex:
    """A BM25 index over documents given as (key, text, language); `scores` ranks them for a question."""

    def __init__(self, documents: Iterable[tuple[int, str, str | None]]) -> None:
        self.keys: list[int] = []
        corpus: list[list[str]] = []
        languages: set[str] = set()
        for key, text, language in documents:
            self.keys.append(key)
            corpus.append(tokens(text, language) or ["\u2205"])
            languages.add(language if language in LANGUAGES else "en")
        self.languages = frozenset(languages)
        self._bm25 = bm25s.BM25()
        if corpus:
            self._bm25.index(corpus, show_progress=False)
        self._positions = {key: i for i, key in enumerate(self.keys)}

    def __len__(self) -> int:
        return len(self.keys)

    def search(self, question: str, k: int, allowed: Iterable[int] | None = None) -> list[tuple[int, float]]:
        """The best `k` (key, BM25 score) pairs with a positive score, among `allowed` keys when given."""
        if not self.keys or k < 1:
            return []
        terms = [t for t in query_tokens(question, self.languages) if t in self._bm25.vocab_dict]
        if not terms:
            return []
        scores = self._bm25.get_scores(terms)
        if allowed is not None:
            mask = np.zeros(len(self.keys), dtype=bool)
            positions = [self._positions[key] for key in allowed if key in self._positions]
            mask[positions] = True
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.keys[i], float(scores[i])) for i in top if scores[i] > 0]

"""Split articles into paragraph- and sentence-aligned chunks whose offsets point at the exact text.

News paragraphs are short and self-contained, so a chunk is a paragraph; a long paragraph is cut
between sentences, and a very short one (a dateline, a one-line quote) joins its neighbour. Offsets
come from the splitting itself, so `article.text[chunk.start:chunk.end] == chunk.text` always holds.
"""

from __future__ import annotations

import re

from qa.errors import ConfigError
from qa.text import sentence_spans, trim_spans
from qa.types import Article, Chunk

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """A model-independent token count (words and punctuation marks)."""
    return len(_TOKEN.findall(text))


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the blank-line separated paragraphs of `text`, white space trimmed."""
    spans, start = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return trim_spans(text, spans)


class Chunker:
    """Paragraph-first, sentence-aware chunking with exact character offsets."""

    def __init__(self, chunk_size: int = 100, min_chunk_size: int = 25) -> None:
        if chunk_size < 20:
            raise ConfigError(f"chunk_size must be at least 20 tokens, got {chunk_size}")
        if not 0 <= min_chunk_size < chunk_size:
            raise ConfigError(f"min_chunk_size must be between 0 and chunk_size ({chunk_size}), got {min_chunk_size}")
        self.chunk_size = chunk_size
        self.min_chunk_size = min_chunk_size

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each chunk of `text`."""
        pieces: list[tuple[int, int]] = []
        for p_start, p_end in paragraph_spans(text):
            if count_tokens(text[p_start:p_end]) <= self.chunk_size:
                pieces.append((p_start, p_end))
                continue
            group: tuple[int, int] | None = None
            for s, e in sentence_spans(text[p_start:p_end]):
                sentence = (p_start + s, p_start + e)
                if group and count_tokens(text[group[0] : sentence[1]]) <= self.chunk_size:
                    group = (group[0], sentence[1])
                else:
                    if group:
                        pieces.append(group)
                    group = sentence
            if group:
                pieces.append(group)
        return self._merge_short(text, pieces)

    def _merge_short(self, text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
        merged: list[tuple[int, int]] = []
        for piece in pieces:
            if (
                merged
                and (
                    count_tokens(text[slice(*merged[-1])]) < self.min_chunk_size
                    or count_tokens(text[slice(*piece)]) < self.min_chunk_size
                )
                and count_tokens(text[merged[-1][0] : piece[1]]) <= self.chunk_size
            ):
                merged[-1] = (merged[-1][0], piece[1])
            else:
                merged.append(piece)
        return merged

    def run(self, article: Article) -> list[Chunk]:
        """The article's chunks, in order."""
        return [
            Chunk(
                id=f"{article.id}#{position}",
                article_id=article.id,
                position=position,
                text=article.text[start:end],
                start=start,
                end=end,
            )
            for position, (start, end) in enumerate(self.spans(article.text))
        ]

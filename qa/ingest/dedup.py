"""Near-duplicate articles (syndicated copies with small wording changes) by MinHash over word shingles."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np

from qa.text import fold
from qa.types import Article

PERMUTATIONS = 128
BANDS = 32  # 32 bands of 4 rows: pairs above ~0.45 Jaccard share a bucket with high probability
SHINGLE = 4
_PRIME = (1 << 61) - 1
_WORD = re.compile(r"\w+", re.UNICODE)
_rng = np.random.default_rng(20240229)  # fixed: signatures must be comparable across runs and machines
_A = _rng.integers(1, _PRIME, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, size=PERMUTATIONS, dtype=np.uint64)


def shingles(text: str, size: int = SHINGLE) -> set[int]:
    """Hashes of the overlapping `size`-word windows of the folded text."""
    words = _WORD.findall(fold(text))
    if len(words) < size:
        words = words + [""] * (size - len(words))
    return {
        int.from_bytes(hashlib.blake2b(" ".join(words[i : i + size]).encode(), digest_size=8).digest(), "little")
        for i in range(len(words) - size + 1)
    }


def signature(text: str) -> np.ndarray:
    """The MinHash signature (PERMUTATIONS uint64 values) of `text`'s shingles."""
    values = np.fromiter(shingles(text), dtype=np.uint64) % np.uint64(_PRIME)
    # (a·x + b) mod p for every permutation and shingle; uint64 products wrap, which keeps them well mixed.
    hashed = (values[None, :] * _A[:, None] + _B[:, None]) % np.uint64(_PRIME)
    return hashed.min(axis=1)


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.mean(first == second))


def encode(sig: np.ndarray) -> str:
    """A signature as a compact hex string (for the article store)."""
    return sig.astype("<u8").tobytes().hex()


def decode(text: str) -> np.ndarray:
    """A signature back from `encode`'s hex string."""
    return np.frombuffer(bytes.fromhex(text), dtype="<u8").astype(np.uint64)


class DuplicateFinder:
    """Finds, for a new signature, the stored keys whose texts are near-duplicates (LSH on bands)."""

    def __init__(self, threshold: float = 0.6) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold is a Jaccard similarity in (0, 1], got {threshold}")
        self.threshold = threshold
        self._signatures: dict[str, np.ndarray] = {}
        self._buckets: dict[tuple[int, bytes], set[str]] = defaultdict(set)

    def add(self, key: str, sig: np.ndarray) -> None:
        """Remember `key`'s signature."""
        self._signatures[key] = sig
        for band in _bands(sig):
            self._buckets[band].add(key)

    def matches(self, sig: np.ndarray) -> list[tuple[str, float]]:
        """Stored keys at or above the threshold, most similar first."""
        candidates = set().union(*(self._buckets.get(band, set()) for band in _bands(sig)))
        scored = [(key, similarity(sig, self._signatures[key])) for key in candidates]
        return sorted(((k, s) for k, s in scored if s >= self.threshold), key=lambda pair: (-pair[1], pair[0]))


def _bands(sig: np.ndarray) -> list[tuple[int, bytes]]:
    rows = PERMUTATIONS // BANDS
    return [(band, sig[band * rows : (band + 1) * rows].tobytes()) for band in range(BANDS)]


def article_signature(article: Article) -> str:
    """The MinHash signature of an article's title and text, as `encode`d hex."""
    return encode(_article_minhash(article))


def _article_minhash(article: Article) -> np.ndarray:
    return signature(f"{article.title}\n{article.text}")


def group_near_duplicates(
    stored: Iterable[tuple[str, str | None, str | None]],
    new: list[Article],
    threshold: float = 0.6,
    computed: Mapping[str, str] | None = None,
) -> list[Article]:
    """`new` articles with `minhash` and, for near-copies of a stored or earlier new article,
    `duplicate_group` metadata (the group's first member's id). `stored` gives each stored article's
    (id, minhash, duplicate_group), as `ArticleStore.signatures` does; stored articles are not changed.
    `computed` holds `article_signature`s already made elsewhere (by article id), which are not made again."""
    finder = DuplicateFinder(threshold)
    groups: dict[str, str] = {}
    for article_id, minhash, group in stored:
        if minhash:
            finder.add(article_id, decode(minhash))
            groups[article_id] = group or article_id
    grouped: list[Article] = []
    for article in new:
        known = (computed or {}).get(article.id)
        sig = decode(known) if known else _article_minhash(article)
        metadata = {k: v for k, v in article.metadata.items() if k != "duplicate_group"}
        metadata["minhash"] = encode(sig)
        match = next((key for key, _ in finder.matches(sig) if key != article.id), None)
        if match is not None:
            metadata["duplicate_group"] = groups[match]
        finder.add(article.id, sig)
        groups[article.id] = metadata.get("duplicate_group") or article.id
        grouped.append(replace(article, metadata=metadata))
    return grouped

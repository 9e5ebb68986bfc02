"""The closest word to a misspelling, found without comparing it with every word.

Directory search corrects a word it does not know towards the closest word of the
directory (60,000 words at 100k services) or of English (``ServiceIndex._correct``), as
rapidfuzz's ``extractOne`` with ``fuzz.ratio`` and a cutoff finds it: the first of the
words scoring best. Typed key by key, every half-typed prefix of a misspelt word is a
new word to correct, and scanning the whole list took ~4 ms each time.

``SpellingChoices.closest`` gives the same answer from the few words that can reach the
cutoff at all. ``fuzz.ratio`` is 200 * LCS / (len(a) + len(b)), where LCS, the longest
common subsequence, is at most the letters the two words share counted with repeats
(the sum over letters of the smaller count). Words whose bound is under the cutoff are
left out, the others kept in their order, so the first best word is the same word: the
words left out score under the cutoff and ``extractOne`` never returns them.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from directory.english import english_words
from directory.english import group as english_group

_LETTERS = 26  # a-z counted apart; every other character in one bucket
_OTHER = _LETTERS
_BUCKETS = _LETTERS + 1


def _bucket(ch: str) -> int:
    code = ord(ch) - 97
    return code if 0 <= code < _LETTERS else _OTHER


class SpellingChoices:
    """Words to correct towards, in their order, with each word's letter counts."""

    def __init__(self, choices: list[str]) -> None:
        self.words = choices
        n = len(choices)
        self.lengths = np.array([len(w) for w in choices], dtype=np.int64)
        # counts[b][i]: how many characters of bucket b word i has
        self.counts = np.zeros((_BUCKETS, n), dtype=np.int32)
        if n == 0:
            return
        try:  # every character's code point, in order, and the word of each
            joined = "".join(choices).encode("utf-32-le")
        except UnicodeEncodeError:  # a lone surrogate: counted as numpy stores it
            joined = b""
        if joined or not any(choices):
            codes = np.frombuffer(joined, dtype=np.uint32).astype(np.int64)
            bucket = np.where((codes >= 97) & (codes < 97 + _LETTERS), codes - 97, _OTHER)
            flat = bucket * n + np.repeat(np.arange(n), self.lengths)
        else:  # a row of code points for each word, as long as the longest
            points = np.array(choices, dtype=str)
            width = points.dtype.itemsize // 4
            codes = points.view(np.uint32).reshape(n, width).astype(np.int64)
            bucket = np.where((codes >= 97) & (codes < 97 + _LETTERS), codes - 97, _OTHER)
            filled = np.arange(width)[None, :] < self.lengths[:, None]  # its own characters
            rows = np.broadcast_to(np.arange(n)[:, None], codes.shape)
            flat = (bucket[filled] * n + rows[filled]).ravel()
        self.counts = (
            np.bincount(flat, minlength=_BUCKETS * n).reshape(_BUCKETS, n).astype(np.int32)
        )

    @classmethod
    def joined(cls, parts: list[SpellingChoices], order: np.ndarray) -> SpellingChoices:
        """The words of ``parts`` one after another, taken in ``order`` (positions in
        that joined list), with their letter counts: what ``SpellingChoices`` of those
        words in that order holds, without counting their letters again."""
        made = cls.__new__(cls)
        words = [w for part in parts for w in part.words]
        made.words = [words[i] for i in order.tolist()]
        made.lengths = np.concatenate([p.lengths for p in parts])[order]
        made.counts = np.concatenate([p.counts for p in parts], axis=1)[:, order]
        return made

    def closest(self, word: str, cutoff: float) -> tuple[str, float] | None:
        """What ``process.extractOne(word, words, scorer=fuzz.ratio,
        score_cutoff=cutoff)`` returns (its word and score), or None."""
        if not self.words:
            return None
        shared = np.zeros(len(self.words), dtype=np.int32)
        for bucket, count in Counter(_bucket(ch) for ch in word).items():
            shared += np.minimum(self.counts[bucket], count)
        # 200 * LCS / (len(word) + len(w)) >= cutoff is possible only where this holds
        # (with a little to spare: rapidfuzz's score is a float)
        can = np.flatnonzero(200.0 * shared + 1e-6 >= cutoff * (len(word) + self.lengths))
        if can.size == 0:
            return None
        words = self.words
        pool = [words[i] for i in can.tolist()]
        found = process.extractOne(word, pool, scorer=fuzz.ratio, score_cutoff=cutoff)
        return (found[0], found[1]) if found else None


@lru_cache(maxsize=512)
def english_choices(first: str, length: int) -> SpellingChoices:
    """``directory.english.near(first, length)`` (English words a misspelling may be
    corrected towards, commonest first) made ready once for each first letter and length:
    joined from the words of each exact length (``_english_group``, each counted once), as
    ``near`` joins them and sorts them by frequency (a stable sort: the same order). A
    misspelling typed key by key asks for one length more on each key, which needs one
    new length's words counted, not five."""
    parts = [_english_group(first, n) for n in range(length - 2, length + 3)]
    ranks = np.concatenate([rank for rank, _choices in parts])
    order = np.argsort(ranks, kind="stable")
    return SpellingChoices.joined([choices for _rank, choices in parts], order)


@lru_cache(maxsize=2048)
def _english_group(first: str, n: int) -> tuple[np.ndarray, SpellingChoices]:
    """English words of exactly ``n`` letters starting with ``first``: their frequency
    buckets (``english_words``) and letter counts."""
    words = english_group(first, n) if n > 0 else []
    rank = english_words()
    return np.array([rank[w] for w in words], dtype=np.int64), SpellingChoices(words)

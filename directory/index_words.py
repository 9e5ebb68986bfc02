"""The words of a batch of descriptions as token numbers, found with numpy.

``DescriptionWords.numbers`` gives what mapping every word ``directory.text.words`` finds
in each text (the texts one after another, a separator's number between two) through the
index builder's word map gives, without a Python object per word. The texts are put in
UTF-8, ’ made ' and A-Z lowered (as ``words`` lowers them: str.lower makes no other
character ASCII but İ, lowered to i and a combining dot, and the Kelvin sign, to k:
those two are lowered here as it lowers them), with every
byte that cannot be part of a word (anything but a-z, 0-9 and ') made a space, so the
words are the runs of the bytes left.
A run of at most 16 bytes with no apostrophe is a word exactly as the pattern finds it;
it is read as two 64-bit numbers (its bytes, zero-padded: the word itself) and looked up
in an open-addressing table held in numpy arrays, keyed by those two numbers (no two
words share a key). A new word is worked out once by the builder (a Python call per
distinct word); a run with an apostrophe or a longer one is read by the pattern itself
(``directory.text._WORD``), once per distinct run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from directory.text import _WORD

WIDTH = 16  # bytes of a word read as numbers (two 64-bit ones)
SEPARATOR = -2  # the number between two texts
_SEP = 1  # the byte between two texts (a text's own is made a space)
# A-Z lowered; a-z, 0-9 and ' kept (and the separator); every other byte a space, those
# of any non-ASCII character too
_TABLE = bytes(
    c + 32 if 65 <= c <= 90 else c if (97 <= c <= 122 or 48 <= c <= 57 or c in (39, _SEP)) else 32
    for c in range(256)
)
_MIX0 = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xC2B2AE3D27D4EB4F)


class DescriptionWords:
    """Word -> number for descriptions, a batch of texts at a time (see the module).
    ``lookup`` is the builder's map of a word (str) to its number (-1: a stopword)."""

    def __init__(self, lookup: Callable[[str], int]) -> None:
        self._lookup = lookup
        self._bits = 12
        # the table: a word's two numbers (0 and 0: empty) and its number
        self._k0 = np.zeros(1 << self._bits, dtype=np.uint64)
        self._k1 = np.zeros(1 << self._bits, dtype=np.uint64)
        self._num = np.zeros(1 << self._bits, dtype=np.int32)
        self._count = 0
        self._runs: dict[bytes, list[int]] = {}  # runs read by the pattern -> numbers
        self._insert([_SEP], [0], [SEPARATOR])

    def _insert(self, k0: list[int], k1: list[int], numbers: list[int]) -> None:
        """Words new to the table (each key once)."""
        self._count += len(k0)
        if self._count * 4 > self._k0.size:  # a quarter full at most: short probes
            held = np.flatnonzero(self._k0)
            k0 = self._k0[held].tolist() + k0
            k1 = self._k1[held].tolist() + k1
            numbers = self._num[held].tolist() + numbers
            while self._count * 4 > (1 << self._bits):
                self._bits += 1
            self._k0 = np.zeros(1 << self._bits, dtype=np.uint64)
            self._k1 = np.zeros(1 << self._bits, dtype=np.uint64)
            self._num = np.zeros(1 << self._bits, dtype=np.int32)
        table0, table1, table_num = self._k0, self._k1, self._num
        mask = (1 << self._bits) - 1
        first = _slots(np.array(k0, np.uint64), np.array(k1, np.uint64), self._bits).tolist()
        for a, b, number, slot in zip(k0, k1, numbers, first, strict=True):
            while table0[slot]:
                slot = (slot + 1) & mask
            table0[slot], table1[slot], table_num[slot] = a, b, number

    def _find(self, k0: np.ndarray, k1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each word's number, and where the table has none (its number then 0)."""
        table0, table1 = self._k0, self._k1
        mask = np.uint64((1 << self._bits) - 1)
        slot = _slots(k0, k1, self._bits)
        held = table0[slot]
        hit = (held == k0) & (table1[slot] == k1)
        number = np.where(hit, self._num[slot], 0)
        # the rest: a miss where the slot is empty, else the next slot
        todo = np.flatnonzero(~hit & (held != 0))
        missing = held == 0
        slot = slot[todo]
        while todo.size:
            slot = (slot + np.uint64(1)) & mask
            held = table0[slot]
            hit = (held == k0[todo]) & (table1[slot] == k1[todo])
            number[todo[hit]] = self._num[slot[hit]]
            missing[todo[held == 0]] = True
            going = ~hit & (held != 0)
            todo, slot = todo[going], slot[going]
        return number, missing

    def numbers(self, texts: list[str]) -> np.ndarray:
        """The numbers of the texts' words, the texts one after another with SEPARATOR
        between two: ``[lookup(w) for w in words(text)]`` for each text, joined."""
        joined = "\x01".join(texts)
        if joined.count("\x01") != len(texts) - 1:  # a text's own: made a space first
            joined = "\x01".join([text.replace("\x01", " ") for text in texts])
        if "\u0130" in joined or "\u212a" in joined:
            joined = joined.replace("\u0130", "i\u0307").replace("\u212a", "k")
        raw = (
            b" "
            + joined.encode("utf-8", "surrogatepass")
            .replace("’".encode(), b"'")
            .replace(b"\x01", b" \x01 ")
            .translate(_TABLE)
            + b" "
        )
        size = len(raw)
        buf = np.frombuffer(raw + bytes(WIDTH), dtype=np.uint8)
        # where each run of word bytes starts and ends (the buffer starts and ends with a space)
        spaces = buf[:size] == 32
        edges = np.flatnonzero(spaces[1:] != spaces[:-1]) + 1
        starts, ends = edges[0::2], edges[1::2]
        length = ends - starts
        # each word's first 16 bytes as two numbers, the bytes after its end cleared
        view = np.ndarray((size + WIDTH - 7,), dtype="<u8", buffer=buf, strides=(1,))
        cut0 = (64 - 8 * np.minimum(length, 8)).astype(np.uint64)
        cut1 = (64 - 8 * np.clip(length - 8, 0, 8)).astype(np.uint64)
        k0 = view[starts] << cut0 >> cut0
        k1 = view[starts + 8] << cut1 >> cut1
        # read by the pattern: runs with an apostrophe or longer than WIDTH
        odd = length > WIDTH
        quotes = np.flatnonzero(buf[:size] == 39)
        if quotes.size:
            odd[np.searchsorted(starts, quotes, side="right") - 1] = True
        number, missing = self._find(k0, k1)
        new = missing & ~odd
        if new.any():
            at = np.flatnonzero(new)
            # each new word once: its first place (a later one's entry overwritten by it)
            firsts = dict(
                zip(
                    zip(k0[at][::-1].tolist(), k1[at][::-1].tolist(), strict=True),
                    at[::-1].tolist(),
                    strict=True,
                )
            )
            at = np.array(list(firsts.values()), dtype=np.int64)
            lookup = self._lookup
            self._insert(
                k0[at].tolist(),
                k1[at].tolist(),
                [
                    lookup(raw[a:b].decode())
                    for a, b in zip(starts[at].tolist(), ends[at].tolist(), strict=True)
                ],
            )
            number[new] = self._find(k0[new], k1[new])[0]
        if not odd.any():
            return number
        counts = np.ones(number.size, dtype=np.int64)
        runs: list[list[int]] = []
        at = np.flatnonzero(odd)
        for i in at.tolist():
            run = raw[starts[i] : ends[i]]
            got = self._runs.get(run)
            if got is None:
                got = self._runs[run] = [self._lookup(w) for w in _WORD.findall(run.decode())]
            counts[i] = len(got)
            runs.append(got)
        result = np.repeat(number, counts)
        last = np.cumsum(counts)[at].tolist()
        for end, got in zip(last, runs, strict=True):
            result[end - len(got) : end] = got
        return result


def _slots(k0: np.ndarray, k1: np.ndarray, bits: int) -> np.ndarray:
    """Each word's first slot in a table of 2**bits: the top bits of a hash of its key."""
    hashed = k0 * _MIX0 ^ k1 * _MIX1
    hashed ^= hashed >> np.uint64(31)
    hashed *= _MIX0
    return hashed >> np.uint64(64 - bits)

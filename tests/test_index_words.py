"""The index builder's numpy paths against the plain rules they stand in for: a batch of
descriptions' words (directory.index_words) against ``directory.text.words``, and the
postings' counting sort (directory.index._by_token, _services) against a sort by (token,
entry)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from directory.index import IndexBuilder, IndexDoc, _by_token, _services
from directory.index_words import SEPARATOR, DescriptionWords
from directory.text import words

# characters that test each rule: ASCII letters in both cases, digits, both apostrophes,
# the separator's own byte, spaces and punctuation, non-ASCII letters (one that str.lower
# makes ASCII: İ, the Kelvin sign; final sigma; one that lowers to two), a lone surrogate
ALPHABET = [
    *"abcxyzABCXYZ019'’ \x01\n\t.,;-_",
    "é",
    "É",
    "\u0130",
    "\u212a",
    "Σ",
    "ς",
    "ẞ",
    "ﬁ",
    "\ud800",
    "€",
]


def _words_of(texts: list[str]) -> list[str]:
    """The rule: each text's words (``words``), "|" between two texts."""
    out: list[str] = []
    for i, text in enumerate(texts):
        if i:
            out.append("|")
        out += words(text)
    return out


def _text(rng: random.Random) -> str:
    size = rng.choice([0, 1, 3, 12, 60])
    if rng.random() < 0.4:
        return "".join(rng.choice(ALPHABET) for _ in range(size))
    # words of a few letters (some past 16 bytes), with apostrophes and the odd capital
    return " ".join(
        "".join(rng.choice("abcyzK'’0İ") for _ in range(rng.choice([1, 2, 5, 8, 9, 16, 17, 30])))
        for _ in range(size // 4 + 1)
    )


class _Map(dict[str, int]):
    """A word map that numbers each new word (as the builder's does) and can say back
    which word a number is."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []

    def __missing__(self, word: str) -> int:
        assert isinstance(word, str)
        self.words.append(word)
        number = self[word] = len(self.words) - 1
        return number

    def read(self, numbers: np.ndarray) -> list[str]:
        return ["|" if n == SEPARATOR else self.words[n] for n in numbers.tolist()]


@pytest.mark.parametrize("seed", range(4))
def test_a_batch_of_texts_gives_the_words_each_text_has(seed: int) -> None:
    rng = random.Random(seed)
    table = _Map()
    numbers = DescriptionWords(table.__getitem__)
    for _ in range(300):
        texts = [_text(rng) for _ in range(rng.randint(1, 6))]
        assert table.read(numbers.numbers(texts)) == _words_of(texts), texts
    assert len(table) > 1024  # the table grew past its first size on the way


def test_the_words_of_known_cases() -> None:
    table = _Map()
    numbers = DescriptionWords(table.__getitem__)
    texts = [
        "Men’s SHED: don't-stop rock'n'roll veterans' 'quoted' 24/7",
        "",
        "İstanbul \u212aelvin café’s x\x01y",
        "abcdefghijklmnopq abcdefghijklmnop",  # 17 bytes, then 16
    ]
    shown = table.read(numbers.numbers(texts))
    assert shown == [
        "men's",
        "shed",
        "don't",
        "stop",
        "rock'n",
        "roll",
        "veterans",
        "quoted",
        "24",
        "7",
        "|",
        "|",
        "i",
        "stanbul",
        "kelvin",
        "caf",
        "s",
        "x",
        "y",
        "|",
        "abcdefghijklmnopq",
        "abcdefghijklmnop",
    ]


@pytest.mark.parametrize("tokens", [5, 40_000, 70_000, 300_000])
def test_postings_order_is_by_token_then_entry(tokens: int) -> None:
    rng = np.random.default_rng(tokens)
    size = 600_000 if tokens == 70_000 else 50_000  # more than one slice of 2**18
    tok = rng.integers(0, tokens, size).astype(np.int32)
    counts, to = _by_token(tok, tokens)
    order = np.lexsort((np.arange(size), tok))  # by token, then entry
    assert counts.tolist() == np.bincount(tok, minlength=tokens).tolist()
    assert np.array_equal(to[order], np.arange(size))
    # and each placed entry's service, its entries one service after another
    ends = np.cumsum(rng.integers(0, 9, size // 4))
    ends = np.minimum(ends, size)
    ends[-1] = size
    service = np.searchsorted(ends, np.arange(size), side="right")
    assert np.array_equal(_services(ends, to), service[order])


def _hours_rule(docs: list[IndexDoc]) -> dict[int, list[tuple[int, int, int]]]:
    """Each service's opening-hours entries the filters can use, by day: (service,
    opens, closes) in minutes, as a reading of each entry on its own gives them."""
    out: dict[int, list[tuple[int, int, int]]] = {d: [] for d in range(1, 8)}
    for i, doc in enumerate(docs):
        for h in doc.opening_hours:
            try:
                day = int(h["day"])
                opens, closes = (int(t[:2]) * 60 + int(t[3:]) for t in (h["opens"], h["closes"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            if 1 <= day <= 7:
                out[day].append((i, opens or 1440, closes or 1440))
    return out


@pytest.mark.parametrize("odd_one", [False, True])
def test_opening_hours_by_day_as_each_entry_reads(odd_one: bool) -> None:
    entries: list[Any] = [
        {"day": 1, "opens": "09:00", "closes": "17:30"},
        {"day": "2", "opens": "10:00", "closes": "00:00"},  # midnight: the day's end
        {"day": True, "opens": "08:15", "closes": "12:00"},  # True is day 1
        {"day": 3.0, "opens": "11:00", "closes": "13:00"},
        {"day": 8, "opens": "09:00", "closes": "17:00"},  # no such day
        {"day": 4, "opens": "9am", "closes": "17:00"},  # a time it cannot read
        {"day": 5, "opens": 900, "closes": "17:00"},
        {"day": [5], "opens": "09:00", "closes": "17:00"},  # a value that cannot be a key
        {"day": 6, "opens": "09:00"},  # no closing time
        {"day": 7, "opens": "10:00", "closes": "14:00", "note": "by appointment"},
    ]
    if odd_one:
        entries.append("Monday 9-5")  # not a mapping at all: the batch read entry by entry
    docs = [
        IndexDoc(service_id=i, source_id=str(i), name="", opening_hours=entries[i % 4 :: 2])
        for i in range(9)
    ]
    builder = IndexBuilder()
    builder.add_many(docs[:5])
    builder.add_many(docs[5:])
    got = {
        d: list(zip(a.tolist(), b.tolist(), c.tolist(), strict=True))
        for d, (a, b, c) in builder._hours.items()
    }
    assert got == _hours_rule(docs)
    assert got[1] and got[2] and got[3] and got[7]


def test_field_entries_the_same_however_little_is_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A service's field entries do not depend on which texts' entries were remembered:
    a build that forgets them every few texts gives the same entries."""
    import directory.index as index_module

    rng = random.Random(5)
    words_ = ["food", "bank", "debt", "advice", "men's", "shed", "the", "and", "café", "help"]

    def text(k: int) -> str:
        return " ".join(rng.choice(words_) for _ in range(k))

    docs = [
        IndexDoc(
            service_id=i,
            source_id=str(i),
            name=text(rng.randint(0, 4)),
            organisation=rng.choice(["", "North Hub", "Debt Line", text(2)]),
            description=text(6),
            taxonomy_terms=rng.choice([[], ["Food banks"], ["Debt", "Money advice"]]),
            domains=rng.choice([[], ["food"], ["money", "food"]]),
            z_codes=rng.choice([[], ["Z59.4"], ["Z59.4", "z59.4"]]),
        )
        for i in range(300)
    ]

    def build() -> IndexBuilder:
        builder = IndexBuilder()
        for at in range(0, len(docs), 37):
            builder.add_many(docs[at : at + 37])
        return builder

    normal = build()
    monkeypatch.setattr(index_module, "CACHE_LIMIT", 3)
    monkeypatch.setattr(index_module, "RUN_LIMIT", 10)
    forgetful = build()
    assert len(forgetful._run_at) < len(normal._run_at)  # it did forget
    assert [normal._names[t] for t in normal._tok] == [forgetful._names[t] for t in forgetful._tok]
    assert normal._val == forgetful._val and normal._f_len == forgetful._f_len


def test_a_spilt_table_holds_the_strings_added_in_order(tmp_path: Path) -> None:
    from directory.index_file import _Spill

    spill = _Spill(tmp_path)
    spill.add_many([b"first", "second \u00e9".encode(), b""])
    spill.add("third")
    spill.add_many([])
    with (tmp_path / "out").open("wb") as out:
        out.write(b"head")
        spill.copy_to(out)
        out.write(b"tail")
    spill.close()
    assert spill.offsets().tolist() == [0, 5, 14, 14, 19]
    assert (tmp_path / "out").read_bytes() == "headfirstsecond \u00e9thirdtail".encode()


def test_postings_built_in_the_files_order_save_the_same_file(tmp_path: Path) -> None:
    """An index whose postings were built in the file's order (tokens as strings: code
    point order, UTF-8's byte order) saves the bytes the postings read token by token
    save, non-ASCII tokens among them."""
    from directory.index_file import save_index
    from directory.search import ServiceIndex

    rng = random.Random(11)
    vocabulary = ["café", "zoë", "ärzte", "advice", "food", "Øresund", "debt", "naïve", "ok"]
    docs = [
        IndexDoc(
            service_id=i + 1,
            source_id=str(i),
            name=" ".join(rng.sample(vocabulary, 2)),
            description=" ".join(rng.choice(vocabulary) for _ in range(8)),
            taxonomy_terms=[rng.choice(vocabulary)],
        )
        for i in range(40)
    ]
    index = ServiceIndex(docs)
    assert index._flat_postings is not None
    assert index._flat_postings[0] == sorted(index._postings)
    save_index(index, tmp_path / "flat.lwidx", "s")
    index._flat_postings = None  # read token by token
    save_index(index, tmp_path / "by-token.lwidx", "s")
    assert (tmp_path / "flat.lwidx").read_bytes() == (tmp_path / "by-token.lwidx").read_bytes()

"""Need domains and Z codes of a service, from its taxonomy terms and text.

The mapping is data (``directory/taxonomy_map.csv``): ``taxonomy`` rows match a feed's
taxonomy term exactly (case and punctuation ignored); ``keyword`` rows match a word or
phrase in a term that has no exact row, or in the service's name and description when the
feed gives no usable taxonomy at all (real council list pages often have none).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from operator import itemgetter
from typing import Any

from directory.text import _WORD, stem, words

_ZCODE = re.compile(r"^Z\d\d\.\d$")
Classes = tuple[tuple[str, ...], tuple[str, ...]]
"""A service's need domains (in catalogue order) and Z codes (sorted), each once."""
_UNKNOWN: Any = object()
KNOWN_TERMS = 16_384
"""Distinct lists of taxonomy terms whose categories are remembered (then it starts again)."""


@cache
def domain_keys() -> tuple[str, ...]:
    """The need-domain keys, in catalogue order (from ``codes/domains.csv``)."""
    from importlib import resources  # here, not at import: a search need not read it

    text = resources.files("codes").joinpath("domains.csv").read_text(encoding="utf-8")
    return tuple(row["key"] for row in csv.DictReader(text.splitlines()))


@lru_cache(maxsize=8192)
def _norm_phrase(text: str) -> tuple[str, ...]:
    return _phrase(text)


def _phrase(text: str) -> tuple[str, ...]:
    """``_norm_phrase`` not remembered (a description: each is read once); each word's
    stem looked up in ``_STEMS`` all at once (``itemgetter``, in C), the words it lacks
    stemmed and added first."""
    found = _words(text)
    if len(found) < 2:
        return tuple(map(stem, found))
    lookup = itemgetter(*found)
    try:
        return lookup(_STEMS)
    except KeyError:
        pass
    if len(_STEMS) >= KNOWN_STEMS:
        _STEMS.clear()
    for word in set(found).difference(_STEMS):
        if len(word) > 64:  # (a word this long is stemmed, not kept)
            return tuple(map(stem, found))
        _STEMS[word] = stem(word)
    return lookup(_STEMS)


KNOWN_STEMS = 100_000
"""Distinct words whose stems ``_phrase`` keeps (then it starts again)."""
_STEMS: dict[str, str] = {}


# After ``lower()``: the bytes of a word (``_WORD``: letters, digits and an apostrophe)
# kept, every other byte a space.
_WORD_BYTES = bytes(
    b if chr(b) in "abcdefghijklmnopqrstuvwxyz0123456789'" else 32 for b in range(256)
)


def _words(text: str) -> list[str]:
    """``directory.text.words``, for ASCII text in a few passes: no match of ``_WORD``
    takes a byte other than a letter, a digit or an apostrophe, so the words are those of
    each run of such bytes, and a run without an apostrophe is one word."""
    if not text.isascii():
        return words(text)
    runs = text.lower().encode("ascii").translate(_WORD_BYTES).decode("ascii")
    if "'" in runs:
        runs = _apostrophes(runs)
    return runs.split()


def _apostrophes(runs: str) -> str:
    """The runs (of ``_WORD``'s bytes, between spaces) with each one holding an apostrophe
    replaced by its words as ``_WORD`` finds them, a space between each."""
    pieces: list[str] = []
    done = 0
    at = runs.find("'")
    while at >= 0:
        start = runs.rfind(" ", 0, at) + 1
        end = runs.find(" ", at)
        end = len(runs) if end < 0 else end
        pieces.append(runs[done:start])
        pieces.append(" ".join(_WORD.findall(runs[start:end])))
        done = end
        at = runs.find("'", end)
    pieces.append(runs[done:])
    return "".join(pieces)


@dataclass(frozen=True)
class MapRow:
    kind: str
    term: str
    domains: tuple[str, ...]
    z_codes: tuple[str, ...]


@dataclass(frozen=True)
class TaxonomyMap:
    exact: dict[tuple[str, ...], MapRow]
    keywords: tuple[tuple[tuple[str, ...], MapRow], ...]

    def classify(
        self, terms: list[str], name: str, description: str
    ) -> tuple[list[str], list[str]]:
        """(domains, z_codes) for a service, each in a stable order without repeats."""
        found = self._by_terms(terms)
        if found is None:
            found = self._by_name(name)
        if found is None:
            hits = self._keyword_hits(self._description_phrase(description))
            if not hits:
                return [], []
            found = self._sorted(hits)
        return list(found[0]), list(found[1])

    def _by_terms(self, terms: list[str]) -> Classes | None:
        """What the rows the taxonomy terms match give (each term's exact row, then the
        keyword rows of those with none), None if they match none; each distinct short
        list of terms read once."""
        if not terms:
            return None
        if len(terms) > 8 or sum(map(len, terms)) > 400:  # (not remembered)
            hits = self._read_terms(terms)
            return self._sorted(hits) if hits else None
        key = tuple(terms)
        known = self._known_terms
        found = known.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            hits = self._read_terms(terms)
            if len(known) >= KNOWN_TERMS:
                known.clear()
            found = known[key] = self._sorted(hits) if hits else None
        return found

    def _by_name(self, name: str) -> Classes | None:
        """What the keyword rows a service's name matches give, None if it matches none;
        each distinct name read once."""
        known = self._known_names
        found = known.get(name, _UNKNOWN)
        if found is _UNKNOWN:
            hits = self._keyword_hits(_norm_phrase(name))
            found = self._sorted(hits) if hits else None
            if len(name) <= 200:  # (a longer name is read, not remembered)
                if len(known) >= KNOWN_TERMS:
                    known.clear()
                known[name] = found
        return found

    def _read_terms(self, terms: list[str]) -> list[MapRow]:
        hits: list[MapRow] = []
        unmatched: list[str] = []
        for term in terms:
            row = self.exact.get(_norm_phrase(term))
            if row:
                hits.append(row)
            else:
                unmatched.append(term)
        for term in unmatched:
            hits.extend(self._keyword_hits(_norm_phrase(term)))
        return hits

    def _sorted(self, hits: list[MapRow]) -> Classes:
        """The rows' domains in catalogue order and their Z codes, each once; each distinct
        list of rows worked out once."""
        key = tuple(map(id, hits))  # (the rows live as long as the map)
        known = self._known_rows
        found = known.get(key)
        if found is None:
            domains = sorted({d for row in hits for d in row.domains}, key=self._order.__getitem__)
            codes = sorted({z for row in hits for z in row.z_codes})
            if len(known) >= KNOWN_TERMS:
                known.clear()
            found = known[key] = (tuple(domains), tuple(codes))
        return found

    def _description_phrase(self, text: str) -> tuple[str, ...]:
        """``_norm_phrase`` of a description as keyword phrases read it: a word that
        cannot be in any of them (its stem is no word of theirs) as ``""`` (no word at
        all), without stemming it (most of a description's words, and most of them new);
        each word's stem looked up all at once (``itemgetter``, in C). ``_key_stem``, each
        word a description holds that was not seen before worked out first."""
        found = _words(text)
        known = self._key_stems
        if len(found) < 2:
            return tuple(map(self._key_stem, found))
        missing = set(found).difference(known)  # (most descriptions hold a word not seen)
        if missing:
            if len(known) >= KNOWN_STEMS:
                known.clear()
                missing = set(found)
            starts, short = self._stem_starts
            for word in missing:
                if len(word) > 64:  # (a word this long is stemmed, not kept)
                    return tuple(map(self._key_stem, found))
                if (
                    word[:3] in starts or word.startswith(short) or "'" in word or "’" in word
                ):  # (_key_stem)
                    known[word] = stem(word)
                else:
                    known[word] = ""
        return itemgetter(*found)(known)

    def _key_stem(self, word: str) -> str:
        """``stem(word)`` if it may be a word of a keyword phrase, else ``""``. A stem is
        the word (lower case, apostrophes out) cut short, save that ``ies`` becomes
        ``y``: a word whose stem is a phrase's word starts with that stem (less a
        final ``y``), so with one of ``_stem_starts``."""
        starts, short = self._stem_starts
        if word[:3] in starts or word.startswith(short) or "'" in word or "’" in word:
            return stem(word)
        return ""

    @cached_property
    def _stem_starts(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """The first three letters of each keyword phrase's words (less a final ``y``),
        and those shorter whole."""
        roots = {w[:-1] if w.endswith("y") else w for phrase, _ in self.keywords for w in phrase}
        return frozenset(r[:3] for r in roots if len(r) >= 3), tuple(r for r in roots if len(r) < 3)

    @cached_property
    def _key_stems(self) -> dict[str, str]:
        return {}

    @cached_property
    def _known_terms(self) -> dict[tuple[str, ...], Classes | None]:
        return {}

    @cached_property
    def _known_names(self) -> dict[str, Classes | None]:
        return {}

    @cached_property
    def _known_rows(self) -> dict[tuple[int, ...], Classes]:
        return {}

    @cached_property
    def _first_words(self) -> frozenset[str]:
        """The first word of every keyword phrase."""
        return frozenset(self._by_first_word)

    @cached_property
    def _order(self) -> dict[str, int]:
        """Each need domain's place in the catalogue."""
        return {key: i for i, key in enumerate(domain_keys())}

    @cached_property
    def _by_first_word(self) -> dict[str, list[int]]:
        """Keyword numbers by the first word of their phrase."""
        index: dict[str, list[int]] = {}
        for number, (phrase, _row) in enumerate(self.keywords):
            if phrase:
                index.setdefault(phrase[0], []).append(number)
        return index

    @cached_property
    def _empty(self) -> tuple[int, ...]:
        """Keyword numbers whose phrase has no word (found in any text)."""
        return tuple(n for n, (phrase, _row) in enumerate(self.keywords) if not phrase)

    def _keyword_hits(self, text: tuple[str, ...]) -> list[MapRow]:
        """Keyword rows whose phrase occurs in the text, in the map's order. Only phrases
        starting with a word of the text are tried (a description is long, the map is not),
        and only where the text has that word."""
        by_first = self._by_first_word
        candidates = {n for word in self._first_words.intersection(text) for n in by_first[word]}
        candidates.update(self._empty)
        found = []
        for number in sorted(candidates):
            phrase, row = self.keywords[number]
            n = len(phrase)
            if n <= 1:  # no word, or the one word the text was seen to hold
                found.append(row)
                continue
            first, last = phrase[0], len(text) - n
            at = -1
            while True:
                try:
                    at = text.index(first, at + 1, last + 1)
                except ValueError:
                    break
                if text[at : at + n] == phrase:
                    found.append(row)
                    break
        return found


@cache
def load_taxonomy_map() -> TaxonomyMap:
    """Load and check ``taxonomy_map.csv`` (cached; raises ValueError if it is malformed)."""
    from importlib import resources

    text = resources.files("directory").joinpath("taxonomy_map.csv").read_text(encoding="utf-8")
    keys = set(domain_keys())
    exact: dict[tuple[str, ...], MapRow] = {}
    keywords: list[tuple[tuple[str, ...], MapRow]] = []
    for line, raw in enumerate(csv.DictReader(text.splitlines()), start=2):
        kind = (raw.get("kind") or "").strip()
        term = (raw.get("term") or "").strip()
        domains = tuple(d.strip() for d in (raw.get("domains") or "").split(";") if d.strip())
        codes = tuple(z.strip() for z in (raw.get("z_codes") or "").split(";") if z.strip())
        where = f"taxonomy_map.csv line {line}"
        if kind not in ("taxonomy", "keyword") or not term or not domains:
            raise ValueError(f"{where}: needs kind (taxonomy|keyword), term and domains")
        for d in domains:
            if d not in keys:
                raise ValueError(f"{where}: unknown need domain {d!r}")
        for z in codes:
            if not _ZCODE.match(z):
                raise ValueError(f"{where}: {z!r} is not an ICD-10 Z code")
        row = MapRow(kind, term, domains, codes)
        if kind == "taxonomy":
            exact[_norm_phrase(term)] = row
        else:
            keywords.append((_norm_phrase(term), row))
    return TaxonomyMap(exact, tuple(keywords))

"""The directory search index's data, built once and then only read: what it keeps of each
service (``IndexDoc``, read from the database by ``load_docs``), the postings (index token ->
services and weights, built with numpy) and the arrays the filters use (free, ages,
languages, opening hours, locations).

``IndexData`` holds them; ``directory.search.ServiceIndex`` adds the queries and the ranking
(see ``directory.search`` for the design).
"""

from __future__ import annotations

import itertools
import json
import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from directory.index_words import DescriptionWords
from directory.text import stem, stopwords, words
from directory.vocabulary import Vocabulary, load_vocabulary

if TYPE_CHECKING:  # the database layer is imported by what reads it (load_docs), so an
    # index opened from its file (directory.index_file) never imports SQLAlchemy
    from sqlmodel import Session

FIELD_WEIGHTS = {"name": 3.0, "taxonomy": 2.5, "organisation": 1.0, "description": 1.0}
DOMAIN_WEIGHT = 1.0
ZCODE_WEIGHT = 1.0
BM25_K1 = 1.2
BM25_B = 0.75
CACHE_LIMIT = 20_000  # texts whose tokens are remembered while building (repeats are common)
RUN_LIMIT = 1 << 20  # the remembered texts' entries (then forgotten at once)
BATCH = 2000  # services added at a time
# the postings as the index file holds them: the tokens in order, where each one's start
# (and the last's end), the services and the weights
FlatPostings = tuple[list[str], np.ndarray, np.ndarray, np.ndarray]


@dataclass
class IndexDoc:
    """What the index keeps of one service."""

    service_id: int
    source_id: str
    name: str
    organisation: str = ""
    description: str = ""
    taxonomy_terms: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    z_codes: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    min_age: int | None = None
    max_age: int | None = None
    is_free: bool = True
    last_verified: date | None = None
    opening_hours: list[dict[str, Any]] = field(default_factory=list)
    phone: str = ""
    # (town, postcode, latitude, longitude)
    locations: list[tuple[str, str, float | None, float | None]] = field(default_factory=list)


_HOUR_ENTRY = itemgetter("day", "opens", "closes")


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    value = int(hour) * 60 + int(minute)
    return 1440 if value == 0 else value


class _WordNumbers(dict[str, int]):
    """word -> its token's number (-1: a stopword), a new word worked out when first
    looked up (``__missing__``)."""

    def __init__(self, builder: IndexBuilder) -> None:
        super().__init__()
        self._builder = builder

    def __missing__(self, word: str) -> int:
        builder = self._builder
        tok = None if word.replace("'", "") in builder._stop else stem(word)
        builder._word_token.setdefault(word, tok)
        number = self[word] = -1 if tok is None else builder._tid(tok)
        return number


class IndexBuilder:
    """Builds the index's data one service at a time (``add``), keeping only what ranking
    and the filters need (compact arrays, never the services themselves): the same data
    whether the services were all in memory (``IndexData``) or streamed from the database
    into an index file (``directory.index_build``)."""

    def __init__(self) -> None:
        self.size = 0
        self._ids: dict[str, int] = {}
        self._names: list[str] = []
        self._stop = stopwords()
        self._word_token: dict[str, str | None] = {}  # word -> its stem, None for a stopword
        # word -> its token's number (-1: a stopword; -2: the texts' separator)
        self._word_tid = _WordNumbers(self)
        self._description_words = DescriptionWords(self._word_tid.__getitem__)
        # field -> its texts (needs: its domains and z-codes) -> the run of entries they
        # make, each field its own (names are mostly unique in a big directory, the rest
        # repeat); the runs one after another (run k: from _run_at[k] to _run_at[k + 1])
        self._field_cache: dict[str, dict[Any, int]] = {
            f: {} for f in ("name", "taxonomy", "organisation", "needs")
        }
        self._run_tok = array("i")
        self._run_val = array("f")
        self._run_at = array("q", [0])
        self._flat: FlatPostings | None = None  # the postings as the index file holds them
        # compact arrays, not lists of Python numbers: a 100k directory has millions of entries
        # Each service's entries one after another (its fields', then its description's):
        # token number and value (a field's weight; a description word's count, weighted
        # once the average length is known), with each service's two counts.
        self._tok = array("i")
        self._val = array("f")
        self._f_len = array("i")
        self._d_len = array("i")
        self._lengths = array("f")
        self._free = array("b")
        self._min_age = array("h")
        self._max_age = array("h")
        self._verified = array("i")
        self._langs: dict[str, array[int]] = {}
        self._no_language = array("i")
        self._hours = {d: (array("i"), array("h"), array("h")) for d in range(1, 8)}
        self._minutes: dict[str, int] = {}  # "HH:MM" -> minutes (feeds repeat a few a lot)
        # an opening-hours entry's (day, opens, closes) as given -> as the filters use it
        self._hour_of: dict[tuple[Any, Any, Any], int] = {}
        self._loc_doc = array("i")
        self._loc_lat = array("d")
        self._loc_lon = array("d")
        self._postcodes: dict[str, list[tuple[float, float]]] = {}
        self._outward: dict[str, list[tuple[float, float]]] = {}
        self._towns: dict[str, list[tuple[float, float]]] = {}
        self._town_names: dict[str, str] = {}

    def _tid(self, token: str) -> int:
        value = self._ids.get(token)
        if value is None:
            value = self._ids[token] = len(self._names)
            self._names.append(token)
        return value

    def _tids(self, tokens: Iterable[str]) -> list[int]:
        """``[self._tid(t) for t in tokens]`` without a call per token."""
        ids, names = self._ids, self._names
        out = []
        for token in tokens:
            value = ids.get(token)
            if value is None:
                value = ids[token] = len(names)
                names.append(token)
            out.append(value)
        return out

    def _text_tokens(self, text: str) -> list[str]:
        """``tokens(text)``, with the per-word work done once per distinct word."""
        word_token, stop = self._word_token, self._stop
        out = []
        for word in words(text):
            tok = word_token.get(word, "")
            if tok == "":
                tok = word_token[word] = None if word.replace("'", "") in stop else stem(word)
            if tok is not None:
                out.append(tok)
        return out

    def _field_entries(self, fname: str, text: str) -> tuple[list[int], list[float]]:
        fw = FIELD_WEIGHTS[fname]
        field_tokens = self._text_tokens(text)
        weights: dict[str, float] = dict.fromkeys(field_tokens, fw)
        for a, b in itertools.pairwise(field_tokens):
            pair = a + b
            weights[pair] = weights.get(pair, 0.0) + fw * 0.5
        return self._tids(weights), list(weights.values())

    def _needs_entries(
        self, key: tuple[tuple[str, ...], tuple[str, ...]]
    ) -> tuple[list[int], list[float]]:
        domains = list(dict.fromkeys("@" + d for d in key[0]))
        zcodes = list(dict.fromkeys("#" + z.lower() for z in key[1]))
        return (
            self._tids(domains + zcodes),
            [DOMAIN_WEIGHT] * len(domains) + [ZCODE_WEIGHT] * len(zcodes),
        )

    def _fields(self, docs: Sequence[IndexDoc]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The services' field entries (token, weight), one service after another (its
        name's, taxonomy terms', organisation's, then domains' and z-codes'), with how
        many each has. Each distinct text's entries are worked out once and kept as a run
        (``_run_tok``/``_run_val``), so a service's are gathered with numpy from the
        runs its texts are looked up to; all are forgotten when the runs grow past
        RUN_LIMIT entries, a field's texts when they pass CACHE_LIMIT."""
        if len(self._run_tok) > RUN_LIMIT:
            self._field_cache = {f: {} for f in self._field_cache}
            self._run_tok, self._run_val, self._run_at = array("i"), array("f"), array("q", [0])
        keys: list[tuple[str, list[Any]]] = [
            ("name", [doc.name for doc in docs]),
            ("taxonomy", [" ; ".join(doc.taxonomy_terms) for doc in docs]),
            ("organisation", [doc.organisation for doc in docs]),
            ("needs", [(tuple(doc.domains), tuple(doc.z_codes)) for doc in docs]),
        ]
        runs = np.empty((len(docs), len(keys)), dtype=np.int64)
        for column, (fname, texts) in enumerate(keys):
            cache = self._field_cache[fname]
            found: list[Any] = list(map(cache.get, texts))
            for j in [j for j, run in enumerate(found) if run is None]:
                text = texts[j]
                run = cache.get(text)  # (an earlier service of the batch may have had it)
                if run is None:
                    ids, ws = (
                        self._needs_entries(text)
                        if fname == "needs"
                        else self._field_entries(fname, text)
                    )
                    if len(cache) > CACHE_LIMIT:
                        cache.clear()
                    self._run_tok.extend(ids)
                    self._run_val.extend(ws)
                    self._run_at.append(len(self._run_tok))
                    run = cache[text] = len(self._run_at) - 2
                found[j] = run
            runs[:, column] = found
        at = np.frombuffer(self._run_at, dtype=np.int64)
        flat = runs.ravel()
        starts = at[flat]
        lengths = at[flat + 1] - starts
        where = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        where += np.arange(where.size)
        f_tok = np.frombuffer(self._run_tok, dtype=np.int32)[where]
        f_val = np.frombuffer(self._run_val, dtype=np.float32)[where]
        return f_tok, f_val, lengths.reshape(len(docs), len(keys)).sum(axis=1)

    def add(self, doc: IndexDoc) -> None:
        """Index one service as the next document (``add_many`` of one)."""
        self.add_many([doc])

    def add_many(self, docs: Sequence[IndexDoc]) -> None:
        """Index services as the next documents (documents are numbered as added).

        Each service contributes (token, weight) entries: its name, taxonomy terms and
        organisation (each distinct token once per field, plus adjacent pairs at half
        weight), a BM25-saturated description weight, and ``@domain``/``#z-code``
        pseudo-tokens. The tokens of a text are worked out once per distinct text (feeds
        repeat organisation names and taxonomy terms); the batch's descriptions are
        tokenised together (``_descriptions``). A service's entries are its fields', then
        its description's, as when added one by one."""
        if not docs:
            return
        f_tok, f_val, f_lens = self._fields(docs)
        d_tok, d_count, d_len, totals = self._descriptions([doc.description for doc in docs])
        # each service's field entries, then its description's, one service after another
        d_lens = d_len.astype(np.int64)
        ends = np.cumsum(f_lens + d_lens)
        starts = ends - f_lens - d_lens
        f_at = np.arange(f_tok.size, dtype=np.int64) + np.repeat(
            starts - (np.cumsum(f_lens) - f_lens), f_lens
        )
        d_at = np.arange(d_tok.size, dtype=np.int64) + np.repeat(
            starts + f_lens - (np.cumsum(d_lens) - d_lens), d_lens
        )
        size = int(ends[-1])
        tok = np.empty(size, dtype=np.int32)
        val = np.empty(size, dtype=np.float32)
        tok[f_at] = f_tok
        val[f_at] = f_val
        tok[d_at] = d_tok
        val[d_at] = -d_count  # a description word's count: negative, a field's weight is not
        self._tok.frombytes(tok.tobytes())
        self._val.frombytes(val.tobytes())
        self._f_len.frombytes(f_lens.astype(np.int32).tobytes())
        self._d_len.frombytes(d_len.astype(np.int32).tobytes())
        self._lengths.frombytes(totals.astype(np.float32).tobytes())
        first = self.size
        self.size += len(docs)
        self._filters(first, docs)

    def _descriptions(
        self, texts: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each text's distinct tokens (numbers) and their counts, one text after another,
        with how many distinct tokens and how many tokens each text has: ``Counter(tokens
        (text))`` for every text. The words of all the texts are found and numbered in
        numpy (``directory.index_words``: a new word worked out once, then remembered: -1
        for a stopword), and the tokens counted per text with numpy. A text's tokens come in
        token number order, not first-seen order: the index does not depend on it."""
        number = self._description_words.numbers(texts)
        text_of = np.cumsum(number == -2)  # the separator before a text's words: its number
        kept = number >= 0
        number, text_of = number[kept], text_of[kept]
        n = len(texts)
        totals = np.bincount(text_of, minlength=n)
        # each (text, token) once, with its count: the two in one key, sorted (in 32 bits
        # when they fit: a stable sort of runs already in text order, the quicker)
        bits = int(number.max()).bit_length() if number.size else 0
        if n.bit_length() + bits <= 32:
            key = (text_of.astype(np.uint32) << np.uint32(bits)) | number.astype(np.uint32)
            key.sort(kind="stable")
        else:
            key = (text_of << 32) | number
            key.sort()
            bits = 32
        first = np.empty(key.size, dtype=bool)
        first[:1] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        at = np.flatnonzero(first)
        counts = np.diff(at, append=key.size)
        key = key[at]
        distinct = np.bincount(key >> bits, minlength=n)
        tokens = (key & ((1 << bits) - 1)).astype(np.int32)
        return tokens, counts.astype(np.float32), distinct, totals

    def _filters(self, first: int, docs: Sequence[IndexDoc]) -> None:
        """The filters' values of services numbered from ``first``."""
        self._free.extend([bool(doc.is_free) for doc in docs])
        self._min_age.extend([-1 if doc.min_age is None else doc.min_age for doc in docs])
        self._max_age.extend([999 if doc.max_age is None else doc.max_age for doc in docs])
        self._verified.extend(
            [doc.last_verified.toordinal() if doc.last_verified else 0 for doc in docs]
        )
        langs = self._langs
        self._opening_hours(first, docs)
        for i, doc in enumerate(docs, first):
            if not doc.languages:
                self._no_language.append(i)
            for lang in doc.languages:
                key = lang.strip().lower()
                found = langs.get(key)
                if found is None:
                    found = langs[key] = array("i")
                found.append(i)
            for town, postcode, lat, lon in doc.locations:
                if lat is None or lon is None:
                    continue
                self._loc_doc.append(i)
                self._loc_lat.append(lat)
                self._loc_lon.append(lon)
                if postcode:
                    self._postcodes.setdefault(postcode, []).append((lat, lon))
                    self._outward.setdefault(postcode.split()[0], []).append((lat, lon))
                if town:
                    self._towns.setdefault(town.lower(), []).append((lat, lon))
                    self._town_names[town.lower()] = town

    def _opening_hours(self, first: int, docs: Sequence[IndexDoc]) -> None:
        """The services' opening-hours entries, by day: each entry's (day, opens, closes)
        worked out once per distinct three (``_hour``: one number), then sorted out by day
        with numpy; a batch with an entry that is not a mapping of the three, entry by
        entry (such an entry is left out, as any the filters cannot use)."""
        lists = [doc.opening_hours for doc in docs]
        hour_of = self._hour_of
        try:
            threes = [_HOUR_ENTRY(h) for hours in lists for h in hours]
            codes: list[int | None] = list(map(hour_of.get, threes))
        except (KeyError, TypeError):
            threes, codes = [], []
            owners: list[int] = []
            for i, hours in enumerate(lists):
                for h in hours:
                    try:
                        three = _HOUR_ENTRY(h)
                        codes.append(hour_of.get(three))
                    except (KeyError, TypeError):
                        continue
                    threes.append(three)
                    owners.append(i)
            owner = np.array(owners, dtype=np.int64)
        else:
            owner = np.repeat(np.arange(len(lists)), [len(hours) for hours in lists])
        for j, got in enumerate(codes):
            if got is None:
                codes[j] = hour_of[threes[j]] = self._hour(threes[j])
        if not codes:
            return
        packed = np.array(codes, dtype=np.int64)
        day = packed >> 32
        for d, (docs_of, starts, ends) in self._hours.items():
            mine = np.flatnonzero(day == d)
            if mine.size:
                docs_of.frombytes((owner[mine] + first).astype(np.int32).tobytes())
                starts.frombytes(((packed[mine] >> 16 & 0xFFFF) - 32768).astype(np.int16).tobytes())
                ends.frombytes(((packed[mine] & 0xFFFF) - 32768).astype(np.int16).tobytes())

    def _hour(self, three: tuple[Any, Any, Any]) -> int:
        """An opening-hours entry's (day, opens, closes) in minutes as one number (day,
        then each time plus 32768 in 16 bits), 0 when it is not one the filters can use
        (a day outside 1-7, a time that cannot be read)."""
        try:
            day = int(three[0])
            opens, closes = self._as_minutes(three[1]), self._as_minutes(three[2])
        except (KeyError, TypeError, ValueError, AttributeError):
            return 0
        if day not in self._hours:
            return 0
        array("h", (opens, closes))  # a time past 16 bits: OverflowError, as appending it
        return day << 32 | (opens + 32768) << 16 | (closes + 32768)

    def _as_minutes(self, hhmm: str) -> int:
        value = self._minutes.get(hhmm)
        if value is None:
            value = self._minutes[hhmm] = _minutes(hhmm)
        return value

    def finish(self, into: IndexData, searched: bool = True) -> None:
        """Set the built data on ``into`` (everything but its ``docs``); what only a search
        in memory reads (sorted tokens, known stems) left out when not ``searched`` (an
        index that is only saved to its file)."""
        n = self.size
        into.size = n
        # the caches of texts already tokenised are done with: let them go before the
        # postings are sorted (the build's peak)
        self._field_cache = {f: {} for f in self._field_cache}
        self._run_tok, self._run_val, self._run_at = array("i"), array("f"), array("q", [0])
        self._word_tid = _WordNumbers(self)
        self._description_words = DescriptionWords(self._word_tid.__getitem__)
        self._flat = None
        into._postings = self._postings(n)
        into._flat_postings = self._flat  # (for saving it: directory.index_file)
        self._flat = None
        word_token = self._word_token
        # idf depends only on a token's document frequency: one log per distinct frequency
        idf_of: dict[int, float] = {}
        into._idf = {}
        for tok, (ds, _ws) in into._postings.items():
            df = len(ds)
            value = idf_of.get(df)
            if value is None:
                value = idf_of[df] = math.log(1 + (n - df + 0.5) / (df + 0.5))
            into._idf[tok] = value
        into._vocab = load_vocabulary()
        dictionary = {w.replace("'", "") for w in word_token} | set(into._vocab.words)
        # each stem's shortest word (then the first in order): the words by length, then
        # by themselves (a stable sort by length of the sorted words)
        surface: dict[str, str] = {}
        for word in sorted(sorted(word_token), key=len):
            known = word_token[word]
            surface.setdefault(stem(word) if known is None else known, word.replace("'", ""))
        into._surface = surface
        if searched:
            into._sorted_tokens = sorted(t for t in surface if t in into._postings)
            into._known_stems = frozenset(into._postings) | {
                t for p in into._vocab.phrases for t in p.key
            }
        into._dictionary = sorted(
            w for w in dictionary if len(w) >= 3 and w.isalpha() and w not in self._stop
        )
        # filters
        into._free = np.frombuffer(self._free, dtype=np.int8).astype(bool)
        into._min_age = np.array(self._min_age, dtype=np.int16)
        into._max_age = np.array(self._max_age, dtype=np.int16)
        into._verified = np.array(self._verified, dtype=np.int32)
        into._languages = {k: np.array(v, dtype=np.int32) for k, v in self._langs.items()}
        into._no_language = np.array(self._no_language, dtype=np.int32)
        into._hours = {
            d: (
                np.array(a, dtype=np.int32),
                np.array(b, dtype=np.int16),
                np.array(c, dtype=np.int16),
            )
            for d, (a, b, c) in self._hours.items()
        }
        into._loc_doc = np.array(self._loc_doc, dtype=np.int32)
        into._loc_lat = np.radians(np.array(self._loc_lat, dtype=np.float64))
        into._loc_lon = np.radians(np.array(self._loc_lon, dtype=np.float64))
        into._postcodes = self._postcodes
        into._outward = self._outward
        into._towns = self._towns
        into._town_names = self._town_names

    def _postings(self, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """token -> (ascending doc numbers, weights), built with numpy; entries for the same
        token and service summed (in float64, fields first, then the description, as a
        scalar loop would: the weights do not depend on how they were built)."""
        names = self._names
        lengths = np.array(self._lengths, dtype=np.float32)
        avg_len = float(lengths.mean()) if n else 1.0
        avg_len = avg_len or 1.0
        if not self._tok:
            return {}
        f_len = np.frombuffer(self._f_len, dtype=np.int32)
        d_len = np.frombuffer(self._d_len, dtype=np.int32)
        # the same float32 arithmetic as a scalar BM25 loop
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / avg_len)
        ends = np.cumsum(f_len.astype(np.int64) + d_len)
        # Sorted by (token, entry number): each token's entries in service order, and a
        # service's field entries before its description's (``_by_token``: where each
        # entry goes). Each array let go once it is placed (memory: the build's peak).
        # the tokens in their order as strings (code point order: UTF-8's byte order, the
        # index file's), so the postings come out as the file holds them
        in_order = sorted(range(len(names)), key=names.__getitem__)
        rank = np.empty(len(names), dtype=np.int32)
        rank[in_order] = np.arange(len(names), dtype=np.int32)
        tok_of = np.frombuffer(self._tok, dtype=np.int32)
        counts, to = _by_token(tok_of, len(names), rank)
        del rank
        del tok_of
        self._tok = array("i")
        weight = np.empty(to.size, dtype=np.float32)
        weight[to] = np.frombuffer(self._val, dtype=np.float32)
        self._val = array("f")
        doc = _services(ends, to)
        del to
        _description_weights(weight, doc, norm)
        size = doc.size
        # a (token, service) group starts where the service or the token changes
        new = np.empty(size, dtype=bool)
        new[0] = True
        np.not_equal(doc[1:], doc[:-1], out=new[1:])
        held = np.flatnonzero(counts)  # the tokens with entries (their places)
        token_starts = (np.cumsum(counts) - counts)[held]
        new[token_starts] = True
        # where each group starts, found a slice at a time (memory: the positions in 32
        # bits when they fit, never a 64-bit copy of them all)
        entry_type = np.int32 if size < 2**31 else np.int64
        starts = np.empty(int(np.count_nonzero(new)), dtype=entry_type)
        found = 0
        step = 1 << 18
        for at in range(0, size, step):
            here = np.flatnonzero(new[at : at + step])
            starts[found : found + here.size] = here + at
            found += here.size
        del new, here
        group_doc = doc[starts]
        del doc
        # field weights are exact in float32; summing in float64 rounds once, as before
        summed = np.empty(starts.size, dtype=np.float32)
        for at in range(0, starts.size, step):
            cut = starts[at : at + step]
            end = starts[at + step] if at + step < starts.size else size
            part_w = weight[cut[0] : end].astype(np.float64)
            summed[at : at + step] = np.add.reduceat(part_w, cut - cut[0])
        # each token's groups: from the group its first entry starts
        firsts = np.searchsorted(starts, token_starts.astype(starts.dtype))  # (no 64-bit copy)
        del weight, starts
        lasts = np.append(firsts[1:], group_doc.size)
        held_names = [names[in_order[t]] for t in held.tolist()]
        # as the index file holds them: the tokens in order, where each one's postings
        # start (and the last's end), the services and the weights
        self._flat = (held_names, np.append(firsts, group_doc.size), group_doc, summed)
        return {
            t: (group_doc[a:b], summed[a:b])
            for t, a, b in zip(held_names, firsts.tolist(), lasts.tolist(), strict=True)
        }


def _by_token(
    tok: np.ndarray, tokens: int, rank: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each token's count, and where each entry goes when the entries are sorted by
    (token, entry number). A counting sort, a slice of entries at a time (memory: the
    slice's temporary arrays, the places in 32 bits when they fit): a slice's entries
    ordered by token with numpy's stable sort (a radix sort of 16-bit keys: twice, low
    half then high, when there are more tokens than 16 bits hold), each then placed after
    the earlier slices' entries of its token. With ``rank`` (token -> its place), by the
    tokens' places instead of their numbers (the counts then by place)."""
    size = tok.size
    step = 1 << 18
    counts = np.zeros(tokens, dtype=np.int64)
    for at in range(0, size, step):  # (bincount of them all would copy them to 64 bits)
        part = tok[at : at + step] if rank is None else rank[tok[at : at + step]]
        counts += np.bincount(part, minlength=tokens)
    following = np.zeros(tokens, dtype=np.int64)  # where a token's next entry goes
    np.cumsum(counts[:-1], out=following[1:])
    to = np.empty(size, dtype=np.int32 if size < 2**31 else np.int64)
    ramp = np.arange(step)
    for at in range(0, size, step):
        part = tok[at : at + step] if rank is None else rank[tok[at : at + step]]
        if tokens <= 1 << 16:
            order = np.argsort(part.astype(np.uint16), kind="stable")
        else:
            order = np.argsort((part & 0xFFFF).astype(np.uint16), kind="stable")
            order = order[np.argsort((part[order] >> 16).astype(np.uint16), kind="stable")]
        # the i-th of the sorted slice goes where its token's entries go next, plus its
        # place among the slice's entries of that token (i less the token's first)
        here = np.bincount(part, minlength=tokens)
        base = following.copy()
        base[1:] -= np.cumsum(here[:-1])
        places = base[part[order]]
        places += ramp[: order.size]
        to[order + at] = places
        following += here
    return counts, to


def _services(ends: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Each placed entry's service (entry ``e`` at ``to[e]``; ``ends``: where each
    service's entries end), a slice of entries at a time."""
    doc = np.empty(to.size, dtype=np.int32)
    bounds = np.zeros(ends.size + 1, dtype=np.int64)  # where each service's entries start
    bounds[1:] = ends
    step = 1 << 18
    for at in range(0, to.size, step):
        stop = min(at + step, to.size)
        first = int(np.searchsorted(bounds, at, side="right")) - 1
        last = int(np.searchsorted(bounds, stop, side="left"))
        runs = np.minimum(bounds[first + 1 : last + 1], stop) - np.maximum(bounds[first:last], at)
        doc[to[at:stop]] = np.repeat(np.arange(first, last, dtype=np.int32), runs)
    return doc


def _description_weights(weight: np.ndarray, doc: np.ndarray, norm: np.ndarray) -> None:
    """Each description word's count in ``weight`` (stored negative) made its BM25 weight,
    in place, a slice at a time (memory: the slice's temporary arrays)."""
    fw = np.float32(FIELD_WEIGHTS["description"])
    step = 1 << 18
    for at in range(0, weight.size, step):
        piece = weight[at : at + step]
        desc = np.flatnonzero(piece < 0)
        tf = (-piece[desc]).astype(np.int64)
        d_doc = doc[at : at + step][desc]
        d_weight = (tf * (BM25_K1 + 1)).astype(np.float32) / (tf.astype(np.float32) + norm[d_doc])
        piece[desc] = fw * d_weight


class IndexData:
    """The built index: postings, idf, the spelling dictionary and the filter arrays.
    Immutable once built, so one index serves many threads."""

    size: int
    _postings: dict[str, tuple[np.ndarray, np.ndarray]]
    _flat_postings: FlatPostings | None
    _idf: dict[str, float]
    _vocab: Vocabulary
    _surface: dict[str, str]
    _sorted_tokens: list[str]
    _known_stems: frozenset[str]
    _dictionary: list[str]
    _free: np.ndarray
    _min_age: np.ndarray
    _max_age: np.ndarray
    _verified: np.ndarray
    _languages: dict[str, np.ndarray]
    _no_language: np.ndarray
    _hours: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
    _loc_doc: np.ndarray
    _loc_lat: np.ndarray
    _loc_lon: np.ndarray
    _postcodes: dict[str, list[tuple[float, float]]]
    _outward: dict[str, list[tuple[float, float]]]
    _towns: dict[str, list[tuple[float, float]]]
    _town_names: dict[str, str]

    def __init__(self, docs: Sequence[IndexDoc], stale_months: int = 12) -> None:
        self.docs = list(docs)
        self.stale_months = stale_months
        builder = IndexBuilder()
        for at in range(0, len(self.docs), BATCH):
            builder.add_many(self.docs[at : at + BATCH])
        builder.finish(self)

    # --- building ------------------------------------------------------------------

    @classmethod
    def build(cls, session: Session, stale_months: int = 12) -> Self:
        """An index of every service that is not withdrawn and whose status is active."""
        return cls(load_docs(session), stale_months=stale_months)


def _json_reader() -> Any:
    """A JSON column value as Python, each distinct text parsed once (services repeat the
    same languages, hours and domains). Works whether the driver hands back text (SQLite)
    or already-parsed values (PostgreSQL)."""
    parsed: dict[str, Any] = {}

    def read(value: Any) -> Any:
        if isinstance(value, str):
            found = parsed.get(value)
            if found is None:
                found = parsed[value] = json.loads(value)
            return found
        return value

    return read


def load_docs(session: Session) -> list[IndexDoc]:
    """The services the index holds (active, not withdrawn), in service number order."""
    return list(stream_docs(session))


def stream_docs(session: Session, chunk: int = 2000) -> Iterator[IndexDoc]:
    """The services the index holds (active, not withdrawn), in service number order, read
    ``chunk`` at a time (two queries a chunk: the services, then their locations), so a
    caller that lets each one go holds a chunk at most, however large the directory.

    JSON columns are read as they are stored and decoded here, once per distinct value in
    a chunk; each document still gets its own lists."""
    import sqlalchemy as sa
    from sqlmodel import col

    from directory.models import Location, Organisation, Service, ServiceLocation

    as_stored = [
        sa.type_coerce(c, sa.Text)
        for c in (
            col(Service.taxonomy_terms),
            col(Service.domains),
            col(Service.z_codes),
            col(Service.languages),
            col(Service.opening_hours),
        )
    ]
    services = (
        sa.select(
            col(Service.id),
            col(Service.source_id),
            col(Service.name),
            col(Organisation.name),
            col(Service.description),
            as_stored[0],
            as_stored[1],
            as_stored[2],
            as_stored[3],
            col(Service.min_age),
            col(Service.max_age),
            col(Service.is_free),
            col(Service.last_verified),
            as_stored[4],
            col(Service.phone),
        )
        .outerjoin(Organisation, col(Organisation.id) == col(Service.organisation_id))
        .where(col(Service.withdrawn) == sa.false(), col(Service.status) == "active")
        .order_by(col(Service.id))
        .limit(chunk)
    )
    places = (
        sa.select(
            col(ServiceLocation.service_id),
            col(Location.town),
            col(Location.postcode),
            col(Location.latitude),
            col(Location.longitude),
        )
        .join(Location, col(Location.id) == col(ServiceLocation.location_id))
        .order_by(col(ServiceLocation.service_id), col(Location.id))
    )
    # through the session's connection: plain rows, none of the ORM's work per row
    conn = session.connection()
    after: int | None = None
    while True:
        query = services if after is None else services.where(col(Service.id) > after)
        rows: Sequence[Any] = conn.execute(query).all()
        if not rows:
            return
        first, after = rows[0][0], rows[-1][0]
        locations: dict[int, list[tuple[str, str, float | None, float | None]]] = {}
        for sid, town, postcode, lat, lon in conn.execute(
            places.where(col(ServiceLocation.service_id).between(first, after))
        ):
            locations.setdefault(sid, []).append((town, postcode, lat, lon))
        read = _json_reader()
        for r in rows:
            yield IndexDoc(
                service_id=r[0],
                source_id=r[1],
                name=r[2],
                organisation=r[3] or "",
                description=r[4],
                taxonomy_terms=list(read(r[5]) or []),
                domains=list(read(r[6]) or []),
                z_codes=list(read(r[7]) or []),
                languages=list(read(r[8]) or []),
                min_age=r[9],
                max_age=r[10],
                is_free=bool(r[11]),
                last_verified=r[12],
                opening_hours=[dict(h) if isinstance(h, dict) else h for h in read(r[13]) or []],
                phone=r[14] or "",
                locations=locations.get(r[0], []),
            )
        if len(rows) < chunk:
            return

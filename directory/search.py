"""Matching needs and words to services: an in-memory inverted index, built once, searched often.

Design (see ``bench/search.py`` for the figures):

* Each service becomes weighted tokens from its name, taxonomy terms, organisation and
  description (BM25-style saturation), plus pseudo-tokens for its need domains (``@housing``)
  and Z codes (``#z59.0``). Postings are numpy arrays, so scoring a query is a few
  ``bincount`` calls however large the directory is.
* A query is corrected (rapidfuzz, only for words the index and vocabulary do not know),
  expanded through the directory's vocabulary (lay and service-provider phrases -> index
  words and domains) and the codes catalogue's lay-language search (-> Z codes and domains),
  scored, filtered with precomputed masks, and only the short list is reranked.
* Stale services (verified longer ago than ``stale_months``) are left out unless
  ``include_stale`` is given; then they are kept but ranked a little lower.
* The index is immutable after ``build``: ``search`` only reads it, so one index can serve
  many threads (the Textual app searches from a worker on every keystroke).
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from rapidfuzz import fuzz, process, utils
from sqlmodel import Session, col

from directory.models import Location, Organisation, Service, ServiceLocation
from directory.text import (
    is_outward_code,
    looks_like_postcode,
    normalise_postcode,
    phrase_stopwords,
    stem,
    stopwords,
    words,
)
from directory.vocabulary import code_hints, load_vocabulary, resolve_need

FIELD_WEIGHTS = {"name": 3.0, "taxonomy": 2.5, "organisation": 1.0, "description": 1.0}
DOMAIN_WEIGHT = 1.0
ZCODE_WEIGHT = 1.0
BM25_K1 = 1.2
BM25_B = 0.75
SHORTLIST = 60
STALE_FACTOR = 0.85


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


@dataclass
class ServiceMatch:
    service_id: int
    id: str
    name: str
    organisation: str
    score: float
    why: list[str]
    stale: bool
    last_verified: date | None
    domains: list[str]
    town: str
    postcode: str
    phone: str
    distance_km: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_verified"] = self.last_verified.isoformat() if self.last_verified else None
        return data


@dataclass
class Place:
    label: str
    latitude: float
    longitude: float


@dataclass
class _Term:
    token: str
    weight: float
    concept: int  # which part of the query it stands for (-1: none)
    source: str  # "words", a vocabulary phrase ("'sofa surfing'") or a code ("code Z59.0 ...")
    shown: str  # what matched, as a person would write it


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last = [
        31,
        29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ]
    return date(year, month, min(day.day, last[month - 1]))


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    value = int(hour) * 60 + int(minute)
    return 1440 if value == 0 else value


class ServiceIndex:
    """Searchable snapshot of the directory. Build with ``ServiceIndex.build(session)``."""

    def __init__(self, docs: Sequence[IndexDoc], stale_months: int = 12) -> None:
        self.docs = list(docs)
        self.stale_months = stale_months
        n = len(self.docs)
        self.size = n
        stop = stopwords()
        self._postings, raw_words = self._build_postings(n)
        # idf depends only on a token's document frequency: one log per distinct frequency
        idf_of: dict[int, float] = {}
        self._idf = {}
        for tok, (ds, _ws) in self._postings.items():
            df = len(ds)
            value = idf_of.get(df)
            if value is None:
                value = idf_of[df] = math.log(1 + (n - df + 0.5) / (df + 0.5))
            self._idf[tok] = value
        self._vocab = load_vocabulary()
        dictionary = {w.replace("'", "") for w in raw_words} | set(self._vocab.words)
        surface: dict[str, str] = {}
        for word in sorted(raw_words, key=lambda w: (len(w), w)):
            surface.setdefault(stem(word), word.replace("'", ""))
        self._surface = surface
        self._sorted_tokens = sorted(t for t in surface if t in self._postings)
        self._known_stems = frozenset(self._postings) | {
            t for p in self._vocab.phrases for t in p.key
        }
        self._dictionary = sorted(
            w for w in dictionary if len(w) >= 3 and w.isalpha() and w not in stop
        )
        # filters
        self._free = np.array([d.is_free for d in self.docs], dtype=bool)
        self._min_age = np.array(
            [-1 if d.min_age is None else d.min_age for d in self.docs], dtype=np.int16
        )
        self._max_age = np.array(
            [999 if d.max_age is None else d.max_age for d in self.docs], dtype=np.int16
        )
        self._verified = np.array(
            [d.last_verified.toordinal() if d.last_verified else 0 for d in self.docs],
            dtype=np.int32,
        )
        langs: dict[str, list[int]] = {}
        no_language: list[int] = []
        for i, doc in enumerate(self.docs):
            if not doc.languages:
                no_language.append(i)
            for lang in doc.languages:
                langs.setdefault(lang.strip().lower(), []).append(i)
        self._languages = {k: np.asarray(v, dtype=np.int32) for k, v in langs.items()}
        self._no_language = np.asarray(no_language, dtype=np.int32)
        hours: dict[int, tuple[list[int], list[int], list[int]]] = {
            d: ([], [], []) for d in range(1, 8)
        }
        minutes: dict[str, int] = {}  # "HH:MM" -> minutes (feeds repeat a few times a lot)

        def as_minutes(hhmm: str) -> int:
            value = minutes.get(hhmm)
            if value is None:
                value = minutes[hhmm] = _minutes(hhmm)
            return value

        for i, doc in enumerate(self.docs):
            for h in doc.opening_hours:
                try:
                    day = int(h["day"])
                    opens, closes = as_minutes(h["opens"]), as_minutes(h["closes"])
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue
                if day in hours:
                    hours[day][0].append(i)
                    hours[day][1].append(opens)
                    hours[day][2].append(closes)
        self._hours = {
            d: (
                np.asarray(a, dtype=np.int32),
                np.asarray(b, dtype=np.int16),
                np.asarray(c, dtype=np.int16),
            )
            for d, (a, b, c) in hours.items()
        }
        loc_doc, loc_lat, loc_lon = [], [], []
        self._postcodes: dict[str, list[tuple[float, float]]] = {}
        self._outward: dict[str, list[tuple[float, float]]] = {}
        self._towns: dict[str, list[tuple[float, float]]] = {}
        self._town_names: dict[str, str] = {}
        for i, doc in enumerate(self.docs):
            for town, postcode, lat, lon in doc.locations:
                if lat is None or lon is None:
                    continue
                loc_doc.append(i)
                loc_lat.append(lat)
                loc_lon.append(lon)
                if postcode:
                    self._postcodes.setdefault(postcode, []).append((lat, lon))
                    self._outward.setdefault(postcode.split()[0], []).append((lat, lon))
                if town:
                    self._towns.setdefault(town.lower(), []).append((lat, lon))
                    self._town_names[town.lower()] = town
        self._loc_doc = np.asarray(loc_doc, dtype=np.int32)
        self._loc_lat = np.radians(np.asarray(loc_lat, dtype=np.float64))
        self._loc_lon = np.radians(np.asarray(loc_lon, dtype=np.float64))

    def _build_postings(self, n: int) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], set[str]]:
        """token -> (ascending doc numbers, weights), built with numpy, and every word seen.

        Each service contributes (token, weight) entries: its name, taxonomy terms and
        organisation (each distinct token once per field, plus adjacent pairs at half weight),
        a BM25-saturated description weight, and ``@domain``/``#z-code`` pseudo-tokens.
        Entries for the same token and service are summed. The tokens of a text are worked
        out once per distinct text (feeds repeat organisation names and taxonomy terms)."""
        ids: dict[str, int] = {}
        names: list[str] = []

        def tid(token: str) -> int:
            value = ids.get(token)
            if value is None:
                value = ids[token] = len(names)
                names.append(token)
            return value

        stop = stopwords()
        word_token: dict[str, str | None] = {}  # word -> its stem, None for a stopword

        def text_tokens(text: str) -> list[str]:
            """``tokens(text)``, with the per-word work done once per distinct word."""
            out = []
            for word in words(text):
                tok = word_token.get(word, "")
                if tok == "":
                    tok = word_token[word] = None if word.replace("'", "") in stop else stem(word)
                if tok is not None:
                    out.append(tok)
            return out

        field_cache: dict[tuple[str, str], tuple[list[int], list[float]]] = {}

        def field_entries(fname: str, text: str) -> tuple[list[int], list[float]]:
            key = (fname, text)
            cached = field_cache.get(key)
            if cached is None:
                fw = FIELD_WEIGHTS[fname]
                field_tokens = text_tokens(text)
                weights: dict[str, float] = dict.fromkeys(field_tokens, fw)
                for a, b in itertools.pairwise(field_tokens):
                    pair = a + b
                    weights[pair] = weights.get(pair, 0.0) + fw * 0.5
                cached = field_cache[key] = ([tid(t) for t in weights], list(weights.values()))
            return cached

        desc_cache: dict[str, tuple[list[int], list[int], int]] = {}
        needs_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[list[int], list[float]]]
        needs_cache = {}
        f_tok: list[int] = []
        f_w: list[float] = []
        f_len: list[int] = []
        d_tok: list[int] = []
        d_tf: list[int] = []
        d_len: list[int] = []
        lengths = np.zeros(n, dtype=np.float32)
        for i, doc in enumerate(self.docs):
            count = 0
            for fname, text in (
                ("name", doc.name),
                ("taxonomy", " ; ".join(doc.taxonomy_terms)),
                ("organisation", doc.organisation),
            ):
                field_ids, field_ws = field_entries(fname, text)
                f_tok.extend(field_ids)
                f_w.extend(field_ws)
                count += len(field_ids)
            needs_key = (tuple(doc.domains), tuple(doc.z_codes))
            needs = needs_cache.get(needs_key)
            if needs is None:
                domains = list(dict.fromkeys("@" + d for d in doc.domains))
                zcodes = list(dict.fromkeys("#" + z.lower() for z in doc.z_codes))
                needs = needs_cache[needs_key] = (
                    [tid(t) for t in domains + zcodes],
                    [DOMAIN_WEIGHT] * len(domains) + [ZCODE_WEIGHT] * len(zcodes),
                )
            f_tok.extend(needs[0])
            f_w.extend(needs[1])
            f_len.append(count + len(needs[0]))
            desc = desc_cache.get(doc.description)
            if desc is None:
                desc_toks = text_tokens(doc.description)
                counts = Counter(desc_toks)
                desc = desc_cache[doc.description] = (
                    [tid(t) for t in counts],
                    list(counts.values()),
                    len(desc_toks),
                )
            d_tok.extend(desc[0])
            d_tf.extend(desc[1])
            d_len.append(len(desc[0]))
            lengths[i] = desc[2]
        avg_len = float(lengths.mean()) if n else 1.0
        avg_len = avg_len or 1.0
        # the same float32 arithmetic as a scalar BM25 loop, so weights do not depend on it
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / avg_len)
        doc_numbers = np.arange(n, dtype=np.int64)
        d_doc = np.repeat(doc_numbers, d_len)
        tf = np.asarray(d_tf, dtype=np.int64)
        d_weight = (tf * (BM25_K1 + 1)).astype(np.float32) / (tf.astype(np.float32) + norm[d_doc])
        d_weight = np.float32(FIELD_WEIGHTS["description"]) * d_weight
        width = max(n, 1)
        # one key per entry (token number * services + service); description entries last,
        # so a stable sort sums each (token, service) as fields first, then description
        key = np.concatenate(
            [
                np.asarray(f_tok, dtype=np.int64) * width + np.repeat(doc_numbers, f_len),
                np.asarray(d_tok, dtype=np.int64) * width + d_doc,
            ]
        )
        weight = np.concatenate([np.asarray(f_w, dtype=np.float32), d_weight])
        del f_tok, f_w, d_tok, d_tf, d_doc, d_weight, tf
        if key.size == 0:
            return {}, set(word_token)
        order = np.argsort(key, kind="stable")
        key = key[order]
        weight = weight[order]
        del order
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        # field weights are exact in float32; summing in float64 rounds once, as before
        summed = np.add.reduceat(weight.astype(np.float64), starts).astype(np.float32)
        del weight
        key = key[starts]
        group_tok = key // width
        group_doc = (key % width).astype(np.int32)
        bounds = np.flatnonzero(np.diff(group_tok)) + 1
        firsts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [group_tok.size]))
        postings = {
            names[int(t)]: (group_doc[a:b], summed[a:b])
            for t, a, b in zip(
                group_tok[firsts].tolist(), firsts.tolist(), ends.tolist(), strict=True
            )
        }
        return postings, set(word_token)

    # --- building ------------------------------------------------------------------

    @classmethod
    def build(cls, session: Session, stale_months: int = 12) -> ServiceIndex:
        """An index of every service that is not withdrawn and whose status is active."""
        return cls(load_docs(session), stale_months=stale_months)

    # --- places --------------------------------------------------------------------

    def resolve_place(self, text: str) -> Place:
        """A postcode, outward code or town from the directory's own locations.

        ValueError for a malformed postcode; LookupError for one the directory does not know."""
        value = " ".join(text.split())
        if not value:
            raise ValueError("--near needs a postcode or a town")
        has_digit = any(ch.isdigit() for ch in value)
        if has_digit:
            if not looks_like_postcode(value):
                raise ValueError(f"bad postcode {value!r}")
            if is_outward_code(value):
                key = value.replace(" ", "").upper()
                points = self._outward.get(key)
                label = key
            else:
                label = normalise_postcode(value)
                points = self._postcodes.get(label) or self._outward.get(label.split()[0])
            if not points:
                raise LookupError(f"postcode {label} is not near any service in the directory")
            return _centroid(label, points)
        key = value.lower()
        points = self._towns.get(key)
        if not points and self._towns:
            best = process.extractOne(key, list(self._towns), scorer=fuzz.ratio, score_cutoff=85)
            if best:
                key = best[0]
                points = self._towns[key]
        if not points:
            raise LookupError(f"no town or postcode {value!r} in the directory")
        return _centroid(self._town_names.get(key, value), points)

    # --- searching -----------------------------------------------------------------

    def search(
        self,
        text: str,
        needs: Iterable[str] = (),
        near: str | None = None,
        language: str | None = None,
        age: int | None = None,
        open_now: bool = False,
        free: bool = False,
        include_stale: bool = False,
        limit: int = 20,
        now: datetime | None = None,
        today: date | None = None,
    ) -> list[ServiceMatch]:
        """Services for the words and filters, best first, each with ``why``."""
        text = text or ""
        needs = [n for n in needs if n and n.strip()]
        if not text.strip() and not needs:
            raise ValueError("type some words to search for, or give a need code (--need)")
        if limit < 1:
            raise ValueError("--limit must be at least 1")
        if age is not None and not 0 <= age <= 130:
            raise ValueError(f"--age must be between 0 and 130, not {age}")
        n = self.size
        now = now or datetime.now()
        today = today or now.date()
        if n == 0:
            return []

        mask = np.ones(n, dtype=bool)
        cutoff = _months_before(today, self.stale_months).toordinal()
        stale = (self._verified > 0) & (self._verified < cutoff)
        if not include_stale:
            mask &= ~stale
        if free:
            mask &= self._free
        if age is not None:
            mask &= (self._min_age <= age) & (self._max_age >= age)
        if language:
            lang = language.strip().lower()
            lang = self._vocab.languages.get(lang, lang)
            lang_mask = np.zeros(n, dtype=bool)
            matches = [k for k in self._languages if k == lang]
            if not matches:
                best = process.extractOne(
                    lang, list(self._languages), scorer=fuzz.ratio, score_cutoff=85
                )
                matches = [best[0]] if best else []
            for k in matches:
                lang_mask[self._languages[k]] = True
            if lang == "english":
                lang_mask[self._no_language] = True
            mask &= lang_mask
        if open_now:
            day = now.isoweekday()
            minute = now.hour * 60 + now.minute
            docs_d, opens_d, closes_d = self._hours[day]
            open_mask = np.zeros(n, dtype=bool)
            open_mask[docs_d[(opens_d <= minute) & (minute < closes_d)]] = True
            mask &= open_mask

        need_labels: list[str] = []
        need_score = np.zeros(n, dtype=np.float32)
        if needs:
            need_mask = np.zeros(n, dtype=bool)
            for code in needs:
                label, domains, zcodes = resolve_need(code)
                need_labels.append(label)
                for d in domains:
                    docs, _w = self._postings.get("@" + d, _EMPTY)
                    need_mask[docs] = True
                    np.maximum.at(need_score, docs, 0.7)
                for z in zcodes:
                    for tok in self._z_tokens(z):
                        docs, _w = self._postings[tok]
                        need_mask[docs] = True
                        np.maximum.at(need_score, docs, 1.0)
            mask &= need_mask

        place = self.resolve_place(near) if near else None
        distance = self._distances(place) if place else None

        terms, notes = self._query_terms(text) if text.strip() else ([], [])
        if terms:
            concepts = {t.concept for t in terms if t.concept >= 0}
            concept_hits = {c: np.zeros(n, dtype=bool) for c in concepts}
            all_docs = []
            all_weights = []
            for term in terms:
                docs, ws = self._postings[term.token]
                all_docs.append(docs)
                all_weights.append(ws * np.float32(term.weight * self._idf[term.token]))
                if term.concept >= 0:
                    concept_hits[term.concept][docs] = True
            scores = np.bincount(
                np.concatenate(all_docs), weights=np.concatenate(all_weights), minlength=n
            ).astype(np.float32)
            if concepts:
                covered = np.zeros(n, dtype=np.float32)
                for hits in concept_hits.values():
                    covered += hits
                scores *= 0.6 + 0.4 * covered / len(concepts)
            if needs:
                scores *= 1.0 + 0.5 * need_score
        else:
            scores = need_score.copy()
        if include_stale:
            scores = np.where(stale, scores * STALE_FACTOR, scores)
        scores = np.where(mask, scores, 0.0)
        if distance is not None and scores.max() > 0:
            # relevance first, then distance: a relevant service nearby beats a slightly
            # better-worded one across the county; no location known counts as far-ish
            km = np.nan_to_num(distance, nan=20.0)
            factor = 0.1 + 0.9 / (1.0 + (km / 10.0) ** 2)
            scores = (np.sqrt(scores / scores.max()) * factor).astype(np.float32)
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        shortlist = max(SHORTLIST, limit)
        if candidates.size > shortlist:
            top = np.argpartition(-scores[candidates], shortlist - 1)[:shortlist]
            candidates = candidates[top]
        final = scores[candidates].astype(np.float64)
        if text.strip():
            query = text.lower()
            names = [self.docs[i].name for i in candidates]
            sims = process.cdist(
                [query], names, scorer=fuzz.token_set_ratio, processor=utils.default_process
            )[0].astype(np.float64)
            final = final * (1.0 + 0.3 * (sims / 100.0) ** 4)
        order = np.lexsort((candidates, -final))[:limit]
        chosen = candidates[order].astype(np.int32)
        # which query terms each chosen service matched: one searchsorted per term
        matched_terms: list[list[_Term]] = [[] for _ in range(chosen.size)]
        for term in terms:
            docs, _w = self._postings[term.token]
            pos = np.minimum(np.searchsorted(docs, chosen), max(docs.size - 1, 0))
            found = docs[pos] == chosen if docs.size else np.zeros(chosen.size, dtype=bool)
            for row in np.flatnonzero(found):
                matched_terms[int(row)].append(term)
        return [
            self._match(
                int(i),
                float(final[j]),
                matched_terms[row],
                notes,
                need_labels,
                bool(stale[i]),
                distance,
                place,
            )
            for row, (j, i) in enumerate(zip(order, chosen, strict=True))
        ]

    # --- internals -----------------------------------------------------------------

    def _z_tokens(self, code: str) -> list[str]:
        key = "#" + code.lower()
        if "." in code:
            return [key] if key in self._postings else []
        return [t for t in self._postings if t.startswith(key + ".")]

    def _complete(self, prefix: str, limit: int = 6) -> list[str]:
        """Index words starting with a half-typed word, the commonest first."""
        start = bisect.bisect_left(self._sorted_tokens, prefix)
        end = bisect.bisect_left(self._sorted_tokens, prefix + "\uffff")
        found = self._sorted_tokens[start:end]
        found.sort(key=lambda t: -self._postings[t][0].size)
        return found[:limit]

    def _correct(self, word: str) -> str | None:
        if len(word) < 3 or not word.isalpha():
            return None
        cutoff = 75 if len(word) <= 4 else (72 if len(word) <= 6 else 65)
        best = process.extractOne(word, self._dictionary, scorer=fuzz.ratio, score_cutoff=cutoff)
        # spelling by ear: "evicshun" -> "eviction", "fone" -> "phone"
        for sound, spelling in _SOUNDS:
            if sound in word:
                alt = process.extractOne(
                    word.replace(sound, spelling),
                    self._dictionary,
                    scorer=fuzz.ratio,
                    score_cutoff=cutoff,
                )
                if alt and (best is None or alt[1] > best[1]):
                    best = alt
        return best[0] if best else None

    def _query_terms(self, text: str) -> tuple[list[_Term], list[str]]:
        """Weighted index tokens for the query, and notes on corrections and synonyms."""
        stop = stopwords()
        skip = phrase_stopwords()
        notes: list[str] = []
        toks: list[str] = []
        originals: list[str] = []
        is_stop: list[bool] = []
        all_words = words(text)
        typing = bool(text) and not text[-1].isspace()  # the last word may be half-typed
        completions: list[str] = []
        for n_word, raw in enumerate(all_words):
            plain = raw.replace("'", "")
            if plain in skip:
                continue
            tok = stem(raw)
            unknown = plain not in stop and tok not in self._known_stems and plain.isalpha()
            if unknown and typing and n_word == len(all_words) - 1 and len(plain) >= 3:
                completions = self._complete(plain)
                if completions:
                    unknown = False
            if unknown:
                fixed = self._correct(plain)
                if fixed and stem(fixed) != tok:
                    notes.append(f"read {raw!r} as {fixed!r}")
                    tok = stem(fixed)
                    raw = fixed
            toks.append(tok)
            originals.append(raw)
            is_stop.append(plain in stop)
        weights: dict[str, _Term] = {}

        def add(token: str, weight: float, concept: int, source: str, shown: str) -> None:
            if token not in self._postings:
                return
            current = weights.get(token)
            if current is None or current.weight < weight:
                weights[token] = _Term(token, weight, concept, source, shown)

        concept_of = list(range(len(toks)))
        phrases = []
        used: set[int] = set()
        for start, end, phrase in self._vocab.match(toks):
            span = set(range(start, end))
            if span <= used:
                continue
            used |= span
            for i in span:
                concept_of[i] = min(concept_of[i], start)
            phrases.append((start, phrase))
        content = [i for i in range(len(toks)) if not is_stop[i]]
        for i in content:
            add(toks[i], 1.0, concept_of[i], "words", originals[i])
        for word in completions:
            add(word, 0.7, concept_of[-1], "words", self._surface.get(word, word))
        for a, b in itertools.pairwise(content):
            add(toks[a] + toks[b], 1.0, concept_of[a], "words", f"{originals[a]}{originals[b]}")
        for start, phrase in phrases:
            w = min(0.9, 1.6 / math.sqrt(max(1, len(phrase.terms))))
            for t in phrase.terms:
                add(t, w, concept_of[start], f"{phrase.text!r} ->", phrase.surface[t])
            for d in phrase.domains:
                add("@" + d, 0.6, concept_of[start], f"{phrase.text!r} ->", f"need {d}")
            notes.append(f"{phrase.text!r} means " + ", ".join(phrase.domains or phrase.terms[:3]))
        for hint in code_hints(text):
            concept = len(toks)
            for tok in self._z_tokens(hint.code):
                add(
                    tok,
                    0.5 * hint.score / 100.0,
                    concept,
                    "catalogue:",
                    f"{hint.code} {hint.display}",
                )
            add(
                "@" + hint.domain,
                0.3 * hint.score / 100.0,
                concept,
                "catalogue:",
                f"need {hint.domain}",
            )
        return list(weights.values()), notes

    def _distances(self, place: Place) -> np.ndarray:
        lat0, lon0 = math.radians(place.latitude), math.radians(place.longitude)
        dlat = self._loc_lat - lat0
        dlon = self._loc_lon - lon0
        a = np.sin(dlat / 2) ** 2 + math.cos(lat0) * np.cos(self._loc_lat) * np.sin(dlon / 2) ** 2
        km = 2 * 6371.0 * np.arcsin(np.sqrt(np.minimum(1.0, a)))
        out = np.full(self.size, np.inf)
        np.minimum.at(out, self._loc_doc, km)
        out[np.isinf(out)] = np.nan
        return out

    def _match(
        self,
        i: int,
        score: float,
        terms: list[_Term],
        notes: list[str],
        need_labels: list[str],
        stale: bool,
        distance: np.ndarray | None,
        place: Place | None,
    ) -> ServiceMatch:
        doc = self.docs[i]
        why: list[str] = []
        matched = list(terms)
        matched.sort(key=lambda t: -t.weight * self._idf[t.token])
        groups: dict[str, list[str]] = {}
        for term in matched:
            shown = groups.setdefault(term.source, [])
            if term.shown not in shown:
                shown.append(term.shown)
        for source, shown in groups.items():
            why.append(
                f"{source} {', '.join(shown[:4])}"
                if source != "words"
                else f"words: {', '.join(shown[:4])}"
            )
        for note in notes:
            if note.startswith("read "):
                why.append(note)
        for label in need_labels:
            why.append(f"serves need {label}")
        km = None
        if distance is not None and place is not None:
            value = float(distance[i])
            if not math.isnan(value):
                km = round(value, 1)
                why.append(f"{km} km from {place.label}")
            else:
                why.append("no location given")
        if stale:
            why.append(f"last verified {doc.last_verified} (over {self.stale_months} months ago)")
        town, postcode = "", ""
        if doc.locations:
            town, postcode = doc.locations[0][0], doc.locations[0][1]
        return ServiceMatch(
            service_id=doc.service_id,
            id=doc.source_id,
            name=doc.name,
            organisation=doc.organisation,
            score=round(score, 3),
            why=why,
            stale=stale,
            last_verified=doc.last_verified,
            domains=list(doc.domains),
            town=town,
            postcode=postcode,
            phone=doc.phone,
            distance_km=km,
        )


_SOUNDS = (("shun", "tion"), ("shon", "tion"), ("f", "ph"), ("k", "c"), ("ck", "c"), ("z", "s"))
_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


def _centroid(label: str, points: list[tuple[float, float]]) -> Place:
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    return Place(label, lat, lon)


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
    """The services the index holds (active, not withdrawn), read in two queries.

    JSON columns are read as they are stored and decoded here, once per distinct value;
    each document still gets its own lists."""
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
    rows = session.execute(
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
    ).all()
    locations: dict[int, list[tuple[str, str, float | None, float | None]]] = {}
    for sid, town, postcode, lat, lon in session.execute(
        sa.select(
            col(ServiceLocation.service_id),
            col(Location.town),
            col(Location.postcode),
            col(Location.latitude),
            col(Location.longitude),
        )
        .join(Location, col(Location.id) == col(ServiceLocation.location_id))
        .order_by(col(ServiceLocation.service_id), col(Location.id))
    ):
        locations.setdefault(sid, []).append((town, postcode, lat, lon))
    read = _json_reader()
    return [
        IndexDoc(
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
        for r in rows
    ]

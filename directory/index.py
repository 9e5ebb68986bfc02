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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from directory.text import stem, stopwords, words
from directory.vocabulary import load_vocabulary

if TYPE_CHECKING:  # the database layer is imported by what reads it (load_docs), so an
    # index opened from its file (directory.index_file) never imports SQLAlchemy
    from sqlmodel import Session

FIELD_WEIGHTS = {"name": 3.0, "taxonomy": 2.5, "organisation": 1.0, "description": 1.0}
DOMAIN_WEIGHT = 1.0
ZCODE_WEIGHT = 1.0
BM25_K1 = 1.2
BM25_B = 0.75
CACHE_LIMIT = 20_000  # texts whose tokens are remembered while building (repeats are common)


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


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    value = int(hour) * 60 + int(minute)
    return 1440 if value == 0 else value


class IndexData:
    """The built index: postings, idf, the spelling dictionary and the filter arrays.
    Immutable once built, so one index serves many threads."""

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
                if len(field_cache) > CACHE_LIMIT:  # names are mostly unique in a big directory
                    field_cache.clear()
                cached = field_cache[key] = ([tid(t) for t in weights], list(weights.values()))
            return cached

        desc_cache: dict[str, tuple[list[int], list[int], int]] = {}
        needs_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[list[int], list[float]]]
        needs_cache = {}
        # compact arrays, not lists of Python numbers: a 100k directory has millions of entries
        f_tok = array("i")
        f_w = array("f")
        f_len: list[int] = []
        d_tok = array("i")
        d_tf = array("i")
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
                if len(desc_cache) > CACHE_LIMIT:
                    desc_cache.clear()
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
    """The services the index holds (active, not withdrawn), read in two queries.

    JSON columns are read as they are stored and decoded here, once per distinct value;
    each document still gets its own lists."""
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

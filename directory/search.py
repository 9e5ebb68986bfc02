"""Matching needs and words to services: an in-memory inverted index, built once, searched often.

Design (see ``bench/search.py`` for the figures):

* Each service becomes weighted tokens from its name, taxonomy terms, organisation and
  description (BM25-style saturation), plus pseudo-tokens for its need domains (``@housing``)
  and Z codes (``#z59.0``). Postings are numpy arrays, so scoring a query is a few
  ``bincount`` calls however large the directory is.
* A query is corrected (rapidfuzz, only for words that are neither the directory's nor
  English: ``directory.english``), expanded through the directory's vocabulary (lay and
  service-provider phrases and a thesaurus of everyday words -> index words and domains)
  and the codes catalogue's lay-language reading (-> Z codes, need domains and the words
  of the catalogue phrase it read them as), scored, filtered with precomputed masks, and
  only the short list is reranked. A longer account (five words or more) is also weighed
  by how far each service's need domains agree with the catalogue's reading of the whole
  text; a short query's literal match in a service's name or taxonomy comes first.
* Stale services (verified longer ago than ``stale_months``, ``directory.stale``'s rule)
  are shown, ranked a little lower and flagged with their last-verified date, unless
  ``current_only`` is given: a council that verifies slowly never hides its directory.
* The index is immutable after ``build``: ``search`` only reads it, so one index can serve
  many threads (the Textual app searches from a worker on every keystroke).

``directory.index`` builds the index's data (``IndexDoc``, ``load_docs``, the postings and
filter arrays); this module queries and ranks it (``ServiceIndex.search``); the results are
``directory.matches.ServiceMatch`` and ``Place``. All of them can be imported from here.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process, utils

from directory.english import english_words, is_english
from directory.english import near as english_near
from directory.index import IndexData, IndexDoc, load_docs
from directory.matches import Place, ServiceMatch
from directory.narrative import clauses, rejected
from directory.stale import months_before
from directory.text import (
    is_outward_code,
    looks_like_postcode,
    normalise_postcode,
    phrase_stopwords,
    stem,
    stopwords,
    words,
)
from directory.vocabulary import (
    CodeHint,
    catalogue_knows,
    load_vocabulary,
    need_hints,
    resolve_need,
)

__all__ = ["IndexDoc", "Place", "ServiceIndex", "ServiceMatch", "load_docs"]

SHORTLIST = 60
STALE_FACTOR = 0.85
DIRECTORY_BONUS = 2.0  # a directory word beats an English word this much less alike
NAMED_WEIGHT = 2.5  # a token this heavy in a service is in its name or taxonomy (index.py)
CODE_MIN = 40.0  # catalogue codes and domains scoring less are not used
CODE_RELATIVE = 0.75  # ... nor those under this share of the best
CODE_WEIGHT = 1.0  # a catalogue code's weight at score 100
DOMAIN_HINT_WEIGHT = 0.3  # a catalogue need domain's weight at score 1
PHRASE_WEIGHT = 0.5  # the words of the catalogue phrase the text was read as
LONG_LITERAL = 1.0  # the weight of the person's own words in a longer account
LONG_CATALOGUE = 1.5  # and of the catalogue's reading of a sentence or longer
LONG_AT = 5  # distinct words (not stopwords) from which a query is a longer account
AGREE_FLOOR = 0.4  # a longer account: the factor for a service of no need it was read as
PHRASE_FILLER = 0.5  # a one-word phrase of a sentence counts as its word does (to this power)
SENTENCE_AT = 6  # words (stopwords too) from which a query is a sentence: filler counts less
FILLER_FROM = 300  # English frequency bucket (centibels) under which a word counts least
FILLER_SPAN = 200  # ... and from which on (FROM + SPAN) it counts in full
FILLER_KNOWN = 0.5  # the least a word the vocabulary or catalogue reads counts
FILLER_UNKNOWN = 0.5  # a word neither reads counts at most this
FILLER_MIN = 0.2
CONCEPT_MAX = 1  # a longer account: a service counts its best match per part of the query
CLAUSE_NEED_MIN = 0.55  # a clause's best need domain read this sure is kept as a need
EACH_NEED_TOP = 5  # an account of several needs: each need has a service in the first 5
EACH_NEED_KEEP = 2  # ... never displacing the first 2
EACH_NEED_MAX = 3  # ... for at most 3 need domains
EACH_NEED_RELATIVE = 0.0  # ... each read at least this share of the best reading
EACH_NEED_MIN = 0.5  # ... and at least this sure
AGREE_POWER = 1.0  # how sharply a weaker reading agrees less
RELEVANCE_FLOOR = 0.25  # when a service is named with every word typed: others under
WEAK_FLOOR = 0.1  # this share of the best are not shown (otherwise under this share)
CLAUSE_RELATIVE = (
    0.8  # a longer account: a clause's reading under this share of the best is dropped
)
LITERAL_WORDS = 4  # queries of at most this many words: a literal match outranks expansions


@dataclass
class _Term:
    token: str
    weight: float
    concept: int  # which part of the query it stands for (-1: none)
    literal: bool  # the person's own word (as typed or corrected), not an expansion
    source: str  # "words", a vocabulary phrase ("'sofa surfing'") or a code ("code Z59.0 ...")
    shown: str  # what matched, as a person would write it


class ServiceIndex(IndexData):
    """Searchable snapshot of the directory. Build with ``ServiceIndex.build(session)``."""

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
        current_only: bool = False,
        limit: int = 20,
        now: datetime | None = None,
        today: date | None = None,
        include_stale: bool | None = None,
    ) -> list[ServiceMatch]:
        """Services for the words and filters, best first, each with ``why``.

        ``include_stale`` is the old spelling (stale services are included by default now):
        ``include_stale=False`` means ``current_only``."""
        if include_stale is not None:
            current_only = current_only or not include_stale
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
        cutoff = months_before(today, self.stale_months).toordinal()
        stale = (self._verified > 0) & (self._verified < cutoff)
        if current_only:
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

        terms, notes, typed, reading = self._query_terms(text) if text.strip() else ([], [], 0, [])
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
            if reading and CONCEPT_MAX:
                scores = self._concept_scores(terms, all_docs, all_weights, n)
            else:
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
        if reading:
            scores = scores * self._agreement(reading)
        scores = np.where(stale, scores * STALE_FACTOR, scores)
        scores = np.where(mask, scores, 0.0)
        # a relevance floor (measured before a literal match is lifted above the rest; higher
        # when some service is named with every word typed): a weak match does not trail
        # the strong ones, nor come first near a place because it is close
        before = float(scores.max())
        scores, named = self._literal_first(scores, terms, typed)
        floor = (RELEVANCE_FLOOR if named else WEAK_FLOOR) * before
        scores = np.where(scores >= floor, scores, 0.0).astype(np.float32)
        top_score = float(scores.max())
        relevance = scores
        if distance is not None and top_score > 0:
            # relevance first, then distance: a relevant service nearby beats a slightly
            # better-worded one across the county; no location known counts as far-ish
            km = np.nan_to_num(distance, nan=20.0)
            factor = 0.1 + 0.9 / (1.0 + (km / 10.0) ** 2)
            scores = (np.sqrt(scores / top_score) * factor).astype(np.float32)
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        shortlist = max(SHORTLIST, limit)
        if candidates.size > shortlist:
            top = np.argpartition(-scores[candidates], shortlist - 1)[:shortlist]
            candidates = candidates[top]
        final = scores[candidates].astype(np.float64)
        shown = relevance[candidates].astype(np.float64)  # the Match: relevance, near or not
        if text.strip():
            query = text.lower()
            names = [self._name(int(i)) for i in candidates]
            sims = process.cdist(
                [query], names, scorer=fuzz.token_set_ratio, processor=utils.default_process
            )[0].astype(np.float64)
            bonus = 1.0 + 0.3 * (sims / 100.0) ** 4
            final = final * bonus
            shown = shown * bonus
        order = np.lexsort((candidates, -final))
        lifted: dict[int, str] = {}
        if reading:
            order, lifted = self._each_need(candidates, order, reading)
        order = order[:limit]
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
                float(shown[j]),
                matched_terms[row],
                notes + ([lifted[int(i)]] if int(i) in lifted else []),
                need_labels,
                bool(stale[i]),
                distance,
                place,
            )
            for row, (j, i) in enumerate(zip(order, chosen, strict=True))
        ]

    def reading(self, text: str) -> list[str]:
        """How the words of ``text`` were read ("read 'benifits' as 'benefits'"), in order:
        a word is corrected only when it is neither the directory's nor English."""
        notes = self._query_terms(text)[1] if text.strip() else []
        return [n for n in notes if n.startswith("read ")]

    def _name(self, i: int) -> str:
        return self.docs[i].name

    def warm(self) -> None:
        """Load what a first misspelling would (the English list), for a caller that
        searches on every keystroke."""
        english_near("a", 5)

    def known_words(self) -> frozenset[str]:
        """Stemmed words the directory and its vocabulary know (never corrected)."""
        return frozenset(self._postings) | frozenset(t for p in self._vocab.phrases for t in p.key)

    def town_names(self) -> list[str]:
        """The towns of the directory's service locations, sorted."""
        return sorted(set(self._town_names.values()))

    # --- internals -----------------------------------------------------------------

    def _agreement(self, reading: list[tuple[str, float, str]]) -> np.ndarray:
        """For a longer account: how far each service agrees with the catalogue's reading
        of the whole text (its need domains ``@key`` and Z codes ``#z..``; 1 for the best),
        as a factor from AGREE_FLOOR to 1, so that a word in passing ("keep", "start")
        does not carry a service of another need to the top."""
        top = max(score for _token, score, _phrase in reading)
        agree = np.zeros(self.size, dtype=np.float32)
        for token, score, _phrase in reading:
            docs = self._postings.get(token, _EMPTY)[0]
            agree[docs] = np.maximum(agree[docs], (score / top) ** AGREE_POWER)
        return AGREE_FLOOR + (1.0 - AGREE_FLOOR) * agree

    def _concept_scores(
        self, terms: list[_Term], all_docs: list[np.ndarray], all_weights: list[np.ndarray], n: int
    ) -> np.ndarray:
        """A longer account's scores: within one part of the query (a word and the
        phrases it was read as) a service counts its best match, not the sum of every
        expansion it happens to carry, so that a generalist service listing many needs
        does not outscore the one service of the need read; the catalogue's reading and
        the words not in any part are summed as before."""
        scores = np.zeros(n, dtype=np.float32)
        best: dict[int, np.ndarray] = {}
        catalogue = max(t.concept for t in terms)
        for term, docs, ws in zip(terms, all_docs, all_weights, strict=True):
            if term.concept < 0 or term.source == "catalogue:" or term.concept == catalogue:
                scores[docs] += ws
                continue
            part = best.get(term.concept)
            if part is None:
                part = best[term.concept] = np.zeros(n, dtype=np.float32)
            part[docs] = np.maximum(part[docs], ws)
        for part in best.values():
            scores += part
        return scores

    def _each_need(
        self, candidates: np.ndarray, order: np.ndarray, reading: list[tuple[str, float, str]]
    ) -> tuple[np.ndarray, dict[int, str]]:
        """An account of several needs finds each kind: when no service of a need domain
        the account was read as is among the first EACH_NEED_TOP, its best service takes
        the lowest place there not taken by one so lifted (the first EACH_NEED_KEEP stay).
        Returns the new order and, for each lifted service, the note saying why."""
        ranked = candidates[order]
        first = EACH_NEED_TOP
        if ranked.size <= first:
            return order, {}
        top = max(score for _t, score, _p in reading)
        needs = sorted(
            (
                r
                for r in reading
                if r[0].startswith("@") and r[1] >= max(EACH_NEED_MIN, EACH_NEED_RELATIVE * top)
            ),
            key=lambda r: -r[1],
        )[:EACH_NEED_MAX]
        if len(needs) < 2:
            return order, {}
        positions = list(range(ranked.size))
        slot = first - 1
        lifted: dict[int, str] = {}
        for token, _score, phrase in needs:
            if slot < EACH_NEED_KEEP:
                break
            docs = self._postings.get(token, _EMPTY)[0]
            has = np.isin(ranked[positions], docs)
            if has[:first].any():
                continue
            later = np.flatnonzero(has)
            if later.size == 0:
                continue
            at = int(later[0])
            positions.insert(slot, positions.pop(at))
            lifted[int(ranked[positions[slot]])] = (
                f"shown for another need the account was read as: {token[1:]} ({phrase!r})"
            )
            slot -= 1
        return order[positions], lifted

    def _literal_first(
        self, scores: np.ndarray, terms: list[_Term], typed: int
    ) -> tuple[np.ndarray, bool]:
        """A short query's literal match outranks its expansions: services whose name or
        taxonomy holds every word the person typed are lifted above every other service,
        found through synonyms, domains or codes. ``typed``: the query's distinct words."""
        literal = [t for t in terms if t.literal]
        if not literal or len(literal) < typed or typed > LITERAL_WORDS:
            return scores, False
        full = scores > 0
        for term in literal:
            hits = np.zeros(self.size, dtype=bool)
            docs, weights = self._postings[term.token]
            hits[docs[weights >= NAMED_WEIGHT]] = True
            full &= hits
        rest = (scores > 0) & ~full
        if not full.any() or not rest.any():
            return scores, bool(full.any())
        return np.where(full, scores + scores[rest].max(), scores).astype(np.float32), True

    def _z_tokens(self, code: str) -> list[str]:
        key = "#" + code.lower()
        if "." in code:
            return [key] if key in self._postings else []
        prefixed = getattr(self._postings, "prefixed", None)  # a mapped index's postings
        if prefixed is not None:
            return list(prefixed(key + "."))
        codes: dict[str, list[str]] | None = getattr(self, "_code_tokens", None)
        if codes is None:  # every Z code token by its category, listed once
            codes = {}
            for t in self._postings:
                if t.startswith("#") and "." in t:
                    codes.setdefault(t.split(".", 1)[0], []).append(t)
            self._code_tokens = codes
        return codes.get(key, [])

    def _complete(self, prefix: str, limit: int = 6) -> list[str]:
        """Index words starting with a half-typed word, the commonest first."""
        start = bisect.bisect_left(self._sorted_tokens, prefix)
        end = bisect.bisect_left(self._sorted_tokens, prefix + "\uffff")
        found = self._sorted_tokens[start:end]
        found.sort(key=lambda t: -self._postings[t][0].size)
        return found[:limit]

    def _correct(self, word: str) -> str | None:
        """The word the person most likely meant, or None to keep it as typed.

        A correctly spelled English word is never corrected (``directory.english``); a
        misspelling goes to the closest word of the directory or of English (a directory
        word wins a near tie), also tried as spelt by ear ("evicshun" -> "eviction")."""
        if len(word) < 3 or not word.isalpha() or is_english(word):
            return None
        cutoff = 75 if len(word) <= 4 else (72 if len(word) <= 6 else 65)
        variants = [word] + [word.replace(a, b) for a, b in _SOUNDS if a in word]
        best: tuple[str, float] | None = None
        for variant in variants:
            for choices, bonus in (
                (self._dictionary, DIRECTORY_BONUS),
                (english_near(variant[0], len(variant)), 0.0),
            ):
                found = process.extractOne(variant, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
                if found and (best is None or found[1] + bonus > best[1]):
                    best = (found[0], found[1] + bonus)
        return best[0] if best else None

    def _query_terms(
        self, text: str
    ) -> tuple[list[_Term], list[str], int, list[tuple[str, float, str]]]:
        """Weighted index tokens for the query, notes on corrections and synonyms, and how
        many distinct words (not stopwords) the person typed."""
        stop = stopwords()
        skip = phrase_stopwords()
        notes: list[str] = []
        said = rejected(text)  # "it's not the money": those words are not searched
        if said.denied:
            text = said.kept
            shown = ", ".join(repr(d) for d in said.denied)
            notes.append(f"left out {shown} (said not to be the need)")
        toks: list[str] = []
        originals: list[str] = []
        fixes: dict[str, str] = {}
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
                fixed = self._correct(plain)  # None for an English word: kept as typed
                if fixed and stem(fixed) != tok:
                    notes.append(f"read {raw!r} as {fixed!r}")
                    fixes[raw] = fixed
                    tok = stem(fixed)
                    raw = fixed
            toks.append(tok)
            originals.append(raw)
            is_stop.append(plain in stop)
        weights: dict[str, _Term] = {}
        reading: list[tuple[str, float, str]] = []

        def add(
            token: str, weight: float, concept: int, source: str, shown: str, literal: bool = False
        ) -> None:
            if token not in self._postings:
                return
            current = weights.get(token)
            if current is None or current.weight < weight or (literal and not current.literal):
                weights[token] = _Term(token, weight, concept, literal, source, shown)

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
        # in a person's account of their situation most words are not the need ("low" in
        # "so low I can't get out of bed" is not low-cost): the reading counts more there
        sentence = len(all_words) >= SENTENCE_AT
        long_text = len({toks[i] for i in content}) >= LONG_AT
        lit = LONG_LITERAL if long_text else 1.0
        for i in content:
            weight = lit * self._filler(originals[i], toks[i]) if sentence else lit
            add(toks[i], weight, concept_of[i], "words", originals[i], literal=True)
        for word in completions:
            add(word, 0.7, concept_of[-1], "words", self._surface.get(word, word))
        for a, b in itertools.pairwise(content):
            pair = f"{originals[a]}{originals[b]}"
            add(toks[a] + toks[b], lit, concept_of[a], "words", pair)
        for start, phrase in phrases:
            w = min(0.9, 1.6 / math.sqrt(max(1, len(phrase.terms))))
            if sentence and len(phrase.key) == 1:  # one everyday word in passing
                w *= self._filler(originals[start], toks[start]) ** PHRASE_FILLER
            for t in phrase.terms:
                add(t, w, concept_of[start], f"{phrase.text!r} ->", phrase.surface[t])
            for d in phrase.domains:
                add("@" + d, 0.6, concept_of[start], f"{phrase.text!r} ->", f"need {d}")
            notes.append(f"{phrase.text!r} means " + ", ".join(phrase.domains or phrase.terms[:3]))
        # the catalogue reads the words as corrected ("lonley" -> "lonely"); a longer
        # account clause by clause, so that each thing said is read on its own
        boost = LONG_CATALOGUE if long_text or sentence else 1.0
        corrected = _WORDS.sub(lambda m: fixes.get(m.group(0).lower(), m.group(0)), text)
        parts = clauses(corrected) if long_text else []
        domains = self._catalogue_terms(parts or [corrected], len(toks), add, boost, sentence)
        if long_text:
            reading = domains
        return list(weights.values()), notes, len({toks[i] for i in content}), reading

    def _filler(self, word: str, tok: str) -> float:
        """How much a word of a longer account counts on its own: an everyday word that
        neither the vocabulary nor the codes catalogue reads as a need ("else", "Friday")
        is narrative, not need; commoner words count less (their English frequency)."""
        plain = word.replace("'", "")
        bucket = english_words().get(plain)
        common = 1.0 if bucket is None else min(1.0, max(0.0, (bucket - FILLER_FROM) / FILLER_SPAN))
        if tok in _phrase_stems() or catalogue_knows(plain):
            return max(FILLER_KNOWN, common)
        return max(FILLER_MIN, common * FILLER_UNKNOWN)

    def _catalogue_terms(
        self, texts: list[str], concept: int, add: Any, boost: float, sentence: bool
    ) -> list[tuple[str, float, str]]:
        """The codes catalogue's reading of the person's words (its lay understanding):
        the codes it finds lead to services carrying them, the need domains to services
        of that domain, and the words of the catalogue phrase it read them as to services
        using those words; each weighted by how sure the catalogue is. Several texts (the
        clauses of an account) are each read on their own and their readings pooled: a
        code or domain counts at its best score in any clause; one under CLAUSE_RELATIVE
        of the best reading of the whole is dropped unless it is its clause's own need
        (the clause's best domain, read at least CLAUSE_NEED_MIN sure, and its codes):
        "my nan passed away in June and I've been gambling since" is two needs."""
        codes: dict[str, tuple[float, CodeHint]] = {}
        domains: dict[str, tuple[float, str]] = {}
        own: set[str] = set()  # codes and domains that are a clause's own need
        for text in texts:
            found, read_domains = need_hints(text)
            winner = ""
            if read_domains and read_domains[0][1] >= CLAUSE_NEED_MIN:
                winner = read_domains[0][0]
                own.add("@" + winner)
            best = found[0].score / 100.0 if found else 0.0
            for hint in found:
                score = hint.score / 100.0
                weak = score * 100 < CODE_MIN
                if weak or (score < CODE_RELATIVE * best and hint.domain != winner):
                    continue
                if hint.domain == winner:
                    own.add(hint.code)
                if score > codes.get(hint.code, (0.0, hint))[0]:
                    codes[hint.code] = (score, hint)
            top = read_domains[0][1] if read_domains else 0.0
            for key, score, phrase in read_domains:
                if score * 100 < CODE_MIN or score < CODE_RELATIVE * top:
                    continue
                if score > domains.get(key, (0.0, ""))[0]:
                    domains[key] = (score, phrase)
        relative = CLAUSE_RELATIVE if len(texts) > 1 else 0.0
        best_code = max((s for s, _h in codes.values()), default=0.0)
        top = max((s for s, _p in domains.values()), default=0.0)
        codes = {k: v for k, v in codes.items() if v[0] >= relative * best_code or k in own}
        domains = {k: v for k, v in domains.items() if v[0] >= relative * top or "@" + k in own}
        read: dict[str, float] = {}
        used: list[tuple[str, float, str]] = []  # (index token, score, catalogue phrase)
        for score, hint in sorted(codes.values(), key=lambda c: -c[0]):
            shown = f"{hint.code} {hint.display}"
            tokens = self._z_tokens(hint.code)
            # a category ("Z56") stands for all its codes: together they count as one
            spread = max(1, len(tokens))
            for tok in tokens:
                add(tok, boost * CODE_WEIGHT * score / spread, concept, "catalogue:", shown)
                used.append((tok, score, hint.phrase))
            read[hint.phrase] = max(read.get(hint.phrase, 0.0), score)
        for key, (score, phrase) in sorted(domains.items(), key=lambda d: -d[1][0]):
            used.append(("@" + key, score, phrase))
            weight = boost * DOMAIN_HINT_WEIGHT * score
            add("@" + key, weight, concept, "catalogue:", f"need {key}")
            read[phrase] = max(read.get(phrase, 0.0), score)
        for phrase, score in read.items() if PHRASE_WEIGHT > 0 else ():
            for word in words(phrase):
                tok = stem(word)
                if word.replace("'", "") in stopwords() or tok not in self._postings:
                    continue
                weight = boost * PHRASE_WEIGHT * score
                if sentence:  # "people next door": "next" and "door" are not the need
                    weight *= self._filler(word, tok)
                add(tok, weight, concept, f"read as {phrase!r}:", word)
        return used

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
            if note.startswith(("read ", "left out ", "shown for ")):
                why.append(note)
        for label in need_labels:
            why.append(f"serves need {label}")
        km = exact = None
        if distance is not None and place is not None:
            value = float(distance[i])
            if not math.isnan(value):
                km, exact = round(value, 1), value
                why.append(f"{km} km from {place.label}")
            else:
                why.append("no location given")
        if stale:
            why.append(
                f"not verified since {doc.last_verified} (over {self.stale_months} months ago)"
            )
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
            nearest_km=exact,
        )


_WORDS = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_SOUNDS = (("shun", "tion"), ("shon", "tion"), ("f", "ph"), ("k", "c"), ("ck", "c"), ("z", "s"))
_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


@cache
def _phrase_stems() -> frozenset[str]:
    """Stemmed words of the vocabulary's phrases."""
    return frozenset(t for p in load_vocabulary().phrases for t in p.key)


def _centroid(label: str, points: list[tuple[float, float]]) -> Place:
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    return Place(label, lat, lon)

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
* The first five hold at most three of one kind of service while another kind matches
  well (a kind by its name and, for a longer account, by which of the needs read it
  answers), and a service of each need a short query's parts or a longer account were
  read as (``directory.search_variety``): one kind at many places does not bury the rest.
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
from datetime import date, datetime
from typing import cast

import numpy as np
from rapidfuzz import fuzz, process, utils

from directory.english import english_words, is_english
from directory.english import near as english_near
from directory.index import IndexDoc, load_docs
from directory.matches import Place, ServiceMatch
from directory.narrative import clauses, rejected, still_typed
from directory.search_reading import _EMPTY, AccountReading, _Term
from directory.search_spelling import SpellingChoices, english_choices
from directory.search_variety import KindVariety
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
    resolve_need,
)

__all__ = ["IndexDoc", "Place", "ServiceIndex", "ServiceMatch", "load_docs"]

SHORTLIST = 60
STALE_FACTOR = 0.85
DIRECTORY_BONUS = 2.0  # a directory word beats an English word this much less alike
NAMED_WEIGHT = 2.5  # a token this heavy in a service is in its name or taxonomy (index.py)
LONG_LITERAL = 1.0  # the weight of the person's own words in a longer account
LONG_CATALOGUE = 1.5  # and of the catalogue's reading of a sentence or longer
LONG_AT = 5  # distinct words (not stopwords) from which a query is a longer account
PHRASE_FILLER = 0.5  # a one-word phrase of a sentence counts as its word does (to this power)
SENTENCE_AT = 6  # words (stopwords too) from which a query is a sentence: filler counts less
FILLER_AT = 3  # words (not stopwords) from which its own everyday words count less too
READING_COVERS = 0.5  # a longer account: its reading's share of coverage, against its words
RELEVANCE_FLOOR = 0.25  # when a service is named with every word typed: others under
WEAK_FLOOR = 0.1  # this share of the best are not shown (otherwise under this share)
LITERAL_WORDS = 4  # queries of at most this many words: a literal match outranks expansions
SHORT_UNREAD_AT = 2  # a short query of this many words, no phrase read: read by meaning
CORRECTIONS_KEPT = 10_000  # words whose correction is remembered (per index)


class ServiceIndex(AccountReading, KindVariety):
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
        understand: bool = True,
        while_typing: bool = False,
    ) -> list[ServiceMatch]:
        """Services for the words and filters, best first, each with ``why``.

        ``include_stale`` is the old spelling (stale services are included by default now):
        ``include_stale=False`` means ``current_only``. ``understand=False`` leaves out the
        meaning model's reading (``directory.meaning``); ``while_typing`` (the app, on every
        key) leaves it out only for the clause still being typed (``narrative.still_typed``)."""
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

        # Filters as masks over every service, made only when asked for (the commonest
        # search has none); staleness by the day, worked out once a day (_stale).
        stale_all = self._stale(today)
        mask: np.ndarray | None = None
        if current_only:
            mask = ~stale_all
        if free:
            mask = self._free.copy() if mask is None else mask & self._free
        if age is not None:
            ages = (self._min_age <= age) & (self._max_age >= age)
            mask = ages if mask is None else mask & ages
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
                _mark(lang_mask, self._languages[k])
            if lang == "english":
                _mark(lang_mask, self._no_language)
            mask = lang_mask if mask is None else mask & lang_mask
        if open_now:
            day = now.isoweekday()
            minute = now.hour * 60 + now.minute
            docs_d, opens_d, closes_d = self._hours[day]
            open_mask = np.zeros(n, dtype=bool)
            _mark(open_mask, docs_d[(opens_d <= minute) & (minute < closes_d)])
            mask = open_mask if mask is None else mask & open_mask

        need_labels: list[str] = []
        need_score: np.ndarray | None = None
        if needs:
            need_score = strongest = np.zeros(n, dtype=np.float32)
            need_mask = np.zeros(n, dtype=bool)
            for code in needs:
                label, domains, zcodes = resolve_need(code)
                need_labels.append(label)
                for d in domains:
                    docs, _w = self._postings.get("@" + d, _EMPTY)
                    _mark(need_mask, docs)
                    np.maximum.at(strongest, docs, 0.7)
                for z in zcodes:
                    for tok in self._z_tokens(z):
                        docs, _w = self._postings[tok]
                        _mark(need_mask, docs)
                        np.maximum.at(strongest, docs, 1.0)
            mask = need_mask if mask is None else mask & need_mask

        place = self.resolve_place(near) if near else None
        distance = self._distances(place) if place else None

        terms, notes, typed, reading = (
            self._query_terms(text, understand, while_typing) if text.strip() else ([], [], 0, [])
        )
        # Scores are worked out only for the services the query terms give a score
        # (``rows``, ascending; every other service scores 0 whatever follows, as every
        # factor below multiplies, and a score of 0 is never shown): the same numbers, in
        # the same order, as over every service. Each sum is made over every service at
        # once (bincount over the postings as they are, each term's in turn: the same
        # additions in the same order) and then read at ``rows``.
        rows: np.ndarray | None = None
        if terms:
            concepts = {t.concept for t in terms if t.concept >= 0}
            all_docs = []
            all_weights = []
            for term in terms:
                docs, ws = self._postings[term.token]
                all_docs.append(docs)
                all_weights.append(ws * np.float32(term.weight * self._idf[term.token]))
            concept_docs: dict[int, list[np.ndarray]] = {c: [] for c in concepts}
            for term, docs in zip(terms, all_docs, strict=True):
                if term.concept >= 0:
                    concept_docs[term.concept].append(docs)
            if reading:
                whole = self._concept_scores(terms, all_docs, all_weights, n)
                rows = np.flatnonzero(whole != 0)  # (a mask: numpy reads it far faster)
                scores = whole[rows]
            else:
                summed = np.bincount(
                    np.concatenate(all_docs), weights=np.concatenate(all_weights), minlength=n
                )
                rows = np.flatnonzero(summed != 0)
                scores = summed[rows].astype(np.float32)
            if concepts:
                # a longer account: the catalogue's reading of it (its last concept) counts
                # as much as all its words together, most of which are not the need
                weight = {c: 1.0 for c in concepts}
                if reading and len(concepts) > 1:
                    weight[max(concepts)] = (len(concepts) - 1) * READING_COVERS
                # each service's summed weight of the parts it matches (whole halves:
                # exact in any order and precision)
                each_docs = []
                each_weight = []
                for c, parts in concept_docs.items():
                    if len(parts) == 1:  # one term: its services, each once
                        once = parts[0]
                    else:
                        hits = np.zeros(n, dtype=bool)
                        for docs in parts:
                            _mark(hits, docs)
                        once = np.flatnonzero(hits)
                    each_docs.append(once)
                    each_weight.append(np.full(once.size, weight[c]))
                covered = np.bincount(
                    np.concatenate(each_docs), np.concatenate(each_weight), minlength=n
                )[rows].astype(np.float32)
                scores *= 0.6 + 0.4 * covered / sum(weight.values())
            if need_score is not None:
                scores *= 1.0 + 0.5 * need_score[rows]
        else:
            scores = need_score.copy() if need_score is not None else np.zeros(n, np.float32)

        def mine(values: np.ndarray) -> np.ndarray:
            return values if rows is None else values[rows]

        if reading:
            scores = scores * mine(self._agreement(reading))
        # (a factor of 1 or STALE_FACTOR for each service, as float32: the same products)
        scores = scores * mine(self._stale_factor(today))
        if mask is not None:
            scores = np.where(mine(mask), scores, 0.0)
        # a relevance floor (measured before a literal match is lifted above the rest; higher
        # when some service is named with every word typed): a weak match does not trail
        # the strong ones, nor come first near a place because it is close
        before = float(scores.max()) if scores.size else 0.0
        scores, named = self._literal_first(scores, terms, typed, rows)
        floor = (RELEVANCE_FLOOR if named else WEAK_FLOOR) * before
        scores = np.where(scores >= floor, scores, 0.0).astype(np.float32)
        top_score = float(scores.max()) if scores.size else 0.0
        relevance = scores
        if distance is not None and top_score > 0:
            # relevance first, then distance: a relevant service nearby beats a slightly
            # better-worded one across the county; no location known counts as far-ish
            km = np.nan_to_num(mine(distance), nan=20.0)
            factor = 0.1 + 0.9 / (1.0 + (km / 10.0) ** 2)
            scores = (np.sqrt(scores / top_score) * factor).astype(np.float32)
        keep = np.flatnonzero(scores > 0)  # positions in scores
        candidates = keep if rows is None else rows[keep]  # service numbers, ascending
        if candidates.size == 0:
            return []
        shortlist = max(SHORTLIST, limit)
        needs_met: np.ndarray | None = None  # a longer account: what each answers (variety)
        if candidates.size > shortlist:
            top = np.argpartition(-scores[keep], shortlist - 1)[:shortlist]
            top = self._with_other_kinds(candidates, scores[keep], top)
            if reading:
                top, needs_met = self._with_each_need(candidates, scores, keep, top, reading)
            candidates = candidates[top]
            keep = keep[top]
        final = scores[keep].astype(np.float64)
        shown = relevance[keep].astype(np.float64)  # the Match: relevance, near or not
        if text.strip():
            query = text.lower()
            names = [self._name(i) for i in candidates.tolist()]
            sims = process.cdist(
                [query], names, scorer=fuzz.token_set_ratio, processor=utils.default_process
            )[0].astype(np.float64)
            bonus = 1.0 + 0.3 * (sims / 100.0) ** 4
            final = final * bonus
            shown = shown * bonus
        order = np.lexsort((candidates, -final))
        if reading and needs_met is None:
            needs_met = self._need_kinds(candidates, reading)
        order, lifted = self._variety(candidates, order, final, needs_met, reading)
        if reading:
            order, each = self._each_need(candidates, order, reading)
            lifted |= each
        else:
            order, each = self._each_part(candidates, order, final, terms)
            lifted |= each
        order = order[:limit]
        chosen = candidates[order].astype(np.int32)
        # which query terms each chosen service matched: one searchsorted per term
        matched_terms: list[list[int]] = [[] for _ in range(chosen.size)]
        for number, term in enumerate(terms):
            docs, _w = self._postings[term.token]
            pos = np.minimum(np.searchsorted(docs, chosen), max(docs.size - 1, 0))
            found = docs[pos] == chosen if docs.size else np.zeros(chosen.size, dtype=bool)
            for row in np.flatnonzero(found).tolist():
                matched_terms[row].append(number)
        # strongest first (weight x idf); the lines saying what matched made once for each
        # set of terms matched (results often share one)
        rank = [-t.weight * self._idf[t.token] for t in terms]
        said: dict[tuple[int, ...], list[str]] = {}

        def lines(row: int) -> list[str]:
            key = tuple(sorted(matched_terms[row], key=rank.__getitem__))
            made = said.get(key)
            if made is None:
                made = said[key] = _matched_lines([terms[at] for at in key])
            return list(made)

        return [
            self._match(
                int(i),
                float(shown[j]),
                lines(row),
                notes + ([lifted[int(i)]] if int(i) in lifted else []),
                need_labels,
                bool(stale_all[i]),
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

    def _literal_first(
        self, scores: np.ndarray, terms: list[_Term], typed: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, bool]:
        """A short query's literal match outranks its expansions: services whose name or
        taxonomy holds every word the person typed are lifted above every other service,
        found through synonyms, domains or codes. ``typed``: the query's distinct words;
        ``rows``: the services ``scores`` holds, ascending, when that is only the services
        the terms give a score (None: every service)."""
        literal = [t for t in terms if t.literal]
        if not literal or len(literal) < typed or typed > LITERAL_WORDS:
            return scores, False
        full = scores > 0
        for term in literal:
            docs, weights = self._postings[term.token]
            named = docs[weights >= NAMED_WEIGHT]
            hits = np.zeros(scores.size, dtype=bool)
            if rows is not None:  # each one's place in rows, if it is there
                at = np.minimum(np.searchsorted(rows, named), max(rows.size - 1, 0))
                named = at[rows[at] == named] if rows.size else at[:0]
            _mark(hits, named)
            full &= hits
        rest = (scores > 0) & ~full
        if not full.any() or not rest.any():
            return scores, bool(full.any())
        return np.where(full, scores + scores[rest].max(), scores).astype(np.float32), True

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
        memo: dict[str, str | None] = self.__dict__.setdefault("_corrections", {})
        if word in memo:  # typed key by key, a word is read again on every key
            return memo[word]
        fixed = self._correct_now(word)
        if len(memo) >= CORRECTIONS_KEPT:
            memo.clear()
        memo[word] = fixed
        return fixed

    def _correct_now(self, word: str) -> str | None:
        if len(word) < 3 or not word.isalpha() or is_english(word):
            return None
        swapped = self._swapped(word)
        if swapped is not None:
            return swapped
        cutoff = 75 if len(word) <= 4 else (72 if len(word) <= 6 else 65)
        variants = [word] + [word.replace(a, b) for a, b in _SOUNDS if a in word]
        best: tuple[str, float] | None = None
        mine = self.__dict__.get("_dictionary_choices")
        if mine is None:  # (another thread may make it too: the same words)
            mine = self.__dict__["_dictionary_choices"] = SpellingChoices(self._dictionary)
        for variant in variants:
            for choices, bonus in (
                (mine, DIRECTORY_BONUS),
                (english_choices(variant[0], len(variant)), 0.0),
            ):
                # extractOne's answer (fuzz.ratio) from the words that can reach the cutoff
                found = choices.closest(variant, cutoff)
                if found and (best is None or found[1] + bonus > best[1]):
                    best = (found[0], found[1] + bonus)
        return best[0] if best else None

    def _swapped(self, word: str) -> str | None:
        """The word two neighbouring letters swapped back make ("lonley" -> "lonely"), when
        that is English or the directory's: the commonest typing slip, and a surer reading
        than the nearest word by letters (a place name one letter longer may be nearer)."""
        known = self.__dict__.get("_dictionary_set")
        if known is None:
            known = self.__dict__["_dictionary_set"] = frozenset(self._dictionary)
        rank = english_words()
        found = [
            w
            for i in range(len(word) - 1)
            if word[i] != word[i + 1]
            and ((w := word[:i] + word[i + 1] + word[i] + word[i + 2 :]) in rank or w in known)
        ]
        # English words commonest first, then the directory's own
        return min(found, key=lambda w: rank.get(w, 10_000), default=None)

    def _query_terms(
        self, text: str, understand: bool = True, while_typing: bool = False
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
        # a few words about a situation: their everyday words count less too, or in a
        # large directory a rare literal match of one outranks the need they were read as
        everyday = sentence or len(content) >= FILLER_AT
        for i in content:
            weight = lit * self._filler(originals[i], toks[i]) if everyday else lit
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
        domains = self._catalogue_terms(
            parts or [corrected],
            len(toks),
            add,
            boost,
            sentence,
            # the meaning model reads a longer account, and a short query of a few words
            # the vocabulary has no phrase for ("bun in the oven"), never a single word
            understand=understand
            and (long_text or (not phrases and len(content) >= SHORT_UNREAD_AT)),
            typing=corrected if while_typing and still_typed(text) else None,
        )
        if long_text:
            reading = domains
        return list(weights.values()), notes, len({toks[i] for i in content}), reading

    def _stale(self, today: date) -> np.ndarray:
        """Which services were last verified before ``stale_months`` ago (read-only; the
        same array all day: worked out again when the day changes)."""
        cutoff = months_before(today, self.stale_months).toordinal()
        known = self.__dict__.get("_stale_on")
        if known is not None and known[0] == cutoff:
            return cast(np.ndarray, known[1])
        stale = (self._verified > 0) & (self._verified < cutoff)
        stale.flags.writeable = False
        self.__dict__["_stale_on"] = (cutoff, stale)
        return stale

    def _stale_factor(self, today: date) -> np.ndarray:
        """STALE_FACTOR for each service ``_stale`` says is stale, 1 for the others
        (float32, read-only, kept for the day as ``_stale`` is)."""
        stale = self._stale(today)
        known = self.__dict__.get("_stale_factor_of")
        if known is not None and known[0] is stale:
            return cast(np.ndarray, known[1])
        factor = np.where(stale, np.float32(STALE_FACTOR), np.float32(1.0))
        factor.flags.writeable = False
        self.__dict__["_stale_factor_of"] = (stale, factor)
        return factor

    def _distances(self, place: Place) -> np.ndarray:
        """Kilometres from ``place`` to each service's nearest location (NaN: none known),
        read-only: worked out once for a place and kept while the same place is asked
        for (the app searches near one place on every keystroke)."""
        key = (place.latitude, place.longitude)
        known = self.__dict__.get("_distances_from")
        if known is not None and known[0] == key:
            return cast(np.ndarray, known[1])
        lat0, lon0 = math.radians(place.latitude), math.radians(place.longitude)
        dlat = self._loc_lat - lat0
        dlon = self._loc_lon - lon0
        a = np.sin(dlat / 2) ** 2 + math.cos(lat0) * np.cos(self._loc_lat) * np.sin(dlon / 2) ** 2
        km = 2 * 6371.0 * np.arcsin(np.sqrt(np.minimum(1.0, a)))
        out = np.full(self.size, np.inf)
        np.minimum.at(out, self._loc_doc, km)
        out[np.isinf(out)] = np.nan
        out.flags.writeable = False
        self.__dict__["_distances_from"] = (key, out)
        return out

    def _match(
        self,
        i: int,
        score: float,
        why: list[str],
        notes: list[str],
        need_labels: list[str],
        stale: bool,
        distance: np.ndarray | None,
        place: Place | None,
    ) -> ServiceMatch:
        """Service ``i`` as a result; ``why`` starts with what it matched
        (``_matched_lines``) and is added to."""
        doc = self.docs[i]
        for note in notes:
            if note.startswith("shown for "):  # the reason for its place: first
                why.insert(0, note)
            elif note.startswith(("read ", "left out ")):
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


def _matched_lines(matched: list[_Term]) -> list[str]:
    """What a result matched, a line for each source (the person's words, a phrase, the
    catalogue's reading) with up to four of its words: ``matched`` strongest first."""
    groups: dict[str, list[str]] = {}
    for term in matched:
        shown = groups.setdefault(term.source, [])
        if term.shown not in shown:
            shown.append(term.shown)
    return [
        f"{source} {', '.join(shown[:4])}"
        if source != "words"
        else f"words: {', '.join(shown[:4])}"
        for source, shown in groups.items()
    ]


_WORDS = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_SOUNDS = (("shun", "tion"), ("shon", "tion"), ("f", "ph"), ("k", "c"), ("ck", "c"), ("z", "s"))


def _mark(mask: np.ndarray, docs: np.ndarray) -> None:
    """``mask[docs] = True``, the service numbers made numpy's index type first: numpy sets
    marks at the index file's 32-bit numbers three times slower (the same marks)."""
    mask[docs.astype(np.intp, copy=False)] = True


def _centroid(label: str, points: list[tuple[float, float]]) -> Place:
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    return Place(label, lat, lon)

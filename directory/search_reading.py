"""How directory search reads a longer account of a person's situation (its ranking side).

``AccountReading`` is the part of ``directory.search.ServiceIndex`` that turns the codes
catalogue's reading of an account into ranking: each clause read on its own and pooled
(``_catalogue_terms``), everyday words in passing weighed by their English frequency
(``_filler``), one best match per part of the query (``_concept_scores``), agreement
with what the account was read as (``_agreement``), and a service of each need read in
the first five (``_each_need``). ``directory.narrative`` cuts the text into clauses and
finds what the person says is not the need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from directory.english import english_words
from directory.index import IndexData
from directory.narrative import typing_ends
from directory.text import stem, stopwords, words
from directory.vocabulary import CodeHint, catalogue_knows, load_vocabulary, need_hints

CODE_MIN = 40.0  # catalogue codes and domains scoring less are not used
CLAUSE_CODE_MIN = 45.0  # ... and in the clauses of a longer account (fragments read less surely)
CODE_RELATIVE = 0.75  # ... nor those under this share of the best
CODE_WEIGHT = 1.0  # a catalogue code's weight at score 100
DOMAIN_HINT_WEIGHT = 0.3  # a catalogue need domain's weight at score 1
PHRASE_WEIGHT = 0.5  # the words of the catalogue phrase the text was read as
AGREE_FLOOR = 0.4  # a longer account: the factor for a service of no need it was read as
FILLER_FROM = 300  # English frequency bucket (centibels) under which a word counts least
FILLER_SPAN = 200  # ... and from which on (FROM + SPAN) it counts in full
FILLER_KNOWN = 0.5  # the least a word the vocabulary or catalogue reads counts
FILLER_UNKNOWN = 0.5  # a word neither reads counts at most this
FILLER_MIN = 0.2
CLAUSE_NEED_MIN = 0.55  # a clause's best need domain read this sure is kept as a need
EACH_NEED_TOP = 5  # an account of several needs: each need has a service in the first 5
EACH_NEED_KEEP = 2  # ... never displacing the first 2
EACH_NEED_MAX = 3  # ... for at most 3 need domains
EACH_NEED_MIN = 0.5  # ... and at least this sure
CLAUSE_RELATIVE = 0.8  # a longer account: readings under this share of the best are dropped
# the meaning model (directory.meaning): a longer account's clauses compared with the needs
# described in need_meanings.csv, a weaker signal than the catalogue's reading of its words
MEANING_AT_LEAST = 0.38  # cosine similarity under which a need is not read
MEANING_WITHIN = 0.1  # ... nor one this far under the clause's best need
MEANING_FROM = 0.30  # the similarity read as no confidence
MEANING_FULL = 0.60  # ... and as full confidence
MEANING_WEIGHT = 0.85  # a need read this way counts at most this much of the catalogue's reading
MEANING_TERMS = 0.5  # ... and the words its services use this much of that
MEANING_SOURCE = "understood as:"
MEANING_MARK = " (by meaning)"  # the phrase of a reading by meaning: never lifted (_each_need)


@dataclass
class _Term:
    token: str
    weight: float
    concept: int  # which part of the query it stands for (-1: none)
    literal: bool  # the person's own word (as typed or corrected), not an expansion
    source: str  # "words", a vocabulary phrase ("'sofa surfing'") or a code ("code Z59.0 ...")
    shown: str  # what matched, as a person would write it


_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


class AccountReading(IndexData):
    """Ranking helpers for the catalogue's reading of a person's words."""

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
        self,
        texts: list[str],
        concept: int,
        add: Any,
        boost: float,
        sentence: bool,
        understand: bool = False,
        typing: str | None = None,
    ) -> list[tuple[str, float, str]]:
        """The codes catalogue's reading of the person's words (its lay understanding):
        the codes it finds lead to services carrying them, the need domains to services
        of that domain, and the words of the catalogue phrase it read them as to services
        using those words; each weighted by how sure the catalogue is. Several texts (the
        clauses of an account) are each read on their own and their readings pooled: a
        code or domain counts at its best score in any clause; one under CLAUSE_RELATIVE
        of the best reading of the whole is dropped unless it is its clause's own need
        (the clause's best domain, read at least CLAUSE_NEED_MIN sure, and its codes):
        "my nan passed away in June and I've been gambling since" is two needs. With
        ``understand`` the meaning model's reading is added (``_meaning_terms``), of every
        clause but the one still being typed when ``typing`` is the text so far (the clauses
        ending it: their last word may be half a word), so that typing a long account
        embeds each clause once, when it is finished."""
        codes: dict[str, tuple[float, CodeHint]] = {}
        domains: dict[str, tuple[float, str]] = {}
        own: set[str] = set()  # codes and domains that are a clause's own need
        floor = CLAUSE_CODE_MIN if len(texts) > 1 else CODE_MIN
        for text in texts:
            found, read_domains = need_hints(text)
            winner = ""
            if read_domains and read_domains[0][1] >= CLAUSE_NEED_MIN:
                winner = read_domains[0][0]
                own.add("@" + winner)
            best = found[0].score / 100.0 if found else 0.0
            for hint in found:
                score = hint.score / 100.0
                weak = score * 100 < floor
                if weak or (score < CODE_RELATIVE * best and hint.domain != winner):
                    continue
                if hint.domain == winner:
                    own.add(hint.code)
                if score > codes.get(hint.code, (0.0, hint))[0]:
                    codes[hint.code] = (score, hint)
            top = read_domains[0][1] if read_domains else 0.0
            for key, score, phrase in read_domains:
                if score * 100 < floor or score < CODE_RELATIVE * top:
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
        meant = texts if typing is None else [t for t in texts if not typing_ends(typing, t)]
        if understand and meant:
            read_already = {token for token, _score, _phrase in used}
            used += self._meaning_terms(meant, concept, add, boost, read_already)
        return used

    def _meaning_terms(
        self, texts: list[str], concept: int, add: Any, boost: float, read: set[str]
    ) -> list[tuple[str, float, str]]:
        """What the meaning model understands the clauses as (``directory.meaning``): each
        need it reads, at its best confidence in any clause, leads to services carrying its
        Z codes and need domains and to the words such services use, at MEANING_WEIGHT of
        the catalogue's weights; the why says "understood as: <need>". A code or domain
        the catalogue read already keeps the catalogue's reading (``read``)."""
        from directory import meaning

        best: dict[str, tuple[float, meaning.Need]] = {}
        leading: set[str] = set()  # needs that are some clause's closest
        for read_as in meaning.understand_all(texts, MEANING_AT_LEAST, MEANING_WITHIN):
            for rank, found in enumerate(read_as):
                sure = (found.score - MEANING_FROM) / (MEANING_FULL - MEANING_FROM)
                sure = MEANING_WEIGHT * min(1.0, max(0.0, sure))
                if rank == 0:
                    leading.add(found.need.label)
                if sure > best.get(found.need.label, (0.0, found.need))[0]:
                    best[found.need.label] = (sure, found.need)
        used: list[tuple[str, float, str]] = []
        for sure, need in sorted(best.values(), key=lambda b: -b[0]):
            # only a clause's closest need joins the reading (agreement, each need shown);
            # a runner-up only adds its services' words and codes
            if need.label not in leading:
                read = (
                    read
                    | {"@" + k for k in need.domains}
                    | set(t for c in need.codes for t in self._z_tokens(c))
                )
            for code in need.codes:
                tokens = self._z_tokens(code)
                for tok in tokens:
                    weight = boost * CODE_WEIGHT * sure / max(1, len(tokens))
                    add(tok, weight, concept, MEANING_SOURCE, need.label)
                    if tok not in read:
                        used.append((tok, sure, need.label + MEANING_MARK))
            for key in need.domains:
                add(
                    "@" + key,
                    boost * DOMAIN_HINT_WEIGHT * sure,
                    concept,
                    MEANING_SOURCE,
                    need.label,
                )
                if "@" + key not in read:
                    used.append(("@" + key, sure, need.label + MEANING_MARK))
            for term in need.terms:
                for word in words(term):
                    tok = stem(word)
                    if word.replace("'", "") in stopwords() or tok not in self._postings:
                        continue
                    weight = boost * PHRASE_WEIGHT * MEANING_TERMS * sure
                    add(tok, weight, concept, MEANING_SOURCE, need.label)
        return used

    def _agreement(self, reading: list[tuple[str, float, str]]) -> np.ndarray:
        """For a longer account: how far each service agrees with the catalogue's reading
        of the whole text (its need domains ``@key`` and Z codes ``#z..``; 1 for the best),
        as a factor from AGREE_FLOOR to 1, so that a word in passing ("keep", "start")
        does not carry a service of another need to the top."""
        top = max(score for _token, score, _phrase in reading)
        agree = np.zeros(self.size, dtype=np.float32)
        for token, score, _phrase in reading:
            # (numpy's index type: it writes at the index file's 32-bit numbers far slower)
            docs = self._postings.get(token, _EMPTY)[0].astype(np.intp, copy=False)
            agree[docs] = np.maximum(agree[docs], score / top)
        return AGREE_FLOOR + (1.0 - AGREE_FLOOR) * agree

    def _concept_scores(
        self, terms: list[_Term], all_docs: list[np.ndarray], all_weights: list[np.ndarray], n: int
    ) -> np.ndarray:
        """A longer account's scores: within one part of the query (a word and the
        phrases it was read as) a service counts its best match, not the sum of every
        expansion it happens to carry, so that a generalist service listing many needs
        does not outscore the one service of the need read; the catalogue's reading and
        the words not in any part are summed as before."""
        summed_docs: list[np.ndarray] = []
        summed_weights: list[np.ndarray] = []
        parts: dict[int, list[int]] = {}
        catalogue = max(t.concept for t in terms)
        for i, term in enumerate(terms):
            if term.concept < 0 or term.source == "catalogue:" or term.concept == catalogue:
                summed_docs.append(all_docs[i])
                summed_weights.append(all_weights[i])
            else:
                parts.setdefault(term.concept, []).append(i)
        scores = np.bincount(
            np.concatenate(summed_docs) if summed_docs else np.zeros(0, dtype=np.int32),
            weights=np.concatenate(summed_weights) if summed_weights else None,
            minlength=n,
        ).astype(np.float32)
        for members in parts.values():
            # (the services' numbers in numpy's index type, as _agreement's)
            if len(members) == 1:
                scores[all_docs[members[0]].astype(np.intp, copy=False)] += all_weights[members[0]]
                continue
            part = np.zeros(n, dtype=np.float32)  # each service's best weight in this part
            for i in members:
                docs = all_docs[i].astype(np.intp, copy=False)
                part[docs] = np.maximum(part[docs], all_weights[i])
            scores += part
        return scores

    def _each_need(
        self, candidates: np.ndarray, order: np.ndarray, reading: list[tuple[str, float, str]]
    ) -> tuple[np.ndarray, dict[int, str]]:
        """An account of several needs finds each kind: when no service of a need domain
        the catalogue read in the account (not one read by meaning alone) is among the
        first EACH_NEED_TOP, its best service takes
        the lowest place there not taken by one so lifted (the first EACH_NEED_KEEP stay).
        Returns the new order and, for each lifted service, the note saying why."""
        ranked = candidates[order]
        first = EACH_NEED_TOP
        if ranked.size <= first:
            return order, {}
        needs = sorted(
            (
                r
                for r in reading
                if r[0].startswith("@")
                and r[1] >= EACH_NEED_MIN
                and not r[2].endswith(MEANING_MARK)
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
            shown = ranked[positions]
            pos = np.minimum(np.searchsorted(docs, shown), max(docs.size - 1, 0))
            has = docs[pos] == shown if docs.size else np.zeros(shown.size, dtype=bool)
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


@cache
def _phrase_stems() -> frozenset[str]:
    """Stemmed words of the vocabulary's phrases."""
    return frozenset(t for p in load_vocabulary().phrases for t in p.key)

"""Lay-language code search: from "kipping at a mate's" to ``Z59.0 Homelessness``.

How a query is ranked (all of it explainable, see ``CodeMatch.why``):

1. The text is split into words; apostrophes are dropped ("can't" -> "cant"), known
   abbreviations are spelt out ("uc" -> "universal credit"), stop words ("my", "the", "I'm")
   are dropped, and each word is stemmed (Snowball English), so "evicted" meets "eviction".
2. Each word is matched against the vocabulary of the catalogue's phrases: exactly, then by
   typo (Damerau-Levenshtein distance 1, or 2 for longer words, with rapidfuzz), then through
   groups of equivalent words ("settee" = "sofa", "mam" = "mum"), each at a lower factor.
3. Every phrase (official title or lay synonym) that shares a word with the query is scored:
   how much of the phrase the query covers, and how much of the query the phrase covers,
   both weighted by word rarity (an IDF over the catalogue: rare words like "sofa" weigh
   more than common ones like "no"; vague words like "help" or "problem" weigh little), with
   a bonus when the words come in the phrase's order; a match made only of common words
   counts for less.
4. A code scores its best phrase, plus a little for the rest of its vocabulary covering the
   query; categories, "Other ..." and ".9" (unspecified) codes give way to specific subcodes.

The index is built once when the catalogue loads (``SearchIndex.build``); a query then
costs about a millisecond.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

if TYPE_CHECKING:
    from codes.catalogue import Catalogue, CodedNeed, Domain, Lexicon

_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_WORD = re.compile(r"[a-z0-9&]+")
_CODE_LIKE = re.compile(r"^\s*[zZ]\s*[0-9]{2}(\.?[0-9])?\s*$|^\s*[0-9]{6,18}\s*$")

FUZZY_FACTOR = {1: 0.86, 2: 0.72}
EQUIVALENT_FACTOR = 0.85
UNKNOWN_WORD_WEIGHT = 1.5
MAX_QUERY_WORDS = 64  # a pasted letter is cut to its first words
MIN_SCORE = 0.12
WEAK_FACTOR = 0.3  # "help", "need", "problem": they count, but little
MIN_EVIDENCE = 2.0  # summed word weight a match needs before it counts in full
GENERIC_PENALTY = 0.92  # categories, "Other ..." and ".9" codes
DOMAIN_ONLY_MARGIN = 0.5  # after a strong domain-only match, codes under half of it are dropped


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` with apostrophes removed and hyphens as spaces."""
    text = _APOSTROPHES.sub("", text.lower()).replace("-", " ")
    return _WORD.findall(text)


@dataclass(frozen=True)
class Phrase:
    target: int  # index into SearchIndex.targets
    text: str
    stems: tuple[str, ...]
    is_title: bool


@dataclass(frozen=True)
class Target:
    """Something a phrase points at: an ICD-10 code, or a need domain with no code."""

    code: str | None
    domain: str
    generic: bool


@dataclass(frozen=True)
class QueryWord:
    surface: str
    position: int
    candidates: dict[str, float]  # stem -> factor (1.0 exact, lower for typo/equivalent)
    weight: float
    via: dict[str, str]  # stem -> how it matched ("typo of 'homeless'", "same as 'sofa'")


@dataclass(frozen=True)
class CodeMatch:
    code: str
    display: str
    system: str
    domain: str
    score: float
    why: str
    matched: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "display": self.display,
            "system": self.system,
            "domain": self.domain,
            "score": self.score,
            "why": self.why,
        }


@dataclass(frozen=True, eq=False)
class SearchIndex:
    targets: tuple[Target, ...]
    phrases: tuple[Phrase, ...]
    idf: dict[str, float]
    postings: dict[str, tuple[int, ...]]  # stem -> phrase ids
    phrase_total: tuple[float, ...]  # summed word weight of each phrase
    target_vocab: tuple[frozenset[str], ...]
    surface_words: tuple[str, ...]  # every word seen in a phrase (for typo matching)
    words_by_length: dict[int, tuple[str, ...]]
    surface_stem: dict[str, str]
    stem_surface: dict[str, str]  # a readable word for each stem (for explanations)
    equivalents: dict[str, frozenset[str]]  # stem -> equivalent stems
    abbreviations: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]
    long_stopwords: tuple[str, ...]  # stop words of 4+ letters, for spotting their typos
    stemmer: Any = field(repr=False, compare=False)
    # Snowball stemmers keep state while stemming; searches may run in worker threads
    stem_lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    # -- building ------------------------------------------------------------------------

    @classmethod
    def build(
        cls, codes: Sequence[CodedNeed], domains: Sequence[Domain], lexicon: Lexicon
    ) -> SearchIndex:
        stemmer = snowballstemmer.stemmer("english")
        stop = lexicon.stopwords
        abbreviations = {k: tuple(words(v)) for k, v in lexicon.abbreviations.items()}

        stem_cache: dict[str, str] = {}

        def stem(word: str) -> str:
            s = stem_cache.get(word)
            if s is None:
                s = stemmer.stemWord(word) if word.isalpha() and len(word) > 2 else word
                stem_cache[word] = s
            return s

        def content_stems(text: str) -> tuple[str, ...]:
            out: list[str] = []
            for w in words(text):
                for part in abbreviations.get(w, (w,)):
                    if part not in stop:
                        out.append(stem(part))
            return tuple(out)

        targets: list[Target] = []
        phrases: list[Phrase] = []
        for need in codes:
            # categories, "Other ..." and ".9 unspecified" codes give way to specific ones
            generic = (
                need.is_category
                or need.display.lower().startswith("other")
                or need.code.endswith(".9")
            )
            t = len(targets)
            targets.append(Target(need.code, need.domain, generic))
            phrases.append(Phrase(t, need.display, content_stems(need.display), True))
            for syn in need.synonyms:
                if syn.lower() in abbreviations:
                    continue  # "dv": the query side spells it out, and so does another phrase
                phrases.append(Phrase(t, syn, content_stems(syn), False))
        for dom in domains:
            if not dom.phrases:
                continue
            t = len(targets)
            targets.append(Target(None, dom.key, False))
            for syn in dom.phrases:
                phrases.append(Phrase(t, syn, content_stems(syn), False))
        phrases = [p for p in phrases if p.stems]

        vocab: list[set[str]] = [set() for _ in targets]
        postings: dict[str, list[int]] = defaultdict(list)
        surface: dict[str, str] = {}
        for pid, p in enumerate(phrases):
            vocab[p.target].update(p.stems)
            for s in set(p.stems):
                postings[s].append(pid)
            for w in words(p.text):
                if w not in stop and w.isalpha():
                    surface[w] = stem(w)
        n = len(targets)
        df: dict[str, int] = defaultdict(int)
        for v in vocab:
            for s in v:
                df[s] += 1
        idf = {s: math.log(1.0 + n / d) for s, d in df.items()}
        for w in lexicon.weak:
            ws = stem(w)
            if ws in idf:
                idf[ws] *= WEAK_FACTOR

        readable: dict[str, str] = {}
        for w, st in surface.items():
            held = readable.get(st)
            if held is None or (len(w), w) < (len(held), held):
                readable[st] = w

        equivalents: dict[str, set[str]] = defaultdict(set)
        for group in lexicon.groups:
            stems = {stem(w) for w in group if " " not in w}
            for s in stems:
                equivalents[s].update(stems - {s})

        return cls(
            targets=tuple(targets),
            phrases=tuple(phrases),
            idf=idf,
            postings={k: tuple(v) for k, v in postings.items()},
            phrase_total=tuple(sum(idf[s] for s in p.stems) for p in phrases),
            target_vocab=tuple(frozenset(v) for v in vocab),
            surface_words=tuple(sorted(surface)),
            words_by_length={
                n: tuple(sorted(w for w in surface if len(w) == n))
                for n in {len(w) for w in surface}
            },
            surface_stem=surface,
            stem_surface=readable,
            equivalents={k: frozenset(v) for k, v in equivalents.items()},
            abbreviations=abbreviations,
            stopwords=stop,
            long_stopwords=tuple(sorted(w for w in stop if len(w) >= 4)),
            stemmer=stemmer,
        )

    # -- querying ------------------------------------------------------------------------

    def stem(self, word: str) -> str:
        cached = self.surface_stem.get(word)
        if cached is not None:
            return cached
        if word.isalpha() and len(word) > 2:
            with self.stem_lock:
                return str(self.stemmer.stemWord(word))
        return word

    def _typos(self, w: str) -> list[tuple[str, int]]:
        """Vocabulary words within a small edit distance of ``w`` (closest first)."""
        max_d = 1 if len(w) <= 5 else 2
        pool = [
            word
            for n in range(len(w) - max_d, len(w) + max_d + 1)
            for word in self.words_by_length.get(n, ())
        ]
        found = process.extract(
            w, pool, scorer=DamerauLevenshtein.distance, score_cutoff=max_d, limit=12
        )
        return sorted(((word, int(d)) for word, d, _ in found if d > 0), key=lambda x: x[1])

    def _is_known(self, word: str) -> bool:
        return word not in self.stopwords and self.stem(word) in self.idf

    def _split_compound(self, w: str) -> tuple[str, str] | None:
        """``sofasurfing`` -> (``sofa``, ``surfing``) when both halves are known words."""
        best: tuple[str, str] | None = None
        for i in range(3, len(w) - 2):
            a, b = w[:i], w[i:]
            if (
                self._is_known(a)
                and self._is_known(b)
                and (best is None or min(len(a), len(b)) > min(len(best[0]), len(best[1])))
            ):
                best = (a, b)
        return best

    def _near_stopword(self, w: str) -> int:
        found = process.extractOne(
            w, self.long_stopwords, scorer=DamerauLevenshtein.distance, score_cutoff=1
        )
        return int(found[1]) if found else 99

    def _word(self, w: str, position: int) -> QueryWord | list[str] | None:
        """One query word with the stems it may stand for; a list when it splits in two;
        None when it is (a misspelling of) a stop word."""
        cands: dict[str, float] = {}
        via: dict[str, str] = {}
        s = self.stem(w)
        if s in self.idf:
            cands[s] = 1.0
        elif len(w) >= 4 and w.isalpha():
            typos = self._typos(w)
            closest = typos[0][1] if typos else 99
            if closest > 1 and len(w) >= 6:
                parts = self._split_compound(w)
                if parts:
                    return list(parts)
            if self._near_stopword(w) < closest:
                return None  # "sinse" is "since", not a need
            for word, d in typos:
                f = FUZZY_FACTOR.get(d, 0.0)
                if word[0] != w[0]:
                    f *= 0.9
                ws = self.surface_stem[word]
                if f > cands.get(ws, 0.0):
                    cands[ws] = f
                    via[ws] = f"'{w}' read as '{word}'"
        for base, f in list(cands.items()):
            for eq in self.equivalents.get(base, ()):
                if eq in self.idf and f * EQUIVALENT_FACTOR > cands.get(eq, 0.0):
                    cands[eq] = f * EQUIVALENT_FACTOR
                    via[eq] = f"'{w}' taken as '{self.stem_surface.get(eq, eq)}'"
        if s not in self.idf:
            # an unknown word may still be an equivalent of a known one ("settee")
            for eq in self.equivalents.get(s, ()):
                if eq in self.idf and cands.get(eq, 0.0) < EQUIVALENT_FACTOR:
                    cands[eq] = EQUIVALENT_FACTOR
                    via[eq] = f"'{w}' taken as '{self.stem_surface.get(eq, eq)}'"
        weight = max((self.idf[c] * f for c, f in cands.items()), default=UNKNOWN_WORD_WEIGHT)
        return QueryWord(w, position, cands, weight, via)

    def analyse(self, text: str) -> list[QueryWord]:
        """The content words of a query with the vocabulary stems each may stand for."""
        out: list[QueryWord] = []
        pending = [
            w for raw in words(text)[:MAX_QUERY_WORDS] for w in self.abbreviations.get(raw, (raw,))
        ]
        pending.reverse()
        while pending:
            w = pending.pop()
            if w in self.stopwords:
                continue
            got = self._word(w, len(out))
            if isinstance(got, list):
                pending.extend(reversed(got))
            elif got is not None:
                out.append(got)
        return out

    def score_targets(self, qwords: Sequence[QueryWord]) -> dict[int, tuple[float, int]]:
        """Score of each target that shares a word with the query, with its best phrase id."""
        if not qwords:
            return {}
        total_q = sum(q.weight for q in qwords)
        # stem -> [(query word index, factor, position)]
        hits: dict[str, list[tuple[int, float, int]]] = defaultdict(list)
        for i, q in enumerate(qwords):
            for s, f in q.candidates.items():
                hits[s].append((i, f, q.position))
        candidate_phrases: set[int] = set()
        for s in hits:
            candidate_phrases.update(self.postings.get(s, ()))
        idf = self.idf
        best: dict[int, tuple[float, int]] = {}
        for pid in candidate_phrases:
            p = self.phrases[pid]
            matched_w = 0.0
            total_w = self.phrase_total[pid]
            positions: list[int] = []
            q_hit: dict[int, float] = {}
            for s in p.stems:
                lst = hits.get(s)
                if lst is None:
                    positions.append(-10)
                    continue
                m, pos = 0.0, -10
                for i, f, qpos in lst:
                    if f > m:
                        m, pos = f, qpos
                    if f > q_hit.get(i, 0.0):
                        q_hit[i] = f
                matched_w += idf[s] * m
                positions.append(pos)
            if matched_w <= 0.0 or total_w <= 0.0:
                continue
            phrase_cov = matched_w / total_w
            query_cov = sum(qwords[i].weight * h for i, h in q_hit.items()) / total_q
            score = phrase_cov * (0.35 + 0.65 * query_cov)
            if matched_w < MIN_EVIDENCE:
                score *= matched_w / MIN_EVIDENCE  # only common words in common: weak evidence
            if len(positions) > 1:
                pairs = len(positions) - 1
                in_order = sum(1 for a, b in itertools.pairwise(positions) if a >= 0 and b == a + 1)
                score *= 0.88 + 0.12 * in_order / pairs
            held = best.get(p.target)
            if held is None or score > held[0] + 1e-9:
                best[p.target] = (score, pid)
            elif score > held[0] - 1e-9 and self._plainer(pid, held[1]):
                best[p.target] = (score, pid)  # same score: explain with the plainer phrase

        results: dict[int, tuple[float, int]] = {}
        for t, (phrase_score, pid) in best.items():
            vocab = self.target_vocab[t]
            cover = (
                sum(
                    q.weight * max((f for s, f in q.candidates.items() if s in vocab), default=0.0)
                    for q in qwords
                )
                / total_q
            )
            score = 0.82 * phrase_score + 0.18 * cover
            if self.targets[t].generic:
                score *= GENERIC_PENALTY
            results[t] = (score, pid)
        return results

    def _plainer(self, a: int, b: int) -> bool:
        pa, pb = self.phrases[a], self.phrases[b]
        key_a = (not pa.is_title, len(pa.stems), len(pa.text), pa.text)
        key_b = (not pb.is_title, len(pb.stems), len(pb.text), pb.text)
        return key_a < key_b

    def explain(self, pid: int, qwords: Sequence[QueryWord]) -> list[str]:
        """Why a phrase matched: the phrase, and any typo or equivalent word used."""
        return self._explain(self.phrases[pid], qwords)

    def _explain(self, phrase: Phrase, qwords: Sequence[QueryWord]) -> list[str]:
        kind = "official title" if phrase.is_title else "phrase"
        notes = [f'{kind} "{phrase.text}"']
        stems = set(phrase.stems)
        for q in qwords:
            for s, how in q.via.items():
                if s in stems:
                    notes.append(how)
        return notes


def _round(score: float) -> float:
    return round(max(0.0, min(1.0, score)) * 100.0, 1)


def search_codes(catalogue: Catalogue, text: str, limit: int = 10) -> list[CodeMatch]:
    """The best ICD-10 codes for a phrase as a link worker or person would type it.

    Raises ValueError for an empty query or a limit below 1. Returns at most ``limit``
    matches, best first, each with a score from 0 to 100 and a ``why``.
    """
    if not text or not text.strip():
        raise ValueError("empty search: type a few words describing the need")
    if limit < 1:
        raise ValueError("limit must be 1 or more")
    index = catalogue.index
    out: list[CodeMatch] = []
    if _CODE_LIKE.match(text) and text in catalogue:
        need = catalogue.get(text)
        code = need.maps_to or need.code
        icd = catalogue.get(code)
        out.append(CodeMatch(icd.code, icd.display, icd.system, icd.domain, 100.0, "code typed"))
        return out
    qwords = index.analyse(text)
    scored = index.score_targets(qwords)
    # A need with no Z code of its own ("no bus pass": transport) should not drag in codes
    # that only share a word with it: keep codes close to the best domain-only match.
    domain_only = max((s for t, (s, _) in scored.items() if not index.targets[t].code), default=0)
    floor = MIN_SCORE
    if domain_only >= 0.9:
        floor = max(floor, DOMAIN_ONLY_MARGIN * domain_only)
    ranked = sorted(
        ((s, t, pid) for t, (s, pid) in scored.items() if index.targets[t].code),
        key=lambda r: (-r[0], index.targets[r[1]].code or ""),
    )
    for score, t, pid in ranked:
        if score < floor or len(out) >= limit:
            break
        target_code = index.targets[t].code
        assert target_code is not None
        need = catalogue.get(target_code)
        out.append(
            CodeMatch(
                code=need.code,
                display=need.display,
                system=need.system,
                domain=need.domain,
                score=_round(score),
                why="; ".join(index.explain(pid, qwords)),
                matched=(index.phrases[pid].text,),
            )
        )
    return out


def match_domains(catalogue: Catalogue, text: str, limit: int = 5) -> list[tuple[str, float]]:
    """Need domains a phrase points at, as (domain key, weight 0-1), best first.

    Covers the domains with no Z code too (digital, transport, fuel, ...), so a caller can
    record such a need by domain alone. Returns [] for an empty or unmatched text.
    """
    if not text or not text.strip():
        return []
    index = catalogue.index
    scored = index.score_targets(index.analyse(text))
    best: dict[str, float] = {}
    for t, (score, _pid) in scored.items():
        if score < MIN_SCORE:
            continue
        target = index.targets[t]
        if target.code is None:
            score *= 1.02  # a domain's own phrases win a tie with a code's
        best[target.domain] = max(best.get(target.domain, 0.0), score)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(k, round(min(1.0, v), 3)) for k, v in ranked[:limit]]


def expand_query(catalogue: Catalogue, text: str, limit: int = 5) -> list[tuple[str, float]]:
    """Words related to a free-text need, for widening a service search.

    Returns (text, weight 0-1) pairs: the labels and descriptions of the matched need
    domains and the titles and lay phrases of the matched codes, best first, no repeats.
    """
    out: dict[str, float] = {}

    def add(items: Iterable[str], weight: float) -> None:
        for item in items:
            key = item.strip()
            if key and weight > out.get(key, 0.0):
                out[key] = round(weight, 3)

    for key, weight in match_domains(catalogue, text, limit=limit):
        dom = catalogue.domain(key)
        add([dom.label], weight)
        add([dom.description], weight * 0.7)
        add(dom.phrases[:10], weight * 0.5)
    if text.strip():
        for m in search_codes(catalogue, text, limit=limit):
            need = catalogue.get(m.code)
            add([need.display], m.score / 100 * 0.8)
            add(need.synonyms[:10], m.score / 100 * 0.5)
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))


def read_needs(
    catalogue: Catalogue, text: str, codes: int = 5, domains: int = 3
) -> tuple[list[CodeMatch], list[tuple[str, float, str]]]:
    """``search_codes`` and ``match_domains`` of one text from one scoring pass (what a
    service search asks for on every keystroke); each domain with the catalogue phrase it
    was read through. Empty lists for an empty text."""
    if not text or not text.strip():
        return [], []
    index = catalogue.index
    qwords = index.analyse(text)
    scored = index.score_targets(qwords)
    best: dict[str, tuple[float, int]] = {}
    for t, (score, pid) in scored.items():
        if score < MIN_SCORE:
            continue
        target = index.targets[t]
        if target.code is None:
            score *= 1.02  # as match_domains
        if score > best.get(target.domain, (0.0, -1))[0]:
            best[target.domain] = (score, pid)
    ranked_domains = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:domains]
    domain_only = max((s for t, (s, _) in scored.items() if not index.targets[t].code), default=0)
    floor = MIN_SCORE
    if domain_only >= 0.9:
        floor = max(floor, DOMAIN_ONLY_MARGIN * domain_only)
    ranked = sorted(
        ((s, t, pid) for t, (s, pid) in scored.items() if index.targets[t].code),
        key=lambda r: (-r[0], index.targets[r[1]].code or ""),
    )
    out: list[CodeMatch] = []
    for score, t, pid in ranked:
        if score < floor or len(out) >= codes:
            break
        target_code = index.targets[t].code
        assert target_code is not None
        need = catalogue.get(target_code)
        out.append(
            CodeMatch(
                code=need.code,
                display=need.display,
                system=need.system,
                domain=need.domain,
                score=_round(score),
                why="",
                matched=(index.phrases[pid].text,),
            )
        )
    return out, [
        (k, round(min(1.0, v), 3), index.phrases[pid].text) for k, (v, pid) in ranked_domains
    ]

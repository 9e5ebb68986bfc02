"""Variety in the first results of directory search (its ranking side).

In a large directory one kind of service is often offered at many places: a council's
twenty "<Town> Fuel Poverty Outreach" services all match a query about poverty equally,
and the second thing the person said (data, a teenager, the electricity company) never
shows in the first five. A link worker reading the list expects a few of that kind and
then the other kinds that match well. ``KindVariety`` is the part of
``directory.search.ServiceIndex`` that gives them:

* a service's *kind* is what its name says it is once the places are left out (its last
  KIND_WORDS words: "Talking Therapies", "Fuel Poverty Outreach"; ``_name_kind``), so
  that differently named services of one need still all show;
* of the first VARIETY_TOP results at most VARIETY_SAME are of one kind while a service
  of another kind scores at least VARIETY_SHARE of the best (``_variety``); the rest
  keep their order, so a query that only one kind answers well still lists that kind in
  full;
* a short query whose parts the vocabulary reads as different needs ("<word> -> need
  fuel", "<word> -> need safety") has a service of each among the first five, as a longer
  account has for each need it was read as (``_each_part``);
* the short list that is reranked takes in the best services of other need domains when
  more than VARIETY_SAME of its first places serve the same set of them
  (``_with_other_kinds``; ``_kinds``: one number per service, worked out once per index
  from the domain postings, 0 for none), so that those can be found at all;
* a longer account is also judged by what each service answers, not only by its name:
  its *need kind* is which of the needs and codes the account was read as the service
  carries (``_need_kinds``: "Telephone Friendship Line" and "Companionship Scheme" both
  answer "no one to talk to" and no other need read, so they are one kind, while an
  LGBTQ+ service that answers it and "gay" is another), and the first VARIETY_TOP hold at
  most VARIETY_SAME of one need kind as of one name kind; and the short list takes in the
  best service of each need or code read that none of its services carries
  (``_with_each_need``), so that a need read in a large directory, where one kind fills
  the first sixty places, still has a service to show (``_each_need`` lifts it).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping

import numpy as np

from directory.index import IndexData
from directory.search_reading import _EMPTY, _Term
from directory.text import stopwords, words

_TAIL = re.compile(r"\s[-–—]\s|,|\(")  # where a name's place or note after it begins

VARIETY_TOP = 5  # in the first five results ...
VARIETY_SAME = 3  # ... at most this many services of the same kind (what the name says: _name_kind)
VARIETY_SHARE = 0.5  # ... while one of another kind scores at least this share of the best
VARIETY_MORE = 10  # services of other kinds taken into the short list when one kind fills it
KINDS_KEPT = 10_000  # names whose kind is remembered (per index)
KIND_WORDS = 2  # a name's last words that say what kind of service it is
PARTS_KEEP = 2  # a short query of two needs: the first this many results are never moved
PART_NOTE = "shown for another thing the words were read as: {need}"
VARIETY_NOTE = "shown for variety: more services like those above it follow"
# (as directory.search_reading's _each_need says it of a service it lifts)
NEED_NOTE = "shown for another need the account was read as: {need} ({phrase!r})"


def _name_kind(name: str, towns: Mapping[str, str]) -> str:
    """What kind of service a name says it is: its last KIND_WORDS words (not stopwords)
    once the places are left out (the directory's towns, and what follows a dash, comma
    or bracket: "Marlbridge Talking Therapies", "Talking Therapies – North Vale")."""
    text = _TAIL.split(name.lower(), 1)[0]
    said = [w for w in words(text) if w.replace("'", "") not in stopwords()]
    kept: list[str] = []
    i = 0
    while i < len(said):
        for size in (3, 2, 1):
            if " ".join(said[i : i + size]) in towns:
                i += size
                break
        else:
            kept.append(said[i])
            i += 1
    return " ".join(kept[-KIND_WORDS:])


def _need_bits(reading: list[tuple[str, float, str]]) -> list[tuple[str, str]]:
    """The needs and codes an account was read as, one bit each of a need kind: each
    token once, with the phrase it was first read from (its best reading), at most 64."""
    first: dict[str, str] = {}
    for token, _score, phrase in reading:
        first.setdefault(token, phrase)
    return list(first.items())[:64]


def _kind_key(token: str) -> np.uint64:
    """A domain token's share of a kind's number (the XOR of its domains' keys)."""
    return np.uint64(int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest()))


class KindVariety(IndexData):
    """The first results hold more than one kind of service when more than one matches."""

    def _name(self, i: int) -> str:
        return str(self.docs[i].name)

    def _kinds(self) -> np.ndarray:
        """Each service's kind: its set of need domains as one number (0: none)."""
        kinds = self.__dict__.get("_kinds_of")
        if kinds is not None:
            return kinds
        prefixed = getattr(self._postings, "prefixed", None)  # a mapped index's postings
        tokens = (
            prefixed("@") if prefixed is not None else [t for t in self._postings if t[:1] == "@"]
        )
        kinds = np.zeros(self.size, dtype=np.uint64)
        for token in tokens:
            docs = self._postings[token][0]
            kinds[docs] ^= _kind_key(token)
        self.__dict__["_kinds_of"] = kinds
        return kinds

    def _with_other_kinds(
        self, services: np.ndarray, scores: np.ndarray, top: np.ndarray
    ) -> np.ndarray:
        """The short list ``top`` (positions in ``services`` and ``scores``) and, when
        more than VARIETY_SAME of its first VARIETY_TOP are of one kind, the best
        VARIETY_MORE services of other kinds scoring at least VARIETY_SHARE of the best."""
        kinds = self._kinds()
        first = top[np.argsort(-scores[top], kind="stable")[:VARIETY_TOP]]
        tally = Counter(kinds[services[first]].tolist())  # (five of them: not np.unique)
        full = [np.uint64(k) for k, count in tally.items() if count > VARIETY_SAME and k != 0]
        if not full:
            return top
        more = np.flatnonzero(scores >= VARIETY_SHARE * scores[first[0]])
        # neither of a kind filling the first places nor in the short list already (masks,
        # not np.isin: few kinds, and the short list as places among the services)
        other = np.ones(more.size, dtype=bool)
        of_kind = kinds[services[more]]
        for kind in full:
            other &= of_kind != kind
        listed = np.zeros(scores.size, dtype=bool)
        listed[top] = True
        more = more[other & ~listed[more]]
        if more.size > VARIETY_MORE:
            more = more[np.argpartition(-scores[more], VARIETY_MORE - 1)[:VARIETY_MORE]]
        return np.concatenate([top, more])

    def _with_each_need(
        self,
        candidates: np.ndarray,
        scores: np.ndarray,
        keep: np.ndarray,
        top: np.ndarray,
        reading: list[tuple[str, float, str]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """A longer account: the short list ``top`` (positions in ``candidates``, the
        numbers of the services scoring above 0, ascending, and in ``keep``, their places
        in ``scores``) and, for each need or code the account was read as (``reading``)
        that none of its services carries, the best service carrying it; and each one's
        need kind (``_need_kinds``)."""
        kinds = self._need_kinds(candidates[top], reading)
        carried = int(np.bitwise_or.reduce(kinds)) if kinds.size else 0
        every: np.ndarray | None = None  # each service's score (0: not a candidate)
        more: list[int] = []
        for bit, (token, _phrase) in enumerate(_need_bits(reading)):
            docs = self._postings.get(token, _EMPTY)[0]
            if carried >> bit & 1 or docs.size == 0:
                continue
            if every is None:
                every = np.zeros(self.size, dtype=np.float32)
                every[candidates] = scores[keep]
            found = every[docs]
            best = int(found.argmax())
            if found[best] > 0:
                more.append(int(docs[best]))
        if not more:
            return top, kinds
        added = np.searchsorted(candidates, np.unique(more))
        added = added[~np.isin(added, top)]
        return (
            np.concatenate([top, added]),
            np.concatenate([kinds, self._need_kinds(candidates[added], reading)]),
        )

    def _need_kinds(
        self, services: np.ndarray, reading: list[tuple[str, float, str]]
    ) -> np.ndarray:
        """Each service's need kind for a longer account: which of the needs and codes the
        account was read as it carries, one bit each (``_need_bits``; 0: none of them)."""
        kinds = np.zeros(services.size, dtype=np.uint64)
        for bit, (token, _phrase) in enumerate(_need_bits(reading)):
            docs = self._postings.get(token, _EMPTY)[0]
            if docs.size:
                hit = docs.take(docs.searchsorted(services), mode="clip") == services
                kinds[hit] |= np.uint64(1 << bit)
        return kinds

    def _variety(
        self,
        services: np.ndarray,
        order: np.ndarray,
        scores: np.ndarray,
        needs: np.ndarray | None = None,
        reading: list[tuple[str, float, str]] | None = None,
    ) -> tuple[np.ndarray, dict[int, str]]:
        """``order`` (best first, positions in ``services`` and ``scores``) with at most
        VARIETY_SAME services of one kind in the first VARIETY_TOP while a service of
        another kind scores at least VARIETY_SHARE of the best: that service takes the
        place, the others move down one, in order. A kind is what the name says
        (``_name_kind``) and, given ``needs`` (each service's need kind, ``_need_kinds``
        of ``reading``; 0: none), also what the service answers: at most VARIETY_SAME of
        either. Returns the new order and, for each service moved up, the note saying why:
        the need the account was read as that it answers and none above it does, if any."""
        if order.size <= VARIETY_TOP:
            return order, {}
        towns = self._town_names
        named: dict[int, str] = {}

        kept: dict[str, str] = self.__dict__.setdefault("_name_kinds", {})
        ranked = services[order].tolist()  # (Python numbers: read one by one below)
        ranked_scores = scores[order].tolist()

        def kind_of(at: int) -> str:
            if at not in named:
                name = self._name(ranked[at])
                kind = kept.get(name)
                if kind is None:  # (another thread may clear ``kept``: read it once)
                    kind = _name_kind(name, towns)
                    if len(kept) >= KINDS_KEPT:
                        kept.clear()
                    kept[name] = kind
                named[at] = kind
            return named[at]

        ranked_needs = [0] * order.size if needs is None else needs[order].tolist()
        least = VARIETY_SHARE * ranked_scores[0]
        rest = list(range(order.size))
        taken: list[int] = []
        counts: dict[str, int] = {}
        answer: dict[int, int] = {}  # need kind -> services of it taken

        def full(at: int) -> bool:
            kind, need = kind_of(at), ranked_needs[at]
            return bool(kind and counts.get(kind, 0) >= VARIETY_SAME) or bool(
                need and answer.get(need, 0) >= VARIETY_SAME
            )

        bits = _need_bits(reading or [])
        above = 0  # the needs read that the services taken answer

        def note(at: int) -> str:
            new = ranked_needs[at] & ~above
            for bit, (token, phrase) in enumerate(bits):
                if new >> bit & 1 and token[:1] == "@":
                    return NEED_NOTE.format(need=token[1:], phrase=phrase)
            return VARIETY_NOTE

        moved: dict[int, str] = {}
        for _slot in range(VARIETY_TOP):
            pick = 0
            if full(rest[0]):
                for j, at in enumerate(rest):
                    if ranked_scores[at] < least:
                        break
                    if not full(at):
                        pick = j
                        moved[ranked[at]] = note(at)
                        break
            at = rest.pop(pick)
            counts[kind_of(at)] = counts.get(kind_of(at), 0) + 1
            answer[ranked_needs[at]] = answer.get(ranked_needs[at], 0) + 1
            above |= ranked_needs[at]
            taken.append(at)
        return order[taken + rest], moved

    def _each_part(
        self, services: np.ndarray, order: np.ndarray, scores: np.ndarray, terms: list[_Term]
    ) -> tuple[np.ndarray, dict[int, str]]:
        """A short query of two or more parts that the vocabulary reads as different need
        domains: when no service of one part's domains is among the first VARIETY_TOP,
        its best service scoring at least VARIETY_SHARE of the best takes the lowest
        place there not taken by one so moved (the first PARTS_KEEP stay). Returns the
        new order and, for each service moved up, the note saying why."""
        parts: dict[int, set[str]] = {}
        for term in terms:
            if term.token.startswith("@") and term.source.endswith("->"):
                parts.setdefault(term.concept, set()).add(term.token)
        needs = [sorted(d) for d in parts.values()]
        if len(needs) < 2 or order.size <= VARIETY_TOP:
            return order, {}
        ranked = services[order]
        least = VARIETY_SHARE * float(scores[order[0]])
        positions = list(range(ranked.size))
        slot = VARIETY_TOP - 1
        moved: dict[int, str] = {}
        for domains in needs:
            if slot < PARTS_KEEP:
                break
            shown = ranked[positions]
            has = np.zeros(shown.size, dtype=bool)
            for token in domains:
                docs = self._postings.get(token, _EMPTY)[0]
                if docs.size:
                    pos = np.minimum(np.searchsorted(docs, shown), docs.size - 1)
                    has |= docs[pos] == shown
            if has[:VARIETY_TOP].any():
                continue
            later = [int(j) for j in np.flatnonzero(has) if scores[order[positions[j]]] >= least]
            if not later:
                continue
            positions.insert(slot, positions.pop(later[0]))
            need = ", ".join(d[1:] for d in domains)
            moved[int(ranked[positions[slot]])] = PART_NOTE.format(need=need)
            slot -= 1
        return order[positions], moved

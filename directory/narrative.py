"""Reading a person's account of their situation: its clauses, and the needs it denies.

A longer account ("We've been on my cousin's sofa for weeks. She wants us gone by Friday
and I've got nowhere else") says several things, and the need is often in one of them; read
whole, its words dilute each other. ``clauses`` cuts it into sentences and, inside a
sentence, at commas and the conjunctions that join two statements ("but", "because",
"so"), each read on its own by the codes catalogue (``directory.vocabulary.clause_hints``).

``rejected`` finds what the person says is not the need ("it's not the money", "I'm not
after benefits advice", "I don't want a food parcel", "money isn't the problem"): those
words are left out of the search, and the "why" says so. A negation that describes the
need itself is kept: "no money", "not enough food", "I can't read", "I haven't got a
computer", "I don't want to lose my home" (a fear, not a refusal).

The cues are grammar, not topics: none names a need, a service or a query's wording.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from directory.english import is_english
from directory.text import stopwords, words

_APOSTROPHE = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_SENTENCE = r"[.!?;:\n]+|\s-\s|\s–\s"
# inside a sentence: a comma, or a word joining two statements
_JOIN = (
    r",|\b(?:but|because|cos|cause|so|though|although|whereas|while|plus|also)\b"
    r"|\band(?= (?:then|now|i|i'm|im|i've|ive|we|we're|we've|he|he's|she|she's|they|they're|"
    r"my|our|it|it's|its|there's|theres|there|that's|you|your)\b)"
)

# A refusal or denial, then what is refused ("not the money", "don't want a food parcel").
# "don't want to ..." is left alone: it is usually a fear ("I don't want to lose my home").
_BEFORE = (
    r"(?:it|that|this)(?:'s| is|s) not(?: really| just)?(?= (?:the|my|our|a|an|about|any)\b)",
    r"(?:it|that|this) (?:isn't|isnt|is not)(?: really| just)?(?= (?:the|my|our|a|an|about)\b)",
    r"not (?:really |just )?(?:after|looking for|asking for|interested in|bothered about)",
    r"not about",
    # "it's not food we need", "it isn't money I'm after": the words up to the asking
    r"(?:it|that)(?:'s| is|s) not(?= (?:\w+ ){1,3}(?:that )?(?:we|i)(?:'m|'re| am| are)? "
    r"(?:need|want|after|asking)\b)",
    r"(?:it|that) (?:isn't|isnt|is not)(?= (?:\w+ ){1,3}(?:that )?(?:we|i)(?:'m|'re| am| are)? "
    r"(?:need|want|after|asking)\b)",
    r"(?:i|we)(?:'m|'re| am| are|m|re) not (?:here )?(?:for|about)",
    r"(?:i|we) (?:don't|dont|do not) (?:want|need)(?! to\b)(?: any more| more)?",
    r"(?:i|we) (?:don't|dont|do not) like(?! (?:to|it|when|that|how|being|\w+ing)\b)",
    r"(?:i|we) (?:won't|wont|will not|wouldn't|wouldnt) (?:want|need)(?! to\b)",
    r"no need for",
    r"rather than",
    r"instead of",
    r"nothing to do with",
)
# ... and what is said to be fine, before it ("money isn't the problem", "food is fine").
_AFTER = (
    r"(?:isn't|isnt|is not|aren't|arent|are not|'s not|s not) (?:the |a |an )?"
    r"(?:problem|issue|worry|bother)",
    r"(?:is|are|'s|'re) (?:fine|ok|okay|alright|all right|sorted|not a problem|no problem)",
)
# "not depressed exactly": one word denied
_NOT_EXACTLY = r"\bnot (\w+) (?:exactly|as such)\b"
# a refusal's scope ends where a new statement starts
_SCOPE_END = (
    r"\b(?:but|and|because|cos|so|as|though|just|only|which|that|when|since|i|i'm|im|we|"
    r"we're|he|he's|she|she's|they|they're|it's|its|it|you|what|need|want|instead)\b"
)
# Every cue above (_BEFORE, _AFTER, _NOT_EXACTLY) holds one of these (in any case): a text
# in ASCII without any of them has none, and is not searched with the expressions at all.
_CUE_NEEDLES = (
    "not",  # also "nothing to do with", "not a problem"
    "nt",  # "isnt", "dont", "wont", "wouldnt", "arent"
    "n't",
    "no need",
    "rather than",
    "instead of",
    "fine",
    "ok",  # also "okay"
    "alright",
    "all right",
    "sorted",
    "no problem",
)


@dataclass(frozen=True)
class _Patterns:
    sentence: re.Pattern[str]
    join: re.Pattern[str]
    before: re.Pattern[str]
    after: re.Pattern[str]
    not_exactly: re.Pattern[str]
    scope_end: re.Pattern[str]


@lru_cache(maxsize=1)
def _patterns() -> _Patterns:
    """The expressions, compiled on first use (not at import: the CLI's start-up)."""
    i = re.IGNORECASE
    return _Patterns(
        sentence=re.compile(_SENTENCE),
        join=re.compile(_JOIN, i),
        before=re.compile(r"\b(?:" + "|".join(_BEFORE) + r")\b", i),
        after=re.compile(r"\b(?:" + "|".join(_AFTER) + r")\b", i),
        not_exactly=re.compile(_NOT_EXACTLY, i),
        scope_end=re.compile(_SCOPE_END, i),
    )


PART_WORDS = 2  # words (not stopwords) a part of a sentence needs to be read on its own
_IN_A_WORD = "'’‘`´-‐"  # punctuation that may be inside a word being typed ("don'", "self-")
WHOLE_WORD_AT = 3  # an English word this long ending the text is taken as finished ("bed")


def still_typed(text: str) -> bool:
    """Whether the last word of ``text`` may be unfinished: the text (as a person types it)
    ends in neither a space nor punctuation (an apostrophe or hyphen may be inside a word),
    and its last word is not an English word of WHOLE_WORD_AT letters or more: "food ba"
    and "arrea" are being typed; "ex servicemen" and "for days" are read as they are,
    whether or not the person types on (a person rarely types a space after the last word,
    and the app searches again only when the text changes)."""
    if not text:
        return False
    last = text[-1]
    if last.isspace():
        return False
    if last in _IN_A_WORD:
        return True
    if unicodedata.category(last).startswith("P"):
        return False
    said = words(_plain(text))
    last_word = said[-1].replace("'", "") if said else ""
    return len(last_word) < WHOLE_WORD_AT or not is_english(last_word)


def typing_ends(typed: str, clause: str) -> bool:
    """Whether ``clause`` (one of ``clauses(typed)``, or ``typed`` itself) ends ``typed``,
    the text so far: the clause still being typed."""
    return _plain(typed).rstrip().endswith(_plain(clause).strip())


def _words(text: str) -> list[str]:
    return [w.replace("'", "") for w in words(text)]


@dataclass(frozen=True)
class Reading:
    """A text with what it denies taken out, and the parts taken out (as written)."""

    kept: str
    denied: tuple[str, ...]


def _plain(text: str) -> str:
    return text.translate(_APOSTROPHE)


def _parts(sentence: str) -> list[str]:
    return [p.strip() for p in _patterns().join.split(sentence) if p and p.strip()]


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (also cut at semicolons, colons, line breaks and dashes)."""
    return [s.strip() for s in _patterns().sentence.split(_plain(text)) if s and s.strip()]


def clauses(text: str) -> list[str]:
    """What to read one at a time: each sentence, and each part of a sentence of several
    parts ("I've got nowhere else, she wants me out by Friday" is both whole and in two)."""
    stop = stopwords()
    out: list[str] = []
    for sentence in sentences(text):
        out.append(sentence)
        parts = _parts(sentence)
        if len(parts) > 1:
            # a part of one word ("just flat") is read within its sentence only: alone,
            # the catalogue would read too much into it
            out.extend(p for p in parts if sum(w not in stop for w in _words(p)) >= PART_WORDS)
    unique: dict[str, str] = {}
    for c in out:
        unique.setdefault(c.lower(), c)
    return list(unique.values())


@lru_cache(maxsize=256)
def rejected(text: str) -> Reading:
    """``text`` without what the person says is not their need, and what was taken out."""
    plain = _plain(text)
    if plain.isascii():
        folded = plain.lower()
        if not any(needle in folded for needle in _CUE_NEEDLES):
            return Reading(text, ())  # no cue can match (the same as searching for them)
    pat = _patterns()
    denied: list[str] = []
    spans: list[tuple[int, int]] = []
    for piece in _pieces(plain):
        start, _end, part = piece
        for cue in pat.before.finditer(part):
            rest = part[cue.end() :]
            stop = pat.scope_end.search(rest)
            scope = rest[: stop.start()] if stop else rest
            if scope.strip():
                spans.append((start + cue.start(), start + cue.end() + len(scope)))
                denied.append(scope.strip())
        for cue in pat.after.finditer(part):
            head = part[: cue.start()]
            ends = [m.end() for m in pat.scope_end.finditer(head)]
            scope = head[ends[-1] :] if ends else head
            if scope.strip():
                spans.append((start + cue.start() - len(scope), start + cue.end()))
                denied.append(scope.strip())
        for cue in pat.not_exactly.finditer(part):
            spans.append((start + cue.start(), start + cue.end()))
            denied.append(cue.group(1))
    if not spans:
        return Reading(text, ())
    out: list[str] = []
    at = 0
    for a, b in sorted(spans):
        if a > at:
            out.append(plain[at:a])
        out.append(" , ")
        at = max(at, b)
    out.append(plain[at:])
    return Reading("".join(out), tuple(dict.fromkeys(denied)))


def _pieces(text: str) -> list[tuple[int, int, str]]:
    """The parts of ``text`` between sentence ends and commas, with their offsets."""
    out: list[tuple[int, int, str]] = []
    at = 0
    for cut in re.finditer(r"[.!?;:,\n]+", text):
        out.append((at, cut.start(), text[at : cut.start()]))
        at = cut.end()
    out.append((at, len(text), text[at:]))
    return [p for p in out if p[2].strip()]

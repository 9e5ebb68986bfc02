"""Issue 18 (keystroke speed): a misspelling's closest word found among the words that can
reach the cutoff (directory.search_spelling) is the word rapidfuzz's extractOne finds
among them all; the prepared word lists are kept per index and per first letter and
length, never used for another."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from rapidfuzz import fuzz, process
from sqlmodel import Session, delete

from directory.english import english_words
from directory.english import near as english_near
from directory.models import Service
from directory.search import STALE_FACTOR, ServiceIndex
from directory.search_spelling import SpellingChoices, english_choices

TODAY = date(2026, 11, 1)


def _expected(word: str, words: list[str], cutoff: float) -> tuple[str, float] | None:
    found = process.extractOne(word, words, scorer=fuzz.ratio, score_cutoff=cutoff)
    return (found[0], found[1]) if found else None


def _slips(words: list[str], count: int, seed: int) -> list[str]:
    """Misspellings made from ``words``: a letter left out, changed, added, swapped, or the
    word cut short (as typed key by key)."""
    rng = random.Random(seed)
    out = []
    for word in rng.sample(words, count):
        letters = list(word)
        at = rng.randrange(len(letters))
        kind = rng.randrange(5)
        if kind == 0 and len(letters) > 3:
            del letters[at]
        elif kind == 1:
            letters[at] = rng.choice("abcdefghijklmnopqrstuvwxyzé")
        elif kind == 2:
            letters.insert(at, rng.choice("abcdefghijklmnopqrstuvwxyz"))
        elif kind == 3 and at + 1 < len(letters):
            letters[at], letters[at + 1] = letters[at + 1], letters[at]
        else:
            letters = letters[: max(3, at)]
        out.append("".join(letters))
    return out


def test_the_closest_word_is_extract_ones_among_english_words() -> None:
    words = sorted(w for w in english_words() if len(w) >= 3)[::7]  # ~7,000, in their order
    choices = SpellingChoices(words)
    for word in [*_slips(words, 300, seed=18), "fodbank", "benifits", "evicshun", "zzzq"]:
        for cutoff in (65, 72, 75):
            assert choices.closest(word, cutoff) == _expected(word, words, cutoff), (word, cutoff)


def test_ties_go_to_the_first_word_and_other_letters_count() -> None:
    """Equal scores: the first word in the list, as extractOne. Letters outside a-z (an
    accent, a capital) are compared as themselves."""
    words = ["abd", "abe", "xbc", "café", "Cafe", "cafe"]
    choices = SpellingChoices(words)
    assert (
        choices.closest("abc", 60)
        == _expected("abc", words, 60)
        == ("abd", pytest.approx(66.7, abs=0.1))
    )
    assert choices.closest("café", 70) == ("café", 100.0)
    assert choices.closest("Cafe", 70) == ("Cafe", 100.0)
    assert choices.closest("cafè", 70) == _expected("cafè", words, 70)
    assert choices.closest("qqqq", 50) is None
    assert SpellingChoices([]).closest("abc", 50) is None


def test_english_choices_are_kept_per_first_letter_and_length() -> None:
    made = english_choices("b", 7)
    assert made.words == english_near("b", 7)
    assert english_choices("b", 7) is made  # kept
    assert english_choices("b", 8).words == english_near("b", 8) != made.words
    assert english_choices("c", 7).words == english_near("c", 7)


@pytest.mark.parametrize(
    "words",
    [
        ["benefit", "café", "Cafe", "don't", "x2", "", "zz\x00", "naïve", "日本", "a" * 40],
        ["plain", "ascii", "only"],
        ["lone \ud800 surrogate", "and", "more"],
        [""],
    ],
)
def test_letter_counts_are_each_words_own(words: list[str]) -> None:
    """Each word's letters a-z counted apart and every other character in one bucket, as
    counting them one word at a time does (any characters, any lengths)."""
    made = SpellingChoices(words)
    assert made.lengths.tolist() == [len(w) for w in words]
    for i, word in enumerate(words):
        want = [0] * 27
        for ch in word:
            want[ord(ch) - 97 if "a" <= ch <= "z" else 26] += 1
        assert made.counts[:, i].tolist() == want, word


def test_english_choices_joined_from_each_length_hold_what_near_lists() -> None:
    """english_choices joins the words of each length, counted once, and orders them by
    frequency: the same words in near's order, with the letter counts and lengths counting
    them afresh gives, and the same corrections (rare first letters, short and long words
    and lengths no English word has too)."""
    for first, length in [("b", 7), ("t", 3), ("a", 1), ("x", 5), ("q", 9), ("z", 30), ("é", 4)]:
        joined = english_choices(first, length)
        fresh = SpellingChoices(english_near(first, length))
        assert joined.words == fresh.words
        assert joined.lengths.tolist() == fresh.lengths.tolist()
        assert joined.counts.shape == fresh.counts.shape
        assert (joined.counts == fresh.counts).all()
        for typed in ("benifit", "tge", "xray", "quaestion", first * 3):
            assert joined.closest(typed, 65) == fresh.closest(typed, 65)
    assert len(english_choices("b", 7).words) > 1000


def _add(session: Session, n: int, name: str, description: str, verified: date) -> int:
    service = Service(
        source="t",
        source_id=f"s{n}",
        name=name,
        description=description,
        last_verified=verified,
    )
    session.add(service)
    session.flush()
    assert service.id is not None
    return service.id


def test_each_index_corrects_towards_its_own_words(session: Session) -> None:
    """The directory's prepared words belong to its index: another index (another
    directory) corrects the same slip towards its own words, not the first one's."""
    _add(session, 1, "Quorvath Lunch Club", "A hot lunch on Wednesdays.", TODAY)
    session.commit()
    first = ServiceIndex.build(session)
    assert first.reading("quorvatk") == ["read 'quorvatk' as 'quorvath'"]
    session.exec(delete(Service))
    _add(session, 2, "Quorvale Lunch Club", "A hot lunch on Wednesdays.", TODAY)
    session.commit()
    second = ServiceIndex.build(session)
    assert second.reading("quorvatk") == ["read 'quorvatk' as 'quorvale'"]
    assert first.reading("quorvatk") == ["read 'quorvatk' as 'quorvath'"]


def test_the_stale_factor_follows_the_day(session: Session) -> None:
    """Staleness is kept for the day: a search on a later day, when a service has become
    stale, ranks it lower by STALE_FACTOR (not the earlier day's factor)."""
    _add(session, 1, "Riverside Food Bank", "food bank", TODAY - timedelta(days=300))
    session.commit()
    index = ServiceIndex.build(session)
    now = index.search("food bank", today=TODAY)[0]
    later = index.search("food bank", today=TODAY + timedelta(days=200))[0]
    assert not now.stale and later.stale
    assert later.score == pytest.approx(now.score * STALE_FACTOR, abs=0.002)
    assert index.search("food bank", today=TODAY)[0].score == now.score

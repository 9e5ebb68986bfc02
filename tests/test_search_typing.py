"""Issue 18 (speed per keystroke): the app searches on every key, and the meaning model
(``directory.meaning``) reads a clause only once it is finished: the clause still being
typed (the text ends in neither a space nor punctuation, and its last word is not an English
word of 3 letters or more, so it may be half a word) is read by the codes catalogue and the
words alone; earlier clauses by meaning too.
The command line (a finished query) reads every clause by meaning, as before."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from directory import meaning
from directory.narrative import clauses, still_typed, typing_ends
from directory.search import ServiceIndex
from linkwork.actions.search import NearSearch

TODAY = date(2026, 11, 1)
ACCOUNT = "We have been sleeping on a friend's floor for weeks. The kids are struggling at school"


@pytest.fixture
def read_by_meaning(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text handed to the meaning model."""
    seen: list[str] = []
    real = meaning.understand_all

    def spy(texts: list[str], *args: Any) -> Any:
        seen.extend(texts)
        return real(texts, *args)

    monkeypatch.setattr(meaning, "understand_all", spy)
    return seen


@pytest.mark.parametrize(
    ("text", "typing"),
    [
        ("food ba", True),
        ("food ban", False),  # a word (the meaning model reads it; "bank" is one key on)
        ("I don'", True),  # an apostrophe or hyphen may be inside the word
        ("self-", True),
        ("help with rent arrea", True),
        ("ex servicemen", False),  # its last word is a whole English word
        ("haven't eaten properly for days", False),
        ("need help with re", True),  # an English word, but short: likely more to come
        ("need help with rent", False),
        ("I can't get out of bed", False),
        ("food bank ", False),
        ("food bank.", False),
        ("is there anyone?", False),
        ("rent, bills,", False),
        ("", False),
    ],
)
def test_still_typed(text: str, typing: bool) -> None:
    assert still_typed(text) is typing


def test_only_the_clause_ending_the_text_is_still_being_typed() -> None:
    text = "I've got nowhere to go. She wants us out by Friday, I've no money lef"
    ending = [c for c in clauses(text) if typing_ends(text, c)]
    assert sorted(ending) == ["I've no money lef", "She wants us out by Friday, I've no money lef"]


def test_while_typing_the_last_clause_is_not_read_by_meaning(
    sample_index: ServiceIndex, read_by_meaning: list[str]
) -> None:
    typed = ACCOUNT[:-2]  # "... struggling at scho"
    sample_index.search(typed, today=TODAY, while_typing=True)
    assert "We have been sleeping on a friend's floor for weeks" in read_by_meaning
    assert not [t for t in read_by_meaning if "scho" in t], read_by_meaning


def test_a_finished_clause_is_read_by_meaning_while_typing(
    sample_index: ServiceIndex, read_by_meaning: list[str]
) -> None:
    for typed in (ACCOUNT + " ", ACCOUNT + "."):
        read_by_meaning.clear()
        sample_index.search(typed, today=TODAY, while_typing=True)
        assert "The kids are struggling at school" in read_by_meaning, typed


def test_the_command_line_reads_every_clause_by_meaning(
    sample_index: ServiceIndex, read_by_meaning: list[str]
) -> None:
    sample_index.search(ACCOUNT, today=TODAY)
    assert "The kids are struggling at school" in read_by_meaning


def test_the_app_searches_as_the_person_types(
    sample_index: ServiceIndex, read_by_meaning: list[str]
) -> None:
    near = NearSearch(sample_index)
    near.search(ACCOUNT[:-2], today=TODAY)
    assert not [t for t in read_by_meaning if "scho" in t], read_by_meaning
    finished = near.search(ACCOUNT + " ", today=TODAY).matches
    assert finished == sample_index.search(ACCOUNT + " ", today=TODAY)

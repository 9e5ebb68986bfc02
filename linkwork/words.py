"""Counts in words, the one rule for every front end: '1 person', '2 people', '1 question',
'0 questions' (never '1 people')."""

from __future__ import annotations

# Nouns whose plural is not the noun with an s.
IRREGULAR = {"person": "people", "child": "children", "reply": "replies", "entry": "entries"}


def plural(noun: str) -> str:
    """The plural of a noun as this app uses it."""
    return IRREGULAR.get(noun, noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s"))


def counted(n: int, noun: str, many: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one ('1 person'), else plural ('3 people');
    ``many`` gives a plural the rule does not know."""
    return f"{n:,} {noun if n == 1 else many or plural(noun)}"

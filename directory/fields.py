"""Reading a service's fields from untrusted feed data: type, size and characters checked.

Every value the import reads from a feed goes through a ``Fields`` reader (one per service),
and the rules are the same for ORUK JSON and CSV:

- a value of the wrong JSON type (``"name": 12345``, a list given as text, ``null`` or a
  number among a list's objects or words) is a ``RecordError`` naming the field, and so is
  text longer than its field allows or a list with more than ``MAX_ITEMS`` items: the
  service is rejected with that reason (``--strict``: the import fails). Nothing is coerced:
  ``12345`` is never stored as the name ``"12345"``; only an ``id`` may be a whole number;
- numbers must be finite (no NaN or Infinity) and in range;
- control characters are taken out of feed text (``directory.untrusted.strip_controls``);
  under ``--strict`` they reject the service ("control characters in name");
- a value of the right type that cannot be read (a date, an opening time, a weekday) is
  left out with a note in the import's summary, or rejects the service under ``--strict``.

A field is named by its path in the feed: ``service_at_locations[0].location.latitude``.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from directory.records import RecordError
from directory.text import clean, plain_text
from directory.untrusted import DEFAULT_MAX_LENGTH, shown, strip_controls

ID_CHARS = 255
SHORT_CHARS = DEFAULT_MAX_LENGTH  # names, phone numbers, emails, address lines, words
URL_CHARS = 2_000
LONG_CHARS = 50_000  # descriptions, eligibility, fees: HTML allowed (counted before it goes)
NUMBER_CHARS = 40  # a number written as text ("52.9")
MAX_ITEMS = 1_000  # items in any one list of a service


def word(text: str) -> str:
    """A short word of a list (a language, a category) shared by every service that has it."""
    return sys.intern(text) if len(text) <= 64 else text


def number_text(value: Any) -> str:
    """A JSON number as written in an error: ``12345``, ``NaN``, ``Infinity`` (cut short)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    text = str(value)
    return text if len(text) <= 20 else text[:20] + "…"


def kind(value: Any) -> str:
    """What a JSON value is, in words: ``a number (12)``, ``text``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"a number ({number_text(value)})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return shown(value, 20)


class Fields:
    """Reads one service's values; ``strict`` turns what would be left out into a reject."""

    def __init__(self, strict: bool = False, notes: list[str] | None = None) -> None:
        self.strict = strict
        self.notes = notes if notes is not None else []

    def doubtful(self, field: str, value: Any) -> None:
        """A value of the right type that cannot be read: left out with a note, or under
        ``--strict`` the service is rejected."""
        if self.strict:
            raise RecordError(f"unreadable {field} {shown(value)}")
        self.notes.append(f"unreadable {field} {shown(value)} left out")

    def text(self, value: Any, field: str, *, limit: int = SHORT_CHARS, html: bool = False) -> str:
        """Text of one field: ``""`` for null; one line (spaces collapsed, entities decoded) or,
        with ``html``, plain text with its paragraphs (tags taken out); control characters out."""
        if value is None:
            return ""
        if type(value) is not str:
            raise RecordError(f"{field} is {kind(value)}, not text")
        if len(value) > limit:
            raise RecordError(f"{field} is longer than {limit:,} characters ({len(value):,})")
        if "&" not in value and value.isascii() and value.isprintable():
            # printable ASCII without entities: no control character to take out
            if "<" not in value and ">" not in value:  # nor markup: nothing to decode
                return " ".join(value.split())
            return plain_text(value) if html else " ".join(value.split())
        text, removed = strip_controls(value)
        out = plain_text(text) if html else clean(text)
        if "&" in text:  # an entity may have spelled a control character (&#27;)
            out, again = strip_controls(out, multiline=html)
            removed = removed or again
            out = out.strip()
        if removed and self.strict:
            raise RecordError(f"control characters in {field}")
        return out

    def ident(self, value: Any, field: str) -> str:
        """An identifier: text, or a whole number (some ORUK v1 feeds number their rows)."""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(value, field, limit=ID_CHARS)

    def number(self, value: Any, field: str) -> float | None:
        """A finite number, given as a JSON number or as text (``"52.9"``); ``None`` if absent."""
        if value is None:
            return None
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            if len(text) > NUMBER_CHARS:
                raise RecordError(f"bad {field} {shown(text)}")
            try:
                number = float(text)
            except ValueError:
                raise RecordError(f"bad {field} {shown(text)}") from None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                raise RecordError(f"{field} is too large a number") from None
        else:
            raise RecordError(f"{field} is {kind(value)}, not a number")
        if not math.isfinite(number):
            raise RecordError(f"{field} is not a finite number ({_shown(value)})")
        return number

    def whole(self, value: Any, field: str, low: int, high: int) -> int | None:
        """A whole number from ``low`` to ``high`` (ages); ``None`` if absent."""
        number = self.number(value, field)
        if number is None:
            return None
        if number != int(number) or not low <= number <= high:
            raise RecordError(f"bad {field} {_shown(value)}")
        return int(number)

    def items(self, value: Any, field: str) -> list[Any]:
        """A list (``[]`` for null); anything else, or more than ``MAX_ITEMS``, is refused."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise RecordError(f"{field} is {kind(value)}, not a list")
        if len(value) > MAX_ITEMS:
            raise RecordError(f"{field} has more than {MAX_ITEMS:,} items ({len(value):,})")
        return value

    def obj(self, value: Any, field: str) -> dict[str, Any]:
        """An object (``{}`` for null); anything else is refused."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise RecordError(f"{field} is {kind(value)}, not an object")
        return value

    def objects(self, raw: dict[str, Any], *names: str, at: str = "") -> list[tuple[str, dict]]:
        """The objects of the first of ``names`` that ``raw`` has (ORUK spells some lists two
        ways), each with its path; every item must be an object."""
        for name in names:
            if raw.get(name) is not None:
                path = f"{at}{name}"
                return [
                    (f"{path}[{i}]", self.obj_item(item, f"{path}[{i}]"))
                    for i, item in enumerate(self.items(raw[name], path))
                ]
        return []

    def obj_item(self, value: Any, field: str) -> dict[str, Any]:
        """An item of a list of objects: ``null`` is refused too."""
        if not isinstance(value, dict):
            raise RecordError(f"{field} is {kind(value)}, not an object")
        return value

    def words(self, value: Any, field: str, *, keys: tuple[str, ...] = ()) -> list[str]:
        """A list of words (languages, categories): each item text, or an object holding the
        text under one of ``keys``; duplicates and blanks dropped, order kept."""
        out: dict[str, None] = {}
        for i, item in enumerate(self.items(value, field)):
            where = f"{field}[{i}]"
            if isinstance(item, dict) and keys:
                text = ""
                for key in keys:
                    text = self.text(item.get(key), f"{where}.{key}")
                    if text:
                        break
            elif isinstance(item, str):
                text = self.text(item, where)
            else:
                expected = "text or an object" if keys else "text"
                raise RecordError(f"{where} is {kind(item)}, not {expected}")
            if text:
                out[word(text)] = None
        return list(out)

    def split_words(self, value: Any, field: str) -> list[str]:
        """A CSV cell holding a ``;``-separated list."""
        text = self.text(value, field, limit=LONG_CHARS)
        parts = [p for p in (clean(v) for v in text.split(";")) if p]
        if len(parts) > MAX_ITEMS:
            raise RecordError(f"{field} has more than {MAX_ITEMS:,} items ({len(parts):,})")
        return list(dict.fromkeys(word(p) for p in parts))

"""The one boundary for text from outside: users, feeds, CSV files, received FHIR files and the
database itself (old rows, rows written by another version or by hand).

On the way IN:

- ``clean_text`` for what a person types or a file names (names, reasons, notes, answers): NFC
  normalised, surrounding space stripped, and *refused* (ValueError naming the field and the
  character) if it holds a control character. Newline and tab are allowed only where the field is
  ``multiline`` (a CR or CRLF there becomes a newline).
- ``strip_controls`` for feed text (directory imports and received FHIR files): the same rule, but
  the control characters are *removed* and the caller is told, so an importer can record a reject
  reason under ``--strict`` and carry on otherwise.
- ``ascii_identifier`` / ``ascii_digits`` for identifiers that are ASCII by definition (NHS
  numbers, ODS codes, postcodes, need codes): a full-width or Arabic-Indic digit is refused with
  a clear message, never folded into its ASCII twin.

On the way OUT:

- ``escape_terminal`` for anything printed to a terminal: every control character other than a
  newline is shown as a visible escape (``\\x1b``, ``\\u202e``), a tab becomes a space, and Rich
  console markup is escaped (``[bold]`` prints as itself), so stored text can neither move the
  cursor, retitle the window, clear the screen nor restyle the output.

"Control character" means: Unicode categories Cc (C0 and C1 controls, DEL) and Cf (format
characters: bidirectional overrides and isolates U+202A-202E, U+2066-2069, zero-width space, BOM,
soft hyphen, ...), lone surrogates (Cs, not text at all) and the line and paragraph separators
U+2028/U+2029. One exception keeps real names writable: a zero-width joiner or non-joiner (U+200C,
U+200D) *between* two non-ASCII letters, marks or symbols, as in Persian and Indic names and emoji
sequences; anywhere else (``E\\u200dve``) it is a control character like the rest.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_MAX_LENGTH_MULTILINE",
    "ascii_digits",
    "ascii_identifier",
    "clean_optional",
    "clean_text",
    "control_positions",
    "escape_markup",
    "escape_terminal",
    "findable",
    "has_control",
    "is_ascii_text",
    "shown",
    "strip_controls",
    "strip_controls_tree",
    "visible_controls",
]

DEFAULT_MAX_LENGTH = 500
"""Longest one-line value (a name, an email address, a status reason) unless the caller says."""
DEFAULT_MAX_LENGTH_MULTILINE = 20_000
"""Longest multi-line value (notes, a referral reason) unless the caller says."""

_JOINERS = frozenset("\u200c\u200d")
_SEPARATORS = frozenset("\u2028\u2029")
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
# Fast path: text that is printable ASCII (plus newline/tab) holds no control character.
_PLAIN_ASCII = re.compile(r"[\x20-\x7e\n\t]*")


def _category_is_control(ch: str) -> bool:
    return unicodedata.category(ch) in _CONTROL_CATEGORIES or ch in _SEPARATORS


def _joins(before: str, after: str) -> bool:
    """Whether a joiner between ``before`` and ``after`` is part of the writing, not a trick."""
    for ch in (before, after):
        if not ch or ch.isascii():
            return False
        if unicodedata.category(ch)[0] not in "LMS":
            return False
    return True


def control_positions(text: str, *, multiline: bool = False) -> list[int]:
    """Indexes of the control characters in ``text`` (newline and tab allowed when multiline)."""
    if text.isascii() and text.isprintable():  # (in C: ASCII from space to tilde)
        return []
    if _PLAIN_ASCII.fullmatch(text):
        if multiline:
            return []
        return [i for i, ch in enumerate(text) if ch in "\n\t"]
    if text.isprintable():  # no character of Cc, Cf, Cs, Zl or Zp (nor newline or tab)
        return []
    found = []
    for i, ch in enumerate(text):
        if ch in "\n\t":
            if not multiline:
                found.append(i)
        elif _category_is_control(ch):
            if ch in _JOINERS and 0 < i < len(text) - 1 and _joins(text[i - 1], text[i + 1]):
                continue
            found.append(i)
    return found


def has_control(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` holds a control character (see the module's note for the rule)."""
    return bool(control_positions(text, multiline=multiline))


def _codepoint(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _as_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    return value


def _newlines(text: str) -> str:
    if "\r" in text or "\u2028" in text or "\u2029" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    return text


def clean_text(
    value: object,
    what: str,
    *,
    multiline: bool = False,
    max_length: int | None = None,
) -> str:
    """``value`` as NFC text with surrounding space stripped.

    ValueError (its message starting with ``what``) if it is not a string, holds a control
    character (newline and tab allowed only when ``multiline``) or is longer than ``max_length``
    characters (default ``DEFAULT_MAX_LENGTH``, or ``DEFAULT_MAX_LENGTH_MULTILINE`` when
    multiline). Idempotent: ``clean_text(clean_text(s, w), w) == clean_text(s, w)``."""
    text = _as_text(value, what)
    limit = max_length
    if limit is None:
        limit = DEFAULT_MAX_LENGTH_MULTILINE if multiline else DEFAULT_MAX_LENGTH
    if len(text) > 4 * limit + 1000:  # far too long: say so before normalising it all
        raise ValueError(f"{what} is too long ({len(text):,} characters; at most {limit:,})")
    if multiline:
        text = _newlines(text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.strip()
    bad = control_positions(text, multiline=multiline)
    if bad:
        ch = text[bad[0]]
        kind = "an invalid character" if unicodedata.category(ch) == "Cs" else "a control character"
        where = "" if len(text) == 1 else f" at position {bad[0] + 1}"
        allowed = "" if multiline else "; it must be one line"
        if ch in "\n\t" and not multiline:
            kind = "a line break" if ch == "\n" else "a tab"
            return _raise(f"{what} contains {kind}{where}{allowed}")
        return _raise(f"{what} contains {kind} ({_codepoint(ch)}){where}; type it again without it")
    if len(text) > limit:
        raise ValueError(f"{what} is too long ({len(text):,} characters; at most {limit:,})")
    return text


def findable(value: object) -> str | None:
    """A reference typed to look something up (an id, a number, a feed id, search words),
    stripped; ``None`` if it holds a control character. No record's id, number or name can
    hold one (they are refused on the way in), so the caller says nothing was found, and
    nothing holding a NUL reaches a query (PostgreSQL would stop with an error of its own)."""
    text = (value if isinstance(value, str) else str(value)).strip()
    return None if has_control(text) else text


def _raise(message: str) -> str:
    raise ValueError(message)


def clean_optional(
    value: object,
    what: str,
    *,
    multiline: bool = False,
    max_length: int | None = None,
) -> str | None:
    """``clean_text`` for an optional field: ``None`` or blank text gives ``None``."""
    if value is None:
        return None
    text = clean_text(value, what, multiline=multiline, max_length=max_length)
    return text or None


def strip_controls(value: str, *, multiline: bool = True) -> tuple[str, bool]:
    """Feed text without its control characters: ``(cleaned, removed)``.

    ``cleaned`` is NFC with CR/CRLF turned into newlines; newline and tab are kept when
    ``multiline`` (one-line fields: each becomes a space). ``removed`` says whether anything
    other than that was taken out, for the importer's reject reason under ``--strict``.
    Surrounding space is not stripped (the feed's own cleaning does that)."""
    text = _newlines(value)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if not multiline and ("\n" in text or "\t" in text):
        text = text.replace("\n", " ").replace("\t", " ")
    bad = control_positions(text, multiline=True)
    if not bad:
        return text, False
    drop = set(bad)
    out = "".join(ch for i, ch in enumerate(text) if i not in drop)
    if not out.isascii():
        out = unicodedata.normalize("NFC", out)
        # Removing a character can leave a joiner stranded: strip until nothing is left to take.
        while has_control(out, multiline=True):
            again = set(control_positions(out, multiline=True))
            out = "".join(ch for i, ch in enumerate(out) if i not in again)
    return out, True


MAX_TREE_DEPTH = 100
"""Deepest nesting ``strip_controls_tree`` walks (a FHIR Bundle is about ten levels deep)."""


def strip_controls_tree(value: Any, *, max_depth: int = MAX_TREE_DEPTH) -> tuple[Any, int]:
    """Parsed JSON (a received FHIR Bundle, a feed record) with ``strip_controls`` applied to
    every string in it, keys included: ``(cleaned, how many strings lost something)``. Newlines
    and tabs are kept (each field's own rule decides whether it may span lines). ValueError if
    it is nested more than ``max_depth`` levels deep."""
    return _strip_tree(value, max_depth, max_depth)


def _strip_tree(value: Any, depth: int, limit: int) -> tuple[Any, int]:
    if isinstance(value, str):
        text, removed = strip_controls(value)
        return text, int(removed)
    if not isinstance(value, dict | list):
        return value, 0
    if depth <= 0:
        raise ValueError(f"the data is nested more than {limit} levels deep")
    count = 0
    if isinstance(value, list):
        items = []
        for item in value:
            new, n = _strip_tree(item, depth - 1, limit)
            items.append(new)
            count += n
        return items, count
    out: dict[Any, Any] = {}
    for key, item in value.items():
        new_key, n_key = _strip_tree(key, depth - 1, limit)
        new_item, n_item = _strip_tree(item, depth - 1, limit)
        out[new_key] = new_item
        count += n_key + n_item
    return out, count


# --- identifiers -------------------------------------------------------------------------


def is_ascii_text(value: str) -> bool:
    return value.isascii()


def shown(value: object, limit: int = 40) -> str:
    """A value quoted for an error message: repr (control characters escaped), cut short."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text)


def ascii_identifier(value: object, what: str, *, allowed: str = " -") -> str:
    """``value`` stripped, if it holds only ASCII letters and digits and the ``allowed``
    characters (spaces and hyphens unless told otherwise); otherwise ValueError naming the first
    character that is not, e.g. a full-width ``９`` or an Arabic-Indic ``٩`` in an NHS number."""
    text = _as_text(value, what).strip()
    bad = [ch for ch in text if not (ch.isascii() and (ch.isalnum() or ch in allowed))]
    if bad:
        ch = _worst(bad)
        raise ValueError(f"{what} {shown(text)} {_not_allowed(ch, allowed, letters=True)}")
    return text


def ascii_digits(value: object, what: str, *, allowed: str = " -") -> str:
    """``value`` stripped, if it holds only the ASCII digits 0-9 and the ``allowed`` separators;
    otherwise ValueError naming the character that is not allowed."""
    text = _as_text(value, what).strip()
    bad = [ch for ch in text if not (ch in "0123456789" or ch in allowed)]
    if bad:
        ch = _worst(bad)
        raise ValueError(f"{what} {shown(text)} {_not_allowed(ch, allowed, letters=False)}")
    return text


def _worst(bad: list[str]) -> str:
    """The character to name: a digit of another script first (the likeliest mistake and
    the one that matters: it looks right), else the first one not allowed."""
    return next((ch for ch in bad if ch.isdigit()), bad[0])


def _not_allowed(ch: str, allowed: str, *, letters: bool) -> str:
    kinds = ["the letters A-Z", "the digits 0-9"] if letters else ["the digits 0-9"]
    names = {" ": "spaces", "-": "hyphens", "/": "slashes", ".": "full stops", "_": "underscores"}
    kinds += [names.get(c, repr(c)) for c in allowed]
    may = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
    if ch.isdigit() or ch.isnumeric():
        name = unicodedata.name(ch, _codepoint(ch)).lower()
        return f"may use only {may}: {ch!r} ({name}) is not an ASCII digit"
    return f"may use only {may}; {ch!r} ({_codepoint(ch)}) is not allowed"


# --- out to a terminal -------------------------------------------------------------------

# Where Rich console markup sees a tag: "[" then a-z, #, / or @, up to the next "]" with no
# "[" in between (rich.markup.RE_TAGS), after any run of backslashes.
_BRACKET = re.compile(r"(\\*)\[(?=([a-z#/@][^[]*?\])?)")


def escape_markup(text: str) -> str:
    """Rich console markup escaped so that Rich prints ``text`` exactly (without importing
    Rich): ``[bold red]`` prints as itself and makes no style, ``[link=...]`` no hyperlink.

    Rich reads ``\\[tag]`` as a literal tag (an odd run of backslashes before a tag escapes
    it, each pair is one backslash) and drops one backslash before any other ``[``; so a tag
    after n backslashes gets 2n+1 of them and any other ``[`` n+1. Backslashes at the end are
    doubled, so that they cannot escape a tag that follows in a template (shown on their own,
    they show twice). ``rich.markup.escape`` does the tag part only."""

    def bracket(match: re.Match[str]) -> str:
        run = len(match.group(1))
        if match.group(2) is not None:
            return "\\" * (2 * run + 1) + "["
        return "\\" * (run + 1 if run else 0) + "["

    text = _BRACKET.sub(bracket, text)
    if text.endswith("\\"):
        body = text.rstrip("\\")
        text = body + "\\" * (2 * (len(text) - len(body)))
    return text


def _visible(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible_controls(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with every control character shown as a visible escape (``\\x1b``,
    ``\\u202e``); a tab becomes a space and, when ``keep_newlines``, a newline stays."""
    if _PLAIN_ASCII.fullmatch(text):
        if "\t" in text:
            text = text.replace("\t", " ")
        if not keep_newlines and "\n" in text:
            text = text.replace("\n", "\\n")
        return text
    bad = set(control_positions(text, multiline=True))
    out = []
    for i, ch in enumerate(text):
        if ch == "\t":
            out.append(" ")
        elif ch == "\n":
            out.append("\n" if keep_newlines else "\\n")
        elif i in bad:
            out.append(_visible(ch))
        else:
            out.append(ch)
    return "".join(out)


def escape_terminal(value: object, *, markup: bool = True, keep_newlines: bool = True) -> str:
    """Text safe to print to a terminal: control characters made visible (``visible_controls``)
    and, when ``markup`` (the default: text passed to a Rich console, table or markup string),
    Rich markup escaped. ``markup=False`` for text printed as is (``typer.echo``, a
    ``rich.text.Text``). ``None`` prints as an empty string."""
    if value is None:
        return ""
    text = visible_controls(
        value if isinstance(value, str) else str(value), keep_newlines=keep_newlines
    )
    return escape_markup(text) if markup else text

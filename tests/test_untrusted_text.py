"""The one boundary for untrusted text (directory/untrusted.py), property-tested.

In: ``clean_text`` refuses control characters and normalises to NFC; ``strip_controls``
takes them out of feed text. Out: ``escape_terminal`` lets no control character and no Rich
markup through. The predicate for "a control character" is written out here on its own,
not taken from the module."""

from __future__ import annotations

import io
import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.text import Text

from directory.untrusted import (
    ascii_digits,
    ascii_identifier,
    clean_optional,
    clean_text,
    escape_markup,
    escape_terminal,
    strip_controls,
    strip_controls_tree,
    visible_controls,
)
from linkwork.cli.common import TerminalConsole, dumps

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
JOINERS = {"\u200c", "\u200d"}
HOSTILE = [
    "\x1b]0;owned\x07",  # retitle the window
    "\x1b[2J",  # clear the screen
    "\x9b2J",  # the same with the 8-bit CSI
    "\x00",
    "\x07",
    "\x08",
    "\x7f",
    "\r",
    "\u202e",  # right-to-left override
    "\u2066",
    "\u200b",  # zero-width space
    "\ufeff",
    "\u2028",
    "\ud800",  # a lone surrogate
    "\U000e0001",  # a tag character
]


def forbidden(ch: str, *, newline_ok: bool = True, tab_ok: bool = False) -> bool:
    """What must never reach a terminal: C0/C1 controls and DEL (a newline aside), lone
    surrogates, line/paragraph separators, bidirectional controls, and format characters
    other than the two joiners."""
    if (ch == "\n" and newline_ok) or (ch == "\t" and tab_ok):
        return False
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs", "Zl", "Zp") or ch in BIDI:
        return True
    return category == "Cf" and ch not in JOINERS


# Text with plenty of controls, markup and backslashes in it, and anything else too.
hostile_chars = st.sampled_from(
    [*HOSTILE, "[", "]", "/", "\\", "bold", "red", "@click=app.quit", "link=http://x", "#", "\n"]
)
texts = st.lists(st.one_of(hostile_chars, st.text(max_size=4)), max_size=20).map("".join)


@given(texts)
@example("Eve\x1b]0;owned\x07\x1b[2J")
@example("[bold red]Eve[/bold red]\\")
@example("[/]")
@example("\\[bold]")
def test_escape_terminal_lets_no_control_character_or_markup_through(text: str) -> None:
    out = escape_terminal(text)
    assert not any(forbidden(ch) for ch in out), repr(out)
    # Rich parses the escaped text back to exactly the visible text, with no style at all.
    # (Backslashes at the end are doubled, so that they cannot escape a tag that follows
    # them in a template; shown on their own, they show twice.)
    parsed = Text.from_markup(out, emoji=False)
    visible = visible_controls(text)
    trailing = len(visible) - len(visible.rstrip("\\"))
    assert parsed.plain == visible + "\\" * trailing
    assert parsed.spans == []
    # in a template, what follows is still the template's own markup
    templated = Text.from_markup(f"[bold]{out}[/bold] after", emoji=False)
    assert templated.plain.endswith(" after")
    assert templated.plain == visible + " after"
    assert [(span.start, span.end) for span in templated.spans] == [(0, len(visible))]


@given(texts)
def test_printed_through_the_cli_console_no_control_byte_is_written(text: str) -> None:
    buffer = io.StringIO()
    TerminalConsole(file=buffer, width=80, force_terminal=False).print(escape_terminal(text))
    printed = buffer.getvalue()
    assert not any(forbidden(ch) for ch in printed), repr(printed)
    # and a value a command forgot to escape: the console still shows its controls
    buffer = io.StringIO()
    TerminalConsole(file=buffer, width=80, force_terminal=False).print(text, markup=False)
    assert not any(forbidden(ch) for ch in buffer.getvalue())


def test_escape_markup_where_rich_escape_is_lossy() -> None:
    # rich.markup.escape leaves "\\[" (Rich then drops the backslash) and an even run of
    # backslashes at the end (a tag after it in a template eats one): both kept here.
    for text in ("a\\[b", "a\\\\", "x\\[bold]y"):
        assert Text.from_markup(f"[i]{escape_markup(text)}[/i]", emoji=False).plain == text
    lossy = rich_escape("a\\[b")
    assert Text.from_markup(f"[i]{lossy}[/i]").plain == "a[b"


@given(texts)
def test_json_on_stdout_holds_no_control_character_and_the_same_data(text: str) -> None:
    import json

    out = dumps({"name": text, "list": [text]})
    assert not any(forbidden(ch) for ch in out)
    assert json.loads(out) == {"name": text, "list": [text]}


@given(st.text(), st.booleans())
@example("Ane\u0301", False)  # decomposed: NFC composes it
@example("a\r\nb", True)
def test_clean_text_is_idempotent_nfc_and_never_returns_a_control(
    text: str, multiline: bool
) -> None:
    try:
        cleaned = clean_text(text, "a note", multiline=multiline, max_length=10_000)
    except ValueError as exc:
        assert str(exc).startswith("a note ")
        assert (
            any(forbidden(ch, newline_ok=multiline) for ch in text)
            or (not multiline and ("\n" in text or "\t" in text or "\r" in text))
            or any(ch in "\u200c\u200d" for ch in text)
            or "\u2028" in text
        )
        return
    assert clean_text(cleaned, "a note", multiline=multiline, max_length=10_000) == cleaned
    assert unicodedata.is_normalized("NFC", cleaned)
    assert not any(forbidden(ch, newline_ok=multiline, tab_ok=multiline) for ch in cleaned)
    assert cleaned == cleaned.strip()


@pytest.mark.parametrize("bad", HOSTILE)
def test_clean_text_refuses_each_control_with_the_field_and_code_point(bad: str) -> None:
    code = "U+" + f"{ord(bad[0]):04X}"
    with pytest.raises(ValueError, match=rf"^given name contains .*\({re.escape(code)}\)"):
        clean_text(f"Eve{bad}x", "given name")


def test_clean_text_rules_in_words() -> None:
    assert clean_text("  Ane\u0301  ", "given name") == "An\u00e9"
    with pytest.raises(ValueError, match=r"^given name contains a line break at position 4"):
        clean_text("Eve\nx", "given name")
    with pytest.raises(ValueError, match=r"^given name contains a tab"):
        clean_text("Eve\tx", "given name")
    assert clean_text("line one\r\nline two\tend", "note", multiline=True) == (
        "line one\nline two\tend"
    )
    with pytest.raises(ValueError, match=r"^note contains a control character \(U\+001B\)"):
        clean_text("one\n\x1b[2J", "note", multiline=True)
    with pytest.raises(ValueError, match=r"^reason is too long \(501 characters; at most 500\)"):
        clean_text("x" * 501, "reason")
    with pytest.raises(ValueError, match=r"^reason is too long"):
        clean_text("x" * 2_000_000, "reason")  # refused before normalising it all
    with pytest.raises(ValueError, match=r"^name must be text, not int"):
        clean_text(12345, "name")
    assert clean_optional("   ", "email") is None and clean_optional(None, "email") is None


def test_joiners_only_inside_words_of_scripts_that_need_them() -> None:
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside a Persian word
    assert clean_text(persian, "family name") == persian
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # an emoji ZWJ sequence
    assert clean_text(family, "note") == family
    for spoof in ("E\u200dve", "\u200dEve", "Eve\u200c", "\u0645\u200d"):
        with pytest.raises(ValueError, match=r"contains a control character \(U\+200[CD]\)"):
            clean_text(spoof, "given name")


@given(texts)
def test_strip_controls_leaves_no_control_and_says_when_it_took_one(text: str) -> None:
    cleaned, removed = strip_controls(text)
    assert not any(forbidden(ch, tab_ok=True) for ch in cleaned)
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    had = any(
        forbidden(ch, tab_ok=True)
        for ch in normalised.replace("\u2028", "\n").replace("\u2029", "\n")
    )
    if not removed:
        assert not had
    assert strip_controls(cleaned) == (cleaned, False)


def test_strip_controls_examples() -> None:
    assert strip_controls("Food\x1b[31m bank\x00") == ("Food[31m bank", True)
    assert strip_controls("two\r\nlines\ttab") == ("two\nlines\ttab", False)
    assert strip_controls("one\nline", multiline=False) == ("one line", False)
    assert strip_controls("\u202eknab dooF") == ("knab dooF", True)
    tree = {"name": [{"given": ["Eve\x1b]0;x\x07"]}], "n": 3, "note\x00": "ok"}
    cleaned = {"name": [{"given": ["Eve]0;x"]}], "n": 3, "note": "ok"}
    assert strip_controls_tree(tree) == (cleaned, 2)
    deep: object = "x"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than 100 levels deep"):
        strip_controls_tree(deep)


def test_visible_forms() -> None:
    assert escape_terminal("Eve\x1b]0;owned\x07") == "Eve\\x1b]0;owned\\x07"
    assert escape_terminal("a\u202eb") == "a\\u202eb"
    assert escape_terminal("a\U000e0001") == "a\\U000e0001"
    assert escape_terminal("[bold red]x[/]") == "\\[bold red]x\\[/]"
    assert escape_terminal("[bold]", markup=False) == "[bold]"
    assert escape_terminal("a\tb\nc") == "a b\nc"
    assert escape_terminal("a\nb", keep_newlines=False) == "a\\nb"
    assert escape_terminal(None) == ""
    assert escape_terminal(42) == "42"


def test_rich_console_prints_escaped_text_literally() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=True, color_system="truecolor")
    console.print(
        f"name: {escape_terminal('[bold red]Eve[/] [link=http://x]y[/link]')}", highlight=False
    )
    assert "[bold red]Eve[/] [link=http://x]y[/link]" in buffer.getvalue()
    assert "\x1b]8;" not in buffer.getvalue()  # no hyperlink made from stored text


def test_ascii_identifiers() -> None:
    assert ascii_identifier(" Y01234 ", "practice code") == "Y01234"
    with pytest.raises(
        ValueError, match=r"may use only the letters A-Z, the digits 0-9, spaces and hyphens: "
    ):
        ascii_identifier("Y０1234", "practice code")
    with pytest.raises(ValueError, match=r"'\\x1b' \(U\+001B\) is not allowed"):
        ascii_identifier("Y01\x1b234", "practice code")
    assert ascii_digits("943 476-5919", "NHS number") == "943 476-5919"
    with pytest.raises(ValueError, match=r"'٩' \(arabic-indic digit nine\) is not an ASCII digit"):
        ascii_digits("٩٤٣", "NHS number")
    with pytest.raises(ValueError, match=r"may use only the digits 0-9; 'x'"):
        ascii_digits("12x", "count", allowed="")

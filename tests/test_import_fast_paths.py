"""Issue 18 (import speed): the import's fast paths give what the plain ones give.

Each fast path is checked against the slower rule it stands in for, on inputs made to
reach the cases where the two could part (escapes, a window cut inside a string)."""

from __future__ import annotations

import random

import pytest

from directory import bounded
from directory.bounded import check_json
from directory.text import _simple_html, _TextExtractor


def _by_regex(window: bytes) -> tuple[bytes, bool]:
    """The rule the fast path stands in for: strings taken out by the regular expression."""
    bare = bounded._STRING.sub(b"", window + b'"X')
    inside = bare.endswith(b"X")
    return (bare[:-1] if inside else bare), inside


def test_strings_out_of_a_window_as_the_regular_expression_takes_them() -> None:
    rng = random.Random(18)
    alphabet = [b'"', b"\\", b"a", b"n", b"{", b"}", b"[", b"]", b",", b"0", b" ", b":"]
    fast = 0
    for _ in range(20_000):
        window = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert bounded._without_strings(window) == _by_regex(window), window
        fast += b"\\\\" not in window and b'\\"' not in window and not window.endswith(b"\\")
    assert fast > 2_000  # the fast path was taken often, not only the regular expression


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # a quote escaped inside a string, the window cut just after it
        (b'["a\\"' + b"[" * 70 + b'"]', None),
        (b'["a\\\\"' + b"[" * 70 + b"]" * 70 + b"]", "nested more than 64"),
        (b'["\\n' + b"9" * 101 + b'", 1]', None),
        (b'["\\n", ' + b"9" * 101 + b"]", "a number more than 100"),
    ],
)
def test_escapes_across_windows(data: bytes, message: str | None) -> None:
    for window in (1, 2, 3, 5, 8, 1000):
        if message is None:
            check_json(data, "page", 10_000, window=window)
        else:
            with pytest.raises(ValueError, match=message):
                check_json(data, "page", 10_000, window=window)


def _by_html_parser(text: str) -> str:
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


# pieces of HTML as feeds write it, and as a hostile feed might
PIECES = [
    *("<p>", "</p>", "<P>", "</P >", "<p/>", "<br>", "<br/>", "<br />", "<BR/>", "<b>"),
    *("<li>", "</li>", "<ul>", "</ul>", "<h2>", "</h2>", "<table>", "<tr>", "</b >"),
    *('<div class="x">', "<a href='y'>", "</a>", "<a href=y>", '<a title="x>y">'),
    *('<span id="a" hidden>', '<p\nclass="q">', '</p class="z">', "<br/ >", "< p>"),
    *("<script>", "</script>", "<style>", "<!-- c -->", "<!DOCTYPE html>", "<?x?>"),
    *("<x-y>", "<o:p>", "</ b>", "<", ">", "<3", "a<b"),
    *("&amp;", "&", "&amp", "&#27;", "&#0;", "&#x41;", "&lt;p&gt;", "&nbsp;"),
    *("text", " ", "\n", "\t", "é"),
]


def test_simple_html_reads_as_html_parser_does() -> None:
    rng = random.Random(22)
    simple = 0
    for _ in range(30_000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        fast = _simple_html(text)
        if fast is not None:
            simple += 1
            assert fast == _by_html_parser(text), text
    assert simple > 3_000  # the fast path was taken, not only HTMLParser


@pytest.mark.parametrize(
    "text",
    ["a <3 b <p>c</p>", "<p>x</p><script>alert(1)</script>", "<!-- <p> -->x", "<a href=x/>y"],
)
def test_what_simple_html_leaves_to_html_parser(text: str) -> None:
    assert _simple_html(text) is None  # (a lone <, script, a comment, an unquoted value)

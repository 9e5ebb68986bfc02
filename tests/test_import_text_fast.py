"""Issue 18 (import speed): feed text made plain (``directory.text.plain_text``) skips
collapsing each line's spaces when there is nothing to collapse; it must give what the rule
gives: tags out, entities decoded, runs of whitespace one space within a line, lines
trimmed, at most one blank line between paragraphs."""

from __future__ import annotations

import html
import random
import re

from directory.text import _TextExtractor, plain_text


def _rule(value: str) -> str:
    """The rule, spelt out line by line (HTMLParser for the tags)."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return ""
    if re.search(r"<\s*/?\s*[a-zA-Z][^>]*>", text):
        parser = _TextExtractor()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    else:
        text = html.unescape(text)
    text = text.replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines).strip())


PIECES = [
    *(" ", " ", "\n", "\n", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u3000"),
    *("\u200b", "\xa0", "\r", "\r\n", "&nbsp;", "&#10;", "&#32;", "&#9;", "&amp;"),
    *("word", "more words.", "é", "-", "<p>", "</p>", "<li>", "<ul>", "</ul>", "<br>"),
    *("<b>", "</b>", '<a href="x">', "</a>"),
]


def test_plain_text_follows_the_rule() -> None:
    rng = random.Random(41)
    clean = 0
    for _ in range(40_000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14)))
        out = plain_text(text)
        assert out == _rule(text), repr(text)
        clean += "<" in text and out != "" and "  " not in text
    assert clean > 2_000  # texts with tags and words, as descriptions are


def test_descriptions_as_feeds_write_them() -> None:
    cases = {
        "<p>Free food.</p><ul><li>Mondays</li><li>Fridays</li></ul>": (
            "Free food.\n\n- Mondays\n- Fridays"
        ),
        "<p>Free  food.</p> <ul> <li> Mondays </li></ul>": "Free food.\n\n- Mondays",
        "<p>One</p>\n\n\n<p>Two\u2028three</p>": "One\n\nTwo three",
        "Line one\n\n\n\nLine two\t end ": "Line one\n\nLine two end",
    }
    for text, expected in cases.items():
        assert plain_text(text) == expected == _rule(text)

"""Text helpers shared by import and search: HTML to plain text, tokens, postcodes."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from directory.untrusted import ascii_identifier, shown

_BLOCK = {
    "p",
    "div",
    "section",
    "article",
    "ul",
    "ol",
    "table",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
}
_SKIP = {"script", "style"}


def _unescape(text: str) -> str:
    if "&" not in text:  # nothing to decode (html.unescape's own first test)
        return text
    from html import unescape  # imported on first use: a search never needs it

    return unescape(text)


@cache
def _text_extractor() -> Any:
    """The HTML parser class for what ``_simple_html`` cannot read, built on first use (a
    search never needs it: html.parser is left out of the CLI's start-up)."""
    from html.parser import HTMLParser

    class TextExtractor(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in _SKIP:
                self.skip += 1
            elif tag in _BLOCK:
                self.parts.append("\n\n")
            elif tag == "br":
                self.parts.append("\n")
            elif tag == "li":
                self.parts.append("\n- ")

        def handle_endtag(self, tag: str) -> None:
            if tag in _SKIP:
                self.skip = max(0, self.skip - 1)
            elif tag in _BLOCK:
                self.parts.append("\n\n")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    return TextExtractor


def __getattr__(name: str) -> Any:
    if name == "_TextExtractor":  # the parser class under its former name (its tests)
        return _text_extractor()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TAG_HINT = r"<\s*/?\s*[a-zA-Z][^>]*>"
# A tag as plain as most feeds write them: a name of letters and digits, attributes with
# quoted values (no < or > inside), an optional closing slash. Anything else (comments,
# unquoted values, a lone <, script or style) is left to HTMLParser.
_SIMPLE_TAG = (
    r"<(/)?([a-zA-Z][a-zA-Z0-9]*)"
    r"((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'))?)*)"
    r"\s*(/)?>"
)


@cache
def _tag_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """``_TAG_HINT`` and ``_SIMPLE_TAG`` compiled, on first use (not at import)."""
    return re.compile(_TAG_HINT), re.compile(_SIMPLE_TAG)


def _simple_html(text: str) -> str | None:
    """What the HTML parser (``_text_extractor``) makes of ``text`` when every ``<`` in it
    opens a simple tag (``_SIMPLE_TAG``), in one pass of a regular expression; None
    otherwise. The same text: each run between tags unescaped on its own (as HTMLParser does with
    convert_charrefs), a tag's name compared in lower case, ``<br/>`` a start and an end."""
    parts: list[str] = []
    pos = 0
    for match in _tag_patterns()[1].finditer(text):
        data = text[pos : match.start()]
        if "<" in data:
            return None
        if data:
            parts.append(_unescape(data))
        closing, name, attrs, self_closing = match.groups()
        tag = name.lower()
        if tag in _SKIP or (closing and (attrs or self_closing)):
            return None
        if not closing:
            if tag in _BLOCK:
                parts.append("\n\n")
            elif tag == "br":
                parts.append("\n")
            elif tag == "li":
                parts.append("\n- ")
        if (closing or self_closing) and tag in _BLOCK:
            parts.append("\n\n")
        pos = match.end()
    data = text[pos:]
    if "<" in data:
        return None
    if data:
        parts.append(_unescape(data))
    return "".join(parts)


# A tag with no attributes, as between its < and >: ``p``, ``/li``, ``br/``, ``BR /``.
_BARE_TAG = r"(/)?([a-zA-Z][a-zA-Z0-9]*)\s*(/)?"
_BARE_TAGS: dict[str, str] = {}
"""What each tag with no attributes (as written between its < and >) becomes."""
KNOWN_TAGS = 1024
"""Distinct tags remembered in ``_BARE_TAGS`` (then it starts again)."""


@cache
def _bare_tag_pattern() -> re.Pattern[str]:
    return re.compile(_BARE_TAG)


def _bare_tag(inside: str) -> str | None:
    """What ``_simple_html`` makes of the tag ``<inside>`` if it has no attributes (and is
    neither script nor style, nor a closing tag with a closing slash), else None."""
    match = _bare_tag_pattern().fullmatch(inside)
    if match is None:
        return None
    closing, name, self_closing = match.groups()
    tag = name.lower()
    if tag in _SKIP or (closing and self_closing):
        return None
    out = ""
    if not closing:
        if tag in _BLOCK:
            out = "\n\n"
        elif tag == "br":
            out = "\n"
        elif tag == "li":
            out = "\n- "
    if (closing or self_closing) and tag in _BLOCK:
        out += "\n\n"
    return out


def _bare_html(text: str) -> str | None:
    """``_simple_html`` of a text whose every ``<`` opens a tag with no attributes (most
    feeds' HTML), the text cut at its ``<``s and each distinct tag read once; None for any
    other text. The same text: ``_simple_html`` finds each such tag where its ``<`` is
    (its attributes, none here, cannot take a ``>``), with the same runs between them."""
    pieces = text.split("<")
    entities = "&" in text
    first = pieces[0]
    parts = [_unescape(first) if entities else first] if first else []
    known = _BARE_TAGS
    for i in range(1, len(pieces)):
        inside, closed, data = pieces[i].partition(">")
        if not closed:
            return None
        out = known.get(inside)
        if out is None:
            out = _bare_tag(inside)
            if out is None:
                return None
            if len(inside) <= 32:  # (a tag name this long is read, not remembered)
                if len(known) >= KNOWN_TAGS:
                    known.clear()
                known[inside] = out
        if out:
            parts.append(out)
        if data:
            parts.append(_unescape(data) if entities else data)
    return "".join(parts)


def plain_text(value: object) -> str:
    """Plain text from a feed value: HTML tags removed (paragraph breaks kept), entities
    decoded, runs of spaces collapsed, at most one blank line between paragraphs."""
    if value is None:
        return ""
    text = str(value)
    if not text.strip():
        return ""
    if "<" not in text and "&" not in text and "\n" not in text and "\r" not in text:
        return " ".join(text.split())  # one line of plain text (the common case)
    # printable ASCII without entities (most feeds' HTML): no line ends to make one, no
    # no-break space, and what is left of it once its tags are out is printable too
    plain = "&" not in text and text.isascii() and text.isprintable()
    if not plain:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _tag_patterns()[0].search(text):
        simple = _bare_html(text)
        if simple is None:
            simple = _simple_html(text)
        if simple is None:
            parser = _text_extractor()()
            parser.feed(text)
            parser.close()
            simple = "".join(parser.parts)
        text = simple
    else:
        text = _unescape(text)
    if not plain:
        text = text.replace("\xa0", " ")
    if (
        "  " not in text
        and " \n" not in text
        and "\n " not in text
        and (plain or text.replace("\n", "").isprintable())
    ):
        # no whitespace but single spaces inside lines and newlines (every other kind is
        # unprintable): each line is already as collapsing its spaces leaves it
        out = text.strip()
    else:
        lines = [" ".join(line.split()) if line else line for line in text.split("\n")]
        out = "\n".join(lines).strip()
    return _BLANK_LINES.sub("\n\n", out) if "\n\n\n" in out else out


_BLANK_LINES = re.compile(r"\n\n\n+")  # (r"\n{3,}", found many times faster)


def clean(value: object) -> str:
    """A one-line feed value: ``None`` and empty or whitespace-only strings become ``""``."""
    if type(value) is str:
        return " ".join((_unescape(value) if "&" in value else value).split())
    if value is None or isinstance(value, dict | list):
        return ""
    text = str(value)
    if "&" in text:
        text = _unescape(text)
    return " ".join(text.split())


# --- postcodes -------------------------------------------------------------------------

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")


def parse_postcode(value: str, what: str = "postcode") -> str | None:
    """The one postcode rule (people, feeds, search): ``"zz1 2ab"`` -> ``"ZZ1 2AB"``, or
    ``None`` if it is not shaped like a UK postcode. ASCII letters and digits only: a
    full-width ``ＺＺ１`` or a ligature that upper-cases to ASCII (``ﬀ`` -> ``FF``) raises
    ValueError naming the character."""
    text = ascii_identifier(value, what, allowed=" ")
    compact = "".join(text.split()).upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = _POSTCODE.match(compact)
    return f"{match.group(1)} {match.group(2)}" if match else None


def normalise_postcode(value: str) -> str:
    """``"zz1 2ab"`` -> ``"ZZ1 2AB"``; raises ValueError if it is not a UK postcode."""
    postcode = parse_postcode(value)
    if postcode is None:
        raise ValueError(f"bad postcode {shown(value.strip())}")
    return postcode


def looks_like_postcode(value: str) -> bool:
    """Whether the text is shaped like a full postcode or an outward code (``ZZ1``)."""
    if not value.isascii():
        return False
    compact = "".join(value.split()).upper()
    return bool(_POSTCODE.match(compact) or _OUTWARD.match(compact))


def is_outward_code(value: str) -> bool:
    return value.isascii() and bool(_OUTWARD.match("".join(value.split()).upper()))


# --- tokens ----------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


@cache
def _stopword_sections() -> dict[str, frozenset[str]]:
    # read beside this module, as vocabulary.py reads its files: importlib.resources'
    # machinery costs a command-line search more than the read (issue 18)
    text = Path(__file__).with_name("stopwords.txt").read_text(encoding="utf-8")
    sections: dict[str, set[str]] = {"phrase": set(), "search": set()}
    current = "search"
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip().lower()
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current not in sections:
                raise ValueError(f"stopwords.txt: unknown section [{current}]")
        elif line:
            sections[current].update(w.replace("'", "") for w in line.split())
    return {k: frozenset(v) for k, v in sections.items()}


@cache
def stopwords() -> frozenset[str]:
    """Words left out of scored search tokens (both sections of ``stopwords.txt``)."""
    sections = _stopword_sections()
    return sections["phrase"] | sections["search"]


@cache
def phrase_stopwords() -> frozenset[str]:
    """The few words ignored when matching vocabulary phrases."""
    return _stopword_sections()["phrase"]


@cache
def stem(word: str) -> str:
    """A light English stemmer: plurals, -ing, -ed and a final e, so that "groups"/"group",
    "gambling"/"gamble" and "housing"/"house" meet. Applied the same way to services and queries."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "shes", "ches", "xes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
        if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
        if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    """Lower-case words of the text, apostrophes kept inside words ("men's")."""
    return _WORD.findall(text.lower().replace("’", "'"))


def tokens(text: str, keep_stopwords: bool = False) -> list[str]:
    """Stemmed tokens of the text, stopwords left out unless asked for."""
    stop = stopwords()
    out = []
    for word in words(text):
        if not keep_stopwords and word.replace("'", "") in stop:
            continue
        out.append(stem(word))
    return out


def phrase_tokens(text: str) -> list[str]:
    """Stemmed tokens for phrase matching: only articles, pronouns and the like dropped."""
    skip = phrase_stopwords()
    return [stem(w) for w in words(text) if w.replace("'", "") not in skip]

"""Issue 18 (import speed, the reading half): each faster way of reading a feed gives what
the rule it stands in for gives, on inputs made to reach the cases where they could part."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from contextlib import ExitStack
from dataclasses import asdict, fields
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from directory import bounded, taxonomy
from directory.bounded import (
    MAX_DEPTH,
    Budget,
    FeedTooLarge,
    Limits,
    check_json,
    check_json_before_parser,
    load_json,
    open_file,
    read_page,
)
from directory.feeds import KnownPlaces, page_from_document
from directory.fields import Fields
from directory.oruk_structs import service_from_bytes
from directory.records import LocationRecord, OrganisationRecord, ServiceRecord
from directory.sources import _cut_page
from directory.taxonomy import MapRow, TaxonomyMap, load_taxonomy_map
from directory.text import _bare_html, _simple_html, plain_text, stem, words
from directory.untrusted import strip_controls

_ANY = msgspec.json.Decoder()


def _outcome(check: Any, data: bytes, values: int) -> tuple[str, str] | None:
    try:
        check(data, "page", values)
    except ValueError as exc:
        return type(exc).__name__, str(exc)
    return None


def _same_as_check_json(data: bytes, values: int, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Assert the quick check ends as check_json does (or, only for a page that is not
    JSON, passes where check_json refuses a number); whether it decided alone."""
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        check_json(*args, **kwargs)

    monkeypatch.setattr(bounded, "check_json", counted)
    quick = _outcome(check_json_before_parser, data, values)
    monkeypatch.setattr(bounded, "check_json", check_json)
    full = _outcome(check_json, data, values)
    if quick != full:
        assert quick is None and full is not None, (data, quick, full)
        assert "a number more than 100 characters long" in full[1], (data, full)
        with pytest.raises(msgspec.DecodeError, match="malformed"):
            _ANY.decode(data)  # the page goes to load_json, which refuses it so
    return not calls


PIECES = [b'"', b"\\", b"a", b"n", b"{", b"}", b"[", b"]", b",", b"0", b"9" * 60, b" "]
PIECES += [b":", b"\x01", b'""', b"\\\\", b'\\"', b"[" * 8, b"]" * 8, b"e", b"\xc3\xa9"]


def test_the_quick_check_ends_as_check_json_on_any_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(50)
    alone = 0
    for _ in range(30_000):
        data = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))
        alone += _same_as_check_json(data, rng.choice([1, 3, 10, 1000]), monkeypatch)
    assert alone > 3_000  # it decided alone often, not only by calling check_json


def _document(rng: random.Random, depth: int = 0) -> Any:
    if depth > 70 or rng.random() < 0.3:
        leaves = [None, True, 1, -2.5e10, "a,b", "[x]", 'q"\\', "é", "", "\\n", "\u2028"]
        return rng.choice([*leaves, "9" * rng.choice([99, 101]), 10 ** rng.randint(0, 120)])
    if rng.random() < 0.5:
        return [_document(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["a", "b,", 'c\\"', "[", "9"]
    return {rng.choice(keys): _document(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def test_the_quick_check_ends_as_check_json_on_json_and_near_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Documents nested up to past the limit, with strings holding quotes, backslashes,
    brackets and digits, some with a byte put in anywhere (no longer JSON)."""
    rng = random.Random(51)
    alone = 0
    for _ in range(6_000):
        doc = _document(rng)
        for level in range(rng.choice([0, 0, 30, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])):
            doc = [doc] if level % 2 else {"k": doc}
        compact = (",", ":") if rng.random() < 0.5 else None
        data = json.dumps(doc, ensure_ascii=rng.random() < 0.5, separators=compact).encode()
        if rng.random() < 0.3 and data:
            at = rng.randrange(len(data))
            data = data[:at] + rng.choice(PIECES) + data[at:]
        alone += _same_as_check_json(data, rng.choice([1, 5, 50, 10**6]), monkeypatch)
    assert alone > 1_000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[1"a"' + b"9" * 100 + b"]", None),  # not JSON: the parser refuses it
        (b"[" + b"9" * 101 + b"]", "a number more than 100 characters long"),
        (b'["' + b"9" * 101 + b'"]', None),  # digits in a string are text
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "JSON nested more than 64 levels deep"),
        (b'["\\"' + b"[" * 70 + b'"]', None),  # brackets in a string, after an escape
        (b'["a\\\\"' + b"[" * 70 + b"]" * 70 + b"]", "JSON nested more than 64 levels deep"),
        (b"[" + b"0," * 20 + b"0]", "more than 10 JSON values in one page"),
        (b'[\\"a"]', None),  # a backslash outside a string: check_json reads it
    ],
)
def test_the_quick_check_refuses_with_check_jsons_words(data: bytes, message: str | None) -> None:
    values = 10 if b"0," in data else 10_000
    if message is None:
        check_json_before_parser(data, "page", values)
    else:
        with pytest.raises(ValueError, match=rf"^page: {message}"):
            check_json_before_parser(data, "page", values)


def test_a_page_of_many_short_strings_is_read_a_window_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Splitting such a page whole at its quotes would take many times its size."""
    page = b"[" + b'",",' * 100_000 + b'""]'
    assert not _same_as_check_json(page, 10**6, monkeypatch)
    real = json.dumps([{"id": str(i), "name": f"Service {i}, Vale"} for i in range(2000)])
    assert _same_as_check_json(real.encode(), 10**6, monkeypatch)


# --- HTML without attributes ---------------------------------------------------------------

TAGS = [
    *("<p>", "</p>", "<P>", "</P >", "<p/>", "<br>", "<br/>", "<br />", "<BR/>", "<b>"),
    *("<li>", "</li>", "<ul>", "</ul>", "<h2>", "</h2>", "<tr>", "</b >", "<p\t>", "<a1>"),
    *('<div class="x">', "<a href='y'>", "</a>", "<a href=y>", "< p>", "</ b>", "<1a>"),
    *("<script>", "</script>", "<Style/>", "<!-- c -->", "<?x?>", "<x-y>", "<o:p>"),
    *("<", ">", "<3", "a<b", "<>", "</>", "</p/>", "<p\u2003/>", "<" + "a" * 40 + ">"),
    *("&amp;", "&", "&#27;", "&lt;p&gt;", "&nbsp;", "text", " ", "\n", "\t", "é", "\xa0"),
]


def test_html_without_attributes_reads_as_simple_html_does() -> None:
    rng = random.Random(52)
    bare = 0
    for _ in range(40_000):
        text = "".join(rng.choice(TAGS) for _ in range(rng.randint(1, 12)))
        fast = _bare_html(text)
        if fast is not None:
            bare += 1
            assert fast == _simple_html(text), text
    assert bare > 4_000


def test_blank_lines_are_collapsed_to_one() -> None:
    assert plain_text("<p>a</p>\n\n\n<ul><li>b</li></ul>\n\n\n\n\nc") == "a\n\n- b\n\nc"


# --- categories ----------------------------------------------------------------------------


def test_words_of_ascii_text_are_the_tokenisers_words() -> None:
    rng = random.Random(53)
    alphabet = [*"abcXYZ019 '’-,.\n\té", "men's", "'tis", "a''b", "x'1", "İ", "K", "ß"]
    for _ in range(50_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        assert taxonomy._words(text) == words(text), text


def _reference(m: TaxonomyMap, terms: list[str], name: str, description: str) -> Any:
    """classify as written before it remembered anything."""

    def phrase(text: str) -> tuple[str, ...]:
        return tuple(stem(w) for w in re.findall(r"[a-z0-9]+(?:['’][a-z]+)?", text.lower()))

    def keyword_rows(text: tuple[str, ...]) -> list[MapRow]:
        return [
            row
            for words_, row in m.keywords
            if any(text[i : i + len(words_)] == words_ for i in range(len(text) + 1))
        ]

    hits: list[MapRow] = []
    unmatched = []
    for term in terms:
        row = m.exact.get(phrase(term))
        if row:
            hits.append(row)
        else:
            unmatched.append(term)
    for term in unmatched:
        hits.extend(keyword_rows(phrase(term)))
    hits = hits or keyword_rows(phrase(name)) or keyword_rows(phrase(description))
    order = {key: i for i, key in enumerate(taxonomy.domain_keys())}
    domains = sorted({d for row in hits for d in row.domains}, key=order.__getitem__)
    return domains, sorted({z for row in hits for z in row.z_codes})


def test_categories_are_read_as_before_however_often_a_list_of_terms_comes() -> None:
    m = load_taxonomy_map()
    vocabulary = [row.term for _, row in m.keywords] + [row.term for row in m.exact.values()]
    vocabulary += ["nothing at all", "Food Bank", "x" * 300, "Men’s SHED", "the"]
    rng = random.Random(54)
    for _ in range(3_000):
        terms = [rng.choice(vocabulary) for _ in range(rng.choice([0, 1, 2, 12]))]
        name = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 3)))
        description = " and ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 6)))
        expected = _reference(m, terms, name, description)
        for _ in range(2):  # the second time from what was remembered
            domains, codes = m.classify(terms, name, description)
            assert (domains, codes) == expected, (terms, name, description)
            domains.append("changed")  # a caller's own lists: nothing remembered changes


# --- a record's digest ---------------------------------------------------------------------


def _digest_as_before(record: ServiceRecord) -> str:
    """The digest as written before (stored by every import, so it may never change): the
    record as a dictionary, written by the json module, sorted."""
    data = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "raw_hash"}
    org = record.organisation
    data["organisation"] = None if org is None else asdict(org)
    data["locations"] = [asdict(loc) for loc in record.locations]
    data["last_verified"] = record.last_verified.isoformat() if record.last_verified else None
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_records_digest_is_as_before() -> None:
    rng = random.Random(55)
    texts = ["", "Food bank", 'a "quoted" name', ',"raw_hash":""', "é\u2028\\", "x" * 300]
    for _ in range(3_000):
        record = ServiceRecord(
            source_id=rng.choice(texts),
            name=rng.choice(texts),
            description=rng.choice(texts),
            min_age=rng.choice([None, 0, 130]),
            is_free=rng.random() < 0.5,
            languages=rng.sample(texts, 2),
            opening_hours=[{"day": 1, "opens": "09:00", "closes": "17:00"}][: rng.randint(0, 1)],
            contacts=[{"name": rng.choice(texts), "title": "", "email": "", "phones": ["1"]}],
            last_verified=rng.choice([None, date(1, 1, 1), date(999, 12, 31), date(2024, 2, 29)]),
            organisation=rng.choice([None, OrganisationRecord("o", rng.choice(texts))]),
            locations=[
                LocationRecord(
                    rng.choice(texts),
                    latitude=rng.choice([None, 0.0, -0.0, 52.123456, 1e-5, 1e17, 0.1]),
                    longitude=rng.choice([None, -1.5, 1.5e-7]),
                )
            ][: rng.randint(0, 1)],
            domains=["food"],
            raw_hash=rng.choice(["", "ab" * 32, 'x","raw_hash":"']),
        )
        assert record.content_hash() == _digest_as_before(record), record


# --- opening hours -------------------------------------------------------------------------


def test_a_week_of_hours_is_read_the_same_each_time_and_a_week_left_out_each_time() -> None:
    base = {"id": "s", "name": "Club"}
    week = [
        {"weekday": day, "opens_at": "10:00", "closes_at": "16:00"}
        for day in ("Monday", "Tuesday", 3, "Funday")
    ]
    places = KnownPlaces()
    for _ in range(2):
        assert service_from_bytes(json.dumps({**base, "schedules": week}).encode(), places) is None
        record = service_from_bytes(json.dumps({**base, "schedules": week[:3]}).encode(), places)
        assert record is not None
        assert record.opening_hours == [
            {"day": day, "opens": "10:00", "closes": "16:00"} for day in (1, 2, 3)
        ]
        record.opening_hours.append({})  # a record's own list: nothing remembered changes


# --- a page cut into its services ----------------------------------------------------------

SERVICE = {"id": "s1", "name": "Club, and more"}
PAGES: list[Any] = [
    [SERVICE, SERVICE],
    {"totalPages": 2, "number": 1, "last": False, "size": 2, "content": [SERVICE]},
    {"content": [SERVICE], "contents": "not a list", "number": 1},
    {"content": [], "totalPages": None},
    {"total_pages": 3, "page_number": 2, "last_page": True, "contents": [SERVICE, SERVICE]},
    {"contents": [SERVICE], "content": [SERVICE, SERVICE]},
    {"page_number": "2", "contents": [SERVICE]},
]


@pytest.mark.parametrize("doc", PAGES)
def test_a_cut_page_is_the_page_read_whole(doc: Any) -> None:
    data = json.dumps(doc).encode()
    limits = Limits()
    whole = page_from_document(load_json(data, "page", limits), "page")
    page, cut = _cut_page(data, "page", limits) or (None, [])
    assert page is not None
    assert [json.loads(b) for b in cut] == whole.items
    assert (page.page_number, page.total_pages, page.last, page.single) == (
        whole.page_number,
        whole.total_pages,
        whole.last,
        whole.single,
    )


@pytest.mark.parametrize(
    "data",
    [
        b'{"content": null}',
        b'{"content": {"id": "s"}}',
        b'{"contents": 5}',
        b'{"id": "s", "name": "one service"}',
        b'{"content": [1], "content": 2}',  # the last of a repeated key, as a dict keeps it
        b'\xef\xbb\xbf{"content": [], "name": "\xff"}',  # not UTF-8
    ],
)
def test_a_page_that_is_no_wrapper_of_a_list_is_read_whole(data: bytes) -> None:
    assert _cut_page(data, "page", Limits()) is None


def test_a_repeated_content_key_is_read_as_its_last() -> None:
    _, cut = _cut_page(b'{"content": 1, "content": [{"id": "a"}]}', "p", Limits()) or (0, [])
    assert cut == [b'{"id": "a"}']


def test_plain_one_line_text_is_told_as_the_regular_expression_told_it() -> None:
    """Fields.text's shortcut (text to take nothing out of) as it was written: printable
    ASCII without <, > and &; every other character goes the whole way (a tab, é, &)."""
    plain = re.compile(r"[\x20-\x25\x27-\x3b\x3d\x3f-\x7e]*")
    f = Fields()
    for code in range(0x3000):
        if 0xD800 <= code < 0xE000:
            continue
        ch = chr(code)
        value = f"a {ch}  b"
        quick = "<" not in value and "&" not in value and ">" not in value
        quick = quick and value.isascii() and value.isprintable()
        assert quick == bool(plain.fullmatch(value)), hex(code)
        if quick:
            assert f.text(value, "name") == ("a b" if ch == " " else f"a {ch} b")


# --- a page's bytes ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 99, 100, 101, 5000])
def test_a_file_is_read_as_far_as_the_room_whatever_its_size(tmp_path: Path, size: int) -> None:
    """Read to its size (a read of the whole room would allocate it all), and still at
    most the room and one byte more, so a page over the limit is refused so."""
    path = tmp_path / "page.json"
    path.write_bytes(b"x" * size)
    budget = Budget(Limits(page_bytes=100, feed_bytes=10_000), "feed")
    with ExitStack() as stack:
        stream = open_file(path, stack)
        if size > 100:
            with pytest.raises(FeedTooLarge, match=r"^page: more than 100 bytes in one page"):
                read_page(stream, path, budget, "page")
            assert budget.bytes == 0
        else:
            assert read_page(stream, path, budget, "page") == b"x" * size
            assert budget.bytes == size


def test_a_file_that_grows_is_read_as_far_as_the_room(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_bytes(b"x" * 10)
    budget = Budget(Limits(page_bytes=100, feed_bytes=10_000), "feed")
    with ExitStack() as stack:
        stream = open_file(path, stack)
        with path.open("ab") as more:
            more.write(b"y" * 200)  # after the size was taken, before the read
        real = os.fstat
        sizes = iter([10])

        def first_size(fd: int) -> os.stat_result:
            found = real(fd)
            size = next(sizes, found.st_size)
            return os.stat_result((*found[:6], size, *found[7:]))

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bounded.os, "fstat", first_size)
            with pytest.raises(FeedTooLarge, match=r"^page: more than 100 bytes in one page"):
                read_page(stream, path, budget, "page")


def test_a_description_word_is_stemmed_whenever_a_keyword_phrase_could_hold_it() -> None:
    """Words a keyword phrase cannot hold are read as no word at all (not stemmed): every
    word whose stem is a phrase's word, in any of the forms the stemmer takes, is not."""
    m = load_taxonomy_map()
    in_phrases = {w for phrase, _ in m.keywords for w in phrase}
    endings = ["", "s", "es", "ies", "ing", "ning", "ed", "red", "e", "'s", "’s", "ness", "y"]
    forms = {w + end for w in in_phrases for end in endings}
    forms |= {w[:-1] + end for w in in_phrases for end in endings}
    forms |= {"dial", "a", "ride", "it's", "o'neill", "12", "abc", "the", "zebra", "housed"}
    stemmed = skipped = 0
    for form in forms:
        if stem(form) in in_phrases:
            assert m._key_stem(form) == stem(form), form
            stemmed += 1
        else:
            skipped += m._key_stem(form) == ""
    assert stemmed > 300 and skipped > 50


def test_html_text_without_controls_or_entities_reads_as_the_whole_way() -> None:
    """Fields.text's shortcut for printable ASCII without entities (no control character
    to take out) against the whole way: controls out, then plain text, then controls an
    entity spelt taken out again."""
    pieces = ["<p>", "</p>", "<br/>", "<li>", '<a href="x">', "<", ">", "&amp;", "&#27;"]
    pieces += ["text", " ", "  ", "\n", "\r\n", "\t", "é", "\xa0", "\x1b", "- ", "\u2028"]
    rng = random.Random(56)
    short = 0
    for _ in range(20_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        text, _removed = strip_controls(value)
        expected = plain_text(text)
        if "&" in text:
            expected = strip_controls(expected)[0].strip()
        assert Fields().text(value, "description", limit=50_000, html=True) == expected, value
        short += "&" not in value and value.isascii() and value.isprintable() and "<" in value
    assert short > 1_000

"""The import's C encodings give the very bytes the json module gives (the stored content
digests and the index file must not change with the speed work)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date

import pytest

from directory.records import LocationRecord, OrganisationRecord, ServiceRecord


def _old_digest(record: ServiceRecord) -> str:
    """The content digest as written before (json.dumps, sorted keys)."""
    data = asdict(record)
    del data["raw_hash"]
    data["last_verified"] = record.last_verified.isoformat() if record.last_verified else None
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


TEXTS = [
    "plain",
    'quote " and back\\slash',
    "new\nline and tab\t",
    "\x00\x1f\x7f controls",
    "é 中文 🙂 \u2028\u2029 \u200d",
    "</script>&amp;",
]
COORDINATES = [
    0.0,
    -0.0,
    52.646219,
    -1.4013,
    1e-05,
    -5e-05,
    0.0001,
    0.00012,
    9.99e-05,
    1e16,
    12345678901234567.0,
    9999999999999998.0,
    float("nan"),
    float("inf"),
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("coordinate", COORDINATES)
def test_content_digest_is_the_json_modules(text: str, coordinate: float) -> None:
    record = ServiceRecord(
        source_id="s-1",
        name=text,
        description=text * 3,
        languages=["English", text],
        opening_hours=[{"day": 1, "opens": "09:00", "closes": "17:00"}],
        contacts=[{"name": text, "title": "", "email": "", "phones": ["01632 960000"]}],
        last_verified=date(2024, 2, 29),
        organisation=OrganisationRecord("o-1", text),
        locations=[
            LocationRecord("l-1", text, latitude=coordinate, longitude=-coordinate),
            LocationRecord("l-2", latitude=None, longitude=51.5),
        ],
        min_age=None,
        max_age=130,
    )
    assert record.content_hash() == _old_digest(record)


def test_a_changed_field_changes_the_digest() -> None:
    record = ServiceRecord(source_id="s-1", name="A", locations=[LocationRecord("l", "x", 1e-05)])
    before = record.content_hash()
    record.locations[0].latitude = 2e-05
    assert record.content_hash() != before


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("coordinate", COORDINATES)
def test_index_record_line_is_the_json_modules(text: str, coordinate: float) -> None:
    from directory.index import IndexDoc
    from directory.index_file import _doc_bytes, _doc_line, _fast_line

    doc = IndexDoc(
        service_id=7,
        source_id="s-7",
        name=text,
        organisation=text,
        description=text + "\n\n" + text,
        taxonomy_terms=[text],
        languages=["English"],
        min_age=18,
        last_verified=date(2023, 1, 31),
        opening_hours=[{"day": 2, "opens": "10:00", "closes": "16:00"}],
        locations=[("Town", "ZZ1 1AA", coordinate, -coordinate), ("", "", None, None)],
    )
    expected = json.dumps(
        {
            "service_id": 7,
            "source_id": "s-7",
            "name": text,
            "organisation": text,
            "description": text + "\n\n" + text,
            "taxonomy_terms": [text],
            "domains": [],
            "z_codes": [],
            "languages": ["English"],
            "min_age": 18,
            "max_age": None,
            "is_free": True,
            "last_verified": "2023-01-31",
            "opening_hours": [{"day": 2, "opens": "10:00", "closes": "16:00"}],
            "phone": "",
            "locations": [["Town", "ZZ1 1AA", coordinate, -coordinate], ["", "", None, None]],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert _doc_bytes(doc, _fast_line()).decode("utf-8") == expected
    assert _doc_line(doc) == expected


def test_control_characters_found_in_every_kind_of_text() -> None:
    """Each code point of the first two planes (and every 61st beyond, the tags and
    variation selectors) between two non-ASCII letters, and between ASCII: a control
    character (Cc, Cf, Cs, U+2028/9; a joiner between letters excepted) is found, and
    nothing else is."""
    import sys
    import unicodedata

    from directory.untrusted import control_positions

    wrong = []
    points = [
        *range(0x20000),
        *range(0x20000, sys.maxunicode + 1, 61),
        *range(0xE0000, 0xE0200),
    ]
    for point in points:
        if 0xD800 <= point <= 0xDFFF:
            continue
        ch = chr(point)
        control = unicodedata.category(ch) in ("Cc", "Cf", "Cs") or ch in "\u2028\u2029"
        joined = ch in "\u200c\u200d"
        if control_positions(f"é{ch}é") != ([1] if control and not joined else []):
            wrong.append(point)
        if control_positions(f"a{ch}a", multiline=True) != (
            [1] if control and ch not in "\n\t" else []
        ):
            wrong.append(point)
    assert wrong == []

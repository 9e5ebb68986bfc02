"""Issue 18 (import speed): an ORUK service is read from its bytes into typed msgspec
Structs (directory.oruk_structs) when it reads cleanly so; any other service (a value of
another type, a list too long, anything left out or refused) is read the ordinary way, so
every record, note and rejection is what the ordinary reader alone gives."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from directory import importer, oruk_structs, read_worker
from directory.feeds import KnownPlaces, service_from_oruk
from directory.importer import ImportSummary
from directory.oruk_structs import service_from_bytes
from directory.records import RecordError
from directory.sources import read_source

DATA = Path(__file__).parent / "data" / "directory"

ADDRESS = {"id": "a", "address_1": "1 Road", "city": "Town", "postal_code": "zz1 1aa"}
LOCATION = {
    "id": "loc-1",
    "name": "Hall",
    "latitude": 52.5,
    "longitude": -1.5,
    "physical_addresses": [ADDRESS],
}
BASE: dict[str, Any] = {
    "id": "s-1",
    "name": "Food bank",
    "description": "<p>Free food &amp; <em>advice</em>.</p><ul><li>Mondays</li></ul>",
    "url": "https://food.example.org",
    "email": "food@example.org",
    "status": "Active",
    "fees": "",
    "fees_description": "Pay as you feel",
    "attending_type": "venue",
    "eligibility_description": "Adults 18+",
    "assured_date": "2024-05-01",
    "minimum_age": 16,
    "maximum_age": None,
    "organization": {"id": "org-1", "name": "Trust &amp; Co", "url": "https://t.example"},
    "organization_id": "org-1",
    "service_at_locations": [{"id": "sal", "location_id": "x", "location": LOCATION}],
    "eligibilitys": [{"id": "e", "eligibility": "<b>Residents</b>", "minimum_age": 18}],
    "contacts": [{"id": "c", "name": "Desk", "title": "", "phones": [{"number": "01632 960001"}]}],
    "phones": [{"id": "p", "number": "01632 960002"}],
    "cost_options": [{"id": "co", "amount": 0, "option": "Free", "amount_description": ""}],
    "service_areas": [{"id": "sa", "service_area": "North Vale"}],
    "languages": [{"id": "l", "language": "English"}, "Polish", {"name": "Urdu"}],
    "service_taxonomys": [{"id": "st", "taxonomy": {"id": "t", "name": "Food banks"}}],
    "attributes": [{"taxonomy_term": {"name": "Carers"}}],
    "regular_schedules": [
        {"id": "r", "weekday": "Monday", "opens_at": "10:00", "closes_at": "16:00"},
        {"id": "r2", "weekday": 3, "opens_at": "9:30", "closes_at": "12:00"},
        {"byday": "TU,TH", "opens_at": "18:00", "closes_at": "20:00"},
    ],
    "pc_metadata": {"deep": [[1, 2, {"x": None}]]},
}

# what each value is replaced with: of each JSON type, and text the checks catch
ODD: list[Any] = [
    None,
    12345,
    1.5,
    True,
    "",
    "   ",
    "Mon\x1bday",
    "a\u202eb",
    "<p>x</p> &amp; &#27;y",
    "x" * 600,
    "12:99",
    [],
    [None],
    ["a"],
    {},
    {"name": 5},
]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at] if at else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*at, i))
    return out


def _with(service: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(service)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def _variants() -> list[Any]:
    out: list[Any] = [BASE]
    for path in _paths(BASE):
        out += [_with(BASE, path, value) for value in ODD]
    other = {k: v for k, v in BASE.items()}
    # the other spellings of lists, and both at once (the first given is read)
    for one, two in (
        ("eligibilitys", "eligibilities"),
        ("service_taxonomys", "service_taxonomies"),
        ("regular_schedules", "schedules"),
    ):
        renamed = {k: v for k, v in other.items() if k != one}
        renamed[two] = BASE[one]
        out += [renamed, {**other, two: "not a list"}, {**other, one: None, two: BASE[one]}]
        out += [{**other, one: [], two: BASE[one]}]
    out += [
        {**BASE, "contacts": [{"phones": [{"number": "1"}] * 1001}]},
        {**BASE, "languages": ["English"] * 1001},
        {**BASE, "service_at_locations": [{"location": LOCATION}] * 1001},
        {**BASE, "service_at_locations": {"location": LOCATION}},
        {**BASE, "minimum_age": "17"},
        {**BASE, "minimum_age": 131},
        {**BASE, "minimum_age": 17.0},
        {**BASE, "minimum_age": 17.5},
        {**BASE, "id": 42},
        {**BASE, "id": 4.2},
        {**BASE, "id": 10**30},
        {**BASE, "fees": "£5", "cost_options": [{"amount": "2.50"}]},
        {**BASE, "fees": "", "fees_description": "", "cost_options": [{"option": "Donation"}]},
        "a service that is text",
        [BASE],
    ]
    for name in ("council-v1-array.json", "oruk3-page.json", "single-service.json"):
        doc = json.loads((DATA / name).read_text(encoding="utf-8"))
        items = doc if isinstance(doc, list) else doc.get("content") or doc.get("contents")
        out += items if isinstance(items, list) else [doc]
    for path in sorted((DATA / "hostile").glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("content"), list):
            out += doc["content"]
    return out


VARIANTS = _variants()


def _ordinary(raw: Any, data: bytes) -> tuple[Any, ...]:
    notes: list[str] = []
    try:
        record = service_from_oruk(raw, False, notes, (KnownPlaces(), data))
    except RecordError as exc:
        return ("rejected", str(exc))
    return ("read", record, record.raw_hash, notes)


def test_a_service_read_from_structs_is_the_ordinary_record() -> None:
    """Each variant: from Structs either nothing (read the ordinary way) or exactly the
    record the ordinary reader gives, which it gives with no note."""
    fast = refused = 0
    for raw in VARIANTS:
        data = json.dumps(raw).encode("utf-8")
        ordinary = _ordinary(raw, data)
        record = service_from_bytes(data, KnownPlaces())
        if record is None:
            refused += 1
            continue
        fast += 1
        assert ordinary == ("read", record, record.raw_hash, []), raw
    # neither side of the comparison is empty: most clean variants are read from Structs,
    # and every kind of fault is sent the ordinary way
    assert fast > 400 and refused > 300


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"name": 12345}, "name is a number (12345), not text"),
        ({"minimum_age": True}, "minimum_age is true, not a number"),
        ({"contacts": [None]}, "contacts[0] is null, not an object"),
        ({"languages": ["English"] * 1001}, "languages has more than 1,000 items (1,001)"),
        ({"id": 4.2}, "id is a number (4.2), not text"),
    ],
)
def test_a_service_the_typed_decode_refuses_gets_the_same_rejection(
    change: dict[str, Any], why: str
) -> None:
    service = {**BASE, **change}
    data = json.dumps(service).encode("utf-8")
    assert service_from_bytes(data, KnownPlaces()) is None
    assert _ordinary(service, data) == ("rejected", why)


@pytest.mark.parametrize(
    ("change", "note"),
    [
        ({"assured_date": "last spring"}, "unreadable assured_date 'last spring' left out"),
        (
            {"regular_schedules": [{"weekday": "Funday", "opens_at": "9:00", "closes_at": "5"}]},
            "unreadable regular_schedules[0].weekday 'Funday' left out",
        ),
    ],
)
def test_a_service_with_something_left_out_is_read_the_ordinary_way(
    change: dict[str, Any], note: str
) -> None:
    service = {**BASE, **change}
    data = json.dumps(service).encode("utf-8")
    assert service_from_bytes(data, KnownPlaces()) is None
    outcome = _ordinary(service, data)
    assert outcome[0] == "read" and note in outcome[3]


def _read_feed(path: Path, strict: bool) -> tuple[Any, ...]:
    feed = read_source(path)
    summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
    records: list[Any] = []
    error = None
    try:
        records = list(importer._read(feed, summary, strict, {}))
    except ValueError as exc:
        error = str(exc)
    return records, [r.raw_hash for r in records], summary.rejected, summary.notes, error


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_an_import_of_every_variant_is_as_without_structs(
    tmp_path: Path, strict: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the importer's reader, with the duplicates, notes and rejections of a whole
    feed: the same as reading every service the ordinary way."""
    monkeypatch.setattr(read_worker, "wanted", lambda feed: False)
    feed = tmp_path / "variants.json"
    services = [v for v in VARIANTS if isinstance(v, dict)]
    for i, service in enumerate(services):
        if isinstance(service.get("id"), str) and service["id"] == "s-1":
            services[i] = {**service, "id": f"s-{i}"}  # most read; a few duplicates stay
    services += services[-3:]
    feed.write_text(json.dumps({"content": services, "totalPages": 1, "number": 1}))
    with_structs = _read_feed(feed, strict)
    monkeypatch.setattr(oruk_structs, "service_from_bytes", lambda data, places: None)
    without = _read_feed(feed, strict)
    assert with_structs == without
    if not strict:
        records, _, rejected, notes, error = with_structs
        assert error is None and len(records) > 400 and len(rejected) > 100 and notes

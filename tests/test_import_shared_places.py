"""A feed's organisations and locations are read once per distinct JSON text of them
(``KnownPlaces``, services share them): each service's record, notes and reason for a
reject are the same as reading it alone."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from directory.feeds import KnownPlaces, service_from_oruk
from directory.records import RecordError

DATA = Path(__file__).parent / "data" / "directory"

LOCATION = {
    "id": "loc-1",
    "name": "Hall",
    "latitude": 52.5,
    "longitude": -1.5,
    "physical_addresses": [{"address_1": "1 Road", "city": "Town", "postal_code": "zz1 1aa"}],
}


def _variants() -> list[Any]:
    """Services shaped as real feeds and hostile ones shape them."""
    base = {
        "id": "s-1",
        "name": "Food bank",
        "organization": {"id": "org-1", "name": "Trust &amp; Co"},
        "service_at_locations": [{"location_id": "x", "location": LOCATION}],
    }
    out: list[Any] = [base]

    def changed(**values: Any) -> dict[str, Any]:
        service = copy.deepcopy(base)
        service.update(values)
        return service

    bad_lat = {**LOCATION, "latitude": 95}
    out += [
        changed(service_at_locations={"location": LOCATION}),  # an object, not a list
        changed(service_at_locations=[7, {"location": LOCATION}]),
        changed(service_at_locations=[None]),
        changed(service_at_locations=[{"location": LOCATION}] * 1001),
        changed(service_at_locations=[{"location_id": 5, "location": bad_lat}]),
        changed(service_at_locations=[{"location_id": True, "location": LOCATION}]),
        changed(service_at_locations=[{"location": "a hall"}]),
        changed(service_at_locations=[{"location": {**LOCATION, "name": "Ha\u202ell"}}]),
        changed(service_at_locations=[{"location": {**LOCATION, "postal_code": "nope"}}]),
        changed(
            service_at_locations=[
                {"location": {**LOCATION, "physical_addresses": [{"postal_code": "QQ"}]}}
            ]
        ),
        changed(service_at_locations=None),
        changed(organization="Trust"),
        changed(organization={"id": 12, "name": ["x"]}),
        changed(organization={"name": "Trust\x1b[2J"}),
        changed(organization=None, organization_id="org-9"),
        changed(organization={}, organization_id=None),
        changed(id=None),  # rejected before its places are read
        changed(id="s-2", service_at_locations=[{"location": bad_lat}], name=""),
    ]
    for name in ("council-v1-array.json", "oruk3-page.json"):
        doc = json.loads((DATA / name).read_text(encoding="utf-8"))
        items = doc if isinstance(doc, list) else doc.get("content") or doc.get("contents")
        out += items[:60]
    for path in sorted((DATA / "hostile").glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("content"), list):
            out += doc["content"]
    return out


def _read(raw: Any, places: tuple[KnownPlaces, bytes] | None, strict: bool) -> tuple[Any, ...]:
    notes: list[str] = []
    try:
        record = service_from_oruk(raw, strict, notes, places)
    except RecordError as exc:
        return ("rejected", str(exc), notes)
    return ("read", record, notes)


@pytest.mark.parametrize("strict", [False, True])
def test_shared_places_read_as_each_service_alone(strict: bool) -> None:
    services = _variants()
    known = KnownPlaces()
    for rounds in range(2):  # the second time every place is already remembered
        for raw in services:
            data = json.dumps(raw).encode("utf-8")
            alone = _read(json.loads(data), None, strict)
            shared = _read(json.loads(data), (known, data), strict)
            assert shared == alone, (rounds, raw)
    assert any(r[0] == "rejected" for r in (_read(s, None, strict) for s in services))

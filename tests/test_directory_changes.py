"""Change detection in the directory import, field by field, on SQLite and PostgreSQL.

A feed is imported, then imported again with exactly one field changed: the service must
count as updated (never unchanged), the new value must be what is stored, and a second
service in the same feed stays unchanged. One case per field the import stores (every
column of ``service``, ``organisation`` and ``location`` the feed fills, checked against the
models below so a new column without a case fails), for ORUK JSON and for the flat CSV.

Written because the import's content hash could leave a field out and no test would notice
(issue 15, point 10: a re-verified service whose ``assured_date`` alone changed would stay
"unchanged", and so stale)."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from directory.importer import import_source
from directory.models import Location, Organisation, Service, ServiceLocation

# Columns that are bookkeeping, not content taken from the feed.
BOOKKEEPING = {
    "service": {
        "id",
        "source",
        "source_id",
        "organisation_id",
        "withdrawn",
        "withdrawn_at",
        "content_hash",
        "raw_hash",  # the digest of the bytes read: tests/test_import_raw_hash.py
        "imported_at",
        "updated_at",
    },
    "organisation": {"id", "source", "source_id"},
    "location": {"id", "source", "source_id"},
}

TARGET = "svc-target"
BYSTANDER = "svc-bystander"


def _oruk_service() -> dict[str, Any]:
    """One ORUK 3.0 service with every field the import reads filled in."""
    return {
        "id": TARGET,
        "organization": {
            "id": "org-1",
            "name": "Fennick Voluntary Action",
            "description": "Local charity",
            "url": "https://fva.example.org",
            "email": "info@fva.example.org",
        },
        "name": "Fennick Young Carers Project",
        "description": "Breaks, activities and one-to-one support for young carers.",
        "url": "https://young-carers.example.org",
        "email": "hello@young-carers.example.org",
        "status": "active",
        "fees": "Free",
        "attending_type": "in person",
        "eligibility_description": "Young carers",
        "minimum_age": 8,
        "maximum_age": 18,
        "assured_date": "2026-09-01",
        "phones": [{"id": "p1", "number": "01632 960111"}],
        "contacts": [
            {
                "id": "c1",
                "name": "Jo Bloggs",
                "title": "Coordinator",
                "email": "jo@young-carers.example.org",
            }
        ],
        "schedules": [{"id": "s1", "byday": "MO,WE", "opens_at": "16:00", "closes_at": "18:30"}],
        "languages": [{"id": "l1", "name": "English"}, {"id": "l2", "name": "Polish"}],
        "service_areas": [{"id": "a1", "service_area": "Fennick"}],
        "attributes": [{"id": "t1", "taxonomy_term": {"id": "tt1", "name": "Carers"}}],
        "cost_options": [],
        "service_at_locations": [
            {
                "id": "sal1",
                "location": {
                    "id": "loc-1",
                    "name": "Fennick Hub",
                    "latitude": 52.7,
                    "longitude": -1.5,
                    "addresses": [
                        {
                            "id": "ad1",
                            "address_1": "4 Market Place",
                            "city": "Fennick",
                            "postal_code": "ZZ9 1AA",
                            "country": "GB",
                        }
                    ],
                },
            }
        ],
    }


def _bystander() -> dict[str, Any]:
    return {
        "id": BYSTANDER,
        "organization": {"id": "org-2", "name": "Dale Food Network"},
        "name": "Dale Pantry",
        "description": "Membership pantry for groceries.",
        "attributes": [{"id": "t2", "taxonomy_term": {"id": "tt2", "name": "Food"}}],
    }


def _location(svc: dict[str, Any]) -> dict[str, Any]:
    loc: dict[str, Any] = svc["service_at_locations"][0]["location"]
    return loc


def _address(svc: dict[str, Any]) -> dict[str, Any]:
    address: dict[str, Any] = _location(svc)["addresses"][0]
    return address


@dataclass(frozen=True)
class Case:
    id: str
    stores: tuple[str, ...]  # "table.column" the change must reach
    change: Callable[[dict[str, Any]], None]
    expected: dict[str, Any]  # "table.column" -> the value stored after the change


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    def change(svc: dict[str, Any]) -> None:
        svc.update(values)

    return change


def _set_in(pick: Callable[[dict[str, Any]], dict[str, Any]], **values: Any):  # type: ignore[no-untyped-def]
    def change(svc: dict[str, Any]) -> None:
        pick(svc).update(values)

    return change


def _second_location(svc: dict[str, Any]) -> None:
    extra = copy.deepcopy(svc["service_at_locations"][0])
    extra["id"] = "sal2"
    extra["location"].update(id="loc-2", name="Dale Library")
    extra["location"]["addresses"][0].update(city="Dale", postal_code="ZZ9 2BB")
    svc["service_at_locations"].append(extra)


ORUK_CASES = [
    Case("name", ("service.name",), _set(name="Fennick Young Carers"),
         {"service.name": "Fennick Young Carers"}),
    Case("description", ("service.description",), _set(description="New words."),
         {"service.description": "New words."}),
    Case("url", ("service.url",), _set(url="https://carers.example.org"),
         {"service.url": "https://carers.example.org"}),
    Case("email", ("service.email",), _set(email="new@young-carers.example.org"),
         {"service.email": "new@young-carers.example.org"}),
    Case("phone", ("service.phone",), _set(phones=[{"id": "p1", "number": "01632 960999"}]),
         {"service.phone": "01632 960999"}),
    Case("status", ("service.status",), _set(status="inactive"), {"service.status": "inactive"}),
    Case("fees", ("service.fees",), _set(fees="Free, donations welcome"),
         {"service.fees": "Free, donations welcome", "service.is_free": True}),
    Case("is_free", ("service.is_free",),
         _set(cost_options=[{"id": "c1", "amount": 5, "amount_description": "per session"}]),
         {"service.is_free": False, "service.fees": "Free"}),
    Case("minimum_age", ("service.min_age",), _set(minimum_age=9), {"service.min_age": 9}),
    Case("maximum_age", ("service.max_age",), _set(maximum_age=19), {"service.max_age": 19}),
    Case("eligibility", ("service.eligibility",),
         _set(eligibility_description="Young carers and siblings"),
         {"service.eligibility": "Young carers and siblings"}),
    Case("service_area", ("service.service_area",),
         _set(service_areas=[{"id": "a1", "service_area": "Fennick and Dale"}]),
         {"service.service_area": "Fennick and Dale"}),
    Case("attending_type", ("service.attending",), _set(attending_type="online"),
         {"service.attending": "online"}),
    Case("languages", ("service.languages",),
         _set(languages=[{"id": "l1", "name": "English"}, {"id": "l3", "name": "Urdu"}]),
         {"service.languages": ["English", "Urdu"]}),
    Case("taxonomy", ("service.taxonomy_terms", "service.domains", "service.z_codes"),
         _set(attributes=[{"id": "t1", "taxonomy_term": {"id": "tt3", "name": "Food"}}]),
         {"service.taxonomy_terms": ["Food"], "service.domains": ["food"]}),
    Case("taxonomy_same_domain", ("service.taxonomy_terms",),
         _set(attributes=[{"id": "t1", "taxonomy_term": {"id": "tt4",
                                                        "name": "Carers' support and respite"}}]),
         {"service.taxonomy_terms": ["Carers' support and respite"], "service.domains": ["caring"],
          "service.z_codes": ["Z63.6"]}),
    Case("opening_hours", ("service.opening_hours",),
         _set(schedules=[{"id": "s1", "byday": "MO,WE", "opens_at": "16:00",
                          "closes_at": "19:00"}]),
         {"service.opening_hours": [{"day": 1, "opens": "16:00", "closes": "19:00"},
                                    {"day": 3, "opens": "16:00", "closes": "19:00"}]}),
    Case("opening_day", ("service.opening_hours",),
         _set(schedules=[{"id": "s1", "byday": "MO,TH", "opens_at": "16:00",
                          "closes_at": "18:30"}]),
         {"service.opening_hours": [{"day": 1, "opens": "16:00", "closes": "18:30"},
                                    {"day": 4, "opens": "16:00", "closes": "18:30"}]}),
    Case("contact_title", ("service.contacts",),
         _set_in(lambda s: s["contacts"][0], title="Manager"),
         {"service.contacts": [{"name": "Jo Bloggs", "title": "Manager",
                                "email": "jo@young-carers.example.org", "phones": []}]}),
    Case("contact_phone", ("service.contacts", "service.phone"),
         _set_in(lambda s: s["contacts"][0], phones=[{"id": "p9", "number": "01632 960555"}]),
         {"service.phone": "01632 960555"}),
    Case("assured_date", ("service.last_verified",), _set(assured_date="2026-11-30"),
         {"service.last_verified": date(2026, 11, 30)}),
    Case("organisation_name", ("organisation.name",),
         _set_in(lambda s: s["organization"], name="Fennick CVS"),
         {"organisation.name": "Fennick CVS"}),
    Case("organisation_description", ("organisation.description",),
         _set_in(lambda s: s["organization"], description="Charity for Fennick"),
         {"organisation.description": "Charity for Fennick"}),
    Case("organisation_url", ("organisation.url",),
         _set_in(lambda s: s["organization"], url="https://cvs.example.org"),
         {"organisation.url": "https://cvs.example.org"}),
    Case("organisation_email", ("organisation.email",),
         _set_in(lambda s: s["organization"], email="hi@fva.example.org"),
         {"organisation.email": "hi@fva.example.org"}),
    Case("organisation_id", ("service.organisation_id",),
         _set_in(lambda s: s["organization"], id="org-9"),
         {"organisation.source_id": "org-9"}),
    Case("location_name", ("location.name",), _set_in(_location, name="Fennick Town Hall"),
         {"location.name": "Fennick Town Hall"}),
    Case("location_address", ("location.address",),
         _set_in(_address, address_1="5 Market Place"),
         {"location.address": "5 Market Place"}),
    Case("location_town", ("location.town",), _set_in(_address, city="Fennick Green"),
         {"location.town": "Fennick Green"}),
    Case("location_postcode", ("location.postcode",), _set_in(_address, postal_code="zz9 1ab"),
         {"location.postcode": "ZZ9 1AB"}),
    Case("location_latitude", ("location.latitude",), _set_in(_location, latitude=52.71),
         {"location.latitude": 52.71}),
    Case("location_longitude", ("location.longitude",), _set_in(_location, longitude=-1.51),
         {"location.longitude": -1.51}),
    Case("location_id", ("service_location.location_id",), _set_in(_location, id="loc-9"),
         {"location.source_id": "loc-9"}),
    Case("location_added", ("service_location.location_id",), _second_location,
         {"location.source_id": "loc-1,loc-2"}),
    Case("location_removed", ("service_location.location_id",),
         _set(service_at_locations=[]), {"location.source_id": ""}),
]  # fmt: skip


CSV_BASE = {
    "id": TARGET,
    "name": "Fennick Young Carers Project",
    "organisation": "Fennick Voluntary Action",
    "description": "Breaks and support for young carers.",
    "categories": "Carers",
    "postcode": "ZZ9 1AA",
    "town": "Fennick",
    "latitude": "52.7",
    "longitude": "-1.5",
    "phone": "01632 960111",
    "email": "hello@young-carers.example.org",
    "website": "https://young-carers.example.org",
    "eligibility": "Young carers aged 8 to 18",
    "languages": "English; Polish",
    "cost": "Free",
    "opening_hours": "Monday 16:00-18:30; Wednesday 16:00-18:30",
    "last_verified": "2026-09-01",
}
CSV_BYSTANDER = {"id": BYSTANDER, "name": "Dale Pantry", "categories": "Food"}

CSV_CASES = [
    ("name", "Fennick Young Carers", {"service.name": "Fennick Young Carers"}),
    ("organisation", "Fennick CVS", {"organisation.name": "Fennick CVS"}),
    ("description", "New words.", {"service.description": "New words."}),
    ("categories", "Food", {"service.taxonomy_terms": ["Food"], "service.domains": ["food"]}),
    ("postcode", "ZZ9 1AB", {"location.postcode": "ZZ9 1AB"}),
    ("town", "Fennick Green", {"location.town": "Fennick Green",
                               "service.service_area": "Fennick Green"}),
    ("latitude", "52.71", {"location.latitude": 52.71}),
    ("longitude", "-1.51", {"location.longitude": -1.51}),
    ("phone", "01632 960999", {"service.phone": "01632 960999"}),
    ("email", "new@young-carers.example.org", {"service.email": "new@young-carers.example.org"}),
    ("website", "https://carers.example.org", {"service.url": "https://carers.example.org"}),
    ("eligibility", "Young carers aged 8 to 21", {"service.max_age": 21}),
    ("languages", "English; Urdu", {"service.languages": ["English", "Urdu"]}),
    ("cost", "£2 a session", {"service.fees": "£2 a session", "service.is_free": False}),
    ("opening_hours", "Monday 16:00-19:00",
     {"service.opening_hours": [{"day": 1, "opens": "16:00", "closes": "19:00"}]}),
    ("last_verified", "2026-11-30", {"service.last_verified": date(2026, 11, 30)}),
]  # fmt: skip


# --- what is stored -------------------------------------------------------------------------


def _stored(session: Session) -> dict[str, Any]:
    """The target service as stored: its columns, its organisation's and its locations'
    (several locations joined by commas, in source id order)."""
    session.expire_all()
    conn = session.connection()
    service = (
        conn.execute(sa.select(Service.__table__).where(Service.__table__.c.source_id == TARGET))  # type: ignore[attr-defined]
        .mappings()
        .one()
    )
    out = {f"service.{k}": v for k, v in service.items()}
    org = Organisation.__table__  # type: ignore[attr-defined]
    if service["organisation_id"] is not None:
        row = conn.execute(sa.select(org).where(org.c.id == service["organisation_id"])).mappings()
        out.update({f"organisation.{k}": v for k, v in row.one().items()})
    loc = Location.__table__  # type: ignore[attr-defined]
    link = ServiceLocation.__table__  # type: ignore[attr-defined]
    rows = (
        conn.execute(
            sa.select(loc)
            .join(link, link.c.location_id == loc.c.id)
            .where(link.c.service_id == service["id"])
            .order_by(loc.c.source_id)
        )
        .mappings()
        .all()
    )
    for column in [c.name for c in loc.c]:
        values = [r[column] for r in rows]
        out[f"location.{column}"] = (
            values[0] if len(values) == 1 else ",".join(str(v) for v in values)
        )
    out["service_location.location_id"] = [r["id"] for r in rows]
    return out


def _oruk_file(path: Path, services: list[dict[str, Any]]) -> Path:
    page = {
        "total_items": len(services),
        "total_pages": 1,
        "page_number": 1,
        "size": len(services),
        "first_page": True,
        "last_page": True,
        "contents": services,
    }
    path.write_text(json.dumps(page), encoding="utf-8")
    return path


def _csv_file(path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_BASE), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in CSV_BASE})
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _import(session: Session, path: Path) -> tuple[int, int, int, int]:
    summary = import_source(session, path, source_name="changes")
    session.commit()
    assert summary.rejected == [], summary.rejected
    return summary.added, summary.updated, summary.unchanged, summary.withdrawn


def _check(before: dict[str, Any], after: dict[str, Any], stores: tuple[str, ...],
           expected: dict[str, Any]) -> None:  # fmt: skip
    for key, value in expected.items():
        if isinstance(value, float):
            assert after[key] == pytest.approx(value), key
        else:
            assert after[key] == value, key
    for key in stores:
        assert after[key] != before[key], f"{key} did not change"
    assert after["service.content_hash"] != before["service.content_hash"]
    assert after["service.updated_at"] != before["service.updated_at"]


# --- the cases ------------------------------------------------------------------------------


def test_the_feeds_import_cleanly_and_again_unchanged(session: Session, tmp_path: Path) -> None:
    """The baseline the cases rely on: nothing rejected, and the same feed twice changes
    nothing (so an "updated" below is the one field, not noise)."""
    feed = _oruk_file(tmp_path / "feed.json", [_oruk_service(), _bystander()])
    assert _import(session, feed) == (2, 0, 0, 0)
    first = _stored(session)
    assert _import(session, feed) == (0, 0, 2, 0)
    assert _stored(session) == first
    flat = _csv_file(tmp_path / "feed.csv", [CSV_BASE, CSV_BYSTANDER])
    assert import_source(session, flat, source_name="flat").added == 2
    session.commit()
    assert import_source(session, flat, source_name="flat").unchanged == 2
    session.commit()


@pytest.mark.parametrize("case", ORUK_CASES, ids=[c.id for c in ORUK_CASES])
def test_oruk_one_field_changed_is_an_update(session: Session, tmp_path: Path, case: Case) -> None:
    feed = tmp_path / "feed.json"
    assert _import(session, _oruk_file(feed, [_oruk_service(), _bystander()])) == (2, 0, 0, 0)
    before = _stored(session)
    changed = _oruk_service()
    case.change(changed)
    assert changed != _oruk_service()
    assert _import(session, _oruk_file(feed, [changed, _bystander()])) == (0, 1, 1, 0)
    _check(before, _stored(session), case.stores, case.expected)


@pytest.mark.parametrize(("column", "value", "expected"), CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_csv_one_column_changed_is_an_update(
    session: Session, tmp_path: Path, column: str, value: str, expected: dict[str, Any]
) -> None:
    feed = tmp_path / "feed.csv"
    assert _import(session, _csv_file(feed, [CSV_BASE, CSV_BYSTANDER])) == (2, 0, 0, 0)
    before = _stored(session)
    assert CSV_BASE[column] != value
    changed = CSV_BASE | {column: value}
    assert _import(session, _csv_file(feed, [changed, CSV_BYSTANDER])) == (0, 1, 1, 0)
    _check(before, _stored(session), tuple(expected), expected)


class _Reclassified:
    """The shipped taxonomy map with one more domain or Z code for every service: what a
    new linkwork release with a revised map does to a feed that has not changed."""

    def __init__(self, real: Any, domain: str, z_code: str) -> None:
        self.real, self.domain, self.z_code = real, domain, z_code

    def classify(self, terms: list[str], name: str, description: str) -> tuple[list, list]:  # type: ignore[type-arg]
        domains, z_codes = self.real.classify(terms, name, description)
        extra_domain = [self.domain] if self.domain else []
        extra_code = [self.z_code] if self.z_code else []
        return [*domains, *extra_domain], [*z_codes, *extra_code]


RECLASSIFY = [
    ("service.domains", "food", "", ["caring", "food"]),
    ("service.z_codes", "", "Z59.4", ["Z63.6", "Z59.4"]),
]


@pytest.mark.parametrize(
    ("stores", "domain", "z_code", "expected"), RECLASSIFY, ids=[r[0] for r in RECLASSIFY]
)
def test_a_revised_taxonomy_map_updates_an_unchanged_feed(
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stores: str,
    domain: str,
    z_code: str,
    expected: list[str],
) -> None:
    import directory.importer as importer

    feed = _oruk_file(tmp_path / "feed.json", [_oruk_service(), _bystander()])
    assert _import(session, feed) == (2, 0, 0, 0)
    before = _stored(session)
    real = importer.load_taxonomy_map()
    monkeypatch.setattr(importer, "load_taxonomy_map", lambda: _Reclassified(real, domain, z_code))
    assert _import(session, feed) == (0, 2, 0, 0)
    _check(before, _stored(session), (stores,), {stores: expected})


def test_every_stored_column_has_a_case() -> None:
    """A column added to the directory's tables without a change-detection case fails here."""
    tables = {
        "service": Service.__table__,  # type: ignore[attr-defined]
        "organisation": Organisation.__table__,  # type: ignore[attr-defined]
        "location": Location.__table__,  # type: ignore[attr-defined]
    }
    stored = {
        f"{name}.{column}"
        for name, table in tables.items()
        for column in [c.name for c in table.c]
        if column not in BOOKKEEPING[name]
    }
    covered = {key for case in ORUK_CASES for key in case.stores} | {r[0] for r in RECLASSIFY}
    assert stored - covered == set()
    csv_columns = {c[0] for c in CSV_CASES}
    assert csv_columns == set(CSV_BASE) - {"id"}  # every CSV column but the key

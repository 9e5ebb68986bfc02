"""What reading a feed produces: plain records of services (no database), rejections with
their reasons, and the pages a feed arrives in."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any


class RecordError(ValueError):
    """One service in a feed cannot be imported (the reason is the message)."""


def _values(record: object) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}  # type: ignore[arg-type]


# Slotted: a feed may hold tens of thousands of these, each with its locations.
@dataclass(slots=True)
class OrganisationRecord:
    source_id: str
    name: str
    description: str = ""
    url: str = ""
    email: str = ""


@dataclass(slots=True)
class LocationRecord:
    source_id: str
    name: str = ""
    address: str = ""
    town: str = ""
    postcode: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(slots=True)
class ServiceRecord:
    source_id: str
    name: str
    description: str = ""
    url: str = ""
    email: str = ""
    phone: str = ""
    status: str = "active"
    fees: str = ""
    is_free: bool = True
    min_age: int | None = None
    max_age: int | None = None
    eligibility: str = ""
    service_area: str = ""
    attending: str = ""
    languages: list[str] = field(default_factory=list)
    taxonomy_terms: list[str] = field(default_factory=list)
    opening_hours: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    last_verified: date | None = None
    organisation: OrganisationRecord | None = None
    locations: list[LocationRecord] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    z_codes: list[str] = field(default_factory=list)
    # the digest of the bytes it was read from (directory.sources), "" if unknown or if
    # reading it left a note: not part of its content
    raw_hash: str = field(default="", compare=False)

    def content_hash(self) -> str:
        data = _values(self)
        del data["raw_hash"]
        data["organisation"] = _values(self.organisation) if self.organisation else None
        data["locations"] = [_values(loc) for loc in self.locations]
        data["last_verified"] = self.last_verified.isoformat() if self.last_verified else None
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class UnchangedRecord:
    """A service whose bytes (and the code reading them) are as at the last import: only
    its organisation and locations are read again (the feed's copies of them decide what
    is written, whichever service carries them)."""

    source_id: str
    organisation: OrganisationRecord | None
    locations: list[LocationRecord]


@dataclass
class Rejected:
    where: str  # "record 12" or "line 14"
    id: str
    name: str
    reason: str


@dataclass
class Page:
    """One page (or file) of a feed: its services and what its paging wrapper said."""

    label: str
    items: list[Any]
    page_number: int | None = None
    total_pages: int | None = None
    single: bool = False  # a /services/{id} document: never a full import
    last: bool | None = None  # the wrapper's ``last`` (v1) or ``last_page`` (3.0), if given

"""What reading a feed produces: plain records of services (no database), rejections with
their reasons, and the pages a feed arrives in."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

import msgspec


class RecordError(ValueError):
    """One service in a feed cannot be imported (the reason is the message)."""


class _Digested:
    """Room for ``content_hash()`` as worked out where a record was read
    (``directory.read_worker``: the writing process need not): not a field, so not part
    of the record's content, its equality or its ``asdict``; unset if not worked out. A
    record handed over is never changed."""

    __slots__ = ("known_hash",)
    known_hash: str


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
class ServiceRecord(_Digested):
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
        known: str = getattr(self, "known_hash", "")
        if known:
            return known
        return hashlib.sha256(self._sorted_json()).hexdigest()

    def _sorted_json(self) -> bytes:
        """``sorted_json`` of the record's content (every field but ``raw_hash``, the
        organisation and locations as objects, the date as ISO text): the record itself
        encoded sorted, as that dictionary is (msgspec reads a dataclass's fields as
        keys, a date as ISO text), then ``raw_hash`` taken out (a key in sorted order
        never first, and ``,"raw_hash":`` nowhere else: a quote inside text is escaped)."""
        if not _exponent_floats(self.locations):
            try:
                whole = _SORTED.encode(self)
            except (TypeError, UnicodeEncodeError, msgspec.EncodeError):
                pass
            else:
                raw = b',"raw_hash":' + _SORTED.encode(self.raw_hash)
                return whole.replace(raw, b"", 1)
        data = {name: getattr(self, name) for name in _SERVICE_NAMES}
        org = self.organisation
        data["organisation"] = None if org is None else {n: getattr(org, n) for n in _ORG_NAMES}
        data["locations"] = [
            {n: getattr(loc, n) for n in _LOCATION_NAMES} for loc in self.locations
        ]
        data["last_verified"] = self.last_verified.isoformat() if self.last_verified else None
        return sorted_json(data, self.locations)


_SERVICE_NAMES = tuple(f.name for f in fields(ServiceRecord) if f.name != "raw_hash")
_ORG_NAMES = tuple(f.name for f in fields(OrganisationRecord))
_LOCATION_NAMES = tuple(f.name for f in fields(LocationRecord))
_SORTED = msgspec.json.Encoder(order="sorted")


def sorted_json(data: Any, locations: list[LocationRecord]) -> bytes:
    """``json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` in
    UTF-8, encoded in C. msgspec writes text exactly as json.dumps does, and a float too
    unless Python would give it an exponent (below 1e-4 or from 1e16: ``1e-05`` against
    ``0.00001``): a record's only floats are its locations' coordinates, and with any such
    one the json module writes it (the digests stay as they were)."""
    if _exponent_floats(locations):
        return _json_sorted(data)
    try:
        return _SORTED.encode(data)
    except (TypeError, UnicodeEncodeError, msgspec.EncodeError):
        return _json_sorted(data)


def _exponent_floats(locations: list[LocationRecord]) -> bool:
    """Whether a coordinate is one Python writes with an exponent (msgspec does not)."""
    for loc in locations:
        for value in (loc.latitude, loc.longitude):
            if value and not 1e-4 <= abs(value) < 1e16:
                return True
    return False


def _json_sorted(data: Any) -> bytes:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


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

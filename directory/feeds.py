"""Reading Open Referral UK feeds (v1 and 3.0 JSON) and the flat CSV into plain records.

Nothing here touches the database. A page that cannot be read at all raises ValueError
naming the file or page; a single bad service becomes a ``Rejected`` with its reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from directory.text import clean, normalise_postcode, plain_text

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_BYDAY = {"MO": 1, "TU": 2, "WE": 3, "TH": 4, "FR": 5, "SA": 6, "SU": 7}


class RecordError(ValueError):
    """One service in a feed cannot be imported (the reason is the message)."""


@dataclass
class OrganisationRecord:
    source_id: str
    name: str
    description: str = ""
    url: str = ""
    email: str = ""


@dataclass
class LocationRecord:
    source_id: str
    name: str = ""
    address: str = ""
    town: str = ""
    postcode: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass
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

    def content_hash(self) -> str:
        data = dict(vars(self))
        data["organisation"] = vars(self.organisation) if self.organisation else None
        data["locations"] = [vars(loc) for loc in self.locations]
        data["last_verified"] = self.last_verified.isoformat() if self.last_verified else None
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


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


# --- JSON pages -------------------------------------------------------------------------


def parse_json_page(text: str | bytes, label: str) -> Page:
    """A page of a feed from its JSON text; ValueError naming ``label`` if it is unusable."""
    try:
        doc = json.loads(text)
    except UnicodeDecodeError:
        raise ValueError(f"{label}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.strip()) - 1 or "Unterminated" in exc.msg or "Expecting" in exc.msg:
            what = "truncated or malformed JSON"
        else:
            what = "not JSON"
        if not str(text).lstrip().startswith(("{", "[")):
            what = "not JSON"
        raise ValueError(f"{label}: {what} (line {exc.lineno}, column {exc.colno})") from None
    return page_from_document(doc, label)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def page_from_document(doc: Any, label: str) -> Page:
    if isinstance(doc, list):
        return Page(label, doc)
    if not isinstance(doc, dict):
        raise ValueError(f"{label}: not an Open Referral UK feed (a JSON {type(doc).__name__})")
    if "content" in doc or "contents" in doc:
        key = "content" if "content" in doc else "contents"
        items = doc[key]
        if items is None:
            items = []
        if not isinstance(items, list):
            raise ValueError(f"{label}: wrong page shape: {key!r} is not a list of services")
        if key == "content":
            number = _int_or_none(doc.get("number"))
            total = _int_or_none(doc.get("totalPages"))
        else:
            number = _int_or_none(doc.get("page_number"))
            total = _int_or_none(doc.get("total_pages"))
        return Page(label, items, number, total)
    if "id" in doc and ("name" in doc or "organization" in doc or "organization_id" in doc):
        return Page(label, [doc], single=True)
    keys = ", ".join(sorted(doc)[:5]) or "nothing"
    raise ValueError(
        f"{label}: wrong page shape: expected 'content' (ORUK v1), 'contents' (ORUK 3.0), "
        f"a list of services or one service; found {keys}"
    )


# --- one ORUK service -------------------------------------------------------------------


def _list(service: dict[str, Any], *names: str) -> list[Any]:
    for name in names:
        value = service.get(name)
        if isinstance(value, list):
            return value
    return []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _float(value: Any, what: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecordError(f"bad {what} {value!r}") from None
    if number != number:
        return None
    return number


def _age(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise RecordError(f"bad age {value!r}") from None
    if number < 0 or number > 130:
        raise RecordError(f"bad age {value!r}")
    return number


def parse_date(value: Any) -> date | None:
    text = clean(value)
    if not text:
        return None
    for candidate in (text[:10], text):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            pass
    for fmt in ("%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            pass
    return None  # an unreadable "last checked" date is the same as none


_TIME = re.compile(r"^(\d{1,2}):(\d{2})")


def _time(value: Any) -> str:
    if type(value) is str:
        return _time_text(value)
    return _time_text(clean(value))


@lru_cache(maxsize=4096)
def _time_text(value: str) -> str:
    """The time as "HH:MM", or "" if unreadable (cached: feeds repeat a few times)."""
    text = clean(value)
    match = _TIME.match(text)
    if not match:
        return ""
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 24 or minute > 59:
        return ""
    return f"{hour:02d}:{minute:02d}"


def _weekday(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1 <= value <= 7 else None
    return _weekday_text(value if type(value) is str else clean(value))


@lru_cache(maxsize=4096)
def _weekday_text(value: str) -> int | None:
    text = clean(value).lower()
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 7 else None
    for i, day in enumerate(WEEKDAYS, start=1):
        if text and (text == day or text == day[:3] or text == day[:2]):
            return i
    return None


def _schedules(service: dict[str, Any]) -> list[dict[str, Any]]:
    hours: list[dict[str, Any]] = []
    for raw in _list(service, "regular_schedules", "schedules"):
        sched = _dict(raw)
        opens, closes = _time(sched.get("opens_at")), _time(sched.get("closes_at"))
        if not opens or not closes:
            continue
        days: list[int] = []
        day = _weekday(sched.get("weekday"))
        if day:
            days.append(day)
        for part in clean(sched.get("byday")).upper().replace(" ", "").split(","):
            code = part[-2:]
            if code in _BYDAY:
                days.append(_BYDAY[code])
        for d in sorted(set(days)):
            entry = {"day": d, "opens": opens, "closes": closes}
            if entry not in hours:
                hours.append(entry)
    hours.sort(key=lambda h: (h["day"], h["opens"]))
    return hours


_FREE_WORDS = ("free", "no charge", "no cost", "pay as you feel", "pay-as-you-feel", "£0")


def is_free(fees: str, amounts: Iterable[float | None]) -> bool:
    if any(a is not None and a > 0 for a in amounts):
        return False
    text = fees.strip().lower()
    return not text or text.startswith(_FREE_WORDS)


_AGE_RANGE = re.compile(r"(\d{1,3})\s*(?:-|–|to)\s*(\d{1,3})")
_AGE_MIN = re.compile(r"(\d{1,3})\s*(?:\+|and over|or over|and above|plus)")
_AGE_MAX = re.compile(r"(?:under|below|up to)\s*(\d{1,3})")


def ages_from_text(text: str) -> tuple[int | None, int | None]:
    """Age range from eligibility wording such as "aged 11 to 25" or "adults 18+"."""
    low = text.lower()
    match = _AGE_RANGE.search(low)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = _AGE_MIN.search(low)
    if match:
        return int(match.group(1)), None
    match = _AGE_MAX.search(low)
    if match:
        return None, int(match.group(1)) - 1
    return None, None


def _postcode(value: Any) -> str:
    text = clean(value)
    if not text:
        return ""
    try:
        return normalise_postcode(text)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def _location(raw: Any, sal_id: str) -> LocationRecord | None:
    loc = _dict(raw)
    if not loc:
        return None
    addresses = _list(loc, "physical_addresses", "addresses", "physical_address")
    addr = _dict(addresses[0]) if addresses else {}
    lines = [clean(addr.get(k)) for k in ("address_1", "address_2", "address_3", "address_4")]
    postcode = _postcode(addr.get("postal_code"))
    lat = _float(loc.get("latitude"), "latitude")
    lon = _float(loc.get("longitude"), "longitude")
    if lat is not None and not -90 <= lat <= 90:
        raise RecordError(f"bad latitude {lat}")
    if lon is not None and not -180 <= lon <= 180:
        raise RecordError(f"bad longitude {lon}")
    name = clean(loc.get("name"))
    source_id = clean(loc.get("id")) or sal_id
    if not source_id:
        basis = f"{name}|{postcode}|{lat}|{lon}"
        source_id = "loc-" + hashlib.sha1(basis.encode()).hexdigest()[:16]
    return LocationRecord(
        source_id=source_id,
        name=name,
        address=", ".join(x for x in lines if x),
        town=clean(addr.get("city")),
        postcode=postcode,
        latitude=lat,
        longitude=lon,
    )


def _slug_id(prefix: str, name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:120]
    return f"{prefix}{slug}" if slug else ""


def _id_and_name(raw: dict[str, Any]) -> tuple[str, str]:
    """A record's id and name as plain text; RecordError if either is missing."""
    sid = clean(raw.get("id"))
    if not sid:
        raise RecordError("no id")
    name = plain_text(raw.get("name")).replace("\n", " ")
    if not name:
        raise RecordError("empty name")
    return sid, name


def service_from_oruk(raw: Any) -> ServiceRecord:
    """One ORUK v1 or 3.0 service object as a record; RecordError with the reason if unusable.

    Unknown fields (vendor extensions such as ``pc_*``) are ignored, and so is ``x_category``.
    """
    if not isinstance(raw, dict):
        raise RecordError(f"not a service object (a JSON {type(raw).__name__})")
    sid, name = _id_and_name(raw)

    org_raw = _dict(raw.get("organization"))
    organisation = None
    org_name = plain_text(org_raw.get("name")).replace("\n", " ")
    org_id = clean(org_raw.get("id")) or clean(raw.get("organization_id"))
    if org_name or org_id:
        organisation = OrganisationRecord(
            source_id=org_id or _slug_id("org-", org_name),
            name=org_name,
            description=plain_text(org_raw.get("description")),
            url=clean(org_raw.get("url")),
            email=clean(org_raw.get("email")),
        )

    locations: list[LocationRecord] = []
    for sal in _list(raw, "service_at_locations"):
        sal = _dict(sal)
        loc = _location(sal.get("location"), clean(sal.get("location_id")))
        if loc and all(loc.source_id != other.source_id for other in locations):
            locations.append(loc)

    eligibility_rows = [_dict(e) for e in _list(raw, "eligibilitys", "eligibilities")]
    texts = [plain_text(e.get("eligibility")) for e in eligibility_rows]
    texts.append(plain_text(raw.get("eligibility_description")))
    mins = [_age(e.get("minimum_age")) for e in eligibility_rows]
    maxs = [_age(e.get("maximum_age")) for e in eligibility_rows]
    mins.append(_age(raw.get("minimum_age")))
    maxs.append(_age(raw.get("maximum_age")))
    known_min = [m for m in mins if m is not None]
    known_max = [m for m in maxs if m is not None]
    min_age = min(known_min) if known_min else None
    max_age = max(known_max) if known_max else None

    languages: list[str] = []
    for lang in _list(raw, "languages"):
        value = clean(lang) if isinstance(lang, str) else clean(_dict(lang).get("language"))
        if not value and isinstance(lang, dict):
            value = clean(lang.get("name"))
        if value and value not in languages:
            languages.append(value)

    terms: list[str] = []
    for st in _list(raw, "service_taxonomys", "service_taxonomies"):
        term = clean(_dict(_dict(st).get("taxonomy")).get("name"))
        if term and term not in terms:
            terms.append(term)
    for attr in _list(raw, "attributes"):
        term = clean(_dict(_dict(attr).get("taxonomy_term")).get("name"))
        if term and term not in terms:
            terms.append(term)

    contacts: list[dict[str, Any]] = []
    phones: list[str] = []
    for contact in _list(raw, "contacts"):
        contact = _dict(contact)
        numbers = [clean(_dict(p).get("number")) for p in _list(contact, "phones")]
        numbers = [n for n in numbers if n]
        entry = {
            "name": clean(contact.get("name")),
            "title": clean(contact.get("title")),
            "email": clean(contact.get("email")),
            "phones": numbers,
        }
        if any(entry.values()):
            contacts.append(entry)
        phones.extend(numbers)
    for phone in _list(raw, "phones"):
        number = clean(_dict(phone).get("number"))
        if number:
            phones.append(number)

    costs = [_dict(c) for c in _list(raw, "cost_options")]
    amounts = [_float(c.get("amount"), "cost amount") for c in costs]
    fees = clean(raw.get("fees")) or clean(raw.get("fees_description"))
    if not fees:
        fees = "; ".join(
            x
            for x in (clean(c.get("option")) or clean(c.get("amount_description")) for c in costs)
            if x
        )

    areas = [clean(_dict(a).get("service_area")) for a in _list(raw, "service_areas")]
    status = clean(raw.get("status")).lower() or "active"

    return ServiceRecord(
        source_id=sid,
        name=name,
        description=plain_text(raw.get("description")),
        url=clean(raw.get("url")),
        email=clean(raw.get("email")),
        phone=phones[0] if phones else "",
        status=status,
        fees=fees,
        is_free=is_free(fees, amounts),
        min_age=min_age,
        max_age=max_age,
        eligibility="; ".join(dict.fromkeys(t for t in texts if t)),
        service_area="; ".join(dict.fromkeys(a for a in areas if a)),
        attending=clean(raw.get("attending_type")),
        languages=languages,
        taxonomy_terms=terms,
        opening_hours=_schedules(raw),
        contacts=contacts,
        last_verified=parse_date(raw.get("assured_date")),
        organisation=organisation,
        locations=locations,
    )


# --- CSV --------------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "name",
    "organisation",
    "description",
    "categories",
    "postcode",
    "town",
    "latitude",
    "longitude",
    "phone",
    "email",
    "website",
    "eligibility",
    "languages",
    "cost",
    "opening_hours",
    "last_verified",
)
_CSV_ALIASES = {"organization": "organisation", "url": "website", "assured_date": "last_verified"}
_HOURS = re.compile(r"^\s*([A-Za-z]+)\s+(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")


def _csv_hours(text: str) -> list[dict[str, Any]]:
    hours = []
    for part in text.split(";"):
        match = _HOURS.match(part)
        if not match:
            continue
        day = _weekday(match.group(1))
        opens, closes = _time(match.group(2)), _time(match.group(3))
        if day and opens and closes:
            hours.append({"day": day, "opens": opens, "closes": closes})
    hours.sort(key=lambda h: (h["day"], h["opens"]))
    return hours


def read_csv(text: str, label: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Rows of the flat CSV as dicts keyed by the standard column names, with their line.

    ValueError (naming the file and line) for an unknown column, a missing id or name
    column, or broken quoting.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ValueError(f"{label}, line 1: broken CSV ({exc})") from None
    if not header:
        raise ValueError(f"{label}: empty CSV file")
    columns = []
    for raw in header:
        key = raw.strip().lstrip("\ufeff").lower().replace(" ", "_")
        key = _CSV_ALIASES.get(key, key)
        if key not in CSV_COLUMNS:
            raise ValueError(
                f"{label}: unknown CSV column {raw.strip()!r} (expected some of: "
                f"{', '.join(CSV_COLUMNS)})"
            )
        if key in columns:
            raise ValueError(f"{label}: column {raw.strip()!r} appears twice")
        columns.append(key)
    for needed in ("id", "name"):
        if needed not in columns:
            raise ValueError(f"{label}: the CSV has no {needed!r} column")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValueError(
                f"{label}, line {reader.line_num}: broken CSV quoting ({exc})"
            ) from None
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise ValueError(
                f"{label}, line {reader.line_num}: {len(row)} fields where the header has "
                f"{len(columns)} (broken quoting?)"
            )
        yield f"line {reader.line_num}", dict(zip(columns, row, strict=True))


def service_from_csv(row: dict[str, str]) -> ServiceRecord:
    sid, name = _id_and_name(row)
    org_name = clean(row.get("organisation"))
    organisation = OrganisationRecord(_slug_id("org-", org_name), org_name) if org_name else None
    postcode = _postcode(row.get("postcode"))
    lat = _float(row.get("latitude"), "latitude")
    lon = _float(row.get("longitude"), "longitude")
    town = clean(row.get("town"))
    locations = []
    if postcode or lat is not None or town:
        basis = f"{postcode}|{lat}|{lon}|{town}"
        locations.append(
            LocationRecord(
                source_id="loc-" + hashlib.sha1(basis.encode()).hexdigest()[:16],
                town=town,
                postcode=postcode,
                latitude=lat,
                longitude=lon,
            )
        )
    eligibility = plain_text(row.get("eligibility"))
    min_age, max_age = ages_from_text(eligibility)
    fees = clean(row.get("cost"))
    return ServiceRecord(
        source_id=sid,
        name=name,
        description=plain_text(row.get("description")),
        url=clean(row.get("website")),
        email=clean(row.get("email")),
        phone=clean(row.get("phone")),
        fees=fees,
        is_free=is_free(fees, []),
        min_age=min_age,
        max_age=max_age,
        eligibility=eligibility,
        service_area=town,
        languages=[x for x in (clean(v) for v in (row.get("languages") or "").split(";")) if x],
        taxonomy_terms=[
            x for x in (clean(v) for v in (row.get("categories") or "").split(";")) if x
        ],
        opening_hours=_csv_hours(row.get("opening_hours") or ""),
        last_verified=parse_date(row.get("last_verified")),
        organisation=organisation,
        locations=locations,
    )

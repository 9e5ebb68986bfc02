"""Reading Open Referral UK feeds (v1 and 3.0 JSON) into plain records.

Nothing here touches the database. A page that cannot be read at all raises ValueError
naming the file or page; a single bad service becomes a ``RecordError`` with its reason.
Every value is read through ``directory.fields.Fields`` (its type, size and characters
checked); the flat CSV is read in ``directory.csvfeed``; the records are in
``directory.records`` (re-exported here).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import msgspec

from directory.fields import LONG_CHARS, MAX_ITEMS, URL_CHARS, Fields, word
from directory.records import (
    LocationRecord,
    OrganisationRecord,
    Page,
    RecordError,
    Rejected,
    ServiceRecord,
)
from directory.text import clean, normalise_postcode
from directory.untrusted import shown

__all__ = [
    "WEEKDAYS",
    "KnownPlaces",
    "LocationRecord",
    "OrganisationRecord",
    "Page",
    "RecordError",
    "Rejected",
    "ServiceRecord",
    "ages_from_text",
    "is_free",
    "page_from_document",
    "parse_date",
    "service_from_oruk",
]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_BYDAY = {"MO": 1, "TU": 2, "WE": 3, "TH": 4, "FR": 5, "SA": 6, "SU": 7}


# --- JSON pages -------------------------------------------------------------------------


def _page_whole(value: Any, label: str, key: str) -> int | None:
    """A paging number of the wrapper (``totalPages``, ``number``): a whole number, or absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{label}: {key} is {value!r}, not a whole number")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and 0 <= value < 1e18:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        return int(value.strip())
    raise ValueError(f"{label}: {key} {shown(value, 20)} is not a whole number")


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
        number_key, total_key, last_key = (
            ("number", "totalPages", "last")
            if key == "content"
            else ("page_number", "total_pages", "last_page")
        )
        last = doc.get(last_key)
        return Page(
            label,
            items,
            _page_whole(doc.get(number_key), label, number_key),
            _page_whole(doc.get(total_key), label, total_key),
            last=last if isinstance(last, bool) else None,
        )
    if "id" in doc and ("name" in doc or "organization" in doc or "organization_id" in doc):
        return Page(label, [doc], single=True)
    keys = ", ".join(shown(k, 30) for k in sorted(doc)[:5]) or "nothing"
    raise ValueError(
        f"{label}: wrong page shape: expected 'content' (ORUK v1), 'contents' (ORUK 3.0), "
        f"a list of services or one service; found {keys}"
    )


# --- values shared by ORUK and CSV ------------------------------------------------------


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
    return None


def read_date(f: Fields, value: Any, field: str) -> date | None:
    """A "last checked" date; an unreadable one is unknown (under ``--strict``, a reject)."""
    text = f.text(value, field)
    found = parse_date(text)
    if text and found is None:
        f.doubtful(field, text)
    return found


_TIME = re.compile(r"^(\d{1,2}):(\d{2})")


def read_time(f: Fields, value: Any, field: str) -> str:
    """The time as "HH:MM", or "" if absent or unreadable (under ``--strict``, a reject)."""
    text = f.text(value, field)
    found = _time_text(text)
    if text and not found:
        f.doubtful(field, text)
    return found


@lru_cache(maxsize=4096)
def _time_text(value: str) -> str:
    match = _TIME.match(value)
    if not match:
        return ""
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 24 or minute > 59:
        return ""
    return f"{hour:02d}:{minute:02d}"


def read_weekday(f: Fields, value: Any, field: str) -> int | None:
    """1 (Monday) to 7 from a number or a day's name; ``None`` if absent or unreadable."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= 7:
            return value
        f.doubtful(field, value)
        return None
    text = f.text(value, field)
    found = weekday_text(text)
    if text and found is None:
        f.doubtful(field, text)
    return found


@lru_cache(maxsize=4096)
def weekday_text(value: str) -> int | None:
    text = value.lower()
    if text.isascii() and text.isdigit():
        number = int(text) if len(text) < 3 else 0
        return number if 1 <= number <= 7 else None
    for i, day in enumerate(WEEKDAYS, start=1):
        if text and (text == day or text == day[:3] or text == day[:2]):
            return i
    return None


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


def read_postcode(f: Fields, value: Any, field: str) -> str:
    text = f.text(value, field)
    if not text:
        return ""
    try:
        return normalise_postcode(text)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def read_coordinates(f: Fields, raw: dict[str, Any], at: str) -> tuple[float | None, float | None]:
    lat = f.number(raw.get("latitude"), f"{at}latitude")
    lon = f.number(raw.get("longitude"), f"{at}longitude")
    if lat is not None and not -90 <= lat <= 90:
        raise RecordError(f"bad latitude {lat}")
    if lon is not None and not -180 <= lon <= 180:
        raise RecordError(f"bad longitude {lon}")
    return lat, lon


def slug_id(prefix: str, name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:120]
    return f"{prefix}{slug}" if slug else ""


def id_and_name(f: Fields, raw: dict[str, Any]) -> tuple[str, str]:
    """A record's id and name as plain text; RecordError if either is missing or unusable."""
    sid = f.ident(raw.get("id"), "id")
    if not sid:
        raise RecordError("no id")
    name = f.text(raw.get("name"), "name", html=True).replace("\n", " ")
    if not name:
        raise RecordError("empty name")
    return sid, name


# --- one ORUK service -------------------------------------------------------------------


HoursRow = tuple[str, str, tuple[int, ...]]
"""A schedule row read: opening time, closing time, weekdays (1 Monday ... 7 Sunday)."""


def _schedules(f: Fields, service: dict[str, Any]) -> list[dict[str, Any]]:
    return weekly_hours(_schedule_rows(f, service))


def _schedule_rows(f: Fields, service: dict[str, Any]) -> Iterator[HoursRow]:
    known = _KNOWN_HOURS
    for path, sched in f.objects(service, "regular_schedules", "schedules"):
        key = (
            f.strict,
            sched.get("opens_at"),
            sched.get("closes_at"),
            sched.get("weekday"),
            sched.get("byday"),
        )
        # text or null only in the key (1 and True, 1 and 1.0 are equal as keys)
        plain = all(v is None or type(v) is str for v in key[1:])
        found = known.get(key) if plain else None
        if found is None:
            notes = len(f.notes)
            found = _schedule(f, sched, path)
            if plain and len(f.notes) == notes:  # read with nothing left out: the same
                remember(known, key, found, KNOWN_HOURS)  # again wherever it is
        yield found


def weekly_hours(rows: Iterable[HoursRow]) -> list[dict[str, Any]]:
    """Schedule rows (opens, closes, weekdays) as opening-hour entries, each day and time
    once, by day then opening time; a row without both times is left out."""
    hours: dict[tuple[int, str, str], None] = {}
    for opens, closes, days in rows:
        if opens and closes:
            for d in days:
                hours[(d, opens, closes)] = None
    return [hour_entry(*h) for h in sorted(hours, key=lambda h: h[:2])]


KNOWN_HOURS = 4096
"""Distinct schedule rows whose reading is remembered (feeds repeat a few a lot)."""
_KNOWN_HOURS: dict[tuple[Any, ...], tuple[str, str, tuple[int, ...]]] = {}


def _schedule(f: Fields, sched: dict[str, Any], path: str) -> tuple[str, str, tuple[int, ...]]:
    """One schedule row: its opening and closing times and its weekdays."""
    return schedule(
        f,
        sched.get("opens_at"),
        sched.get("closes_at"),
        sched.get("weekday"),
        sched.get("byday"),
        path,
    )


def schedule(
    f: Fields, opens_at: Any, closes_at: Any, weekday: Any, byday_at: Any, path: str
) -> tuple[str, str, tuple[int, ...]]:
    """``_schedule`` of the row's four values."""
    opens = read_time(f, opens_at, f"{path}.opens_at")
    closes = read_time(f, closes_at, f"{path}.closes_at")
    days: list[int] = []
    day = read_weekday(f, weekday, f"{path}.weekday")
    if day:
        days.append(day)
    byday = f.text(byday_at, f"{path}.byday")
    for part in byday.upper().replace(" ", "").split(","):
        code = part[-2:]
        if code in _BYDAY:
            days.append(_BYDAY[code])
        elif part:
            f.doubtful(f"{path}.byday", part)
    return opens, closes, tuple(days)


@lru_cache(maxsize=4096)
def hour_entry(day: int, opens: str, closes: str) -> dict[str, Any]:
    """One opening time, shared by every service open at the same hours (never changed
    after it is made: a feed of thousands of services holds a few hundred of these)."""
    return {"day": day, "opens": opens, "closes": closes}


def _first_address(f: Fields, loc: dict[str, Any], at: str) -> tuple[str, dict[str, Any]]:
    """The location's first address (ORUK spells the list three ways; some feeds give one
    object instead of a list)."""
    for key in ("physical_addresses", "addresses", "physical_address"):
        value = loc.get(key)
        if value is None:
            continue
        path = f"{at}{key}"
        if isinstance(value, dict):
            return path, value
        items = f.items(value, path)
        return f"{path}[0]", (f.obj_item(items[0], f"{path}[0]") if items else {})
    return at, {}


def _location(f: Fields, raw: Any, sal_id: str, at: str) -> LocationRecord | None:
    loc = f.obj(raw, at)
    if not loc:
        return None
    ap, addr = _first_address(f, loc, f"{at}.")
    lines = [f.text(addr.get(k), f"{ap}.{k}") for k in ("address_1", "address_2", "address_3")]
    lines.append(f.text(addr.get("address_4"), f"{ap}.address_4"))
    postcode = read_postcode(f, addr.get("postal_code"), f"{ap}.postal_code")
    lat, lon = read_coordinates(f, loc, f"{at}.")
    name = f.text(loc.get("name"), f"{at}.name")
    source_id = f.ident(loc.get("id"), f"{at}.id") or sal_id
    if not source_id:
        basis = f"{name}|{postcode}|{lat}|{lon}"
        source_id = "loc-" + hashlib.sha1(basis.encode()).hexdigest()[:16]
    return LocationRecord(
        source_id=source_id,
        name=name,
        address=", ".join(x for x in lines if x),
        town=f.text(addr.get("city"), f"{ap}.city"),
        postcode=postcode,
        latitude=lat,
        longitude=lon,
    )


def _organisation(f: Fields, raw: dict[str, Any]) -> OrganisationRecord | None:
    org = f.obj(raw.get("organization"), "organization")
    name = f.text(org.get("name"), "organization.name", html=True).replace("\n", " ")
    org_id = f.ident(org.get("id"), "organization.id") or f.ident(
        raw.get("organization_id"), "organization_id"
    )
    if not (name or org_id):
        return None
    return OrganisationRecord(
        source_id=org_id or slug_id("org-", name),
        name=name,
        description=f.text(
            org.get("description"), "organization.description", limit=LONG_CHARS, html=True
        ),
        url=f.text(org.get("url"), "organization.url", limit=URL_CHARS),
        email=f.text(org.get("email"), "organization.email"),
    )


def _ages(f: Fields, raw: dict[str, Any]) -> tuple[int | None, int | None, list[str]]:
    """The youngest and oldest ages any eligibility row allows, and the eligibility texts."""
    mins, maxs, texts = [], [], []
    rows = [*f.objects(raw, "eligibilitys", "eligibilities"), ("", raw)]
    for path, row in rows:
        at = f"{path}." if path else ""
        if path:
            texts.append(
                f.text(row.get("eligibility"), f"{at}eligibility", limit=LONG_CHARS, html=True)
            )
        mins.append(f.whole(row.get("minimum_age"), f"{at}minimum_age", 0, 130))
        maxs.append(f.whole(row.get("maximum_age"), f"{at}maximum_age", 0, 130))
    texts.append(
        f.text(
            raw.get("eligibility_description"),
            "eligibility_description",
            limit=LONG_CHARS,
            html=True,
        )
    )
    known_min = [m for m in mins if m is not None]
    known_max = [m for m in maxs if m is not None]
    return (min(known_min) if known_min else None), (max(known_max) if known_max else None), texts


def _terms(f: Fields, raw: dict[str, Any]) -> list[str]:
    terms: dict[str, None] = {}
    for path, st in f.objects(raw, "service_taxonomys", "service_taxonomies"):
        taxonomy = f.obj(st.get("taxonomy"), f"{path}.taxonomy")
        terms[word(f.text(taxonomy.get("name"), f"{path}.taxonomy.name"))] = None
    for path, attr in f.objects(raw, "attributes"):
        term = f.obj(attr.get("taxonomy_term"), f"{path}.taxonomy_term")
        terms[word(f.text(term.get("name"), f"{path}.taxonomy_term.name"))] = None
    return [t for t in terms if t]


def _contacts(f: Fields, raw: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    contacts: list[dict[str, Any]] = []
    phones: list[str] = []
    for path, contact in f.objects(raw, "contacts"):
        numbers = [
            f.text(phone.get("number"), f"{pp}.number")
            for pp, phone in f.objects(contact, "phones", at=f"{path}.")
        ]
        numbers = [n for n in numbers if n]
        entry = {
            "name": f.text(contact.get("name"), f"{path}.name"),
            "title": f.text(contact.get("title"), f"{path}.title"),
            "email": f.text(contact.get("email"), f"{path}.email"),
            "phones": numbers,
        }
        if any(entry.values()):
            contacts.append(entry)
        phones.extend(numbers)
    for path, phone in f.objects(raw, "phones"):
        number = f.text(phone.get("number"), f"{path}.number")
        if number:
            phones.append(number)
    return contacts, phones


def service_from_oruk(
    raw: Any,
    strict: bool = False,
    notes: list[str] | None = None,
    places: tuple[KnownPlaces, bytes] | None = None,
) -> ServiceRecord:
    """One ORUK v1 or 3.0 service object as a record; RecordError with the reason if unusable
    (``notes`` gets what was left out). ``places``: the feed's ``KnownPlaces`` and the
    service's own JSON bytes, so its organisation and locations are read once per distinct
    text of them in the feed (the same records, notes and reasons as reading them here).

    Unknown fields (vendor extensions such as ``pc_*``) are ignored, and so is ``x_category``.
    """
    if not isinstance(raw, dict):
        raise RecordError(f"not a service object (a JSON {type(raw).__name__})")
    f = Fields(strict, notes)
    sid, name = id_and_name(f, raw)
    found = None if places is None or strict else places[0].read_service(places[1], f)
    organisation, locations = _places(f, raw) if found is None else found
    min_age, max_age, texts = _ages(f, raw)
    contacts, phones = _contacts(f, raw)

    costs = f.objects(raw, "cost_options")
    amounts = [f.number(c.get("amount"), f"{p}.amount") for p, c in costs]
    fees = f.text(raw.get("fees"), "fees", limit=LONG_CHARS) or f.text(
        raw.get("fees_description"), "fees_description", limit=LONG_CHARS
    )
    if not fees:
        options = (
            f.text(c.get("option"), f"{p}.option")
            or f.text(c.get("amount_description"), f"{p}.amount_description")
            for p, c in costs
        )
        fees = "; ".join(x for x in options if x)

    areas = [
        f.text(a.get("service_area"), f"{p}.service_area")
        for p, a in f.objects(raw, "service_areas")
    ]

    return ServiceRecord(
        source_id=sid,
        name=name,
        description=f.text(raw.get("description"), "description", limit=LONG_CHARS, html=True),
        url=f.text(raw.get("url"), "url", limit=URL_CHARS),
        email=f.text(raw.get("email"), "email"),
        phone=phones[0] if phones else "",
        status=f.text(raw.get("status"), "status").lower() or "active",
        fees=fees,
        is_free=is_free(fees, amounts),
        min_age=min_age,
        max_age=max_age,
        eligibility="; ".join(dict.fromkeys(t for t in texts if t)),
        service_area="; ".join(dict.fromkeys(a for a in areas if a)),
        attending=f.text(raw.get("attending_type"), "attending_type"),
        languages=f.words(raw.get("languages"), "languages", keys=("language", "name")),
        taxonomy_terms=_terms(f, raw),
        opening_hours=_schedules(f, raw),
        contacts=contacts,
        last_verified=read_date(f, raw.get("assured_date"), "assured_date"),
        organisation=organisation,
        locations=locations,
    )


def _places(
    f: Fields, raw: dict[str, Any]
) -> tuple[OrganisationRecord | None, list[LocationRecord]]:
    organisation = _organisation(f, raw)
    locations: dict[str, LocationRecord] = {}
    for path, sal in f.objects(raw, "service_at_locations"):
        sal_id = f.ident(sal.get("location_id"), f"{path}.location_id")
        loc = _location(f, sal.get("location"), sal_id, f"{path}.location")
        if loc and loc.source_id not in locations:
            locations[loc.source_id] = loc
    return organisation, list(locations.values())


class _Sal(msgspec.Struct):
    location_id: msgspec.Raw = msgspec.Raw(b"null")
    location: msgspec.Raw = msgspec.Raw(b"null")


_SALS = msgspec.json.Decoder(list[_Sal] | None)


class _Light(msgspec.Struct):
    """A service's organisation and locations left as their JSON text (null when
    absent, as ``dict.get`` reads them); the rest skipped unparsed (as
    ``directory.sources.Light``)."""

    organization: msgspec.Raw = msgspec.Raw(b"null")
    organization_id: msgspec.Raw = msgspec.Raw(b"null")
    service_at_locations: msgspec.Raw = msgspec.Raw(b"null")


_LIGHT = msgspec.json.Decoder(_Light)
_MISSING: Any = object()
KNOWN_PLACES = 20_000
"""Distinct organisations and locations ``KnownPlaces`` remembers (then starts again)."""


class KnownPlaces:
    """The organisation and locations of services whose bytes are as at the last import
    (the rest of such a service is not read again, but these are written as the whole
    feed's copies decide), read as ``service_from_oruk`` reads them, each distinct JSON
    text of an organisation or a location once (services share them). RecordError when
    they cannot be read so (the caller then reads the service whole)."""

    def __init__(self) -> None:
        self._orgs: dict[tuple[bytes, bytes], OrganisationRecord | None] = {}
        self._locations: dict[tuple[bytes, bytes], LocationRecord | None] = {}

    def read(
        self,
        organization: bytes,
        organization_id: bytes,
        service_at_locations: bytes,
        fields: Fields | None = None,
    ) -> tuple[OrganisationRecord | None, list[LocationRecord]]:
        """The organisation and locations of these JSON texts. With ``fields`` (not
        strict), what is left out of them is noted there as ``service_from_oruk`` notes
        it, and only what was read with nothing left out is remembered."""
        try:
            sals = _SALS.decode(service_at_locations)
        except msgspec.DecodeError as exc:
            raise RecordError(str(exc)) from None
        return self.read_sals(organization, organization_id, sals, fields)

    def read_sals(
        self,
        organization: bytes,
        organization_id: bytes,
        sals: list[_Sal] | None,
        fields: Fields | None = None,
    ) -> tuple[OrganisationRecord | None, list[LocationRecord]]:
        """``read``, the service's locations already cut from their list."""
        f = Fields() if fields is None else fields
        try:
            key = (organization, organization_id)
            org = self._orgs.get(key, _MISSING)
            if org is _MISSING:
                raw = {
                    "organization": msgspec.json.decode(organization),
                    "organization_id": msgspec.json.decode(organization_id),
                }
                notes = len(f.notes)
                org = _organisation(f, raw)
                if len(f.notes) == notes:
                    remember(self._orgs, key, org)
            locations: dict[str, LocationRecord] = {}
            for i, sal in enumerate(sals or []):
                where = (bytes(sal.location_id), bytes(sal.location))
                loc = self._locations.get(where, _MISSING)
                if loc is _MISSING:
                    at = f"service_at_locations[{i}]"
                    notes = len(f.notes)
                    sal_id = f.ident(msgspec.json.decode(where[0]), f"{at}.location_id")
                    loc = _location(f, msgspec.json.decode(where[1]), sal_id, f"{at}.location")
                    if len(f.notes) == notes:
                        remember(self._locations, where, loc)
                if loc and loc.source_id not in locations:
                    locations[loc.source_id] = loc
        except msgspec.DecodeError as exc:
            raise RecordError(str(exc)) from None
        return org, list(locations.values())

    def read_service(
        self, data: bytes, f: Fields
    ) -> tuple[OrganisationRecord | None, list[LocationRecord]] | None:
        """``_places(f, raw)`` for the service whose JSON bytes are ``data`` (``f`` not
        strict); None when they are not shaped as expected (no object, a list that is
        not a list of objects...): the caller reads them whole and says what is wrong."""
        try:
            light = _LIGHT.decode(data)
            sals = _SALS.decode(light.service_at_locations)
        except msgspec.DecodeError:
            return None
        if sals is not None and len(sals) > MAX_ITEMS:  # said by Fields.items
            return None
        return self.read_sals(bytes(light.organization), bytes(light.organization_id), sals, f)


def remember(cache: dict[Any, Any], key: Any, value: Any, limit: int = KNOWN_PLACES) -> Any:
    """``value`` kept in ``cache`` under ``key``, the cache emptied first once it holds
    ``limit`` entries (feeds repeat a few values a lot: memory stays bounded)."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value

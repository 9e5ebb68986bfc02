"""An ORUK service read straight from its JSON bytes into typed msgspec Structs (issue 18:
the import's reading half, in C where it can be).

``service_from_bytes`` gives the very record ``directory.feeds.service_from_oruk`` gives for
the same bytes, or None, and the caller then reads the service the ordinary way, which says
what is wrong: every message a user sees comes from that one reader. It gives None when:

- the bytes do not decode into these shapes: each value is typed as the union of the JSON
  types the ordinary reader takes without complaint (text or null; an id text, a whole
  number or null; a number, text or null...), so a value of any other type (``"name":
  12345``, ``true`` as a number, a null among a list's objects, a service that is not an
  object) is refused by the decoder, and such a service is read the ordinary way;
- a list holds more than ``MAX_ITEMS`` items;
- reading left anything out or refused anything (a note, a ``RecordError``).

So only a service read cleanly is read here, and for it every value reaches the same
``Fields`` checks (lengths, control characters, HTML, numbers' ranges) as the same Python
value: msgspec decodes each to what ``json.loads`` gives (a repeated key: the last, as a
dict keeps it). Fields no reader uses are skipped undecoded (the many ``id``s of a
service's parts). Never under ``--strict`` (the ordinary reader's own path).
"""

from __future__ import annotations

from typing import Any

import msgspec

from directory import feeds
from directory.feeds import (
    _KNOWN_HOURS,
    KNOWN_HOURS,
    KnownPlaces,
    _Sal,
    hour_entry,
    is_free,
    read_date,
    schedule,
)
from directory.fields import LONG_CHARS, MAX_ITEMS, URL_CHARS, Fields, word
from directory.records import RecordError, ServiceRecord
from directory.sources import parse_service

Text = str | None
Ident = str | int | None
Number = int | float | str | None
_NULL = msgspec.Raw(b"null")


class _Phone(msgspec.Struct):
    number: Text = None


class _Contact(msgspec.Struct):
    name: Text = None
    title: Text = None
    email: Text = None
    phones: list[_Phone] | None = None


class _Cost(msgspec.Struct):
    amount: Number = None
    option: Text = None
    amount_description: Text = None


class _Area(msgspec.Struct):
    service_area: Text = None


class _Eligibility(msgspec.Struct):
    eligibility: Text = None
    minimum_age: Number = None
    maximum_age: Number = None


class _Named(msgspec.Struct):
    name: Text = None


class _Taxonomy(msgspec.Struct):
    taxonomy: _Named | None = None


class _Attribute(msgspec.Struct):
    taxonomy_term: _Named | None = None


class _Language(msgspec.Struct):
    language: Text = None
    name: Text = None


class _Schedule(msgspec.Struct):
    opens_at: Text = None
    closes_at: Text = None
    weekday: int | str | None = None
    byday: Text = None


class _Service(msgspec.Struct):
    id: Ident = None
    name: Text = None
    description: Text = None
    url: Text = None
    email: Text = None
    status: Text = None
    fees: Text = None
    fees_description: Text = None
    attending_type: Text = None
    eligibility_description: Text = None
    assured_date: Text = None
    minimum_age: Number = None
    maximum_age: Number = None
    organization: msgspec.Raw = _NULL
    organization_id: msgspec.Raw = _NULL
    service_at_locations: list[_Sal] | None = None
    eligibilitys: list[_Eligibility] | None = None
    eligibilities: list[_Eligibility] | None = None
    contacts: list[_Contact] | None = None
    phones: list[_Phone] | None = None
    cost_options: list[_Cost] | None = None
    service_areas: list[_Area] | None = None
    languages: list[str | _Language] | None = None
    service_taxonomys: list[_Taxonomy] | None = None
    service_taxonomies: list[_Taxonomy] | None = None
    attributes: list[_Attribute] | None = None
    regular_schedules: list[_Schedule] | None = None
    schedules: list[_Schedule] | None = None


_SERVICE = msgspec.json.Decoder(_Service)


UNPARSED: Any = msgspec.Raw(b"")
"""A service not parsed yet: ``service_from_oruk`` reads it from its bytes."""


def service_from_oruk(
    raw: Any,
    strict: bool = False,
    notes: list[str] | None = None,
    places: tuple[KnownPlaces, bytes] | None = None,
) -> ServiceRecord:
    """``directory.feeds.service_from_oruk``; when ``raw`` is ``UNPARSED`` (the service is
    only its JSON bytes, ``places[1]``), read from typed Structs if it reads cleanly so
    (not under ``strict``), else parsed and read the ordinary way."""
    if raw is UNPARSED:
        if places is None:
            raise ValueError("a service given as its bytes needs them")
        if not strict:
            record = service_from_bytes(places[1], places[0])
            if record is not None:
                return record
        raw = parse_service(places[1])
    return feeds.service_from_oruk(raw, strict, notes, places)


def service_from_bytes(data: bytes, places: KnownPlaces) -> ServiceRecord | None:
    """The record of the service whose JSON bytes are ``data`` (``places``: the feed's
    organisations and locations already read), or None: read it the ordinary way."""
    try:
        s = _SERVICE.decode(data)
    except msgspec.DecodeError:  # (a ValidationError too)
        return None
    notes: list[str] = []
    try:
        record = _record(Fields(False, notes), s, places)
    except RecordError:
        return None
    return None if notes else record


def _first(a: list[Any] | None, b: list[Any] | None) -> list[Any]:
    """The first list of the two spellings the service has (``Fields.objects``)."""
    return (a if a is not None else b) or []


def _too_long(s: _Service) -> bool:
    lists: tuple[list[Any] | None, ...] = (
        s.service_at_locations,
        s.eligibilitys,
        s.eligibilities,
        s.contacts,
        s.phones,
        s.cost_options,
        s.service_areas,
        s.languages,
        s.service_taxonomys,
        s.service_taxonomies,
        s.attributes,
        s.regular_schedules,
        s.schedules,
    )
    if max(map(len, filter(None, lists)), default=0) > MAX_ITEMS:
        return True
    return any(c.phones is not None and len(c.phones) > MAX_ITEMS for c in s.contacts or ())


# Below, each value is read as ``directory.feeds`` reads it (the same Fields calls, in the
# same order); field names are not spelt out: any message sends the service there.


def _record(f: Fields, s: _Service, places: KnownPlaces) -> ServiceRecord:
    if _too_long(s):
        raise RecordError("a list too long")
    sid = f.ident(s.id, "id")
    if not sid:
        raise RecordError("no id")
    name = f.text(s.name, "name", html=True).replace("\n", " ")
    if not name:
        raise RecordError("empty name")
    organisation, locations = places.read_sals(
        bytes(s.organization), bytes(s.organization_id), s.service_at_locations, f
    )
    min_age, max_age, texts = _ages(f, s)
    contacts, phones = _contacts(f, s)
    costs = s.cost_options or []
    amounts = [f.number(c.amount, "amount") for c in costs]
    fees = f.text(s.fees, "fees", limit=LONG_CHARS) or f.text(
        s.fees_description, "fees_description", limit=LONG_CHARS
    )
    if not fees:
        options = (
            f.text(c.option, "option") or f.text(c.amount_description, "amount_description")
            for c in costs
        )
        fees = "; ".join(x for x in options if x)
    areas = [f.text(a.service_area, "service_area") for a in s.service_areas or ()]
    return ServiceRecord(
        source_id=sid,
        name=name,
        description=f.text(s.description, "description", limit=LONG_CHARS, html=True),
        url=f.text(s.url, "url", limit=URL_CHARS),
        email=f.text(s.email, "email"),
        phone=phones[0] if phones else "",
        status=f.text(s.status, "status").lower() or "active",
        fees=fees,
        is_free=is_free(fees, amounts),
        min_age=min_age,
        max_age=max_age,
        eligibility="; ".join(dict.fromkeys(t for t in texts if t)),
        service_area="; ".join(dict.fromkeys(a for a in areas if a)),
        attending=f.text(s.attending_type, "attending_type"),
        languages=_languages(f, s),
        taxonomy_terms=_terms(f, s),
        opening_hours=_hours(f, s),
        contacts=contacts,
        last_verified=read_date(f, s.assured_date, "assured_date"),
        organisation=organisation,
        locations=locations,
    )


def _ages(f: Fields, s: _Service) -> tuple[int | None, int | None, list[str]]:
    mins, maxs, texts = [], [], []
    for row in _first(s.eligibilitys, s.eligibilities):
        texts.append(f.text(row.eligibility, "eligibility", limit=LONG_CHARS, html=True))
        mins.append(f.whole(row.minimum_age, "minimum_age", 0, 130))
        maxs.append(f.whole(row.maximum_age, "maximum_age", 0, 130))
    mins.append(f.whole(s.minimum_age, "minimum_age", 0, 130))
    maxs.append(f.whole(s.maximum_age, "maximum_age", 0, 130))
    texts.append(
        f.text(s.eligibility_description, "eligibility_description", limit=LONG_CHARS, html=True)
    )
    known_min = [m for m in mins if m is not None]
    known_max = [m for m in maxs if m is not None]
    return (min(known_min) if known_min else None), (max(known_max) if known_max else None), texts


def _contacts(f: Fields, s: _Service) -> tuple[list[dict[str, Any]], list[str]]:
    contacts: list[dict[str, Any]] = []
    phones: list[str] = []
    for contact in s.contacts or ():
        numbers = [f.text(p.number, "number") for p in contact.phones or ()]
        numbers = [n for n in numbers if n]
        entry = {
            "name": f.text(contact.name, "name"),
            "title": f.text(contact.title, "title"),
            "email": f.text(contact.email, "email"),
            "phones": numbers,
        }
        if any(entry.values()):
            contacts.append(entry)
        phones.extend(numbers)
    for phone in s.phones or ():
        number = f.text(phone.number, "number")
        if number:
            phones.append(number)
    return contacts, phones


def _languages(f: Fields, s: _Service) -> list[str]:
    out: dict[str, None] = {}
    for item in s.languages or ():
        if isinstance(item, str):
            text = f.text(item, "languages")
        else:
            text = f.text(item.language, "language") or f.text(item.name, "name")
        if text:
            out[word(text)] = None
    return list(out)


def _terms(f: Fields, s: _Service) -> list[str]:
    terms: dict[str, None] = {}
    for st in _first(s.service_taxonomys, s.service_taxonomies):
        taxonomy = st.taxonomy
        terms[word(f.text(taxonomy.name if taxonomy else None, "name"))] = None
    for attr in s.attributes or ():
        term = attr.taxonomy_term
        terms[word(f.text(term.name if term else None, "name"))] = None
    return [t for t in terms if t]


def _hours(f: Fields, s: _Service) -> list[dict[str, Any]]:
    hours: dict[tuple[int, str, str], None] = {}
    known = _KNOWN_HOURS
    for row in _first(s.regular_schedules, s.schedules):
        key = (False, row.opens_at, row.closes_at, row.weekday, row.byday)
        plain = type(row.weekday) is not int  # the rest are text or null
        found = known.get(key) if plain else None
        if found is None:
            notes = len(f.notes)
            found = schedule(f, row.opens_at, row.closes_at, row.weekday, row.byday, "row")
            if plain and len(f.notes) == notes:
                if len(known) >= KNOWN_HOURS:
                    known.clear()
                known[key] = found
        opens, closes, days = found
        if opens and closes:
            for d in days:
                hours[(d, opens, closes)] = None
    return [hour_entry(*h) for h in sorted(hours, key=lambda h: h[:2])]

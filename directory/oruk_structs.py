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
- a list holds more than ``MAX_ITEMS`` items (the decoder refuses it);
- reading left anything out or refused anything (a note, a ``RecordError``).

So only a service read cleanly is read here, and for it every value reaches the same
``Fields`` checks (lengths, control characters, HTML, numbers' ranges) as the same Python
value: msgspec decodes each to what ``json.loads`` gives (a repeated key: the last, as a
dict keeps it). Fields no reader uses are skipped undecoded (the many ``id``s of a
service's parts). Never under ``--strict`` (the ordinary reader's own path).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

import msgspec

from directory import feeds
from directory.feeds import (
    _KNOWN_HOURS,
    KNOWN_HOURS,
    HoursRow,
    KnownPlaces,
    _Sal,
    is_free,
    read_date,
    remember,
    schedule,
    weekly_hours,
)
from directory.fields import LONG_CHARS, MAX_ITEMS, SHORT_CHARS, URL_CHARS, Fields, word
from directory.records import RecordError, ServiceRecord
from directory.sources import parse_service

Text = str | None
Ident = str | int | None
Number = int | float | str | None
_NULL = msgspec.Raw(b"null")
_AT_MOST = msgspec.Meta(max_length=MAX_ITEMS)  # a longer list: read the ordinary way


class _Decoded(msgspec.Struct, gc=False):
    """A part of a service as decoded: text, numbers, null and lists of such parts, which
    can never refer back to one another, so the garbage collector need not track them."""


class _Phone(_Decoded):
    number: Text = None


_Phones = Annotated[list[_Phone], _AT_MOST]


class _Contact(_Decoded):
    name: Text = None
    title: Text = None
    email: Text = None
    phones: _Phones | None = None


class _Cost(_Decoded):
    amount: Number = None
    option: Text = None
    amount_description: Text = None


class _Area(_Decoded):
    service_area: Text = None


class _Eligibility(_Decoded):
    eligibility: Text = None
    minimum_age: Number = None
    maximum_age: Number = None


class _Named(_Decoded):
    name: Text = None


class _Taxonomy(_Decoded):
    taxonomy: _Named | None = None


class _Attribute(_Decoded):
    taxonomy_term: _Named | None = None


class _Language(_Decoded):
    language: Text = None
    name: Text = None


class _Schedule(_Decoded):
    opens_at: Text = None
    closes_at: Text = None
    weekday: int | str | None = None
    byday: Text = None


_Sals = Annotated[list[_Sal], _AT_MOST]
_Eligibilities = Annotated[list[_Eligibility], _AT_MOST]
_Contacts = Annotated[list[_Contact], _AT_MOST]
_Costs = Annotated[list[_Cost], _AT_MOST]
_Areas = Annotated[list[_Area], _AT_MOST]
_Languages = Annotated[list[str | _Language], _AT_MOST]
_Taxonomies = Annotated[list[_Taxonomy], _AT_MOST]
_Attributes = Annotated[list[_Attribute], _AT_MOST]
_Schedules = Annotated[list[_Schedule], _AT_MOST]


class _Service(_Decoded):
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
    service_at_locations: _Sals | None = None
    eligibilitys: _Eligibilities | None = None
    eligibilities: _Eligibilities | None = None
    contacts: _Contacts | None = None
    phones: _Phones | None = None
    cost_options: _Costs | None = None
    service_areas: _Areas | None = None
    languages: _Languages | None = None
    service_taxonomys: _Taxonomies | None = None
    service_taxonomies: _Taxonomies | None = None
    attributes: _Attributes | None = None
    regular_schedules: _Schedules | None = None
    schedules: _Schedules | None = None


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


KNOWN_TEXTS = 4096
"""Distinct texts of each kind whose cleaning is remembered (then it starts again)."""
_TEXTS: dict[tuple[int, bool], dict[str, str]] = {}
_DATES: dict[str, date | None] = {}


def _once(f: Fields, value: str | None, limit: int = SHORT_CHARS, html: bool = False) -> str:
    """``f.text`` of a value many services repeat (a status, a language, a contact's
    title), each distinct text of at most ``SHORT_CHARS`` cleaned once: without
    ``--strict`` its text depends on the value alone (it notes nothing; what it refuses,
    too long for ``limit``, is refused before the lookup)."""
    if value is None:
        return ""
    seen = _TEXTS.get((limit, html))
    if seen is None:
        seen = _TEXTS[(limit, html)] = {}
    out = seen.get(value)  # (a text too long is never kept)
    if out is None:
        out = f.text(value, "text", limit=limit, html=html)
        if len(value) <= min(limit, SHORT_CHARS):  # (too long: refused; or not remembered)
            remember(seen, value, out, KNOWN_TEXTS)
    return out


def _short(f: Fields, value: str | None) -> str:
    """``_once(f, value)``: a text of one line of at most ``SHORT_CHARS``."""
    if value is None:
        return ""
    out = _SHORT.get(value)
    return _once(f, value) if out is None else out


_SHORT = _TEXTS[(SHORT_CHARS, False)] = {}


def _date(f: Fields, value: str | None) -> date | None:
    """``read_date`` of the service's date, each distinct text read once (one it cannot
    read is noted, and the service read the ordinary way)."""
    if value is None:
        return None
    found = _DATES.get(value, _NO_DATE)
    if found is _NO_DATE:
        notes = len(f.notes)
        found = read_date(f, value, "assured_date")
        if len(f.notes) == notes:
            remember(_DATES, value, found, KNOWN_TEXTS)
    return found


_NO_DATE: Any = object()


def _first(a: list[Any] | None, b: list[Any] | None) -> list[Any]:
    """The first list of the two spellings the service has (``Fields.objects``)."""
    return (a if a is not None else b) or []


# Below, each value is read as ``directory.feeds`` reads it (the same Fields calls, in the
# same order); field names are not spelt out: any message sends the service there.


def _record(f: Fields, s: _Service, places: KnownPlaces) -> ServiceRecord:
    sid = f.ident(s.id, "id")
    if not sid:
        raise RecordError("no id")
    name = _once(f, s.name, SHORT_CHARS, True).replace("\n", " ")
    if not name:
        raise RecordError("empty name")
    organisation, locations = places.read_sals(
        bytes(s.organization), bytes(s.organization_id), s.service_at_locations, f
    )
    min_age, max_age, texts = _ages(f, s)
    contacts, phones = _contacts(f, s)
    costs = s.cost_options or []
    amounts = [f.number(c.amount, "amount") for c in costs]
    fees = _once(f, s.fees, LONG_CHARS) or _once(f, s.fees_description, LONG_CHARS)
    if not fees:
        options = (_short(f, c.option) or _short(f, c.amount_description) for c in costs)
        fees = "; ".join(x for x in options if x)
    areas = [_short(f, a.service_area) for a in s.service_areas or ()]
    return ServiceRecord(
        source_id=sid,
        name=name,
        description=f.text(s.description, "description", limit=LONG_CHARS, html=True),
        url=f.text(s.url, "url", limit=URL_CHARS),
        email=f.text(s.email, "email"),
        phone=phones[0] if phones else "",
        status=_short(f, s.status).lower() or "active",
        fees=fees,
        is_free=is_free(fees, amounts),
        min_age=min_age,
        max_age=max_age,
        eligibility="; ".join(dict.fromkeys(t for t in texts if t)),
        service_area="; ".join(dict.fromkeys(a for a in areas if a)),
        attending=_short(f, s.attending_type),
        languages=_languages(f, s),
        taxonomy_terms=_terms(f, s),
        opening_hours=_hours(f, s),
        contacts=contacts,
        last_verified=_date(f, s.assured_date),
        organisation=organisation,
        locations=locations,
    )


def _ages(f: Fields, s: _Service) -> tuple[int | None, int | None, list[str]]:
    mins, maxs, texts = [], [], []
    for row in _first(s.eligibilitys, s.eligibilities):
        texts.append(_once(f, row.eligibility, LONG_CHARS, True))
        mins.append(f.whole(row.minimum_age, "minimum_age", 0, 130))
        maxs.append(f.whole(row.maximum_age, "maximum_age", 0, 130))
    mins.append(f.whole(s.minimum_age, "minimum_age", 0, 130))
    maxs.append(f.whole(s.maximum_age, "maximum_age", 0, 130))
    texts.append(_once(f, s.eligibility_description, LONG_CHARS, True))
    known_min = [m for m in mins if m is not None]
    known_max = [m for m in maxs if m is not None]
    return (min(known_min) if known_min else None), (max(known_max) if known_max else None), texts


def _contacts(f: Fields, s: _Service) -> tuple[list[dict[str, Any]], list[str]]:
    contacts: list[dict[str, Any]] = []
    phones: list[str] = []
    for contact in s.contacts or ():
        numbers = [_short(f, p.number) for p in contact.phones or ()]
        numbers = [n for n in numbers if n]
        entry = {
            "name": _short(f, contact.name),
            "title": _short(f, contact.title),
            "email": _short(f, contact.email),
            "phones": numbers,
        }
        if any(entry.values()):
            contacts.append(entry)
        phones.extend(numbers)
    for phone in s.phones or ():
        number = _short(f, phone.number)
        if number:
            phones.append(number)
    return contacts, phones


def _languages(f: Fields, s: _Service) -> list[str]:
    out: dict[str, None] = {}
    for item in s.languages or ():
        if isinstance(item, str):
            text = _short(f, item)
        else:
            text = _short(f, item.language) or _short(f, item.name)
        if text:
            out[word(text)] = None
    return list(out)


def _terms(f: Fields, s: _Service) -> list[str]:
    terms: dict[str, None] = {}
    for st in _first(s.service_taxonomys, s.service_taxonomies):
        taxonomy = st.taxonomy
        terms[word(_short(f, taxonomy.name if taxonomy else None))] = None
    for attr in s.attributes or ():
        term = attr.taxonomy_term
        terms[word(_short(f, term.name if term else None))] = None
    return [t for t in terms if t]


KNOWN_WEEKS = 1024
"""Distinct weeks of schedule rows whose opening hours are remembered (then it starts again)."""
_WEEKS: dict[tuple[Any, ...], tuple[dict[str, Any], ...]] = {}


def _hours(f: Fields, s: _Service) -> list[dict[str, Any]]:
    """The opening hours of the service's schedule rows, each distinct week of at most 14
    rows read once (read with nothing left out, its hours depend on its values alone:
    the typed values are text, whole numbers or null, no two of them equal)."""
    rows = _first(s.regular_schedules, s.schedules)
    if not rows:
        return []
    if len(rows) > 14:
        return weekly_hours(_hour_rows(f, rows))
    key = tuple([(r.opens_at, r.closes_at, r.weekday, r.byday) for r in rows])
    found = _WEEKS.get(key)
    if found is None:
        notes = len(f.notes)
        hours = weekly_hours(_hour_rows(f, rows))
        if len(f.notes) == notes:
            remember(_WEEKS, key, tuple(hours), KNOWN_WEEKS)
        return hours
    return list(found)


def _hour_rows(f: Fields, rows: list[_Schedule]) -> Iterator[HoursRow]:
    known = _KNOWN_HOURS
    for row in rows:
        key = (False, row.opens_at, row.closes_at, row.weekday, row.byday)
        plain = type(row.weekday) is not int  # the rest are text or null
        found = known.get(key) if plain else None
        if found is None:
            notes = len(f.notes)
            found = schedule(f, row.opens_at, row.closes_at, row.weekday, row.byday, "row")
            if plain and len(f.notes) == notes:
                remember(known, key, found, KNOWN_HOURS)
        yield found

"""People: create, find, show (audited as a view) and update a person's record."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from directory.notfound import NotFound
from directory.text import parse_postcode
from directory.untrusted import ascii_digits, ascii_identifier, clean_text, findable, shown
from screening.audit import record_event, write_lock
from screening.counts import COUNTED_PERSON_FIELDS, recount_person
from screening.equality import FIELDS, age_band, load_equality, normalise_value
from screening.lookup import by_id_prefix
from screening.models import Person, utcnow
from screening.nhs import looks_like_nhs_number, normalise_nhs_number

CONTACT_PREFERENCES = ("phone", "text", "email", "letter", "in-person", "none")

_ODS = re.compile(r"^[A-Z0-9]{3,6}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def normalise_postcode(value: str) -> str:
    """A UK postcode in capitals with one space before the inward code (``ZZ1 1AA``);
    empty stays empty. ASCII only (``directory.text.parse_postcode``, the one rule)."""
    text = " ".join(str(value).split())
    if not text:
        return ""
    postcode = parse_postcode(text)
    if postcode is None:
        raise ValueError(f"postcode {shown(text)} is not a UK postcode (like ZZ1 1AA)")
    return postcode


def normalise_ods(value: str) -> str:
    """An ODS organisation code in capitals (``Y01234``); ASCII letters and digits only."""
    text = ascii_identifier(value, "practice code", allowed="").upper()
    if text and not _ODS.match(text):
        raise ValueError(f"practice code {shown(text)} is not an ODS code (like Y01234)")
    return text


def normalise_phone(value: str | None) -> str:
    """A phone number as typed: ASCII digits, spaces, a leading +, brackets and hyphens;
    at least 6 digits. Empty stays empty."""
    text = " ".join(clean_text(value or "", "phone number", max_length=40).split())
    if not text:
        return ""
    for i, ch in enumerate(text):
        if ch in "0123456789 ()-" or (ch == "+" and i == 0):
            continue
        if ch == "+":
            why = "a + may only come first"
        elif ch.isdigit():
            why = f"{ch!r} is not an ASCII digit"
        else:
            why = f"{ch!r} is not allowed"
        raise ValueError(
            f"phone number {shown(text)} may use only the digits 0-9, spaces, a leading +, "
            f"brackets and hyphens; {why}"
        )
    if sum(ch.isdigit() for ch in text) < 6:
        raise ValueError(f"phone number {shown(text)} has too few digits")
    return text


def normalise_email(value: str | None) -> str:
    """An email address shaped like ``name@example.org`` (one @, a dot in the domain, no
    spaces or control characters). Empty stays empty."""
    text = clean_text(value or "", "email address", max_length=200)
    if text and not _EMAIL.match(text):
        raise ValueError(
            f"email address {shown(text)} is not an email address (like name@example.org)"
        )
    return text


def parse_birth_date(value: date | str, *, today: date | None = None) -> date:
    """A date of birth as typed anywhere in linkwork: DD/MM/YYYY (also with - or .),
    or YYYY-MM-DD. The one parser for this field, used by the CLI and the app alike."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("date of birth is needed")
        parts: list[str] = []
        for sep in ("/", "-", "."):
            if text.count(sep) == 2:
                parts = text.split(sep)
                break
        if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
            raise ValueError(
                f"date of birth {text!r} is not a date: use DD/MM/YYYY, for example 03/07/1961"
            )
        if len(parts[0]) == 4:
            year, month, day = (int(p) for p in parts)
        elif len(parts[2]) == 4:
            day, month, year = (int(p) for p in parts)
        else:
            raise ValueError(
                f"date of birth {text!r}: give the year in full, for example 03/07/1961"
            )
        try:
            value = date(year, month, day)
        except ValueError:
            raise ValueError(f"date of birth {text!r} is not a real date") from None
    today = today or date.today()
    if value > today:
        raise ValueError(f"date of birth {value.strftime('%d/%m/%Y')} is in the future")
    if value.year < today.year - 130:
        raise ValueError(f"date of birth {value.strftime('%d/%m/%Y')} is more than 130 years ago")
    return value


_birth_date = parse_birth_date


def normalise_name(value: str, what: str) -> str:
    """A given or family name: one line, no control characters, spaces collapsed."""
    return _name(value, what)


def _name(value: str, what: str) -> str:
    text = " ".join(clean_text(value or "", what, max_length=200).split())
    if not text:
        raise ValueError(f"{what} is required")
    return text


def _contact_preference(value: str | None) -> str:
    text = (value or "").strip().lower()
    if text and text not in CONTACT_PREFERENCES:
        raise ValueError(
            f"contact preference {value!r} is not one of: {', '.join(CONTACT_PREFERENCES)}"
        )
    return text


def _check_unique_nhs(session: Session, nhs: str | None, own_id: str | None = None) -> None:
    if not nhs:
        return
    # Another linkwork may be adding the same patient right now: wait for its write, so
    # this looks at what it wrote (then "already recorded") rather than both inserting.
    write_lock(session, f"nhs:{nhs}")
    other = session.exec(select(Person).where(Person.nhs_number == nhs)).first()
    if other is not None and other.id != own_id:
        raise ValueError(
            f"NHS number {nhs} is already recorded for {other.given_name} {other.family_name}"
        )


def create_person(
    session: Session,
    *,
    given_name: str,
    family_name: str,
    birth_date: date | str,
    actor: str,
    nhs_number: str | None = None,
    postcode: str = "",
    phone: str = "",
    email: str = "",
    contact_preference: str = "",
    practice_ods: str = "",
    id: str | None = None,
    audit: bool = True,
    **equality: str | None,
) -> Person:
    """Validate and add a person. Equality fields (``screening.equality.FIELDS``) are
    keyword arguments holding a code or "prefer not to say"/"not asked"; missing means not
    asked."""
    unknown = set(equality) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown person field {sorted(unknown)[0]!r}")
    nhs = normalise_nhs_number(nhs_number) if nhs_number else None
    _check_unique_nhs(session, nhs)
    person = Person(
        given_name=_name(given_name, "given name"),
        family_name=_name(family_name, "family name"),
        birth_date=_birth_date(birth_date),
        nhs_number=nhs,
        postcode=normalise_postcode(postcode),
        phone=normalise_phone(phone),
        email=normalise_email(email),
        contact_preference=_contact_preference(contact_preference),
        practice_ods=normalise_ods(practice_ods),
        created_by=actor,
    )
    for name in FIELDS:
        setattr(person, name, normalise_value(name, equality.get(name)))
    if id:
        person.id = id
    session.add(person)
    session.flush()
    if audit:
        record_event(session, actor, "create", "person", person.id, person_id=person.id)
    return person


def update_person(session: Session, person: Person, *, actor: str, **changes: Any) -> Person:
    """Change some fields (same validation as ``create_person``); audited with the field
    names changed (not their values)."""
    cleaners: dict[str, Any] = {
        "given_name": lambda v: _name(v, "given name"),
        "family_name": lambda v: _name(v, "family name"),
        "birth_date": _birth_date,
        "nhs_number": lambda v: normalise_nhs_number(v) if v else None,
        "postcode": normalise_postcode,
        "phone": normalise_phone,
        "email": normalise_email,
        "contact_preference": _contact_preference,
        "practice_ods": normalise_ods,
    }
    changed = []
    for name, value in changes.items():
        if value is None and name not in FIELDS:
            continue
        new: Any
        if name in FIELDS:
            new = normalise_value(name, value)
        elif name in cleaners:
            new = cleaners[name](value)
        else:
            raise ValueError(f"unknown person field {name!r}")
        if name == "nhs_number":
            _check_unique_nhs(session, new, person.id)
        if getattr(person, name) != new:
            setattr(person, name, new)
            changed.append(name)
    if changed:
        person.updated_at = utcnow()
        session.add(person)
        session.flush()
        if COUNTED_PERSON_FIELDS.intersection(changed):
            recount_person(session, person)  # the counting copies, in the same transaction
        record_event(
            session,
            actor,
            "update",
            "person",
            person.id,
            {"fields": sorted(changed)},
            person_id=person.id,
        )
    return person


def get_person(session: Session, ref: str) -> Person:
    """A person by id (or a unique start of it, 8+ characters) or NHS number. Not audited:
    use ``show_person`` when a user looks at the record."""
    text = str(ref).strip()
    if not text:
        raise LookupError("no person given")
    if findable(text) is None:
        raise NotFound(f"unknown person {text!r}")  # no record holds a control character
    person = session.get(Person, text)
    if person is not None:
        return person
    compact = text.replace(" ", "").replace("-", "")
    if looks_like_nhs_number(text):
        ascii_digits(text, "NHS number")  # a full-width or Arabic-Indic number: say so
        found = session.exec(select(Person).where(Person.nhs_number == compact)).first()
        if found is not None:
            return found
    found = by_id_prefix(session, Person, text, "person")
    if found is not None:
        return found
    raise NotFound(f"unknown person {text!r}")


def show_person(session: Session, ref: str, *, actor: str) -> Person:
    """Look a person up for a user to read: records a ``view`` audit event."""
    person = get_person(session, ref)
    record_event(session, actor, "view", "person", person.id, person_id=person.id)
    return person


def find_people(session: Session, text: str, *, limit: int = 20) -> list[Person]:
    """People whose name, NHS number, postcode or id matches ``text`` (each word must
    match the given or family name), then people whose name is close to it though
    misspelt (``close_names``)."""
    words = str(text).split()
    if not words:
        raise ValueError("nothing to search for")
    if findable(text) is None:
        return []  # no name, number or postcode holds a control character
    query = select(Person)
    compact = "".join(words).replace("-", "")
    if compact.isdigit():
        ascii_digits(compact, "NHS number")  # no record holds other digits
        query = query.where(col(Person.nhs_number).startswith(compact))
    else:
        postcode = compact.upper()
        conditions = []
        for word in words:
            pattern = f"%{word.lower()}%"
            conditions.append(
                sa.or_(
                    sa.func.lower(Person.given_name).like(pattern),
                    sa.func.lower(Person.family_name).like(pattern),
                )
            )
        query = query.where(
            sa.or_(
                sa.and_(*conditions),
                sa.func.replace(Person.postcode, " ", "") == postcode,
                col(Person.id).startswith(compact.lower()),
            )
        )
    query = query.order_by(Person.family_name, Person.given_name).limit(limit)
    found = list(session.exec(query).all())
    if len(found) < limit and not compact.isdigit():
        ids = close_names(session, words, exclude={p.id for p in found}, limit=limit - len(found))
        found += [p for p in (session.get(Person, i) for i in ids) if p is not None]
    return found


def _fold(text: str) -> str:
    """A name word as it is compared: accents and case gone, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).casefold()


def _allowed(word: str) -> int:
    """How many typing slips (Damerau-Levenshtein) a word of this length may hold: none in
    one or two letters, one up to 5 ('jon' is John), two up to 10, then three."""
    n = len(word)
    return 0 if n <= 2 else 1 if n <= 5 else 2 if n <= 10 else 3


def close_names(
    session: Session, words: list[str], *, exclude: set[str] | None = None, limit: int = 20
) -> list[str]:
    """Ids of people whose name is close to ``words`` though not containing them: each word
    within a slip or two of (or the start of) one of the person's name words, or all the
    words run together close to the whole name either way round ('tespersn' is 'Test
    Person'). Nearest first, then by name. The one fuzzy people search (the CLI's
    ``person find`` and the app's People screen reach it through ``find_people``)."""
    from rapidfuzz.distance import DamerauLevenshtein

    typed = [w for w in (_fold(w) for w in words) if w]
    if not typed:
        return []
    joined = "".join(typed)
    rows = session.exec(select(Person.id, Person.given_name, Person.family_name)).all()
    scored: list[tuple[int, str, str, str]] = []
    distance = DamerauLevenshtein.distance
    for pid, given, family in rows:
        if exclude and pid in exclude:
            continue
        parts = [w for w in (_fold(w) for w in re.split(r"[\s\-]+", f"{given} {family}")) if w]
        total = 0
        for word in typed:
            best = min(
                (0 if part.startswith(word) else distance(word, part) for part in parts),
                default=99,
            )
            if best > _allowed(word):
                break
            total += best
        else:
            scored.append((total, family, given, pid))
            continue
        whole = min(
            distance(joined, "".join(parts)),
            distance(joined, "".join(parts[-1:] + parts[:-1])),
        )
        if parts and whole <= _allowed(joined):
            scored.append((whole, family, given, pid))
    scored.sort()
    return [pid for *_, pid in scored[:limit]]


def list_people(
    session: Session, *, practice: str | None = None, limit: int = 50, offset: int = 0
) -> list[Person]:
    query = select(Person)
    if practice:
        query = query.where(Person.practice_ods == normalise_ods(practice))
    query = query.order_by(col(Person.created_at).desc()).offset(offset).limit(limit)
    return list(session.exec(query).all())


def person_dict(person: Person, *, on: date | None = None) -> dict[str, Any]:
    """The record for display and JSON, with equality labels and the derived age band."""
    equality = load_equality()
    data: dict[str, Any] = {
        "id": person.id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "birth_date": person.birth_date.isoformat(),
        "age_band": age_band(person.birth_date, on),
        "nhs_number": person.nhs_number,
        "postcode": person.postcode,
        "phone": person.phone,
        "email": person.email,
        "contact_preference": person.contact_preference,
        "practice_ods": person.practice_ods,
    }
    for name in FIELDS:
        code = getattr(person, name)
        try:
            label = equality[name].label_of(code)
        except LookupError:
            label = code
        data[name] = code
        data[f"{name}_label"] = label
    return data

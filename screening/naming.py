"""Records named in words for the messages a person reads (issue 22, point 4): a person by
name, a need by its meaning and code, a service by its name, a referral by its short id
(the one the CLI asks for and the app's board shows) with who it is for and where it went.
One place, so no message says "already recorded for person da076475-...".

Every function takes what it names (and a session where a name has to be looked up) and
never fails: a record that cannot be found is named by its short id."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from directory.models import Service
from screening.models import Person

SHORT = 8  # characters of an id that the CLI takes and the app shows


def short_id(record_id: Any) -> str:
    """The first 8 characters of an id: what the CLI asks for and the app shows."""
    return str(record_id or "")[:SHORT]


def person_name(person: Person) -> str:
    return f"{person.given_name} {person.family_name}".strip()


def person_named(session: Session, person_id: str | None) -> str:
    """The person's name, looked up (their short id if they cannot be found)."""
    person = session.get(Person, person_id) if person_id else None
    if person is None:
        return f"person {short_id(person_id)}" if person_id else "nobody"
    return person_name(person)


def need_words(need: Any) -> str:
    """A need by its meaning and code: 'Homelessness (Z59.0)'."""
    display = getattr(need, "display", "") or ""
    return f"{display} ({need.code})" if display else str(need.code)


def service_named(session: Session, service_id: int | None, hub: str = "") -> str:
    """Where a referral or consent goes, as the user knows it: a service's name, or the hub."""
    if service_id is None:
        return hub or "a hub"
    service = session.get(Service, service_id)
    return service.name if service is not None else f"service {service_id}"


def referral_words(session: Session, referral: Any) -> str:
    """'referral 1a2b3c4d (Ann Example to Northside Hub)'."""
    person = person_named(session, referral.person_id)
    target = service_named(session, referral.service_id, referral.hub)
    return f"referral {short_id(referral.id)} ({person} to {target})"


def consent_words(session: Session, consent: Any) -> str:
    """'consent 1a2b3c4d (Ann Example, to share with Northside Hub)'."""
    person = person_named(session, consent.person_id)
    target = service_named(session, consent.service_id, consent.hub)
    return f"consent {short_id(consent.id)} ({person}, to share with {target})"


def screening_words(session: Session, screening: Any) -> str:
    """'the screening of Ann Example started 02 Mar 2026 (1a2b3c4d)'."""
    person = person_named(session, screening.person_id)
    started = getattr(screening, "started_at", None)
    when = f" started {started:%d %b %Y}" if started is not None else ""
    return f"the screening of {person}{when} ({short_id(screening.id)})"

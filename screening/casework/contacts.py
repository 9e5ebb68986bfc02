"""Contacts with the person during their episode: booked ahead, or recorded with what
happened (attended, did not attend, cancelled, no answer), with ONS4 wellbeing answers
when they were asked (at the first contact and at reviews).

A contact in the future can only be booked (or cancelled); a booked contact's status
changes once, to what happened. Every change is audited; nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from directory.untrusted import clean_text
from screening.audit import record_event
from screening.casework.common import check_ons4, need_open_episode, parse_when
from screening.casework.models import Contact
from screening.lookup import by_id
from screening.models import Person, as_utc, utcnow

KINDS = ("face-to-face", "phone", "video", "home-visit", "group")
STATUSES = ("booked", "attended", "did-not-attend", "cancelled", "no-answer")
HAPPENED = ("attended", "did-not-attend", "no-answer")  # only once the time has come
MAX_MINUTES = 600
NOTE_MAX = 2000


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    text = str(value or "").strip().lower()
    if text not in allowed:
        raise ValueError(f"{what} {value!r} is not one of: {', '.join(allowed)}")
    return text


def _minutes(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_MINUTES:
        raise ValueError(f"minutes must be a whole number from 1 to {MAX_MINUTES}")
    return value


def _check(status: str, when: datetime, now: datetime, ons4: dict[str, int | None]) -> None:
    if status in HAPPENED and when > now:
        shown_at = when.astimezone().strftime("%d %b %Y %H:%M")
        raise ValueError(
            f"a contact on {shown_at} is in the future: it cannot be {status} yet "
            "(book it, and record what happened afterwards)"
        )
    if ons4 and status != "attended":
        raise ValueError(f"ONS4 answers go with an attended contact, not a {status} one")


def add_contact(
    session: Session,
    person: Person,
    *,
    actor: str,
    at: datetime | str,
    kind: str,
    status: str | None = None,
    minutes: int | None = None,
    note: str = "",
    ons4: Mapping[str, int | None] | None = None,
    now: datetime | None = None,
) -> Contact:
    """Record a contact on the person's open episode. ``status`` defaults to booked for a
    time to come and attended for one past."""
    now = now or utcnow()
    when = parse_when(at, "contact time")
    kind = _choice(kind, KINDS, "contact kind")
    status = _choice(status or ("booked" if when > now else "attended"), STATUSES, "status")
    answers = check_ons4(ons4)
    _check(status, when, now, answers)
    text = clean_text(note or "", "contact note", multiline=True, max_length=NOTE_MAX)
    episode = need_open_episode(session, person, "recording a contact")
    contact = Contact(
        person_id=person.id,
        episode_id=episode.id,
        at=when,
        kind=kind,
        status=status,
        minutes=_minutes(minutes),
        note=text,
        recorded_by=actor,
        recorded_at=now,
        status_at=now,
    )
    for key, value in answers.items():
        setattr(contact, key, value)
    session.add(contact)
    session.flush()
    record_event(
        session,
        actor,
        "create",
        "contact",
        contact.id,
        {"kind": kind, "status": status, "ons4": bool(answers)},
        person_id=person.id,
    )
    return contact


def get_contact(session: Session, ref: str) -> Contact:
    return by_id(session, Contact, ref, "contact")


def set_contact_status(
    session: Session,
    contact: Contact,
    status: str,
    *,
    actor: str,
    minutes: int | None = None,
    note: str = "",
    ons4: Mapping[str, int | None] | None = None,
    now: datetime | None = None,
) -> Contact:
    """What happened to a booked contact (attended, did not attend, cancelled, no answer),
    with its minutes, a note and ONS4 answers if asked."""
    now = now or utcnow()
    status = _choice(status, STATUSES, "status")
    if status == "booked":
        raise ValueError("the contact is booked already: give what happened instead")
    if contact.status != "booked":
        raise ValueError(
            f"contact {contact.id[:8]} is {contact.status}, not booked: its status is settled"
        )
    answers = check_ons4(ons4)
    _check(status, as_utc(contact.at), now, answers)
    text = clean_text(note or "", "contact note", multiline=True, max_length=NOTE_MAX)
    contact.status = status
    contact.status_at = now
    if minutes is not None:
        contact.minutes = _minutes(minutes)
    if text:
        contact.note = f"{contact.note}\n{text}" if contact.note else text
    for key, value in answers.items():
        setattr(contact, key, value)
    session.add(contact)
    session.flush()
    record_event(
        session,
        actor,
        "status",
        "contact",
        contact.id,
        {"from": "booked", "to": status, "ons4": bool(answers)},
        person_id=contact.person_id,
    )
    return contact


def list_contacts(
    session: Session, person: Person, *, episode_id: str | None = None
) -> list[Contact]:
    """A person's contacts, oldest first."""
    query = select(Contact).where(Contact.person_id == person.id)
    if episode_id:
        query = query.where(Contact.episode_id == episode_id)
    return list(session.exec(query.order_by(col(Contact.at), col(Contact.recorded_at))).all())


def ons4_trend(session: Session, person: Person) -> list[dict[str, object]]:
    """The person's ONS4 answers over time, from their contacts, oldest first: each with
    ``at``, ``episode_id``, ``contact_id``, ``when`` (start: the first of the episode, else
    review) and the four answers."""
    out: list[dict[str, object]] = []
    seen: set[str] = set()
    for contact in list_contacts(session, person):
        values = {
            name: getattr(contact, f"ons4_{name}")
            for name in ("satisfied", "worthwhile", "happy", "anxious")
        }
        if all(v is None for v in values.values()):
            continue
        out.append(
            {
                "at": as_utc(contact.at).isoformat(),
                "episode_id": contact.episode_id,
                "contact_id": contact.id,
                "when": "review" if contact.episode_id in seen else "start",
                **values,
            }
        )
        seen.add(contact.episode_id)
    return out

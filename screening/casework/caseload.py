"""The caseload: open episodes with their last and next contact, overdue referral
follow-ups, contacts without an outcome, and who has had no contact for some weeks.

One row per open episode, built from a handful of grouped queries (not one query per
person), so a caseload of hundreds is one round trip per table.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from screening.casework.models import Contact, Episode
from screening.models import Person, Referral, as_utc, utcnow
from screening.referrals import OPEN

SORTS = ("attention", "last", "next", "name", "started")
QUIET_WEEKS = 3


def caseload(
    session: Session,
    *,
    worker: str | None = None,
    quiet_weeks: int = QUIET_WEEKS,
    sort: str = "attention",
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Open episodes (``worker``'s: those they started; None: everyone's), each a dict:
    ``episode_id``, ``person_id``, ``name``, ``started_at``, ``source``, ``last_contact``
    (the latest contact that happened or was tried, with ``at``, ``kind``, ``status``),
    ``next_contact`` (the next booked one), ``no_outcome`` (booked contacts whose time has
    passed), ``overdue_followups`` (open referrals past their follow-up date), ``quiet``
    (no contact that happened for ``quiet_weeks`` weeks, counting from the start),
    ``days_since_contact`` and ``contacts`` (how many happened or were tried)."""
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r} is not one of: {', '.join(SORTS)}")
    if not 1 <= quiet_weeks <= 104:
        raise ValueError("quiet weeks must be a whole number from 1 to 104")
    now = now or utcnow()
    today = now.date()
    query = select(Episode, Person).join(Person, col(Person.id) == col(Episode.person_id))
    query = query.where(Episode.status == "open")
    if worker is not None:
        query = query.where(Episode.created_by == worker)
    episodes = session.exec(query).all()
    ids = [e.id for e, _ in episodes]
    people = [p.id for _, p in episodes]
    contacts: dict[str, list[Contact]] = defaultdict(list)
    overdue: dict[str, int] = defaultdict(int)
    if ids:
        for contact in session.exec(
            select(Contact).where(col(Contact.episode_id).in_(ids)).order_by(col(Contact.at))
        ).all():
            contacts[contact.episode_id].append(contact)
        for referral in session.exec(
            select(Referral).where(
                col(Referral.person_id).in_(people),
                col(Referral.status).in_(OPEN),
                col(Referral.followup_due).is_not(None),
                col(Referral.followup_due) < today,
                Referral.direction == "outgoing",
            )
        ).all():
            overdue[referral.person_id] += 1
    rows = [
        _row(episode, person, contacts[episode.id], overdue[person.id], now, quiet_weeks)
        for episode, person in episodes
    ]
    return _sorted(rows, sort)


def _brief(contact: Contact | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {
        "id": contact.id,
        "at": as_utc(contact.at).isoformat(),
        "kind": contact.kind,
        "status": contact.status,
    }


def _row(
    episode: Episode,
    person: Person,
    contacts: list[Contact],
    overdue: int,
    now: datetime,
    quiet_weeks: int,
) -> dict[str, Any]:
    tried = [c for c in contacts if c.status in ("attended", "did-not-attend", "no-answer")]
    happened = [c for c in tried if c.status == "attended"]
    booked = [c for c in contacts if c.status == "booked"]
    upcoming = [c for c in booked if as_utc(c.at) >= now]
    no_outcome = [c for c in booked if as_utc(c.at) < now]
    since = as_utc(happened[-1].at) if happened else as_utc(episode.started_at)
    days = (now - since).days
    return {
        "episode_id": episode.id,
        "person_id": person.id,
        "name": f"{person.given_name} {person.family_name}",
        "started_at": as_utc(episode.started_at).isoformat(),
        "source": episode.source,
        "last_contact": _brief(tried[-1] if tried else None),
        "next_contact": _brief(upcoming[0] if upcoming else None),
        "no_outcome": len(no_outcome),
        "overdue_followups": overdue,
        "days_since_contact": days,
        "quiet": (now - since) >= timedelta(weeks=quiet_weeks) and not upcoming,
        "contacts": len(tried),
    }


def _attention(row: dict[str, Any]) -> tuple[int, int]:
    flags = row["no_outcome"] + row["overdue_followups"] + (1 if row["quiet"] else 0)
    return (-flags, -row["days_since_contact"])


def _sorted(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    far = date.max.isoformat()
    keys: dict[str, Any] = {
        "attention": _attention,
        "last": lambda r: -r["days_since_contact"],
        "next": lambda r: (r["next_contact"] or {}).get("at", far),
        "name": lambda r: r["name"].casefold(),
        "started": lambda r: r["started_at"],
    }
    return sorted(rows, key=lambda r: (keys[sort](r), r["name"].casefold(), r["episode_id"]))

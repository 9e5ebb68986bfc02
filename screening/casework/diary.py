"""The week diary: every contact (booked, or what happened) in a week, with who it is
with, for one link worker's open and closed episodes or for everyone's."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from screening.casework.common import contact_dict
from screening.casework.models import Contact, Episode
from screening.models import Person


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def week(
    session: Session,
    start: date,
    *,
    worker: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Contacts from ``start`` (a Monday, local midnight) for seven days, in time order:
    ``contact_dict`` each plus ``name`` (the person's) and ``worker`` (who started the
    episode). ``worker``: only that link worker's episodes (None: everyone's)."""
    first = datetime.combine(start, time(0, 0)).astimezone(UTC)
    last = datetime.combine(start + timedelta(days=7), time(0, 0)).astimezone(UTC)
    query = (
        select(Contact, Person, Episode)
        .join(Person, col(Person.id) == col(Contact.person_id))
        .join(Episode, col(Episode.id) == col(Contact.episode_id))
        .where(col(Contact.at) >= first, col(Contact.at) < last)
    )
    if worker is not None:
        query = query.where(Episode.created_by == worker)
    out = []
    for contact, person, episode in session.exec(
        query.order_by(col(Contact.at), col(Person.family_name))
    ).all():
        row = contact_dict(contact, now)
        row["name"] = f"{person.given_name} {person.family_name}"
        row["worker"] = episode.created_by
        out.append(row)
    return out

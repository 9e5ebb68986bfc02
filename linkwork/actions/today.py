"""A link worker's day at a glance: follow-ups due, referrals waiting, people seen lately.

The first thing the app shows, so it loads little: a few plain SQL queries
(``linkwork.light_read.Rows``), run on the SQLite file read with its driver alone when it
needs nothing done first (so the home screen fills before SQLAlchemy and the models load:
issue 22, start-up), otherwise in a session as every other action (PostgreSQL: the login's
own rows, by row-level security; a new or older SQLite database: made or migrated first).
The rows are those the domain's own queries give (``screening.people.list_people``,
``screening.referrals.followups`` and ``list_referrals``, ``linkwork.actions.rows``):
tests/test_home_light.py checks them against those on a seeded database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from linkwork import light_read
from linkwork.light_read import Rows
from linkwork.workspace import Workspace

T = TypeVar("T")

# A referral still open (``screening.referrals.OPEN``: every status with a next one).
OPEN = ("draft", "requested", "accepted", "in-progress", "on-hold")
RECENT = 8  # people added most recently
LISTED = 50  # follow-ups, and referrals waiting, at most


def _read(ws: Workspace, reader: Callable[[Rows], T]) -> T:
    found = light_read.read(ws, reader)
    if found is not None:
        return found
    with ws.session() as session:
        return reader(Rows.of_session(session))


def directory_size(ws: Workspace) -> int:
    """How many services the directory holds (opening, and migrating, the database first
    when it needs it): the first thing the app asks."""
    return _read(ws, lambda rows: int(rows("SELECT count(id) FROM service")[0][0]))


def warm(ws: Workspace) -> None:
    """Open the database as every other action does (the engine; a database already at
    the newest schema needs no migration) and load the models and the people actions
    (People, F2, the likeliest next screen), so the screen after home does not wait for
    them. The app runs it in a worker once the home screen is filled."""
    from linkwork.actions import people  # noqa: F401  (loaded for later)

    with ws.session() as session:
        session.connection()


def home_summary(ws: Workspace, today: date) -> dict[str, Any]:
    """``followups``: open outgoing referrals whose follow-up is due by ``today``, most
    overdue first (with ``due`` and ``overdue``); ``waiting``: of the 50 referrals last
    requested, the outgoing ones (not yet answered); ``recent``: the eight people added
    most recently. A referral is a row as ``linkwork.actions.rows.referral_row`` gives
    it (the fields the home shows and opens a person with); a person the fields of
    ``screening.people.person_dict`` a list shows."""
    return _read(ws, lambda rows: _summary(rows, today))


def _date(value: Any) -> date:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _day_of(value: Any) -> date:
    """A stored timestamp's day in UTC (SQLite keeps UTC as text without its zone)."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    assert isinstance(value, datetime)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date()


PERSON = "id, given_name, family_name, birth_date, nhs_number, postcode, practice_ods"
REFERRAL = (
    "id, person_id, service_id, hub, status, business_status, direction, created_at, followup_due"
)


def _summary(rows: Rows, today: date) -> dict[str, Any]:
    recent = [
        {
            "id": pid,
            "given_name": given,
            "family_name": family,
            "birth_date": _date(born).isoformat(),
            "nhs_number": nhs,
            "postcode": postcode,
            "practice_ods": practice,
        }
        for pid, given, family, born, nhs, postcode, practice in rows(
            f"SELECT {PERSON} FROM person ORDER BY person.created_at DESC LIMIT ? OFFSET ?",
            (RECENT, 0),
        )
    ]
    due = rows(
        f"SELECT {REFERRAL} FROM referral WHERE referral.status IN ({rows.marks(len(OPEN))}) "
        "AND referral.followup_due IS NOT NULL AND referral.followup_due <= ? "
        "AND referral.direction = ? ORDER BY referral.followup_due LIMIT ?",
        (*OPEN, rows.day(today), "outgoing", LISTED),
    )
    waiting = [
        r
        for r in rows(
            f"SELECT {REFERRAL} FROM referral WHERE referral.status = ? "
            "ORDER BY referral.created_at DESC LIMIT ?",
            ("requested", LISTED),
        )
        if r[6] == "outgoing"
    ]
    people, services = _names(rows, [*due, *waiting])
    followups = []
    for r in due:
        row = _referral_row(r, people, services)
        row.update(due=row["followup_due"], overdue=(today - row["followup_due"]).days > 0)
        followups.append(row)
    return {
        "recent": recent,
        "followups": followups,
        "waiting": [_referral_row(r, people, services) for r in waiting],
    }


def _names(
    rows: Rows, referrals: list[tuple[Any, ...]]
) -> tuple[dict[str, dict[str, Any]], dict[int, str]]:
    """The people and services the referrals name (those this login may see)."""
    person_ids = sorted({r[1] for r in referrals})
    service_ids = sorted({r[2] for r in referrals if r[2] is not None})
    people: dict[str, dict[str, Any]] = {}
    if person_ids:
        for pid, given, family, born, nhs in rows(
            "SELECT id, given_name, family_name, birth_date, nhs_number FROM person "
            f"WHERE id IN ({rows.marks(len(person_ids))})",
            person_ids,
        ):
            people[pid] = {
                "id": pid,
                "given_name": given,
                "family_name": family,
                "birth_date": _date(born),
                "nhs_number": nhs,
            }
    services: dict[int, str] = {}
    if service_ids:
        found = rows(
            f"SELECT id, name FROM service WHERE id IN ({rows.marks(len(service_ids))})",
            service_ids,
        )
        services = {int(sid): name for sid, name in found}
    return people, services


def _referral_row(
    r: tuple[Any, ...], people: dict[str, dict[str, Any]], services: dict[int, str]
) -> dict[str, Any]:
    rid, person_id, service_id, hub, status, business, direction, created, due = r
    person = people.get(person_id)
    if service_id is None:
        service = hub or "-"
    else:
        service = services.get(int(service_id), f"service {service_id}")
    return {
        "id": rid,
        "person_id": person_id,
        "person_name": f"{person['given_name']} {person['family_name']}" if person else person_id,
        "person": person,
        "service": service,
        "status": status,
        "business_status": business,
        "direction": direction,
        "sent_sort": _day_of(created),
        "followup_due": None if due is None else _date(due),
    }

"""A link worker's day at a glance: follow-ups due, referrals waiting, people seen lately."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from directory.models import Service
from linkwork.actions.rows import referral_row
from linkwork.workspace import Workspace
from screening.people import list_people, person_dict
from screening.referrals import followups, list_referrals


def directory_size(ws: Workspace) -> int:
    """How many services the directory holds (opening, and migrating, the database first):
    the first thing the app asks, so it lives beside the day's summary and loads little."""
    with ws.session() as session:
        return int(session.execute(sa.select(sa.func.count(Service.id))).scalar_one())  # type: ignore[arg-type]


def home_summary(ws: Workspace, today: date) -> dict[str, Any]:
    """``followups``: open referrals whose follow-up is due by ``today`` (``referral_row``
    with ``due`` and ``overdue``); ``waiting``: referrals sent and not yet answered;
    ``recent``: the eight people added most recently (``person_dict``)."""
    with ws.session() as session:
        recent = [person_dict(p) for p in list_people(session, limit=8)]
        due = []
        for item in followups(session, today=today, soon_days=0, limit=50):
            row = referral_row(session, item.referral, today)
            row.update(due=item.referral.followup_due, overdue=item.state == "overdue")
            due.append(row)
        waiting = [
            referral_row(session, referral, today)
            for referral in list_referrals(session, status="requested", limit=50)
            if referral.direction == "outgoing"
        ]
    return {"recent": recent, "followups": due, "waiting": waiting}

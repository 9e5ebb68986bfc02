"""The link worker's week diary (issue 20 point 2, the app's diary screen): one action,
audited as a bulk view like the caseload."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from linkwork.actions import audit
from linkwork.workspace import Workspace
from screening.casework import diary


def week(
    ws: Workspace,
    day: date,
    *,
    everyone: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The week holding ``day`` (Monday to Sunday): ``start`` (ISO date of its Monday) and
    ``contacts`` (``screening.casework.diary.week``'s rows: the acting user's episodes, or
    ``everyone``'s)."""
    start = diary.week_start(day)
    with ws.session() as session:
        rows = diary.week(session, start, worker=None if everyone else ws.user, now=now)
        audit.bulk_view(
            session, ws, "diary", {"week": start.isoformat(), "everyone": everyone}, len(rows)
        )
        return {"start": start.isoformat(), "contacts": rows}

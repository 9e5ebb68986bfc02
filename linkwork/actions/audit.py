"""The audit trail: show events, verify the chain; the synthetic demo data."""

from __future__ import annotations

from datetime import date
from typing import Any

from linkwork import demo
from linkwork.errors import NotFound
from linkwork.workspace import Workspace
from screening.audit import ChainReport, event_dict, list_events, verify_chain
from screening.people import get_person


def make_demo(
    ws: Workspace, people: int = 200, seed: int | None = None, today: date | None = None
) -> dict[str, Any]:
    """Fill the database with ``people`` synthetic people and their records (screenings,
    needs, consents, referrals in every status, outcomes) over the 18 months up to
    ``today``, loading the sample directory first if the directory is empty. One audit
    event (``demo``) for the whole batch, by this workspace's user; follow-ups fall due
    after the workspace's ``followup_days``. The same ``seed`` and ``today`` give the same
    data. Returns the summary (counts by table, referral status, need domain and ethnic
    category; ``directory_loaded``; ``seconds``). ValueError if ``people`` is out of range."""
    with ws.session() as session:
        summary = demo.make_demo(
            session,
            people=people,
            seed=seed,
            actor=ws.user,
            followup_days=ws.settings.followup_days,
            today=today,
        )
    return summary.as_dict()


def audit_events(
    ws: Workspace, *, person: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest audit events, newest first (only those about ``person`` if given)."""
    with ws.session() as session:
        person_id = get_person(session, person).id if person else None
        events = [event_dict(e) for e in list_events(session, person_id=person_id, limit=limit)]
    if not events:
        raise NotFound("no audit events")
    return events


def verify_audit(ws: Workspace) -> ChainReport:
    """Check the audit trail's hash chain: the first row edited, removed or re-linked."""
    with ws.session() as session:
        return verify_chain(session)

"""The audit trail: show events, verify the chain; the synthetic demo data."""

from __future__ import annotations

from datetime import date
from typing import Any

from linkwork import demo
from linkwork.workspace import Workspace


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

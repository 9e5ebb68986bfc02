"""Each service's replies in its detail pane (issue 20 point 9): referrals sent, share
accepted and median days to accept are the rows of ``report timeliness --by service``,
disclosure-controlled (rounded, small numbers hidden, the median only beside 20 or more
accepted), read once per visit and audited as one report view."""

from __future__ import annotations

from typing import Any

import pytest
from casework_episode_support import ok, with_service

from linkwork.actions.replies import replies_text, service_replies
from linkwork.settings import load_settings
from linkwork.workspace import Workspace

SERVICE = "Riverside Money Advice"

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def refer_people(cli: Any, db: str, service: int, people: int, accept: int) -> None:
    for n in range(people):
        pid = ok(cli, "person", "add", "--given", "P", "--family", f"Person{n}",
                 "--birth-date", "01/01/1980", db=db)["id"]  # fmt: skip
        ok(cli, "need", "add", pid, "--code", "Z59.6", db=db)
        made = ok(cli, "refer", pid, "--need", "Z59.6", "--service", str(service),
                  "--consent", "verbal", "--shares", "needs", db=db)  # fmt: skip
        if n < accept:
            ok(cli, "referral", "status", made["id"], "accepted", db=db)


@sqlite_only
def test_replies_are_the_timeliness_rows_disclosure_controlled(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    service = with_service(db_url)
    ws = Workspace(load_settings(database_url=db_url))
    assert service_replies(ws) == {}
    assert replies_text(None) == "Replies: no referrals sent to this service yet."

    refer_people(cli, db_url, service, people=3, accept=2)
    few = service_replies(ws)[SERVICE]
    assert few == {"made": None, "accepted": None, "share_accepted": None, "median_days": None}
    assert "Replies: * referrals sent, * accepted" in replies_text(few)

    refer_people(cli, db_url, service, people=9, accept=7)  # 12 sent, 9 accepted in all
    stats = service_replies(ws)[SERVICE]
    # 12 -> 10 (nearest 5); no median below 20 accepted.
    assert stats["made"] == 10 and stats["median_days"] is None
    assert "median * (fewer than 20 accepted)" in replies_text(stats)
    # Exactly the figures of the report a data lead reads (decided once, hidden alike).
    report = cli("report", "timeliness", "--by", "service", "--format", "json", db=db_url)
    row = next(r for r in report.json()["rows"] if r["service"] == SERVICE)
    assert stats == {
        "made": row["made"],
        "accepted": row["accepted"],
        "share_accepted": row["accepted_rate"],
        "median_days": row["days_to_accept_median"],
    }

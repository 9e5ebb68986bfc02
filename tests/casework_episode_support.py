"""A whole social prescribing episode made through the CLI (no tests here): for the GP
summary, plan and casework-counts tests. Ann has three needs: housing (Z59.0, referred
to a directory service with needs shared), living alone (Z60.2, referred to a named hub
with needs shared) and unemployment (Z56.0, never referred: shared with no one); a fourth,
debt (Z65.8 would do: here Z59.6, low income), is withdrawn. Two goals, three contacts
(one did not attend), ONS4 at the start and at a review, a contact booked ahead."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from test_exchange_support import make_service

from linkwork import db as lwdb

PRACTICE = "Y02101"
SERVICE = "Riverside Money Advice"  # test_exchange_support.make_service's service
HUB = "Northside Hub"
CASE_NOTE = "Private: worried about her brother"  # a case note: never leaves the organisation


def ok(cli: Any, *args: str, db: str) -> Any:
    result = cli(*args, "--json", db=db)
    assert result.code == 0, (args, result.err)
    return result.json()


def local(days: int, hour: int = 10) -> str:
    return (datetime.now() + timedelta(days=days)).strftime(f"%Y-%m-%d {hour:02d}:00")


@dataclass
class Episode:
    person: str
    episode: str
    needs: dict[str, str] = field(default_factory=dict)  # code -> need id
    goals: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    referrals: list[str] = field(default_factory=list)


def with_service(url: str) -> int:
    engine = lwdb.open_engine(url)
    try:
        with lwdb.session_scope(engine) as session:
            return make_service(session)
    finally:
        engine.dispose()


def whole_episode(cli: Any, db: str, *, nhs: str | None = "9434765919") -> Episode:
    service = with_service(db)
    args = ["person", "add", "--given", "Ann", "--family", "Example", "--birth-date", "06/05/1970"]
    if nhs:
        args += ["--nhs-number", nhs]
    person = ok(cli, *args, db=db)["id"]
    needs = {}
    for code in ("Z59.0", "Z60.2", "Z56.0", "Z59.6"):
        needs[code] = ok(cli, "need", "add", person, "--code", code, db=db)["id"]
    assert cli("need", "withdraw", needs["Z59.6"], "--reason", "not theirs", db=db).code == 0
    episode = ok(cli, "episode", "start", person, db=db)["id"]
    made = Episode(person, episode, needs)
    ok(cli, "episode", "what-matters", person, "Getting back to my allotment", db=db)
    made.goals.append(ok(cli, "goal", "add", person, "Somewhere safe to live", "--need", "Z59.0", db=db)["id"])  # fmt: skip  # noqa: E501
    made.goals.append(ok(cli, "goal", "add", person, "Join a walking group", "--need", "Z60.2", db=db)["id"])  # fmt: skip  # noqa: E501
    tried = (
        (-20, "attended", "4,5,4,7"),
        (-13, "did-not-attend", None),
        (-6, "attended", "6,7,6,4"),
    )
    for days, status, ons4 in tried:
        extra = ["--ons4", ons4] if ons4 else []
        when = ["--when", local(days), "--kind", "phone", "--status", status, *extra]
        made.contacts.append(ok(cli, "contact", "add", person, *when, db=db)["id"])
    ahead = ["--when", local(5, 14), "--kind", "home-visit"]
    made.contacts.append(ok(cli, "contact", "add", person, *ahead, db=db)["id"])
    to_service = ["--service", str(service), "--reason", "needs somewhere to live"]
    consent = ["--consent", "verbal", "--shares", "needs"]
    made.referrals.append(
        ok(cli, "refer", person, "--need", "Z59.0", *to_service, *consent, db=db)["id"]
    )
    to_hub = ["--hub", HUB, "--consent", "written", "--shares", "needs"]
    made.referrals.append(ok(cli, "refer", person, "--need", "Z60.2", *to_hub, db=db)["id"])
    ok(cli, "goal", "progress", made.goals[0], "some", db=db)
    ok(cli, "note", "add", person, CASE_NOTE, db=db)
    return made

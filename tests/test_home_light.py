"""The home screen's summary (issue 22, start-up): read on the embedded database with its
driver alone, so the app's home fills before SQLAlchemy and the models load; the same rows
as the domain's own queries (``list_people``, ``followups``, ``list_referrals``,
``referral_row``: what the home showed before), on SQLite and on PostgreSQL, where a member
of staff sees only their organisations' rows (row-level security)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_access_pg import A, B, Site, site  # noqa: F401  (the staff logins fixture)

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 3, 2)
ACTOR = "sam.linkworker"
# What the home's first fill must not load: the ORM, the models, the migrations.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "directory.models", "screening.models")


def _when(day: int, month: int = 2, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 30, tzinfo=UTC)


def nhs_number(n: int) -> str:
    """A valid NHS number in the 999 test range (modulus 11 check digit)."""
    for k in range(n * 10, n * 10 + 10):
        body = f"999000{k:03d}"
        check = 11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11
        if check != 10:
            return body + str(check % 11)
    raise AssertionError(n)


def seed(url: str) -> None:
    """Ten people (more than the eight the home lists), added a day apart, in two
    organisations; referrals covering every case the home sorts: overdue, due today and
    due later, open and closed, outgoing and incoming, to a service and to a hub, one
    with a business status, one sent late in the evening (UTC)."""
    from sqlmodel import select

    from directory.models import Service
    from linkwork.db import open_engine, session_scope
    from linkwork.sample import load_sample_directory
    from screening.needs import add_need
    from screening.people import create_person
    from screening.referrals import create_referral, set_status

    engine = open_engine(url)
    with session_scope(engine) as session:
        session.info["org"] = A
        load_sample_directory(session)
        services = [s.id for s in session.exec(select(Service).order_by(Service.id)).all()][:3]
        people = []
        for n in range(10):
            session.info["org"] = A if n % 2 == 0 else B
            person = create_person(
                session,
                given_name=f"Given{n}",
                family_name=f"Family{n}",
                birth_date=date(1950 + n, 1 + n, 10 + n),
                nhs_number=None if n == 3 else nhs_number(n),
                postcode="" if n == 5 else f"ZZ{n} 1AA",
                practice_ods=A if n % 2 == 0 else B,
                actor=ACTOR,
            )
            person.created_at = datetime(2026, 1, 1 + n, 9, 0, tzinfo=UTC)
            session.add(person)
            session.flush()
            people.append(person)

        def refer(n: int, when: datetime, days: int = 14, **kw: Any) -> Any:
            session.info["org"] = A if n % 2 == 0 else B
            need = add_need(
                session, people[n], "Z59.4", actor=ACTOR, words="skipping meals", recorded_at=when
            )
            kw.setdefault("service_id", None if "hub" in kw else services[n % 3])
            return create_referral(
                session, people[n], [need], actor=ACTOR, at=when, followup_days=days,
                require_consent=False, reason="help", **kw,
            )  # fmt: skip

        refer(0, _when(3))  # due 17 Feb: overdue, and waiting
        refer(1, _when(16), hub="Leeds Hub")  # due today, to a hub
        refer(2, _when(20, hour=23))  # due later; sent late in the evening
        refer(3, _when(4), business_status="triaged")  # overdue, with a business status
        accepted = refer(4, _when(5))
        set_status(session, accepted, "accepted", actor="hub", at=_when(6))  # overdue, open
        rejected = refer(5, _when(6))
        set_status(session, rejected, "rejected", actor="hub", reason="full", at=_when(7))
        refer(6, _when(7), send=False)  # a draft: open, overdue, not waiting
        refer(7, _when(8), direction="incoming", origin="Y99999")  # incoming: neither
        refer(8, _when(1, month=3), days=2)  # due tomorrow
        refer(9, _when(9), days=0)  # due the day it was sent
    engine.dispose()


def domain_summary(ws: Any, today: date) -> dict[str, Any]:
    """What the home showed before: the domain's own queries through the ORM."""
    from linkwork.actions.rows import referral_row
    from screening.people import list_people, person_dict
    from screening.referrals import followups, list_referrals

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


def _same_rows(light: dict[str, Any], domain: dict[str, Any]) -> None:
    """Every row the domain gives, in its order, with each field the light row holds."""
    for key in ("recent", "followups", "waiting"):
        assert len(light[key]) == len(domain[key]), key
        for mine, theirs in zip(light[key], domain[key], strict=True):
            assert mine == {k: theirs[k] for k in mine}, key


def today_summary(ws: Any) -> dict[str, Any]:
    from linkwork.actions import today

    return dict(today.home_summary(ws, TODAY))


def _workspace(url: str) -> Any:
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    return Workspace(load_settings(database_url=url))


# What the seed makes the home list on TODAY, worked out by hand: follow-ups by due date
# (person, due, overdue); referrals waiting, last sent first (person, sent, business
# status); people added last first.
FOLLOWUPS = [
    (9, date(2026, 2, 9), True),
    (0, date(2026, 2, 17), True),
    (3, date(2026, 2, 18), True),
    (4, date(2026, 2, 19), True),
    (6, date(2026, 2, 21), True),
    (1, date(2026, 3, 2), False),
]
WAITING = [
    (8, date(2026, 3, 1), ""),
    (2, date(2026, 2, 20), ""),
    (1, date(2026, 2, 16), ""),
    (9, date(2026, 2, 9), ""),
    (3, date(2026, 2, 4), "triaged"),
    (0, date(2026, 2, 3), ""),
]


def _listed(summary: dict[str, Any]) -> tuple[list[Any], list[Any], list[str]]:
    followups = [(r["person_name"], r["due"], r["overdue"]) for r in summary["followups"]]
    waiting = [(r["person_name"], r["sent_sort"], r["business_status"]) for r in summary["waiting"]]
    return followups, waiting, [p["family_name"] for p in summary["recent"]]


def _expected(shown: set[int]) -> tuple[list[Any], list[Any], list[str]]:
    name = "Given{0} Family{0}".format
    return (
        [(name(n), due, late) for n, due, late in FOLLOWUPS if n in shown],
        [(name(n), sent, status) for n, sent, status in WAITING if n in shown],
        [f"Family{n}" for n in range(9, -1, -1) if n in shown][:8],
    )


def test_the_home_summary_is_the_domain_queries_rows(db_url: str) -> None:
    from linkwork.actions import today
    from screening.referrals import OPEN

    assert today.OPEN == OPEN
    seed(db_url)
    ws = _workspace(db_url)
    light = today.home_summary(ws, TODAY)
    # on SQLite the file was read with its driver alone: the engine is not open yet
    assert ws.is_open == db_url.startswith("postgresql")
    _same_rows(light, domain_summary(_workspace(db_url), TODAY))
    assert _listed(light) == _expected(set(range(10)))
    hub = [r["service"] for r in light["waiting"] if r["person_name"] == "Given1 Family1"]
    assert hub == ["Leeds Hub"]
    # read again through the open engine (as once the app has warmed up): the same
    assert ws.engine is not None and ws.is_open
    assert today.home_summary(ws, TODAY) == light
    assert today.directory_size(ws) == 400


def test_a_member_of_staff_sees_only_their_organisations_rows_on_the_home(
    site: Site,  # noqa: F811
) -> None:
    from linkwork.actions import today

    seed(site.owner_url)
    even, odd = set(range(0, 10, 2)), set(range(1, 10, 2))
    for who, shown in (("worker_a", even), ("worker_b", odd), ("pcn", even | odd)):
        url = site.logins[who].url
        light = today.home_summary(_workspace(url), TODAY)
        _same_rows(light, domain_summary(_workspace(url), TODAY))
        assert _listed(light) == _expected(shown), who


PROBE = """
import json, sys
from datetime import date
from linkwork.settings import load_settings
from tui.app import LinkworkApp

HEAVY = {heavy!r}
app = LinkworkApp(load_settings(database_url=sys.argv[1]), timing_file=sys.argv[3],
                  today=date(2026, 3, 2))
filled = app.home_filled


def probe():
    if "home_filled" not in app.timings:
        screen = app.screen
        found = {{
            "heavy": sorted(m for m in sys.modules if m.startswith(HEAVY)),
            "sqlcipher": "sqlcipher3" in sys.modules,
            "status": str(screen.query_one("#home-status").render()),
            "rows": screen.rows,
        }}
        with open(sys.argv[2], "w") as out:
            json.dump(found, out, default=str)
    filled()


app.home_filled = probe
if len(sys.argv) > 4:
    app.workspace.set_passphrase(sys.argv[4])
app.run(headless=True)
"""


# The same, the passphrase typed on the app's own screen (as a person starting the app on
# the default, encrypted, database does): the key is checked by reading the file.
TYPED = PROBE.replace(
    """if len(sys.argv) > 4:
    app.workspace.set_passphrase(sys.argv[4])
app.run(headless=True)
""",
    """import asyncio


async def main():
    async with app.run_test() as pilot:
        while not app.screen.query("#db-pass"):
            await pilot.pause(0.02)
        app.screen.query_one("#db-pass").value = sys.argv[4]
        await pilot.press("enter")
        while "home_filled" not in app.timings:
            await pilot.pause(0.02)


asyncio.run(main())
""",
)


def _probe(url: str, tmp_path: Path, *passphrase: str, typed: bool = False) -> dict[str, Any]:
    script = (TYPED if typed else PROBE).format(heavy=HEAVY)
    out, timing = tmp_path / "probe.json", tmp_path / "timing.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_DB_")}
    done = subprocess.run(
        [sys.executable, "-c", script, url, str(out), str(timing), *passphrase],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(out.read_text()))


def _shown(found: dict[str, Any]) -> None:
    """The fixed practice (tests/tui_seed.py) as the home shows it on its clock."""
    assert found["status"] == (
        "Monday 02 March 2026.  Directory: 400 services.  "
        "2 follow-ups due (2 overdue), 1 referral waiting."
    )
    followups = [r["person_name"] for r in found["rows"]["followups"]]
    assert followups == ["Robin Ashworth", "Priya Chaudhry"]
    assert [r["person_name"] for r in found["rows"]["waiting"]] == ["Robin Ashworth"]
    assert [p["family_name"] for p in found["rows"]["recent"]] == ["Nowak", "Chaudhry", "Ashworth"]


def test_the_app_fills_its_home_without_sqlalchemy_on_the_embedded_database(
    tui_practice_url: str, tmp_path: Path
) -> None:
    found = _probe(tui_practice_url, tmp_path)
    assert found["heavy"] == []
    _shown(found)


def test_the_encrypted_database_fills_the_home_keyed_without_sqlalchemy(
    tui_practice_url: str, tmp_path: Path
) -> None:
    from linkwork.atrest import sqlite_path
    from linkwork.dbcrypt import encrypt_sqlite_file

    plain = sqlite_path(tui_practice_url)
    assert plain is not None
    path = tmp_path / "secret" / "linkwork.db"
    path.parent.mkdir()
    shutil.copy(plain, path)
    encrypt_sqlite_file(path, 'a "quoted" passphrase')
    url = f"sqlite+pysqlcipher:///{path}"
    found = _probe(url, tmp_path, 'a "quoted" passphrase')
    assert found["heavy"] == [] and found["sqlcipher"]
    _shown(found)
    found = _probe(url, tmp_path, 'a "quoted" passphrase', typed=True)
    assert found["heavy"] == [] and found["sqlcipher"]
    _shown(found)


def test_a_wrong_passphrase_is_still_refused_in_words(
    tui_practice_url: str, tmp_path: Path
) -> None:
    """The key checked by reading the file: a wrong one still gets the usual refusal."""
    from linkwork.actions.database import unlock
    from linkwork.atrest import sqlite_path
    from linkwork.dbcrypt import encrypt_sqlite_file

    plain = sqlite_path(tui_practice_url)
    assert plain is not None
    path = tmp_path / "linkwork.db"
    shutil.copy(plain, path)
    encrypt_sqlite_file(path, "the right passphrase")
    ws = _workspace(f"sqlite+pysqlcipher:///{path}")
    refused = f"^wrong passphrase for the database {re.escape(str(path))}: nothing was changed$"
    with pytest.raises(ValueError, match=refused):
        unlock(ws, "not the passphrase")
    assert ws.passphrase is None and not ws.is_open
    unlock(ws, "the right passphrase")
    assert ws.passphrase == "the right passphrase" and not ws.is_open
    assert today_summary(ws)["recent"][0]["family_name"] == "Nowak"

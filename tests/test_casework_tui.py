"""A whole social prescribing episode in the app, by keyboard, settling once per step:
start, what matters, two goals, three contacts (one did not attend, in two keys), a
referral (the referral wizard), ONS4 at the start and at a review, the plan, and the close
with the summary for the GP; then the caseload and the week diary show it."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from textual.widgets import DataTable, Static

from linkwork.db import open_engine
from linkwork.settings import load_settings
from tui.app import LinkworkApp

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def seeded(tui_practice_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LINKWORK_USER", tui_seed.ACTOR)
    monkeypatch.setenv("LINKWORK_PRACTICE", "Y02101")
    return tui_practice_url  # a copy of tests/tui_seed.py's practice


def cells(table: DataTable[Any]) -> list[str]:
    return [" | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def local(days: int, hour: int = 10) -> str:
    return (datetime.now() + timedelta(days=days)).strftime(f"%d/%m/%Y {hour:02d}:00")


def db_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


async def step(pilot: Any, *keys: str) -> None:
    """Press keys (letters typed together are one step), then settle once."""
    await tui_seed.press(pilot, *keys)
    await tui_seed.settle(pilot)


async def fill(pilot: Any, *values: str) -> None:
    """In a casework form: type each field's value (replacing what is there), Enter to
    the next; the last Enter saves."""
    from textual.widgets import Input

    for value in values:
        field = pilot.app.screen.focused
        assert isinstance(field, Input), type(field)
        field.value = ""
        await tui_seed.press(pilot, *value, "enter")
        await pilot.pause()
    await tui_seed.settle(pilot)


async def test_a_whole_episode_in_the_app(seeded: str, tmp_path: Path) -> None:
    app = LinkworkApp(load_settings(database_url=seeded), today=date.today())
    app.service_search.in_process = True  # the sample searched in this process (tui_seed.make_app)
    plan, summary = tmp_path / "plan.pdf", tmp_path / "gp.json"
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.settle(pilot)
        await step(pilot, "f2", *"ash")
        await step(pilot, "enter")
        await step(pilot, "enter")
        assert type(app.screen).__name__ == "PersonScreen"
        await step(pilot, "w")
        screen = app.screen
        assert type(screen).__name__ == "PersonCaseworkScreen"
        head = str(screen.query_one("#cw-episode", Static).render())
        assert "No social prescribing episode yet" in head

        await step(pilot, "s")
        await fill(pilot, "gp")
        assert "Episode OPEN since" in str(screen.query_one("#cw-episode", Static).render())
        await step(pilot, "w")
        await fill(pilot, "Getting back to my allotment")
        assert "Getting back to my allotment" in str(
            screen.query_one("#cw-matters", Static).render()
        )
        await step(pilot, "g")
        await fill(pilot, "Somewhere safe to live", "Z59.0", "")
        await step(pilot, "g")
        await fill(pilot, "Eat three meals a day", "Z59.4", "")
        goals = cells(screen.query_one("#cw-goals", DataTable))
        assert len(goals) == 2 and "Z59.0" in goals[0] and "NOT STARTED" in goals[0]

        # Contact 1: attended, ONS4 at the start.
        await step(pilot, "c")
        await fill(pilot, local(-14), "phone", "attended", "30", "4,5,4,7", "first talk")
        # Contact 2: booked, its time passed without them: did not attend, in two keys.
        await step(pilot, "b")
        await fill(pilot, local(-7), "face-to-face")
        contacts = screen.query_one("#cw-contacts", DataTable)
        assert "NO OUTCOME YET" in cells(contacts)[1]
        contacts.focus()
        contacts.move_cursor(row=1)
        await step(pilot, "d")
        assert "Y to confirm" in str(screen.query_one("#cw-prompt", Static).render())
        await step(pilot, "y")
        assert "DID NOT ATTEND" in cells(contacts)[1]
        # Contact 3: attended, ONS4 at the review; then the next one booked.
        await step(pilot, "c")
        await fill(pilot, local(-1), "video", "attended", "", "6,7,6,4", "")
        await step(pilot, "b")
        await fill(pilot, local(7, 14), "home-visit")
        rows = cells(contacts)
        assert [r.split(" | ")[2] for r in rows] == [
            "ATTENDED",
            "DID NOT ATTEND",
            "ATTENDED",
            "BOOKED",
        ]
        trend = str(screen.query_one("#cw-trend", Static).render())
        assert "start" in trend and "4,5,4,7" in trend and "review" in trend and "6,7,6,4" in trend
        goals_table = screen.query_one("#cw-goals", DataTable)
        goals_table.focus()
        goals_table.move_cursor(row=0)
        await step(pilot, "p")
        await fill(pilot, "some", "")
        assert "SOME" in cells(goals_table)[0]

        # A referral for the housing need, by the referral wizard (no partner: recorded).
        await step(pilot, "escape")
        await step(pilot, "f4", *"homeles shelter")
        await step(pilot, "ctrl+r")
        assert type(app.screen).__name__ == "ReferScreen"
        app.screen.query_one("#consent-given").focus()
        await step(pilot, "space", "ctrl+n")
        app.screen.query_one("#refer-reason").focus()
        await step(pilot, *"needs somewhere to live", "enter")
        await step(pilot, "ctrl+s")
        assert db_rows(seeded, "SELECT count(*) FROM referral WHERE reason LIKE 'needs some%'") == [
            (1,)
        ]

        # Back to the casework: the plan, then the close with the GP summary.
        app.action_casework()
        await tui_seed.settle(pilot)
        screen = app.screen
        assert type(screen).__name__ == "PersonCaseworkScreen"
        await step(pilot, "l")
        await fill(pilot, str(plan), "n", "n")
        assert plan.read_bytes().startswith(b"%PDF-")
        await step(pilot, "x")
        await fill(pilot, "goals-met", "housed and eating well", str(summary))
        notes = [n.message for n in app._notifications]
        assert "CLOSED" in str(screen.query_one("#cw-episode", Static).render()), notes

    bundle = json.loads(summary.read_text())
    assert bundle["type"] == "document"
    assert bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Goal") == 2 and kinds.count("Observation") == 8
    assert db_rows(seeded, "SELECT status, end_reason FROM episode") == [("closed", "goals-met")]
    statuses = db_rows(seeded, "SELECT status FROM contact ORDER BY at")
    assert [s for (s,) in statuses] == ["attended", "did-not-attend", "attended", "booked"]
    actions = db_rows(
        seeded, "SELECT action, entity FROM audit_event WHERE entity IN ('plan', 'gp-summary')"
    )
    assert sorted(actions) == [("export", "gp-summary"), ("export", "plan")]


async def test_caseload_and_diary_from_home_and_palette(seeded: str) -> None:
    from linkwork.actions import casework
    from linkwork.workspace import Workspace

    ws = Workspace(load_settings(database_url=seeded))
    casework.start_episode(ws, tui_seed.pid(1))
    casework.add_contact(ws, tui_seed.pid(1), at=local(-2), kind="phone", status="attended")
    casework.start_episode(ws, tui_seed.pid(2))
    casework.add_contact(ws, tui_seed.pid(2), at=local(0, 23), kind="group", status="booked")
    # Booked for midnight today: its time has passed, it can be marked did-not-attend.
    missed = casework.add_contact(
        ws, tui_seed.pid(1), at=local(0, 0), kind="video", status="booked"
    )
    app = LinkworkApp(load_settings(database_url=seeded), today=date.today())
    app.service_search.in_process = True  # the sample searched in this process (tui_seed.make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await tui_seed.settle(pilot)
        await step(pilot, "k")
        assert type(app.screen).__name__ == "CaseloadScreen"
        table = app.screen.query_one("#cl-table", DataTable)
        names = [r.split(" | ")[0] for r in cells(table)]
        assert sorted(names) == ["Priya Chaudhry", "Robin Ashworth"]
        status = str(app.screen.query_one("#cl-status", Static).render())
        assert "2 open episodes (yours)" in status and "needs attention first" in status
        await step(pilot, "o")  # next contact first: Priya's is booked, Robin has none
        assert "next contact first" in str(app.screen.query_one("#cl-status", Static).render())
        assert cells(table)[0].startswith("Priya Chaudhry")
        await step(pilot, "o", "o")  # by name
        assert [r.split(" | ")[0] for r in cells(table)] == ["Priya Chaudhry", "Robin Ashworth"]
        await step(pilot, "enter")
        assert type(app.screen).__name__ == "PersonCaseworkScreen"
        assert app.person is not None and app.person.name == "Priya Chaudhry"
        await step(pilot, "escape")
        await step(pilot, "escape")
        # The week diary from the palette.
        await step(pilot, "ctrl+p")
        await step(pilot, *"week diary")
        await step(pilot, "enter")
        assert type(app.screen).__name__ == "DiaryScreen"
        rows = cells(app.screen.query_one("#dy-table", DataTable))
        week_of = date.today() - timedelta(days=date.today().weekday())
        names = [r.split(" | ")[2] for r in rows]
        assert "Priya Chaudhry" in names and any("BOOKED" in r for r in rows), rows
        robin_earlier = date.today() - timedelta(days=2) >= week_of
        assert names.count("Robin Ashworth") == (2 if robin_earlier else 1), rows
        # Did not attend, in two keys, on the missed booking.
        table = app.screen.query_one("#dy-table", DataTable)
        table.move_cursor(row=names.index("Robin Ashworth") + (1 if robin_earlier else 0))
        await step(pilot, "d")
        assert "Y to confirm" in str(app.screen.query_one("#dy-prompt", Static).render())
        await step(pilot, "y")
        assert db_rows(seeded, f"SELECT status FROM contact WHERE id = '{missed['id']}'") == [
            ("did-not-attend",)
        ]
        assert any("DID NOT ATTEND" in r for r in cells(table))

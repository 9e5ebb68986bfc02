"""The link worker's whole day in the app, by keyboard: open, find a person, screen,
confirm a need, search a service by typing a lay phrase with a typo, refer with consent,
see the referral on the person's timeline, update its status."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import tui_seed
from textual.widgets import DataTable, Static

from linkwork.db import open_engine, session_scope
from linkwork.settings import load_settings
from tui.app import LinkworkApp

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def practice(isolated_home: Path, tmp_path: Path) -> dict[str, Any]:
    """The sample directory, one person, our key and a trusted hub's public key."""
    from linkwork.sample import load_sample_directory
    from screening.exchange.keys import load_public_key, trust_key, write_key_pair
    from screening.people import create_person

    settings = load_settings()
    engine = open_engine(settings.resolved_database_url())
    write_key_pair(settings.dir_or_default("keys_dir"), "practice")
    hub = write_key_pair(tmp_path / "hub-keys", "hub")
    with session_scope(engine) as session:
        load_sample_directory(session)
        trust_key(session, load_public_key(hub.public), "Wellbeing Hub", "test.worker")
        create_person(
            session,
            given_name="Robin",
            family_name="Ashworth",
            birth_date=date(1961, 7, 3),
            nhs_number="9434765919",
            postcode="ZZ1 1AA",
            actor="test.worker",
        )
    engine.dispose()
    return {"settings": settings}


def cell_texts(table: DataTable[Any]) -> list[str]:
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


async def wait(pilot: Any, app: LinkworkApp) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def test_whole_day_by_keyboard(practice: dict[str, Any]) -> None:
    settings = practice["settings"]
    app = LinkworkApp(settings, today=date.today())
    app.service_search.in_process = True  # the sample searched in this process (tui_seed.make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(pilot, app)
        assert app.directory_size == 400

        # Find the person by a fragment of the name and open the record.
        await tui_seed.press(pilot, "f2", *"ashw")
        await wait(pilot, app)
        await pilot.press("enter", "enter")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PersonScreen"
        assert app.person is not None and app.person.name == "Robin Ashworth"

        # Screen: first section (housing), choose "sofa surfing" by keyboard, then move
        # through the remaining sections without answering.
        await pilot.press("s")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "ScreeningScreen"
        assert "Section 1 of" in str(app.screen.query_one("#scr-title", Static).render())
        await pilot.press("down", "down", "enter")  # third option: sofa surfing
        sections = len(app.screen.sections)  # type: ignore[attr-defined]
        for _ in range(sections):
            await pilot.press("ctrl+n")
            await pilot.pause()
        await wait(pilot, app)
        table = app.screen.query_one("#scr-suggestions", DataTable)
        rows = cell_texts(table)
        assert any("Z59.0" in r and "to decide" in r for r in rows), rows

        # Confirm the suggested need.
        await pilot.press("y")
        await wait(pilot, app)
        assert any("Z59.0" in r and "CONFIRMED" in r for r in cell_texts(table))
        await pilot.press("escape")
        await wait(pilot, app)
        needs = app.screen.query_one("#person-needs", DataTable)
        assert any("Z59.0" in r and "ACTIVE" in r for r in cell_texts(needs))

        # Find a service by a lay phrase with a typo.
        await tui_seed.press(pilot, "f4", *"homeles shelter")
        await wait(pilot, app)
        results = app.screen.query_one("#svc-results", DataTable)
        assert results.row_count > 0
        detail = str(app.screen.query_one("#svc-detail", Static).render())
        assert "Last verified" in detail
        service_name = app.screen.matches[0].name  # type: ignore[attr-defined]

        # Refer: consent cannot be skipped.
        await pilot.press("ctrl+r")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "ReferScreen"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.step == 0  # type: ignore[attr-defined]
        app.screen.query_one("#consent-given").focus()
        await pilot.press("space", "ctrl+n")
        await pilot.pause()
        assert app.screen.step == 1  # type: ignore[attr-defined]
        app.screen.query_one("#refer-reason").focus()
        await tui_seed.press(pilot, *"sofa surfing, needs a place", "enter")
        await wait(pilot, app)
        assert app.screen.step == 2  # type: ignore[attr-defined]
        review = str(app.screen.query_one("#refer-review", Static).render())
        assert "GIVEN" in review and "Z59.0" in review and service_name in review
        await pilot.press("ctrl+s")
        await wait(pilot, app)

        # The referral is on the person's timeline with its status; the file is in the outbox.
        assert type(app.screen).__name__ == "PersonScreen"
        timeline = app.screen.query_one("#person-timeline", DataTable)
        # Newest first: what was shared with the hub, then the referral REQUESTED.
        assert "SHARED" in cell_texts(timeline)[0] and "REQUESTED" in cell_texts(timeline)[1]
        newest = str(app.screen.query_one("#person-detail", Static).render())  # in full
        assert re.search(  # the referral by its short id, as the CLI asks for it
            rf"Shared with Wellbeing Hub \(referral [0-9a-f]{{8}} "
            rf"to {re.escape(service_name)}\): SHARED",
            newest,
        ), newest
        assert "needs Z59.0 Homelessness; contact: postcode; no equality answers" in newest
        outbox = settings.dir_or_default("outbox")
        files = list(outbox.glob("referral-*.jwe"))
        assert len(files) == 1 and files[0].read_text().count(".") == 4  # compact JWE

        # Update its status from the referrals board, with the status chosen by keyboard.
        await pilot.press("f5")
        await wait(pilot, app)
        board = app.screen.query_one("#ref-table", DataTable)
        assert any("REQUESTED" in r for r in cell_texts(board))
        await pilot.press("u")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "StatusScreen"
        await pilot.press("enter", "down", "enter")  # open the list, pick "accepted"
        await pilot.press("ctrl+s")
        await wait(pilot, app)
        board = app.screen.query_one("#ref-table", DataTable)
        assert any("ACCEPTED" in r for r in cell_texts(board)), cell_texts(board)

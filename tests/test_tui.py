"""Pilot-driven tests of the linkwork app: navigation, empty states, theme, forms, and
(as each domain part lands) the link worker's day."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import tui_seed
from textual.widgets import DataTable, Input, Static

from linkwork.settings import load_settings
from tui.app import LinkworkApp

pytestmark = pytest.mark.anyio

TODAY = date(2026, 11, 24)
SIZE = (120, 40)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_app(**kw: object) -> LinkworkApp:
    kw.setdefault("today", TODAY)
    return LinkworkApp(load_settings(), **kw)  # type: ignore[arg-type]


@pytest.fixture
def migrated(isolated_home: Path, sqlite_template: Path) -> None:
    """The app's database (the test's own, conftest.isolated_home) made and migrated
    already, empty: a copy of conftest's migrated template, as the app would make it on
    opening, rather than migrating a new file in every app (its commits waited on the
    disk). test_new_database_shows_empty_state_offering_sample keeps a new file."""
    isolated_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(sqlite_template, isolated_home / "linkwork.db")


async def settle(pilot, app: LinkworkApp, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for the app's workers (database open, searches) to finish."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def text_of(app: LinkworkApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


@pytest.mark.usefixtures("migrated")
async def test_every_section_reachable_by_function_keys() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        seen = {}
        for key in ("f2", "f3", "f4", "f5", "f6", "f1"):
            await pilot.press(key)
            await pilot.pause()
            seen[key] = type(app.screen).__name__
    assert seen == {
        "f2": "PeopleScreen",
        "f3": "CodesScreen",
        "f4": "ServicesScreen",
        "f5": "ReferralsScreen",
        "f6": "CountsScreen",
        "f1": "HomeScreen",
    }


async def test_new_database_shows_empty_state_offering_sample() -> None:
    app = make_app(autoload_sample=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.db_ready
        assert app.directory_size == 0
        empty = app.screen.query_one("#home-empty")
        assert empty.display
        assert "Press L to load the bundled sample directory" in str(empty.render())


@pytest.mark.usefixtures("migrated")
async def test_theme_toggles_between_dark_and_light() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-dark"


@pytest.mark.usefixtures("migrated")
async def test_command_palette_lists_screens() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await tui_seed.press(pilot, *"find a serv")
        await tui_seed.settle(pilot)  # the palette's search (a worker) has finished
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ServicesScreen"


@pytest.mark.usefixtures("migrated")
async def test_add_person_form_shows_inline_errors() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2", "ctrl+n")
        await pilot.pause()
        assert type(app.screen).__name__ == "AddPersonScreen"
        app.screen.query_one("#p-nhs_number", Input).focus()
        await tui_seed.press(pilot, *"9434765918")  # wrong check digit (9434765919 is valid)
        app.screen.query_one("#p-postcode", Input).focus()
        await tui_seed.press(pilot, *"NOT A CODE")
        app.screen.query_one("#p-birth_date", Input).focus()
        await tui_seed.press(pilot, *"31/02/1990")
        await pilot.pause()
        assert "check digit" in text_of(app, "#err-nhs_number")
        assert "postcode" in text_of(app, "#err-postcode").lower()
        # The format is right but the day does not exist: said so, not "use DD/MM/YYYY".
        assert "not a real date" in text_of(app, "#err-birth_date")
        app.screen.query_one("#p-birth_date", Input).value = "1990/31"
        await pilot.pause()
        assert "DD/MM/YYYY" in text_of(app, "#err-birth_date")
        # Fixing the NHS number clears its error.
        app.screen.query_one("#p-nhs_number", Input).value = "9434765919"
        await pilot.pause()
        assert text_of(app, "#err-nhs_number") == ""
        # Saving with problems keeps the form open.
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "AddPersonScreen"


@pytest.mark.usefixtures("migrated")
async def test_refer_needs_a_person_first() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.action_refer(1, "Some service")
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"
        assert any("Choose a person first" in str(n.message) for n in app._notifications)


@pytest.mark.usefixtures("migrated")
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_home_fits_small_and_large_terminals(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        footer = app.screen.query_one("Footer")
        assert footer.region.bottom == size[1]
        assert app.screen.query_one("#home-status").region.width <= size[0]
        assert isinstance(app.screen.query_one("#home-recent"), DataTable)


def test_stale_service_warning_is_in_words() -> None:
    from types import SimpleNamespace

    from tui.widgets.service_detail import render_service

    match = SimpleNamespace(
        name="Old Lane Food Bank",
        organisation="Old Lane Trust",
        last_verified=date(2024, 5, 1),
        stale=False,
        why=["food bank"],
        id="svc-1",
    )
    text = render_service(match, None, today=TODAY, stale_months=12).plain
    assert "Last verified: 01 May 2024 (30 months ago)" in text
    assert "STALE: not verified in the last 12 months" in text
    fresh = SimpleNamespace(**{**vars(match), "last_verified": date(2026, 10, 1)})
    assert "STALE" not in render_service(fresh, None, today=TODAY, stale_months=12).plain


def test_opening_hours_read_as_day_ranges() -> None:
    from tui.widgets.service_detail import opening_lines

    week = [{"day": d, "opens": "09:00", "closes": "17:00"} for d in range(1, 6)]
    assert opening_lines([*week, {"day": 6, "opens": "10:00", "closes": "12:00"}]) == [
        "Mon-Fri 09:00-17:00",
        "Sat 10:00-12:00",
    ]


@pytest.mark.usefixtures("migrated")
async def test_codes_update_as_you_type() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await tui_seed.press(pilot, "f3", *"sofa surfin")
        await settle(pilot, app)
        table = app.screen.query_one("#code-results", DataTable)
        first = [str(c) for c in table.get_row_at(0)]
        assert first[0] == "Z59.0"
        await tui_seed.press(pilot, *["backspace"] * 11, *"racist abuse")
        await settle(pilot, app)
        codes = [str(table.get_row_at(i)[0]) for i in range(min(3, table.row_count))]
        assert "Z60.5" in codes


@pytest.fixture
def seeded_url(tui_practice_url: str) -> str:
    return tui_practice_url  # a copy of tests/tui_seed.py's practice (tests/conftest.py)


async def test_counts_show_suppressed_cells_as_star(seeded_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=seeded_url), today=TODAY, build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        table = app.screen.query_one("#counts-table", DataTable)
        rows = {
            str(table.get_row_at(i)[0]): str(table.get_row_at(i)[-1])
            for i in range(table.row_count)
        }
        # One person each with a housing, food, money or isolation need: below 8, so hidden;
        # and the whole practice has fewer than 10 people, so even its zeros are hidden (a
        # '0' beside a '*' would tell which needs its few people have) and so is the total.
        assert rows["Housing and homelessness"] == "*"
        assert rows["Food"] == "*"
        assert set(rows.values()) == {"*"} and rows["All"] == "*"
        chart = str(app.screen.query_one("#counts-chart").render())
        assert "* (suppressed: fewer than 8)" in chart


async def test_status_change_needing_a_reason_is_refused_inline(seeded_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=seeded_url), today=TODAY, build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        await settle(pilot, app)
        # The board lists open referrals first: the top one is requested or accepted.
        await pilot.press("u")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "StatusScreen"
        allowed = app.screen.referral["allowed"]  # type: ignore[attr-defined]
        target = "cancelled"
        assert target in allowed
        app.screen.query_one("#new-status").value = target  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "StatusScreen"
        assert "A reason is needed for cancelled" in text_of(app, "#status-error")
        app.screen.query_one("#reason", Input).value = "Moved out of the area"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferralsScreen"
        board = app.screen.query_one("#ref-table", DataTable)
        statuses = [str(board.get_row_at(i)[1]) for i in range(board.row_count)]  # after Ref
        assert "CANCELLED" in statuses


@pytest.mark.usefixtures("migrated")
async def test_unexpected_failure_is_a_plain_notification_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tui.widgets import service_detail

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)

        def broken(*_: object, **__: object) -> None:
            raise ZeroDivisionError("boom")

        monkeypatch.setattr(app.actions.today, "home_summary", broken)
        await pilot.press("r")  # reload the home screen
        await settle(pilot, app)
        # A worker with no handler of its own fails too: still only a notification.
        original = service_detail.render_service
        service_detail.render_service = broken  # type: ignore[assignment]
        try:
            app.screen.run_worker(lambda: broken(), thread=True, exit_on_error=False)
            await settle(pilot, app)
        finally:
            service_detail.render_service = original
        messages = [str(n.message) for n in app._notifications]
        assert any("something went wrong (ZeroDivisionError)" in m for m in messages)
        assert not any("Traceback" in m or "boom" in m for m in messages)
        assert app.is_running

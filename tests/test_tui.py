"""Pilot-driven tests of the linkwork app: navigation, empty states, theme, forms, and
(as each domain part lands) the link worker's day."""

from __future__ import annotations

from datetime import date

import pytest
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


async def settle(pilot, app: LinkworkApp, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for the app's workers (database open, searches) to finish."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def text_of(app: LinkworkApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


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


async def test_theme_toggles_between_dark_and_light() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-dark"


async def test_command_palette_lists_screens() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"find a serv")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ServicesScreen"


async def test_add_person_form_shows_inline_errors() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2", "ctrl+n")
        await pilot.pause()
        assert type(app.screen).__name__ == "AddPersonScreen"
        app.screen.query_one("#p-nhs_number", Input).focus()
        await pilot.press(*"9434765918")  # wrong check digit (9434765919 is valid)
        app.screen.query_one("#p-postcode", Input).focus()
        await pilot.press(*"NOT A CODE")
        app.screen.query_one("#p-birth_date", Input).focus()
        await pilot.press(*"31/02/1990")
        await pilot.pause()
        assert "check digit" in text_of(app, "#err-nhs_number")
        assert "postcode" in text_of(app, "#err-postcode").lower()
        assert "DD/MM/YYYY" in text_of(app, "#err-birth_date")
        # Fixing the NHS number clears its error.
        app.screen.query_one("#p-nhs_number", Input).value = "9434765919"
        await pilot.pause()
        assert text_of(app, "#err-nhs_number") == ""
        # Saving with problems keeps the form open.
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "AddPersonScreen"


async def test_refer_needs_a_person_first() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.action_refer(1, "Some service")
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"
        assert any("Choose a person first" in str(n.message) for n in app._notifications)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_home_fits_small_and_large_terminals(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        footer = app.screen.query_one("Footer")
        assert footer.region.bottom == size[1]
        assert app.screen.query_one("#home-status").region.width <= size[0]
        assert isinstance(app.screen.query_one("#home-recent"), DataTable)

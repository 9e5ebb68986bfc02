"""Tables that fit the screen (issue 22, point 6): a column's text is cut only when the
screen has no room for it (never at 40 characters on a wide screen), a code or a status
is never cut, the Find-a-service filters show whole at 80 columns, and a counts table
wider than the screen scrolls sideways a column at a time and says so. (Every screen's
tables at 80x24 and 120x40: tests/test_keys_reachable.py.)"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Select

from tui.widgets.fit_table import WHOLE, fit_widths

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def db_url(tui_practice_url: str) -> str:
    """A copy of the fixed practice, made once per worker (conftest)."""
    return tui_practice_url


def lines(app: Any) -> list[str]:
    """The terminal's lines as rendered."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def test_a_long_column_takes_the_room_there_is() -> None:
    spec = [("When", 17, 11), ("What", 0, 14), ("Status", 0, WHOLE), ("Detail", None, 12)]
    what = "Referral to Hollinsford Housing Options Service"  # 47 characters
    rows = [("10 Feb 2026 10:30", what, "REQUESTED", "Sofa surfing since March, and more")]
    # Room for everything (a 110-column screen): nothing cut, not even at 40.
    assert fit_widths(spec, rows, 104)[1] == len(what)
    # Narrow: the long columns share the cut; the status stays whole.
    narrow = fit_widths(spec, rows, 60)
    assert sum(narrow) == 60 and narrow[2] == len("REQUESTED") and narrow[1] < len(what)


def test_a_code_or_status_column_is_never_cut() -> None:
    spec = [("Code", 0, WHOLE), ("Meaning", None, 20), ("Status", 0, WHOLE), ("On", 11, 11)]
    rows = [("Z59.81", "Housing instability, housed, with risk of homelessness", "RESOLVED", "")]
    for room in (100, 60, 40, 10):
        widths = fit_widths(spec, rows, room)
        assert widths[0] == len("Z59.81") and widths[2] == len("RESOLVED"), room


async def test_person_timeline_is_whole_on_a_wide_screen(db_url: str) -> None:
    app = tui_seed.make_app(db_url, "person")
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.steps("person")(pilot)
        text = "\n".join(lines(app))
        # It was cut at 40 ("Referral to Hollinsford Housing Options…") with room to spare.
        assert "to Hollinsford Housing Options Service  " in text
        # The codes and statuses are whole, and the needs' detail line is not needed.
        assert "Z59.0" in text and "REQUESTED" in text and "ACCEPTED" in text
        assert not app.screen.query_one("#person-need-detail").display


async def test_service_filters_show_whole_at_80_columns(db_url: str) -> None:
    app = tui_seed.make_app(db_url, "services-near")
    async with app.run_test(size=(80, 24)) as pilot:
        await tui_seed.steps("services-near")(pilot)
        screen = app.screen
        for name, least in (("#f-near", 20), ("#f-language", 10), ("#f-need", 14)):
            assert screen.query_one(name).region.width >= least, name
        text = "\n".join(lines(app))
        assert "ZZ1 1AA" in text and "language" in text and "age" in text
        for tick in ("open now", "free", "current only"):
            assert tick in text
            assert screen.query_one("#f-current").region.right <= 80


async def test_a_wide_counts_table_scrolls_a_column_at_a_time_and_says_so(db_url: str) -> None:
    app = tui_seed.make_app(db_url, "counts")
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.steps("counts")(pilot)
        screen = app.screen
        screen.query_one("#c-by", Select).value = "month"
        await tui_seed.settle(pilot)
        screen.query_one("#c-split", Select).value = "ethnic_group"
        await tui_seed.settle(pilot)
        table: Any = screen.query_one("#counts-table")
        labels = [str(c.label.plain) for c in table.columns.values()]
        assert len(labels) == 9  # the month, then 8 columns of ethnic groups (with All)
        assert table.virtual_size.width > table.scrollable_content_region.width
        assert table.show_horizontal_scrollbar
        hint = str(screen.query_one("#counts-scroll").render())
        assert screen.query_one("#counts-scroll").display
        assert "of 8 shown" in hint and "Left/Right" in hint
        assert "Not known" not in "\n".join(lines(app))
        table.focus()
        await tui_seed.settle(pilot)
        for _ in range(8):  # a column a step: eight steps reach the last
            await pilot.press("right")
        await tui_seed.settle(pilot)
        text = "\n".join(lines(app))
        assert "Not known" in text and "Month \\ Ethnic group" in text  # label kept
        assert "columns" in str(screen.query_one("#counts-scroll").render())
        assert "8 of 8" in str(screen.query_one("#counts-scroll").render()).replace("-8", " 8")


async def test_screening_suggestions_fit_80_columns_and_say_why_in_full(db_url: str) -> None:
    from tui.screens.screening import ScreeningScreen
    from tui.state import PersonRef

    app = tui_seed.make_app(db_url, "person")
    async with app.run_test(size=(80, 24)) as pilot:
        await tui_seed.settle(pilot)
        nowak = PersonRef(tui_seed.pid(3), "Tomasz Nowak")
        app.person = nowak
        screen: Any = ScreeningScreen(nowak)
        await app.push_screen(screen)
        await tui_seed.settle(pilot)
        await pilot.press("down", "down", "enter")  # housing: sofa surfing -> Z59.0
        await pilot.press("ctrl+g")
        await tui_seed.settle(pilot)
        await pilot.press("end", "enter")  # the last section, then finish
        await tui_seed.settle(pilot)
        await pilot.press("ctrl+n")
        await tui_seed.settle(pilot)
        assert screen.reviewing and screen.suggestions
        table = screen.query_one("#scr-suggestions")
        # Sized to the screen: no sideways scrolling, the decision and code whole.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert not {"Decision", "Code"} & set(table.cut)
        text = "\n".join(lines(app))
        assert "[ ] to decide" in text and "Z59.0" in text
        # What is cut short is said whole under the table, for the highlighted row.
        first = screen.suggestions[0]
        because = str(screen.query_one("#scr-because").render())
        assert table.cut and first["because"] in because and first["code"] in because


async def test_home_counts_in_words(db_url: str) -> None:
    app = tui_seed.make_app(db_url, "home")
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.steps("home")(pilot)
        status = str(app.screen.query_one("#home-status").render())
        # One referral waiting in the seed: "1 referral", not "1 referrals".
        assert "2 follow-ups due (2 overdue), 1 referral waiting." in status

"""Find a service's results and Code a need's matches fit 80 columns (issue 22, point 6,
what was left): both tables were as wide as their longest text and scrolled sideways at
80 columns (the Why column, a long service name); now they fit the room, never cutting a
code, a status or a score, and say a cut row whole beside or under the table. And a
stale service's bold "! Oct 2024" reads as selected under the cursor like the rest of
its row, without colour (tests/test_no_colour_alone.py reads the screen that way)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed
from test_no_colour_alone import cells, within

pytestmark = pytest.mark.anyio
# A resize's refit of the tables lands after a timer, which the Pilot's wait on the app's
# events (conftest's _pilot_waits_on_events) does not wait for: these keep the clock wait.
PILOT_WAITS_ON_THE_CLOCK = True


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def fits(table: Any) -> bool:
    return bool(table.virtual_size.width <= table.scrollable_content_region.width)


def shown(table: Any, column: str) -> list[str]:
    at = [str(c.label) for c in table.columns.values()].index(column)
    return [str(table.get_row_at(n)[at]) for n in range(table.row_count)]


async def test_service_results_fit_80_columns_and_the_cursor_reads_without_colour(
    tui_practice_url: str,
) -> None:
    app = tui_seed.make_app(tui_practice_url, "services")
    async with app.run_test(size=(80, 24)) as pilot:
        await tui_seed.steps("services", typed=True)(pilot)
        screen: Any = app.screen
        table = screen.query_one("#svc-results")
        assert table.row_count > 3
        assert fits(table) and not table.show_horizontal_scrollbar
        checked = shown(table, "Checked")
        assert all(c == "ok" or (c.startswith("! ") and "…" not in c) for c in checked)
        assert "! Oct 2024" in checked
        assert all("…" not in m for m in shown(table, "Match"))
        # A cut name is whole in the detail pane for the highlighted row.
        name = screen.matches[table.cursor_row].name
        assert name in " ".join(str(screen.query_one("#svc-detail").render()).split())
        # The stale row under the cursor: every cell, the bold "! Oct 2024" too, carries
        # the cursor's mark (underline; reverse when the table has the focus).
        stale = checked.index("! Oct 2024")
        table.move_cursor(row=stale)
        for focused in (False, True):
            if focused:
                table.focus()
            await tui_seed.settle(pilot)
            region = table.content_region
            row = within(cells(app), region)[1 + stale - round(table.scroll_y)]
            cursor = "R" if focused else "U"
            assert all(cursor in m for ch, m in row if ch.strip()), (focused, row)


async def test_code_a_need_fits_80_columns_and_says_why_whole(tui_practice_url: str) -> None:
    app = tui_seed.make_app(tui_practice_url, "codes")
    async with app.run_test(size=(80, 24)) as pilot:
        await tui_seed.steps("codes", typed=True)(pilot)
        screen: Any = app.screen
        table = screen.query_one("#code-results")
        assert table.row_count > 3
        assert fits(table) and not table.show_horizontal_scrollbar
        assert shown(table, "Code") == [m["code"] for m in screen.matches]
        detail = " ".join(str(screen.query_one("#code-detail").render()).split())
        top = screen.matches[0]
        assert screen.query_one("#code-detail").display
        assert top["display"] in detail and str(top["why"]) in detail
        await pilot.resize_terminal(120, 40)
        await tui_seed.settle(pilot)
        assert fits(table) and "Why" in [str(c.label) for c in table.columns.values()]
        assert shown(table, "Meaning") == [m["display"] for m in screen.matches]

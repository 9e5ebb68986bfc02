"""Nothing cut short between 80 and 120 columns that the screen had room for (issue 22,
point 6, what was left at 110 columns): the person's timeline cut both What and Detail
("Referral 11111111 to Holl…", "Skipping me…") where it could show What whole and the
detail in the line under it; the counts table cut its need areas to its heading's width
("Housing a"), and the counts chart cut every label at 26 ("Social isolation and
lone…") beside empty room."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = pytest.mark.anyio
WIDTHS = (80, 100, 110, 120)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def lines(app: Any) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def cells(table: Any) -> list[list[str]]:
    """The table's cells as shown (after any cut)."""
    return [[str(c) for c in table.get_row_at(n)] for n in range(table.row_count)]


async def test_timeline_shows_what_whole_and_the_detail_whole_or_below(
    tui_practice_url: str,
) -> None:
    app = tui_seed.make_app(tui_practice_url, "person")
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.steps("person", typed=True)(pilot)
        for width in WIDTHS:
            await pilot.resize_terminal(width, 40)
            await tui_seed.settle(pilot)
            screen: Any = app.screen
            table = screen.query_one("#person-timeline")
            items = screen.record["timeline"]
            labels = [str(c.label) for c in table.columns.values()]
            shown = cells(table)
            # A Detail column is shown only whole; otherwise the line under the table
            # says the chosen entry whole (never a stub such as "Skipping me…").
            if "Detail" in labels:
                at = labels.index("Detail")
                assert [row[at] for row in shown] == [i["detail"] for i in items], width
            what = labels.index("What")
            if width >= 100:  # room for What whole (the longest here is 56 characters)
                assert [row[what] for row in shown] == [i["what"] for i in items], width
            else:  # What takes the room Detail had (it was cut to 26 at 80 columns)
                assert table.columns[table.ordered_columns[what].key].width >= 36, width
            assert "Status" in labels and all("…" not in row[labels.index("Status")]
                                              for row in shown)  # fmt: skip
            detail = " ".join(str(screen.query_one("#person-detail").render()).split())
            first = items[0]
            assert first["what"] in detail and first["detail"] in detail, width


async def test_counts_table_and_chart_show_each_need_area_whole(tui_practice_url: str) -> None:
    app = tui_seed.make_app(tui_practice_url, "counts")
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.steps("counts", typed=True)(pilot)
        screen: Any = app.screen
        table: Any = screen.query_one("#counts-table")
        # The label column is as wide as its longest need area as soon as the table is
        # filled, not after a later idle measurement (until then it was "Need area" wide).
        screen._show(screen.result)
        label = table.ordered_columns[0]
        assert label.get_render_width(table) - 2 >= len("Social isolation and loneliness")
        longest = "Social isolation and loneliness"
        for width in WIDTHS:
            await pilot.resize_terminal(width, 40)
            await tui_seed.settle(pilot)
            if width < 100:  # table and chart take turns below 100 columns
                screen.view = "chart"
                screen._apply_view()
                await tui_seed.settle(pilot)
            text = "\n".join(lines(app))
            chart = "\n".join(line.split("▏", 1)[1] if "▏" in line else line for line in lines(app))
            assert longest in chart and "lone…" not in text, width
            assert "Housing and homelessness" in chart, width
            if width >= 100:
                table_side = "\n".join(line.split("▏", 1)[0] for line in lines(app))
                assert longest in table_side and "Housing and homelessness" in table_side

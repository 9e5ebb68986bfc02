"""The Counts screen for data leads, by keyboard: measure, row and split dimensions,
filters, a table and a bar chart of the same disclosure-controlled numbers, and a CSV
export identical to ``linkwork report ... --format csv --out FILE``."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, Static

from linkwork.settings import load_settings
from tui.app import LinkworkApp

sys.path.insert(0, str(Path(__file__).parent))

pytestmark = pytest.mark.anyio

TODAY = date(2026, 11, 24)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from linkwork.db import open_engine, session_scope
    from linkwork.demo import make_demo

    path = tmp_path_factory.mktemp("counts") / "demo.db"
    engine = open_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        make_demo(session, people=400, seed=3)
    engine.dispose()
    return path


@pytest.fixture
def demo_url(demo_template: Path, tmp_path: Path) -> str:
    import shutil

    target = tmp_path / "demo.db"
    shutil.copy(demo_template, target)
    return f"sqlite:///{target}"


def make_app(db_url: str) -> LinkworkApp:
    return LinkworkApp(load_settings(database_url=db_url), today=TODAY, build_index=False)


async def settle(pilot: Any, app: LinkworkApp) -> None:
    for _ in range(200):
        if app.db_ready:
            break
        await pilot.pause(0.05)
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def headers(table: DataTable[Any]) -> list[str]:
    return [str(c.label) for c in table.columns.values()]


def rows(table: DataTable[Any]) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def published(cells: list[str]) -> None:
    """Every count is hidden (*) or a multiple of 5 (0 included)."""
    for cell in cells:
        assert cell == "*" or (cell.isdigit() and int(cell) % 5 == 0), cell


async def choose(pilot: Any, app: LinkworkApp, downs: int) -> None:
    """Open the focused list with Enter, move down, pick with Enter."""
    await pilot.press("enter", *["down"] * downs, "enter")
    await settle(pilot, app)


def messages(app: LinkworkApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_measure_and_dimensions_by_keyboard(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        screen = app.screen
        table = screen.query_one("#counts-table", DataTable)
        assert screen.query_one("#c-measure", Select).has_focus
        assert headers(table) == ["Need area", "People"]
        first = rows(table)
        assert first[-1][0] == "All"
        published([r[1] for r in first])
        # The disclosure note is on screen.
        note = str(screen.query_one("#counts-note", Static).render())
        assert "hidden (*)" in note and "nearest 5" in note

        await choose(pilot, app, 1)  # measure: Referrals made
        assert headers(table)[-1] == "Referrals made"
        assert "Referrals made by need area" in str(
            screen.query_one("#counts-status", Static).render()
        )
        await pilot.press("tab")
        await choose(pilot, app, 2)  # rows: Month
        months = [r[0] for r in rows(table)]
        assert all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months[:-1]), months
        assert months[-1] == "All"
        await pilot.press("tab")
        await choose(pilot, app, 10)  # split: Sex
        cols = headers(table)
        assert cols[0] == "Month \\ Sex"
        assert {"Female", "Male"} <= set(cols) and cols[-1] == "All"
        grid = rows(table)
        assert len(grid) == len(months)
        for line in grid:
            published(line[1:])
        # The chart shows one split value at a time (All first), values beside labels.
        chart = str(screen.query_one("#counts-chart").render())
        assert "Sex: All" in chart
        for line in grid[:5]:
            assert re.search(rf"{re.escape(line[0])}\s+{re.escape(line[-1])}(?=\s|┤)", chart), line
        await pilot.press("ctrl+b")
        await settle(pilot, app)
        chart = str(screen.query_one("#counts-chart").render())
        assert f"Sex: {cols[1]}" in chart
        for line in grid[:5]:
            assert re.search(rf"{re.escape(line[0])}\s+{re.escape(line[1])}(?=\s|┤)", chart), line
        legend = str(screen.query_one("#counts-legend", Static).render())
        assert "Each value is written beside its label" in legend


async def test_chart_marks_hidden_counts_in_words(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        # Referrals declined by need area: small numbers, some hidden.
        await choose(pilot, app, 4)
        table = app.screen.query_one("#counts-table", DataTable)
        values = {r[0]: r[1] for r in rows(table)}
        assert "*" in values.values()
        published(list(values.values()))
        chart = str(app.screen.query_one("#counts-chart").render())
        assert "* (suppressed: fewer than 8)" in chart
        hidden = [label for label, v in values.items() if v == "*" and label != "All"]
        assert re.search(rf"{re.escape(hidden[0][:20])}.*\s\*", chart)


async def test_export_writes_the_same_csv_as_the_cli(demo_url: str, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_url)
    out = tmp_path / "needs-by-domain-sex.csv"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6", "tab", "tab")
        await choose(pilot, app, 10)  # split: Sex (rows stay Need area)
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert type(app.screen).__name__ == "ExportScreen"
        field = app.screen.query_one("#export-path", Input)
        assert field.value.endswith("needs-by-domain-sex-2026-11-24.csv")
        field.value = str(out)
        await pilot.press("enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "CountsScreen"
        assert any(f"Wrote {out}" in m for m in messages(app))
    expected = tmp_path / "cli.csv"
    result = cli(
        "report", "needs", "--by", "domain,sex", "--format", "csv", "--out", expected, db=demo_url
    )
    assert result.code == 0, result.err
    assert out.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")
    first, header = out.read_text(encoding="utf-8").splitlines()[:2]
    assert first.startswith("# People with a recorded social need")  # tidy CSV (issue 21)
    assert header == "domain,domain_label,sex,sex_label,total,measure,value,suppressed"
    assert not list(tmp_path.glob(".*.part"))


async def test_export_to_a_missing_folder_is_one_line_and_writes_nothing(
    demo_url: str, tmp_path: Path
) -> None:
    app = make_app(demo_url)
    target = tmp_path / "no-such-folder" / "x.csv"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6", "ctrl+e")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot, app)
        assert any("does not exist" in m and "\n" not in m for m in messages(app))
    assert not target.parent.exists()


@pytest.mark.parametrize(
    ("field_values", "expected"),
    [
        ({"#c-from": "2026-05-01", "#c-to": "2026-01-01"}, "is after"),
        ({"#c-from": "2026-13-01"}, "bad from date"),
        ({"#c-practice": "Z99999"}, "no practice 'Z99999' in the records"),
    ],
)
async def test_bad_filters_are_one_line_notifications(
    demo_url: str, field_values: dict[str, str], expected: str
) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        for selector, value in field_values.items():
            app.screen.query_one(selector, Input).value = value
        app.screen.query_one("#c-practice", Input).focus()
        await pilot.press("enter")
        await settle(pilot, app)
        found = [m for m in messages(app) if expected in m]
        assert found and all("\n" not in m and "Traceback" not in m for m in found)
        assert app.is_running


async def test_outcomes_split_by_a_second_dimension(demo_url: str) -> None:
    """Outcomes are counted by up to two dimensions (issue 21): a split shows."""
    app = make_app(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await choose(pilot, app, 11)  # Share of needs resolved
        table = app.screen.query_one("#counts-table", DataTable)
        shares = [r[1] for r in rows(table)]
        assert all(s == "*" or re.fullmatch(r"\d+\.\d%", s) for s in shares), shares
        await pilot.press("tab", "tab")
        await choose(pilot, app, 10)  # split: Sex
        await settle(pilot, app)
        assert not any("one dimension at a time" in m for m in messages(app))
        split = app.screen.query_one("#counts-table", DataTable)
        assert len(split.columns) > 2  # a column per sex, then All


async def test_small_terminal_takes_turns_between_table_and_chart(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        screen = app.screen
        table, chart = screen.query_one("#counts-table"), screen.query_one("#counts-chart-box")
        assert table.display and not chart.display
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert chart.display and not table.display
        assert screen.query_one("#counts-note").region.bottom <= 23  # above the footer
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert table.display and not chart.display


async def test_hub_received_measure_with_nothing_received_writes_no_file(
    demo_url: str,
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    app = make_app(demo_url)
    out = tmp_path / "received.csv"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await choose(pilot, app, 5)  # Referrals received (hub)
        table = app.screen.query_one("#counts-table", DataTable)
        assert headers(table)[-1] == "Referrals received"
        # The demo practice received none: every cell is 0, and the screen says so.
        assert {r[1] for r in rows(table)} == {"0"}
        status = str(app.screen.query_one("#counts-status", Static).render())
        assert status.startswith("Nothing recorded to count")
        await pilot.press("ctrl+e")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = str(out)
        await pilot.press("enter")
        await settle(pilot, app)
        assert any("nothing to count: no referrals" in m for m in messages(app))
    assert not out.exists()
    # the CLI agrees: nothing to count (exit 1), no file
    expected = tmp_path / "cli.csv"
    result = cli(
        "report", "referrals", "--direction", "received", "--by", "domain",
        "--format", "csv", "--out", expected, db=demo_url,
    )  # fmt: skip
    assert result.code == 1 and not expected.exists()


def report_events(db_url: str) -> list[tuple[str, str]]:
    import sqlalchemy as sa

    from linkwork.db import open_engine
    from screening.models import AuditEvent

    engine = open_engine(db_url)
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(AuditEvent.action, AuditEvent.entity_id)
            .where(AuditEvent.entity == "report")
            .order_by(AuditEvent.seq)
        ).all()
    engine.dispose()
    return [(a, e) for a, e in found]


async def test_each_count_shown_is_audited_once(demo_url: str) -> None:
    before = report_events(demo_url)
    app = make_app(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        assert report_events(demo_url)[len(before) :] == [("view", "needs")]
        await choose(pilot, app, 1)  # Referrals made
        assert report_events(demo_url)[len(before) :] == [("view", "needs"), ("view", "referrals")]


async def test_the_funnel_is_a_measure(demo_url: str) -> None:
    """The referral funnel (issue 21): the share referred once a need is recorded."""
    app = make_app(demo_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await choose(pilot, app, 16)  # Funnel: referred once a need is recorded
        await settle(pilot, app)
        table = app.screen.query_one("#counts-table", DataTable)
        shares = [r[1] for r in rows(table)]
        assert shares and all(s == "*" or re.fullmatch(r"\d+\.\d%", s) for s in shares), shares
        assert any(s != "*" for s in shares)

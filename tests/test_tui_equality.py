"""The equality report in the app (issue 21, point 5), by keyboard only: from the Counts
screen (Ctrl+O), every practice together then one practice chosen from the list, the page
read as text and tables (the same figures as ``linkwork report equality --out FILE.csv``),
the disclosure note and the partial month in words, and an export that writes the same
bytes as the CLI for the same question. Snapshots at 80x24 and 120x40."""

from __future__ import annotations

import csv
import io
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, Static

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

from linkwork.settings import load_settings
from tui.app import LinkworkApp

pytestmark = pytest.mark.anyio
FIXED = date(2026, 11, 24)  # the snapshots' clock (the demo's data runs to it)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _demo(folder: Path, today: date) -> Path:
    from linkwork.db import open_engine, session_scope
    from linkwork.demo import make_demo

    path = folder / "demo.db"
    engine = open_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        make_demo(session, people=300, seed=3, today=today, referred_less="asian")
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def live_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data up to today: the app and the CLI (which counts on today's date) agree on the
    partial month."""
    return _demo(tmp_path_factory.mktemp("equality-live"), date.today())


@pytest.fixture(scope="module")
def fixed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _demo(tmp_path_factory.mktemp("equality-fixed"), FIXED)


def _copy(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "demo.db"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


def _text(app: LinkworkApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _rows(app: LinkworkApp, selector: str) -> list[list[str]]:
    table: DataTable[Any] = app.screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _groups(app: LinkworkApp) -> dict[tuple[str, str], list[list[str]]]:
    """The tables under each section heading, by their 'By ...' line."""
    from tui.widgets.plain import Label

    out: dict[tuple[str, str], list[list[str]]] = {}
    heading = by = ""
    for widget in app.screen.query_one("#eq-groups").children:
        if isinstance(widget, Label) and widget.has_class("eq-heading"):
            heading = str(widget.render())
        elif isinstance(widget, Label) and widget.has_class("eq-by"):
            by = str(widget.render())
        elif isinstance(widget, DataTable):
            out[(heading, by)] = [
                [str(c) for c in widget.get_row_at(i)] for i in range(widget.row_count)
            ]
    return out


def _figures(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))


async def test_by_keyboard_every_practice_then_one_then_export(
    live_template: Path, tmp_path: Path, cli: Any
) -> None:
    url = _copy(live_template, tmp_path)
    app = LinkworkApp(load_settings(database_url=url), today=date.today(), build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.settle(pilot)
        for key in ("f6", "ctrl+o"):
            await pilot.press(key)
            await tui_seed.settle(pilot)
        assert type(app.screen).__name__ == "EqualityScreen"
        assert "every practice together" in _text(app, "#eq-title")
        # where need is highest: the most people first
        need = _rows(app, "#eq-need")
        people = [int(r[1]) for r in need if r[1] != "*"]
        assert len(people) > 3 and people == sorted(people, reverse=True)
        # a month not over, in words (the demo's records run to today)
        assert _text(app, "#eq-partial").startswith(
            f"Partial month: {date.today().strftime('%B %Y')} is not over"
        )
        note = _text(app, "#eq-note")
        assert note.startswith("Disclosure control: Counts of 1 to 7 are hidden (*)")

        # one practice, chosen from the list by keyboard
        choice = app.screen.query_one("#eq-practice", Select)
        assert app.focused is choice
        for key in ("enter", "down", "enter"):
            await pilot.press(key)
            await tui_seed.settle(pilot)
        practice = str(choice.value)
        assert practice.startswith("Y") and f"practice {practice}" in _text(app, "#eq-title")
        groups = _groups(app)
        referred_heading = "Referred once a need is recorded, by group"
        wellbeing = groups[
            ("Change in life satisfaction (ONS4), by ethnic group", "By ethnic group")
        ]

        # export: the path typed over the suggested one
        target = tmp_path / "app.csv"
        await pilot.press("ctrl+e")
        await tui_seed.settle(pilot)
        assert isinstance(app.focused, Input)
        await tui_seed.press(pilot, "home", "ctrl+k", *str(target), "enter")
        await tui_seed.settle(pilot)
        html = tmp_path / "app.html"
        await pilot.press("ctrl+e")
        await tui_seed.settle(pilot)
        await tui_seed.press(pilot, "home", "ctrl+k", *str(html), "enter")
        await tui_seed.settle(pilot)
    # the same bytes as the CLI for the same question
    for name, made in (("cli.csv", target), ("cli.html", html)):
        other = tmp_path / name
        result = cli("report", "equality", "--practice", practice, "--out", other, db=url)
        assert result.code == 0, result.err
        assert made.read_bytes() == other.read_bytes()
    # and the page on screen is the file's figures: each group's referral rate and interval
    figures = _figures(target)
    by_group = {
        (f["dimension"], f["group_label"]): f for f in figures if f["section"] == "referred"
    }
    checked = 0
    words = {"By ethnic group": "ethnic_group", "By age band": "age_band", "By sex": "sex"}
    for by, dimension in words.items():
        for group, value, interval, _, flag in groups[(referred_heading, by)]:
            f = by_group[(dimension, group)]
            if f["value"] == "":
                assert value == "*"
                continue
            assert value == f"{float(f['value']) * 100:.0f}%"
            low, high = float(f["ci_low"]) * 100, float(f["ci_high"]) * 100
            assert interval == f"{low:.0f}% to {high:.0f}%"
            assert flag == ("LOWER" if f["below_everyone"] == "1" else "")
            checked += 1
    assert checked > 5
    changes = [f for f in figures if f["section"] == "wellbeing"]
    assert len(wellbeing) == len(changes)
    for row, f in zip(wellbeing, changes, strict=True):
        assert row[1] == ("*" if f["value"] == "" else f"{float(f['value']):+.1f}")


def _steps(pilot: Any) -> Any:
    async def run(pilot: Any) -> None:
        await tui_seed.settle(pilot)
        for key in ("f6", "ctrl+o"):
            await pilot.press(key)
            await tui_seed.settle(pilot)

    return run


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_equality_snapshot(  # type: ignore[no-untyped-def]
    snap_compare, fixed_template: Path, tmp_path: Path, size: tuple[int, int]
):
    url = _copy(fixed_template, tmp_path)
    app = LinkworkApp(load_settings(database_url=url), today=FIXED, build_index=False)
    assert snap_compare(app, terminal_size=size, run_before=_steps(None))

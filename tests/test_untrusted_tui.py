"""The app shows stored text as it is: a name holding Textual/Rich markup and terminal
control sequences appears literally, escapes visible, and cannot restyle the screen, add a
clickable action, stop the app with a markup error, or reach the terminal raw."""

from __future__ import annotations

import ast
import shutil
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.text import Text
from textual.widgets import Input

from linkwork.settings import load_settings
from tui.app import LinkworkApp
from tui.widgets.plain import DataTable, Static, plain, safe_text

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.anyio
SIZE = (160, 40)
HOSTILE = "Evil\x1b]0;owned\x07\x1b[2J[bold red]Red[/bold red][@click=app.quit]q[/][/]\u202e"
SHOWN = "Evil\\x1b]0;owned\\x07\\x1b[2J[bold red]Red[/bold red][@click=app.quit]q[/][/]\\u202e"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def seeded_template(tui_practice_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui-hostile") / "practice.db"
    shutil.copy(tui_practice_template, path)  # the fixed practice, made once per worker
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # an old row, never checked on the way in
        conn.execute(
            sa.text("UPDATE person SET given_name = :h WHERE id = :id"),
            {"h": HOSTILE, "id": tui_seed.pid(3)},
        )
    engine.dispose()
    return path


@pytest.fixture
def db_url(seeded_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "practice.db"
    shutil.copy(seeded_template, target)
    return f"sqlite:///{target}"


async def wait(pilot: Any, app: LinkworkApp) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def raw_controls(text: str) -> list[str]:
    return [ch for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs")]


async def test_a_hostile_stored_name_shows_literally_on_the_people_screen(db_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait(pilot, app)
        await tui_seed.press(pilot, "f2", *"nowak")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PeopleScreen"
        table = app.screen.query_one("#people-results", DataTable)
        assert table.row_count == 1
        cells = table.get_row_at(0)
        assert all(isinstance(cell, Text) for cell in cells)  # literal text, never markup
        name = " ".join(cell.plain for cell in cells)
        assert SHOWN in name
        assert all(cell.spans == [] for cell in cells)  # no style, no @click action
        # what reaches the terminal: the rendered lines of the whole screen
        update = app.screen._compositor.render_update(full=True)  # type: ignore[attr-defined]
        screen_text = "\n".join("".join(strip.text for strip in line) for line in update.strips)
        assert "[bold red]Red[/bold red][@click=app.quit]q[/][/]" in screen_text
        assert raw_controls(screen_text) == []
        # and the bytes for the terminal carry the app's own styling, none of the name's
        raw = update.render_segments(app.console)
        for sequence in ("\x1b]0;", "\x07", "\x1b[2J", "\u202e"):
            assert sequence not in raw

        await pilot.press("enter", "enter")  # open the record
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PersonScreen"
        bar = str(app.screen.query_one("#person-bar", Static).render())
        assert SHOWN in bar and "\x1b" not in bar
        summary = str(app.screen.query_one("#person-summary", Static).render())
        assert "\x1b" not in summary

        await pilot.press("e")  # the edit form shows the escapes, not the controls
        await wait(pilot, app)
        assert app.screen.query_one("#p-given", Input).value == SHOWN
        assert app.is_running  # no MarkupError anywhere on the way


async def test_notifications_are_literal(db_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait(pilot, app)
        app.screen.notify(f"Saved {HOSTILE}.")  # a screen asks for markup: it gets none
        await pilot.pause()
        message = list(app._notifications)[-1]
        assert not message.markup
        assert message.message == f"Saved {SHOWN}."
        assert app.is_running


def test_plain_widgets_take_text_literally() -> None:
    assert plain("[b]x[/b]\x1b").plain == "[b]x[/b]\\x1b"
    styled = Text.assemble(("Name: ", "bold"), ("Eve\x1b", "red"))
    shown = safe_text(styled)
    assert shown.plain == "Name: Eve\\x1b"
    assert [(s.start, s.end, str(s.style)) for s in shown.spans] == [
        (0, 6, "bold"),
        (6, 13, "red"),
    ]
    assert safe_text(Text("fine")) is not None


def test_every_screen_and_widget_takes_its_text_widgets_from_plain() -> None:
    """The one rule in one place: no tui module imports Static, Label or DataTable from
    Textual itself (their strings would be read as markup)."""
    offenders = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        if path.name == "plain.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "textual.widgets"
            ):
                bad = {a.name for a in node.names} & {"Static", "Label", "DataTable"}
                if bad:
                    offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert offenders == []

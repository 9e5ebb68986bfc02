"""Issue 22, point 2: nothing carried by colour alone.

The screen is read back from the compositor as characters and their non-colour
attributes only (bold, reverse, underline, italic, strike: never colour, never dim, which
is only a darker colour), as a terminal with no colour (NO_COLOR, a monochrome screen, a
colour-blind reader) would show it. Then:

- a tick and a choice show their state in the glyph ([x] / [ ], (•) / ( ) beside the
  words, everywhere: no longer a block whose X is only darker when unticked), a
  screening suggestion its decision in words;
- the row under a table's cursor, the highlighted option of a list or a question and a
  focused tick or button differ from the rest without colour;
- on every main screen, each widget the Tab key reaches looks different with the focus
  than without it, without colour, and no key in the footer is greyed out (hidden instead);
- a warning or an error says so in words (its toast's title), not by its colour.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Button, Input, OptionList, RadioSet, TextArea
from textual.widgets._footer import FooterKey

from tui.widgets.plain import DataTable
from tui.widgets.toggles import Choice, Tick

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = pytest.mark.anyio
CSS = Path(__file__).resolve().parents[1] / "tui" / "app.tcss"
ATTRIBUTES = (("bold", "B"), ("reverse", "R"), ("underline", "U"), ("italic", "I"), ("strike", "S"))

Cell = tuple[str, str]  # (character, its non-colour attributes, e.g. "BR")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def cells(app: App[Any]) -> list[list[Cell]]:
    """The screen as characters with their non-colour attributes, row by row."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    grid: list[list[Cell]] = []
    for row in update.strips:
        line: list[Cell] = []
        for strip in row:
            for text, style, _ in strip:
                marks = "".join(m for a, m in ATTRIBUTES if style is not None and getattr(style, a))
                line += [(ch, marks) for ch in text]
        grid.append(line)
    return grid


def within(grid: list[list[Cell]], region: Region) -> list[list[Cell]]:
    return [row[region.x : region.right] for row in grid[region.y : region.bottom]]


def text(grid: list[list[Cell]]) -> str:
    return "\n".join("".join(ch for ch, _ in row) for row in grid)


def marks(grid: list[list[Cell]]) -> set[str]:
    return {m for row in grid for _, ms in row for m in ms}


def gained(before: list[list[Cell]], after: list[list[Cell]]) -> set[str]:
    """The attributes some cell has in ``after`` that it had not in ``before``."""
    return {
        m
        for row_b, row_a in zip(before, after, strict=False)
        for (_, mb), (_, ma) in zip(row_b, row_a, strict=False)
        for m in ma
        if m not in mb
    }


# --- each kind of control, in the app's own CSS ----------------------------------------------


class Controls(App[None]):
    CSS_PATH = str(CSS)

    def compose(self) -> ComposeResult:
        yield Tick("ticked", value=True, id="ticked")
        yield Tick("unticked", id="unticked")
        yield RadioSet(Choice("one", value=True), Choice("two"), Choice("three"), id="choices")
        table: DataTable[str] = DataTable(id="table", cursor_type="row")
        table.add_columns("Code", "Meaning")
        for code in ("Z59.0", "Z59.1", "Z60.2"):
            table.add_row(code, "a need")
        yield table
        yield OptionList("first", "second", "third", id="options")
        yield Button("Save", id="save")
        box = Input(id="box")
        box.cursor_blink = False  # the cursor (reverse video) shows steadily
        yield box
        note = TextArea("a note", id="note")
        note.cursor_blink = False
        yield note


async def test_ticks_and_choices_show_their_state_in_the_glyph() -> None:
    from tui.screens.refer import Box

    app = Controls()
    async with app.run_test(size=(60, 34)) as pilot:
        await pilot.pause()
        grid = cells(app)
        ticked = text(within(grid, app.query_one("#ticked").region))
        unticked = text(within(grid, app.query_one("#unticked").region))
        assert "[x] ticked" in ticked and "[ ] unticked" in unticked
        radio = text(within(grid, app.query_one("#choices").region)).splitlines()
        chosen = [line for line in radio if "(•)" in line]
        assert len(chosen) == 1 and "(•) one" in chosen[0]
        assert sum("( ) two" in line or "( ) three" in line for line in radio) == 2
        await app.mount(Box("shared", value=True, id="box-on"), Box("kept", id="box-off"))
        await pilot.pause()
        grid = cells(app)
        assert "[x] shared" in text(within(grid, app.query_one("#box-on").region))
        assert "[ ] kept" in text(within(grid, app.query_one("#box-off").region))


async def test_cursor_highlight_and_focus_show_without_colour() -> None:
    app = Controls()
    async with app.run_test(size=(60, 40)) as pilot:
        table = app.query_one("#table", DataTable)
        table.focus()
        await pilot.pause()
        rows = within(cells(app), table.content_region)
        cursor = [m for m in marks(rows[1:2])]  # the header, then the row under the cursor
        others = marks(rows[2:])
        assert "R" in cursor and "R" not in others  # reverse video, focused
        app.screen.set_focus(None)
        await pilot.pause()
        rows = within(cells(app), table.content_region)
        assert "U" in marks(rows[1:2]) and "U" not in marks(rows[2:])  # underlined, blurred

        for selector in ("#options", "#choices", "#ticked", "#save", "#box", "#note"):
            widget = app.query_one(selector)
            app.screen.set_focus(None)
            await pilot.pause()
            blurred = within(cells(app), widget.region)
            widget.focus()
            await pilot.pause()
            focused = within(cells(app), widget.region)
            assert focused != blurred, f"{selector}: focus shown by colour alone"
            assert gained(blurred, focused) & {"R", "U"}, selector


# --- every main screen: the focus without colour; warnings in words ------------------------


@pytest.fixture
def db_url(tui_practice_url: str) -> str:
    """A copy of the fixed practice, made once per worker (conftest)."""
    return tui_practice_url


# The screens, reached as a link worker would (F-keys, words typed, Enter), and how many
# Tab stops of each to visit.
WALK = [
    ("home", (), 3),
    ("people", ("f2", *"ash"), 2),
    ("person", ("enter", "enter"), 2),
    ("screening", ("s",), 2),
    ("codes", ("escape", "f3", *"cant aford food"), 2),
    ("referrals", ("f5",), 1),
    ("counts", ("f6",), 3),
]


async def test_every_screen_shows_the_focus_without_colour(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tui_seed.make_app(db_url)
    unseen: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.settle(pilot)
        for name, keys, stops in WALK:
            for key in keys:
                await tui_seed.press(pilot, key)  # a letter into a search box: no idle waits
                if len(key) > 1:  # a step (F-key, Enter): settle; letters typed together
                    await tui_seed.settle(pilot)
            await tui_seed.settle(pilot)
            # A key that does not apply now is hidden, never shown greyed out.
            greyed = [k.key for k in app.screen.query(FooterKey) if k.has_class("-disabled")]
            assert greyed == [], f"{name}: keys greyed out (colour alone): {greyed}"
            seen: set[int] = set()
            for _ in range(stops):
                widget = app.focused
                if widget is not None and id(widget) not in seen:
                    seen.add(id(widget))
                    focused = within(cells(app), widget.region)
                    app.screen.set_focus(None)
                    await pilot.pause()
                    blurred = within(cells(app), widget.region)
                    widget.focus(scroll_visible=False)
                    await pilot.pause()
                    if focused == blurred:
                        unseen.append(f"{name}: {type(widget).__name__}#{widget.id}")
                await pilot.press("tab")
                await pilot.pause()
            assert seen, f"{name}: nothing had the focus"
        # A warning and an error say what they are in words (a toast shows its title above
        # its message), not only by their colour; a plain notice needs no title.
        told: list[tuple[str, str]] = []

        def record(self: Any, message: str, *, title: str = "", **kwargs: Any) -> None:
            told.append((title, message))

        monkeypatch.setattr(App, "notify", record)  # what reaches Textual's toast
        app.notify("Choose a code first.", severity="warning")
        app.notify("The database is busy.", severity="error")
        app.notify("Saved.")
        assert told == [
            ("Warning", "Choose a code first."),
            ("Problem", "The database is busy."),
            ("", "Saved."),
        ]
    assert unseen == []

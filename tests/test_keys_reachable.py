"""Every key a screen offers can be reached (issue 22, point 6): on every main screen at
80x24 and 120x40, each binding the screen offers is either whole in the footer (left of
the palette key, inside the terminal) or listed in the command palette by its words; the
footer never cuts a key mid-word; and no table cuts a code or a status column, or hides
columns without a scroll bar to reach them.
And the home footer stops offering 'Load sample directory' once the directory is loaded
(point 8)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.widgets import DataTable, Footer

from tui.widgets.commands import ScreenKeyCommands, offered_keys
from tui.widgets.fit_table import FitTable

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = pytest.mark.anyio
SIZES = [(80, 24), (120, 40)]
SCREENS = {
    **{name: name for name in tui_seed.SCREEN_KEYS},
    "caseload": "home",
    "diary": "home",
    "casework": "person",
    "equality": "counts",
}
EXTRA_KEYS = {"caseload": ("k",), "diary": ("v",), "casework": ("w",), "equality": ("ctrl+o",)}
# Columns holding a code, a status or an identifier: never cut short on any screen.
WHOLE_COLUMNS = {"Code", "Status", "Need", "Ref", "Delivery", "ODS", "NHS number", "Postcode"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def seeded_template(tui_practice_template: Path) -> Path:
    return tui_practice_template  # the fixed practice, made once per worker (conftest); copied


def footer_keys(screen: Any) -> set[str]:
    """The footer's keys shown whole: inside the terminal and left of the palette key."""
    footer = screen.query_one(Footer)
    keys = [k for k in footer.children if getattr(k, "key", None)]
    palette = [k.region.x for k in keys if k.key == screen.app.COMMAND_PALETTE_BINDING]
    right = min([footer.region.right, *palette])
    return {
        f"{k.key} {k.description}"
        for k in keys
        if k.key != screen.app.COMMAND_PALETTE_BINDING and k.region.right <= right
    }


def footer_line(app: Any) -> str:
    """The terminal's bottom line as rendered (the footer), as text."""
    return app.screen._compositor.render_strips()[-1].text


def assert_footer_whole(app: Any, where: str) -> None:
    """Every key the footer shows is shown whole (never 'f4 Find a se'), and when a key is
    left out the palette key says there are more."""
    footer = app.screen.query_one(Footer)
    shown = [k for k in footer.children if getattr(k, "key", None)]
    palette = [k for k in shown if k.key == app.COMMAND_PALETTE_BINDING]
    keys = [k for k in shown if k not in palette and k.display]
    line = footer_line(app)
    left, bar, right = line.partition("\u258f")  # the palette key's left edge
    assert bar, f"{where}: no palette key in {line!r}"
    words = [f"{k.key_display} {k.description}" for k in keys]
    assert left.split() == " ".join(words).split(), f"{where}: footer reads {line!r}"
    left_out = [d for _s, d, _a in offered_keys(app.screen) if d not in line]
    if left_out:
        assert "more keys" in right, f"{where}: {left_out} left out without a sign"


def label_of(column: Any) -> str:
    return str(getattr(column.label, "plain", column.label)).strip()


def assert_tables_fit(screen: Any, where: str) -> None:
    """No column holding a code or a status is cut; a table wider than its room can be
    scrolled sideways and shows its scroll bar."""
    for table in screen.query(DataTable).results(DataTable):
        if not table.display or not table.columns:
            continue
        name = f"{where} #{table.id}"
        if isinstance(table, FitTable):
            cut = set(table.cut) & WHOLE_COLUMNS
            assert not cut, f"{name}: {sorted(cut)} cut short"
        for n, column in enumerate(table.columns.values()):
            if label_of(column) not in WHOLE_COLUMNS:
                continue
            cells = [str(getattr(c, "plain", c)) for c in table.get_column_at(n)]
            assert not any(c.endswith("\u2026") for c in cells), f"{name}: {label_of(column)}"
            widest = max([0, *(cell_len(c) for c in cells)])
            assert column.get_render_width(table) - 2 * table.cell_padding >= widest, name
        if table.virtual_size.width > table.scrollable_content_region.width:
            assert table.styles.overflow_x != "hidden", f"{name}: wider, cannot scroll"
            assert table.show_horizontal_scrollbar, f"{name}: wider, no scroll bar shown"


def palette_entries(screen: Any) -> set[str]:
    provider = ScreenKeyCommands(screen)
    return {text for text, _command, _help in provider.commands()}


async def reach(pilot: Any, name: str) -> None:
    """From a freshly started app (or one put back as one, ``back_to_start``): the keys
    that reach screen ``name``, settling once per step."""
    await tui_seed.steps(SCREENS[name], typed=True)(pilot)
    for key in EXTRA_KEYS.get(name, ()):
        await pilot.press(key)
        await tui_seed.settle(pilot)
    # The footer is remade after a refresh once a screen's keys change (tui/widgets/footer.py):
    # under load the last repaint can still show it blank. The checks read the painted line,
    # so wait (2 s at most) for it; a footer still blank then fails them as before.
    for _ in range(100):
        if footer_line(pilot.app).strip():
            break
        await pilot.pause(0.02)


async def back_to_start(pilot: Any) -> None:
    """Put the app back as it started: the home section with nothing pushed on it, every
    other section's screens gone (the next visit makes them anew, as a first visit does),
    no current person and no notices. The practice database is only read on the way."""
    app = pilot.app
    if app.current_mode != "home":
        await app.switch_mode("home")
    while len(app.screen_stack) > 1:
        await app.pop_screen()
    for mode in [m for m in app._screen_stacks if m != "home"]:
        await app.remove_mode(mode)
        app.add_mode(mode, app.MODES[mode])
    app.person = None
    app.clear_notifications()
    await tui_seed.settle(pilot)


def check_screen(app: Any, name: str, size: tuple[int, int]) -> None:
    assert ScreenKeyCommands in app.COMMANDS  # the palette lists the screen's keys
    screen = app.screen
    offered = offered_keys(screen)
    assert offered, f"{name}: no keys offered"
    in_footer = footer_keys(screen)
    in_palette = palette_entries(screen)
    missing = [
        f"{shown} {description}"
        for shown, description, active in offered
        if f"{active.binding.key} {description}" not in in_footer
        and f"{description} ({shown})" not in in_palette
    ]
    assert missing == [], f"{name} at {size}: not reachable: {missing}"
    assert_footer_whole(app, f"{name} at {size}")
    assert_tables_fit(screen, f"{name} at {size}")
    if name == "home":
        # The directory is loaded: loading the sample is no longer offered.
        assert app.directory_size > 0
        assert "Load sample directory" not in [d for _s, d, _a in offered]


def walk(database: Path, size: tuple[int, int]) -> dict[str, str]:
    """Every screen at ``size`` in one app, put back as it started before each (starting
    an app per screen was most of this module's time): what each screen's checks found
    wrong, by screen ('' when nothing)."""
    import asyncio

    found: dict[str, str] = {}

    async def run() -> None:
        # The index is built (the searching screens need it; the others do not look at it).
        app = tui_seed.make_app(f"sqlite:///{database}")
        async with app.run_test(size=size) as pilot:
            for name in SCREENS:
                await back_to_start(pilot)
                await reach(pilot, name)
                try:
                    check_screen(app, name, size)
                    found[name] = ""
                except AssertionError as problem:
                    found[name] = str(problem) or repr(problem)

    with pytest.MonkeyPatch.context() as patch:
        tui_seed.wait_on_events(patch)
        asyncio.run(run())
    return found


@pytest.fixture(scope="module")
def walked(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``walked(size)``: ``walk`` at that size, once per module and size."""
    done: dict[tuple[int, int], dict[str, str]] = {}

    def at(size: tuple[int, int]) -> dict[str, str]:
        if size not in done:
            target = tmp_path_factory.mktemp("keys-reachable") / "practice.db"
            shutil.copy(seeded_template, target)
            done[size] = walk(target, size)
        return done[size]

    return at


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_every_offered_key_is_in_the_footer_or_the_palette(
    walked: Any, name: str, size: tuple[int, int]
) -> None:
    problem = walked(size)[name]
    if problem:
        pytest.fail(problem, pytrace=False)


async def test_a_screen_key_runs_from_the_palette(seeded_template: Path, tmp_path: Path) -> None:
    target = tmp_path / "practice.db"
    shutil.copy(seeded_template, target)
    app = tui_seed.make_app(f"sqlite:///{target}", "people")
    async with app.run_test(size=(80, 24)) as pilot:
        await tui_seed.steps("people", typed=True)(pilot)
        await pilot.press("down")  # into the list
        await tui_seed.settle(pilot)
        assert app.focused is app.screen.query_one("#people-results")
        await pilot.press("ctrl+p")
        await tui_seed.settle(pilot)
        await tui_seed.press(pilot, *"search box")  # only this screen's key list has it
        await tui_seed.settle(pilot)  # the palette's search (a worker) has finished
        await pilot.press("enter")
        await tui_seed.settle(pilot)
        assert type(app.screen).__name__ == "PeopleScreen"
        assert app.focused is app.screen.query_one("#people-query")

"""Snapshots of the exchange screens (issue 17): keys and partners, the quarantined
messages, a received referral as the hub reads it, and the referral wizard's needs and
review steps, each at 80x24 and 120x40, on tests/exchange_seed.py's fixed world with the
app's fixed clock. Update with ``pytest --snapshot-update`` after a deliberate change,
and look at the SVGs before committing them."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import exchange_seed
import tui_seed

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="session")
def exchange_template(
    tui_practice_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("exchange-seed") / "practice.db"
    shutil.copy(tui_practice_template, path)  # the fixed practice, made once per worker
    exchange_seed.seed(f"sqlite:///{path}")
    return path


@pytest.fixture
def world_url(exchange_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # The keys folder as a relative path, so the screens show the same file names each run.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINKWORK_KEYS_DIR", "keys")
    monkeypatch.setenv("LINKWORK_USER", tui_seed.ACTOR)
    exchange_seed.write_our_key(tmp_path / "keys")
    target = tmp_path / "practice.db"
    shutil.copy(exchange_template, target)
    return f"sqlite:///{target}"


Steps = Callable[[Any], Awaitable[None]]


def _open(push: Callable[[Any], None]) -> Steps:
    async def run(pilot: Any) -> None:
        await tui_seed.settle(pilot)
        push(pilot.app)
        await tui_seed.settle(pilot)

    return run


def _received(app: Any) -> None:
    from tui.screens.received import ReceivedScreen

    app.push_screen(ReceivedScreen(exchange_seed.RECEIVED))


def _wizard(review: bool) -> Steps:
    """Robin Ashworth (two needs: housing and food) referred from a homelessness search:
    consent given, on to the needs step (only the housing need ticked), then, for the
    review, a reason and the Northside Hub chosen (what it would receive, read back)."""
    reach = tui_seed.steps("refer")

    async def run(pilot: Any) -> None:
        from textual.widgets import Checkbox, Input, Select

        await reach(pilot)
        screen = pilot.app.screen
        screen.query_one("#consent-given", Checkbox).value = True
        await pilot.press("ctrl+n")
        await tui_seed.settle(pilot)
        if review:
            screen.query_one("#refer-reason", Input).value = "Sofa surfing since March"
            await pilot.press("ctrl+n")
            await tui_seed.settle(pilot)
            screen.query_one("#refer-partner", Select).value = exchange_seed.HUB
            await tui_seed.settle(pilot)
        for field in screen.query(Input):
            field.cursor_blink = False

    return run


SCREENS: dict[str, tuple[str | None, Steps]] = {
    "keys": (None, _open(lambda app: app.action_keys())),
    "quarantine": (None, _open(lambda app: app.action_quarantine())),
    "received": (None, _open(_received)),
    "refer-needs": ("refer", _wizard(review=False)),
    "refer-review": ("refer", _wizard(review=True)),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_exchange_snapshot(snap_compare, world_url: str, screen: str, size: tuple[int, int]):  # type: ignore[no-untyped-def]
    kind, steps = SCREENS[screen]
    app = tui_seed.make_app(world_url, kind)
    assert snap_compare(app, terminal_size=size, run_before=steps)

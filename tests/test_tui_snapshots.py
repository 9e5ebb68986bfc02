"""Snapshots of the main screens at 80x24 and 120x40 on a fixed practice database with
a fixed clock (tests/tui_seed.py). Update with ``pytest --snapshot-update`` after a
deliberate change, and look at the SVGs before committing them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def practice_url(tui_practice_url: str) -> str:
    return tui_practice_url  # a copy of the fixed practice, made once per worker (conftest)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(tui_seed.SCREEN_KEYS))
def test_screen_snapshot(snap_compare, practice_url: str, screen: str, size: tuple[int, int]):  # type: ignore[no-untyped-def]
    app = tui_seed.make_app(practice_url, screen)
    # A word's letters are sent together and waited for once (the same keys through the
    # same handlers): each screen's picture is the same as when waited for key by key.
    reach = tui_seed.steps(screen, typed=True)
    assert snap_compare(app, terminal_size=size, run_before=reach)

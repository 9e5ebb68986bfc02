"""The outcome form keeps the link worker's work (issue 22, point 1): Up/Down move between
the resolved-need ticks, a letter typed on a tick goes to the note (its spaces never flip a
tick), the note takes several lines, and Escape with anything entered asks first."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed
from test_tui_board import (
    open_outcome_form,
    priya_referral,
    seeded_app,
    seeded_template,
    seeded_url,
    settle,
)

from tui.widgets.toggles import Tick

pytestmark = pytest.mark.anyio
__all__ = ["seeded_template", "seeded_url"]  # the board tests' seeded practice, as fixtures


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_ticks_move_by_arrows_typing_goes_to_the_note_and_escape_asks(
    seeded_url: str,
) -> None:
    app = seeded_app(seeded_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_outcome_form(pilot, app)
        screen: Any = app.screen
        ticks = list(screen.query("#outcome-needs Tick").results(Tick))
        assert ticks
        ticks[0].focus()
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()
        # Down from the last tick goes on to the note; with one tick that is the next stop.
        expected = ticks[1] if len(ticks) > 1 else screen.query_one("#outcome-note")
        assert app.focused is expected
        await pilot.press("up")
        await pilot.pause()
        assert app.focused is ticks[0]
        await pilot.press(*"Moved away")  # typed on a tick: nothing lost, nothing ticked
        await pilot.pause()
        note = screen.query_one("#outcome-note", TextArea)
        assert app.focused is note
        assert note.text == "Moved away"
        assert [t.value for t in ticks] == [False] * len(ticks)
        await tui_seed.press(pilot, "enter", *"to Leeds")  # a second line, not a save
        await pilot.pause()
        assert note.text == "Moved away\nto Leeds"
        assert type(app.screen).__name__ == "OutcomeScreen"
        await pilot.press("escape")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ChoiceModal"
        await pilot.press("k")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "OutcomeScreen"
        assert note.text == "Moved away\nto Leeds"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferralsScreen"
    outcome = priya_referral(seeded_url)["outcome"]
    assert outcome["note"] == "Moved away\nto Leeds"

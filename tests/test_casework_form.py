"""The casework forms (goal, contact, note, close, plan...) on the shared checked field and
the ask-before-discarding form base (issue 22, points 1 and 3): Escape with typed work
asks first; a date that does not exist is said to be so as it is typed, with the focus
kept on it; an over-long paste is refused at once; Save goes to the first wrong field."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from textual import events

from linkwork.actions.casework import check_field
from linkwork.db import open_engine

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def db_url(tui_practice_url: str) -> str:
    """A copy of the fixed practice, made once per worker (conftest)."""
    return tui_practice_url


def shown(app: Any, selector: str) -> str:
    widget = app.screen.query_one(selector)
    return str(widget.render()) if widget.display else ""


def notes(app: Any) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def count(url: str, table: str) -> int:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


async def open_casework(pilot: Any) -> None:
    """From start-up to Robin Ashworth's casework, settling once per step."""
    await tui_seed.steps("person")(pilot)
    await pilot.press("w")
    await tui_seed.settle(pilot)
    assert type(pilot.app.screen).__name__ == "PersonCaseworkScreen"


async def test_escape_on_a_typed_casework_form_asks_first(db_url: str) -> None:
    app = tui_seed.make_app(db_url, "person")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_casework(pilot)
        await pilot.press("n")  # add a case note
        await tui_seed.settle(pilot)
        assert type(app.screen).__name__ == "CaseworkForm"
        await pilot.press("escape")  # nothing typed: leaves at once
        await tui_seed.settle(pilot)
        assert type(app.screen).__name__ == "PersonCaseworkScreen"
        await pilot.press("n")
        await tui_seed.settle(pilot)
        await tui_seed.press(pilot, *"Talked about the allotment", "escape")
        await tui_seed.settle(pilot)
        assert type(app.screen).__name__ == "ChoiceModal"
        assert "not been saved" in shown(app, "#choice-question")
        await pilot.press("k")  # keep editing: the note is still there
        await tui_seed.settle(pilot)
        assert type(app.screen).__name__ == "CaseworkForm"
        assert app.screen.query_one("#cw-text").value == "Talked about the allotment"
        await pilot.press("escape", "d")  # now discard
        await tui_seed.settle(pilot)
        assert type(app.screen).__name__ == "PersonCaseworkScreen"
    assert count(db_url, "case_note") == 0


async def test_a_bad_date_is_flagged_as_typed_and_keeps_the_focus(db_url: str) -> None:
    app = tui_seed.make_app(db_url, "person")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_casework(pilot)
        await pilot.press("b")  # book the next contact: When, How
        await tui_seed.settle(pilot)
        when = app.screen.query_one("#cw-when")
        assert app.focused is when
        await tui_seed.press(pilot, *"31/02/1985 10:00")
        await pilot.pause()
        message = shown(app, "#cw-err-when")
        # The format is right and the day does not exist: said so, not "use DD/MM/YYYY".
        assert "not a real date" in message and "DD/MM/YYYY" not in message
        await pilot.press("enter")  # Enter does not carry the mistake on
        await pilot.pause()
        assert app.focused is when
        assert "Please fix this first" in notes(app)
        when.value = "01/04/2026 10:00"  # type: ignore[attr-defined]
        await pilot.pause()
        assert shown(app, "#cw-err-when") == ""
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#cw-kind")
        # A word that is not one of the choices is said at once too.
        app.focused.value = "carrier pigeon"  # type: ignore[union-attr]
        await pilot.pause()
        assert "Use one of: face-to-face, phone" in shown(app, "#cw-err-kind")


async def test_an_over_long_paste_is_refused_and_save_goes_to_the_wrong_field(
    db_url: str,
) -> None:
    app = tui_seed.make_app(db_url, "person")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_casework(pilot)
        await pilot.press("g")  # add a goal: Goal, For need, Aim to reach by
        await tui_seed.settle(pilot)
        goal = app.screen.query_one("#cw-text")
        goal.post_message(events.Paste("x" * 2000))
        await pilot.pause()
        assert goal.value == ""  # type: ignore[attr-defined]
        assert "Not pasted: 2,000 characters" in notes(app)
        # The goal is needed: Save with it empty says so and goes there.
        app.screen.query_one("#cw-by").focus()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "CaseworkForm"
        assert app.focused is goal
        assert "needed" in shown(app, "#cw-err-text")
    assert count(db_url, "goal") == 0


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("by", "31/02/1985", "is not a real date"),
        ("by", "1985/31", "use DD/MM/YYYY"),
        ("when", "02/03/2026 24:10", "give the time as HH:MM"),
        ("ons4", "7,8,11,3", "from 0 to 10, not '11'"),
        ("ons4", "7,8", "takes four numbers"),
        ("minutes", "0", "from 1 to 600"),
        ("status", "booked", "Use one of: attended"),
        ("reason", "bored", "Use one of: goals-met"),
        ("goal", "x" * 1001, "Too long (1,001 characters; at most 1,000)"),
    ],
)
def test_each_casework_field_rule_in_words(rule: str, text: str, expected: str) -> None:
    assert expected in check_field(rule, text)


def test_casework_fields_that_are_fine_or_optional_say_nothing() -> None:
    assert check_field("by", "") == ""  # optional
    assert check_field("when", "") == ""  # needed, but said on save
    assert check_field("when", "", saving=True) == "This is needed."
    assert check_field("kind", "Home visit") == ""  # as the record reads it
    assert check_field("when", "2026-03-02 14:30") == ""
    assert check_field("ons4", "7,,6,3") == ""  # one not asked

"""Validation as the link worker types (issue 22, point 3), through the one checked field
(tui/widgets/checked.py): a field's problem shows while they are still in it, Tab does not
carry a wrong answer on, and an over-long paste is refused whole at once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from textual import events

from linkwork.db import open_engine, session_scope
from linkwork.settings import load_settings
from screening.models import Person
from tui.app import LinkworkApp

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


async def settle(pilot: Any, app: LinkworkApp) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def shown(app: LinkworkApp, selector: str) -> str:
    widget = app.screen.query_one(selector)
    return str(widget.render()) if widget.display else ""


def notes(app: LinkworkApp) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def test_person_form_checks_every_field_as_typed(db_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.action_add_person()
        await settle(pilot, app)
        given = app.screen.query_one("#p-given")
        assert app.focused is given
        # A 2,000-character paste is refused whole, at once, in words.
        given.post_message(events.Paste("x" * 2000))
        await pilot.pause()
        assert given.value == ""  # type: ignore[attr-defined]
        assert "Not pasted: 2,000 characters" in notes(app)
        # A name too long to keep is said while typing, not at save.
        given.value = "y" * 201  # type: ignore[attr-defined]
        await pilot.pause()
        assert "too long (201 characters; at most 200)" in shown(app, "#err-given").lower()
        # Tab does not carry the problem on: the focus stays in the field, saying why.
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is given
        assert "Please fix this first" in notes(app)
        given.value = "Ada"  # type: ignore[attr-defined]
        await pilot.pause()
        assert shown(app, "#err-given") == ""
        # An impossible date is told so, not given the format it already has.
        await pilot.press("tab", "tab")
        await tui_seed.press(pilot, *"31/02/1985")
        await pilot.pause()
        message = shown(app, "#err-birth_date")
        assert "not a real date" in message and "DD/MM/YYYY" not in message
    engine = open_engine(db_url)
    with session_scope(engine) as session:
        assert len(session.exec(select(Person)).all()) == len(tui_seed.PEOPLE)  # none added
    engine.dispose()


async def test_screening_scale_answer_checked_as_typed_and_focus_kept(db_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await tui_seed.press(pilot, "f2", *"nowak")
        await settle(pilot, app)
        await pilot.press("enter", "enter")
        await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        screen: Any = app.screen
        assert type(screen).__name__ == "ScreeningScreen"
        last = next(
            i
            for i, s in enumerate(screen.sections)
            if any(q["id"] == "ons4.satisfied" for q in s["questions"])
        )
        screen.show_section(last)
        await settle(pilot, app)
        field = screen.query_one("#" + screen.sections[last]["questions"][0]["widget"])
        assert app.focused is field
        await pilot.press("1", "1")
        await pilot.pause()
        # Said at once, before leaving the section, with the focus still on the answer.
        assert "number from 0 to 10" in shown(app, f"#err-{field.id}")
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is field
        await pilot.press("backspace")
        await pilot.pause()
        assert shown(app, f"#err-{field.id}") == ""
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is not field


async def test_escape_on_a_typed_form_asks_before_discarding(db_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.action_add_person()
        await settle(pilot, app)
        await pilot.press("escape")  # nothing typed: leaves at once
        await settle(pilot, app)
        assert type(app.screen).__name__ == "PeopleScreen"
        app.action_add_person()
        await settle(pilot, app)
        await tui_seed.press(pilot, *"Grace", "tab", *"Hopper")
        await pilot.press("escape")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ChoiceModal"
        assert "not been saved" in shown(app, "#choice-question")
        await pilot.press("k")  # keep editing: everything typed is still there
        await settle(pilot, app)
        assert type(app.screen).__name__ == "AddPersonScreen"
        assert app.screen.query_one("#p-family").value == "Hopper"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await settle(pilot, app)
        await pilot.press("d")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "PeopleScreen"
        assert "New person not added." in notes(app)
    engine = open_engine(db_url)
    with session_scope(engine) as session:
        assert len(session.exec(select(Person)).all()) == len(tui_seed.PEOPLE)
    engine.dispose()


async def test_equality_dropdowns_jump_as_you_type(db_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.action_add_person()
        await settle(pilot, app)
        ethnic: Any = app.screen.query_one("#eq-ethnic_category")
        ethnic.focus()
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert ethnic.value == "A"  # White - British
        await pilot.press("w")  # the same letter again: the next White answer
        await pilot.pause()
        assert ethnic.value == "B"  # White - Irish
        ethnic._typed_at = 0.0  # a pause: a new word
        await pilot.press("a", "s")
        await pilot.pause()
        assert ethnic.value == "H"  # Asian or Asian British - Indian
        ethnic._typed_at = 0.0
        await pilot.press(*"paki")  # a word inside the answer
        await pilot.pause()
        assert ethnic.value == "J"  # ... - Pakistani
        assert not ethnic.expanded
        language: Any = app.screen.query_one("#eq-main_language")
        language.focus()
        await pilot.press("p", "o")
        await pilot.pause()
        assert language.value == "pl"


async def test_text_and_tab_together_fill_the_next_fields(db_url: str) -> None:
    app = LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.action_add_person()
        await settle(pilot, app)
        given: Any = app.screen.query_one("#p-given")
        given.post_message(events.Paste("Grace\tHopper\t31/02/1985"))
        await pilot.pause()
        value = lambda key: app.screen.query_one(f"#p-{key}").value  # type: ignore[attr-defined]  # noqa: E731
        assert (value("given"), value("family"), value("birth_date")) == (
            "Grace",
            "Hopper",
            "31/02/1985",
        )
        assert app.focused is app.screen.query_one("#p-birth_date")
        assert "not a real date" in shown(app, "#err-birth_date")

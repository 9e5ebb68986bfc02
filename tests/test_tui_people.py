"""Pilot tests of what a link worker expects on day one with a person: edit their details,
confirm a screening's suggestion as a different code, and leave a screening half-done and
resume it later (tests/tui_seed.py practice database)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from textual.widgets import DataTable, Input, RadioSet, Static

from linkwork.db import open_engine, session_scope
from linkwork.settings import load_settings
from screening.models import AuditEvent, Need, Person, Screening
from tui.app import LinkworkApp

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = pytest.mark.anyio
SIZE = (120, 40)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def seeded_template(tui_practice_template: Path) -> Path:
    return tui_practice_template  # the fixed practice, made once per worker (conftest); copied


@pytest.fixture
def db_url(seeded_template: Path, tmp_path: Path) -> str:
    import shutil

    target = tmp_path / "practice.db"
    shutil.copy(seeded_template, target)
    return f"sqlite:///{target}"


def make_app(db_url: str) -> LinkworkApp:
    return LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)


async def wait(pilot: Any, app: LinkworkApp) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def rows(table: DataTable[Any]) -> list[str]:
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def text_of(app: LinkworkApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def query_db(db_url: str, fn: Any) -> Any:
    engine = open_engine(db_url)
    try:
        with session_scope(engine) as session:
            return fn(session)
    finally:
        engine.dispose()


async def open_person(pilot: Any, app: LinkworkApp, words: str) -> None:
    await wait(pilot, app)
    await tui_seed.press(pilot, "f2", *words)
    await wait(pilot, app)
    await pilot.press("enter", "enter")
    await wait(pilot, app)
    assert type(app.screen).__name__ == "PersonScreen"


# --- edit a person -----------------------------------------------------------------------


async def test_edit_person_prefilled_checked_and_saved(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await pilot.press("e")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PersonFormScreen"
        field = lambda key: app.screen.query_one(f"#p-{key}", Input)  # noqa: E731
        assert field("given").value == "Tomasz"
        assert field("family").value == "Nowak"
        assert field("birth_date").value == "09/11/1975"
        assert field("nhs_number").value == "9990000034"
        assert field("postcode").value == "ZZ3 7QT"
        # The same inline checks as adding: a bad postcode is refused in words.
        field("postcode").value = "NOT A CODE"
        await pilot.pause()
        assert "postcode" in text_of(app, "#err-postcode").lower()
        await pilot.press("ctrl+s")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PersonFormScreen"
        field("postcode").value = "zz9 9zz"
        field("family").value = "Nowak-Smith"
        app.screen.query_one("#eq-main_language").value = "pl"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait(pilot, app)
        # Back on the record, with the person bar and the summary updated.
        assert type(app.screen).__name__ == "PersonScreen"
        assert "Tomasz Nowak-Smith" in text_of(app, "#person-bar")
        assert "postcode ZZ9 9ZZ" in text_of(app, "#person-summary")
        assert any("Saved Tomasz Nowak-Smith" in str(n.message) for n in app._notifications)

    def check(session: Any) -> None:
        person = session.get(Person, tui_seed.pid(3))
        assert (person.family_name, person.postcode) == ("Nowak-Smith", "ZZ9 9ZZ")
        assert person.main_language == "pl"
        assert person.nhs_number == "9990000034"  # untouched
        updates = session.exec(
            select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.entity == "person")
        ).all()
        assert len(updates) == 1  # one transaction, only the changed fields named
        assert sorted(updates[0].detail["fields"]) == ["family_name", "main_language", "postcode"]

    query_db(db_url, check)


async def test_edit_person_escape_discards(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await pilot.press("e")
        await wait(pilot, app)
        app.screen.query_one("#p-given", Input).value = "Tom"
        await pilot.press("escape")  # asks first (issue 22, point 1)
        await wait(pilot, app)
        assert type(app.screen).__name__ == "ChoiceModal"
        await pilot.press("d")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PersonScreen"
        assert "Tomasz Nowak" in text_of(app, "#person-bar")
    given = query_db(db_url, lambda s: s.get(Person, tui_seed.pid(3)).given_name)
    assert given == "Tomasz"
    updates = query_db(
        db_url,
        lambda s: s.exec(select(AuditEvent).where(AuditEvent.action == "update")).all(),
    )
    assert updates == []


async def test_edit_person_is_in_the_command_palette(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await tui_seed.press(pilot, *"edit this person")
        await tui_seed.settle(pilot)  # the palette's search (a worker) has finished
        await pilot.press("enter")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PersonFormScreen"


# --- confirm a suggestion as a different code -------------------------------------------


async def answer_housing_then_finish(pilot: Any, app: LinkworkApp) -> None:
    await pilot.press("s")
    await wait(pilot, app)
    assert type(app.screen).__name__ == "ScreeningScreen"
    await pilot.press("down", "down", "enter")  # third option: sofa surfing
    for _ in range(len(app.screen.sections)):  # type: ignore[attr-defined]
        await pilot.press("ctrl+n")
        await pilot.pause()
    await wait(pilot, app)


async def test_suggested_code_swapped_with_the_code_picker(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await answer_housing_then_finish(pilot, app)
        table = app.screen.query_one("#scr-suggestions", DataTable)
        assert any("Z59.0" in r and "to decide" in r for r in rows(table))
        await pilot.press("c")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "CodePickerScreen"
        # Starts from the suggestion's need area; typing searches as you type.
        await tui_seed.press(pilot, *"damp")
        await wait(pilot, app)
        picks = app.screen.query_one("#picker-results", DataTable)
        assert str(picks.get_row_at(0)[0]) == "Z59.1"
        await pilot.press("down", "enter")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "ScreeningScreen"
        assert any("[x] CONFIRMED as Z59.1" in r and "Z59.0" in r for r in rows(table)), rows(table)

    def check(session: Any) -> None:
        needs = session.exec(select(Need).where(Need.person_id == tui_seed.pid(3))).all()
        from_screening = [n.code for n in needs if n.screening_id]
        assert from_screening == ["Z59.1"]
        scr = session.exec(select(Screening).where(Screening.person_id == tui_seed.pid(3))).one()
        assert scr.suggestions[0]["state"] == "edited"
        assert scr.suggestions[0]["confirmed_as"] == "Z59.1"

    query_db(db_url, check)


async def test_code_picker_escape_decides_nothing(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await answer_housing_then_finish(pilot, app)
        await pilot.press("c")
        await wait(pilot, app)
        await pilot.press("escape")
        await wait(pilot, app)
        table = app.screen.query_one("#scr-suggestions", DataTable)
        assert any("Z59.0" in r and "to decide" in r for r in rows(table))
    count = query_db(db_url, lambda s: len(s.exec(select(Need)).all()))
    assert count == 4  # the seed's needs only


# --- leave a screening half-done and resume it -------------------------------------------


def screenings_of(db_url: str, n: int) -> list[tuple[str, dict[str, str]]]:
    from screening.questionnaire import screening_answers

    def get(session: Any) -> list[tuple[str, dict[str, str]]]:
        found = session.exec(select(Screening).where(Screening.person_id == tui_seed.pid(n)))
        return [(s.status, screening_answers(session, s)) for s in found.all()]

    return query_db(db_url, get)


async def start_and_answer_two_sections(pilot: Any, app: LinkworkApp) -> None:
    await pilot.press("s")
    await wait(pilot, app)
    await pilot.press("down", "down", "enter")  # housing: sofa surfing
    await pilot.press("ctrl+n")
    await wait(pilot, app)
    assert "Section 2 of" in text_of(app, "#scr-title")
    await pilot.press("enter")  # food: worried it would run out: often true
    await pilot.pause()


async def test_screening_saved_on_leaving_and_resumed(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await start_and_answer_two_sections(pilot, app)
        await pilot.press("escape")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "ChoiceModal"
        assert "2 questions answered" in str(app.screen.query_one("#choice-question").render())
        await pilot.press("s")  # Save progress
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PersonScreen"
        timeline = app.screen.query_one("#person-timeline", DataTable)
        assert any("Screening" in r and "IN-PROGRESS" in r for r in rows(timeline))
        assert screenings_of(db_url, 3) == [
            ("in-progress", {"housing.situation": "sofa-surfing", "food.worried": "often"})
        ]

        # Opening the screening again offers to resume where they stopped.
        await pilot.press("s")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "ChoiceModal"
        question = str(app.screen.query_one("#choice-question").render())
        assert "Resume it at section 2 (Food)" in question
        await pilot.press("r")
        await wait(pilot, app)
        screen = app.screen
        assert type(screen).__name__ == "ScreeningScreen"
        assert "Section 2 of" in text_of(app, "#scr-title")
        food = screen.query_one("#q-1-0", RadioSet)
        assert food.pressed_button is not None and food.pressed_button.name == "often"
        await pilot.press("ctrl+b")  # the first section's answer is filled too
        await wait(pilot, app)
        housing = screen.query_one("#q-0-0", RadioSet)
        assert housing.pressed_button is not None
        assert housing.pressed_button.name == "sofa-surfing"

        # Finish: the saved screening is completed and its needs suggested.
        for _ in range(len(screen.sections)):  # type: ignore[attr-defined]
            await pilot.press("ctrl+n")
            await pilot.pause()
        await wait(pilot, app)
        table = screen.query_one("#scr-suggestions", DataTable)
        codes = " ".join(rows(table))
        assert "Z59.0" in codes and "Z59.4" in codes
    assert screenings_of(db_url, 3) == [
        ("completed", {"housing.situation": "sofa-surfing", "food.worried": "often"})
    ]


async def test_switching_screen_saves_progress(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await start_and_answer_two_sections(pilot, app)
        await pilot.press("f1")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "HomeScreen"
        assert screenings_of(db_url, 3) == [
            ("in-progress", {"housing.situation": "sofa-surfing", "food.worried": "often"})
        ]
        # Back to it: the screen is as it was; more answers are saved into the same one.
        await pilot.press("f2")
        await wait(pilot, app)
        assert type(app.screen).__name__ == "ScreeningScreen"
        await pilot.press("down", "enter")  # food.worried: sometimes true
        await pilot.press("f1")
        await wait(pilot, app)
    assert screenings_of(db_url, 3) == [
        ("in-progress", {"housing.situation": "sofa-surfing", "food.worried": "sometimes"})
    ]


async def test_leaving_and_discarding_saves_nothing(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await start_and_answer_two_sections(pilot, app)
        await pilot.press("escape")
        await wait(pilot, app)
        await pilot.press("k")  # keep screening
        await wait(pilot, app)
        assert type(app.screen).__name__ == "ScreeningScreen"
        await pilot.press("escape")
        await wait(pilot, app)
        await pilot.press("d")  # discard
        await wait(pilot, app)
        assert type(app.screen).__name__ == "PersonScreen"
    assert screenings_of(db_url, 3) == []


async def test_quitting_mid_screening_keeps_the_answers(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_person(pilot, app, "nowak")
        await start_and_answer_two_sections(pilot, app)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert screenings_of(db_url, 3) == [
        ("in-progress", {"housing.situation": "sofa-surfing", "food.worried": "often"})
    ]

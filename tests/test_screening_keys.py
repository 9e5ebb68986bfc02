"""Issue 22, point 7: a long screening is walked by keys that are said and that work.

- the help says what the keys do (Enter or Space chooses an answer; never "Up/Down to
  choose") and those keys do it;
- Ctrl+G lists the sections with how far each has got and goes to the one chosen;
- Ctrl+O skips a section the person did not raise: its questions are not asked (no
  answer stored, nothing suggested from it), never recorded as "no need";
- after "CONFIRMED as Z59.1" the row shows Z59.1's meaning, not the suggested code's;
- one Enter codes lay words (in the code picker and on Code a need), even when it comes
  before the search is back.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from textual.widgets import DataTable, OptionList, RadioSet, Static

from linkwork.db import open_engine, session_scope
from linkwork.settings import load_settings
from screening.models import Need, Screening
from tui.app import LinkworkApp
from tui.state import PersonRef

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = pytest.mark.anyio
SIZE = (120, 40)
NOWAK = PersonRef(tui_seed.pid(3), "Tomasz Nowak")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def db_url(tui_practice_url: str) -> str:
    """A copy of the fixed practice, made once per worker (conftest)."""
    return tui_practice_url


def make_app(db_url: str) -> LinkworkApp:
    return LinkworkApp(load_settings(database_url=db_url), today=tui_seed.TODAY, build_index=False)


settle = tui_seed.settle  # once per step: the database open, then no worker running


def text_of(app: LinkworkApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def rows(table: DataTable[Any]) -> list[str]:
    return [" | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def query_db(db_url: str, fn: Any) -> Any:
    engine = open_engine(db_url)
    try:
        with session_scope(engine) as session:
            return fn(session)
    finally:
        engine.dispose()


async def open_screening(pilot: Any, app: LinkworkApp) -> Any:
    from tui.screens.screening import ScreeningScreen

    await settle(pilot)
    app.person = NOWAK
    screen = ScreeningScreen(NOWAK)
    await app.push_screen(screen)
    await settle(pilot)
    assert "Section 1 of" in text_of(app, "#scr-title")
    return screen


async def finish(pilot: Any, screen: Any) -> None:
    """Straight to the last section (Ctrl+G, End, Enter), then Ctrl+N finishes."""
    await pilot.press("ctrl+g")
    await settle(pilot)
    await pilot.press("end", "enter")
    await settle(pilot)
    assert screen.index == len(screen.sections) - 1
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert screen.reviewing


async def test_help_says_the_keys_that_choose_and_skipping_is_not_asked(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screening(pilot, app)
        help_text = text_of(app, "#scr-help")
        assert "Enter or Space" in help_text
        assert "Up/Down to choose" not in help_text
        for key in ("Ctrl+G", "Ctrl+O"):
            assert key in help_text
        # Down moves, Space chooses (as the help says): the third housing answer.
        await pilot.press("down", "down", "space")
        await pilot.pause()
        radio = screen.query_one("#q-0-0", RadioSet)
        assert radio.pressed_button is not None and radio.pressed_button.name == "sofa-surfing"
        assert screen.answers["housing.situation"] == "sofa-surfing"
        # The person did not raise housing after all: Ctrl+O skips it, answers dropped.
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert "Section 2 of" in text_of(app, "#scr-title")
        assert "housing.situation" not in screen.answers
        # Food: Enter chooses (the first answer), as the help says.
        await pilot.press("enter")
        await pilot.pause()
        assert "food.worried" in screen.answers
        # Ctrl+G: every section and how far it got, in words; Enter goes there.
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert type(app.screen).__name__ == "SectionPicker"
        listing = app.screen.query_one(OptionList)
        lines = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        assert lines[0].startswith("1. Housing: skipped: not asked")
        assert lines[1].startswith("2. Food: 1 of") and lines[1].endswith("(here)")
        assert lines[4] == "5. Benefits: not started"
        await pilot.press("up", "enter")  # from Food (2, here) up to Housing
        await settle(pilot)
        assert type(app.screen).__name__ == "ScreeningScreen"
        title = text_of(app, "#scr-title")
        assert title.startswith("Section 1 of") and "(skipped: not asked)" in title
        await pilot.press("ctrl+g")
        await settle(pilot)
        await pilot.press(*["down"] * 5, "enter")  # from Housing (1) to Work (6)
        await settle(pilot)
        assert text_of(app, "#scr-title").startswith("Section 6 of")
        await finish(pilot, screen)
        table = screen.query_one("#scr-suggestions", DataTable)
        assert not any("Z59.0" in r for r in rows(table)), rows(table)

    def stored(session: Any) -> dict[str, str]:
        from screening.questionnaire import screening_answers

        scr = session.exec(select(Screening).where(Screening.person_id == NOWAK.id)).one()
        return screening_answers(session, scr)

    answers = query_db(db_url, stored)
    assert "food.worried" in answers
    assert not any(qid.startswith("housing.") for qid in answers)  # not asked, not "no"


async def test_confirmed_as_shows_the_new_codes_meaning_with_one_enter(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screening(pilot, app)
        await pilot.press("down", "down", "enter")  # housing: sofa surfing -> Z59.0
        await finish(pilot, screen)
        table = screen.query_one("#scr-suggestions", DataTable)
        assert any("Z59.0" in r and "Homelessness" in r for r in rows(table)), rows(table)
        await pilot.press("c")
        await settle(pilot)
        assert type(app.screen).__name__ == "CodePickerScreen"
        app.screen.query_one("#picker-query").value = ""  # type: ignore[attr-defined]
        await settle(pilot)
        # The words and one Enter at once, before the search is back: the top match.
        await tui_seed.press(pilot, *"damp", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ScreeningScreen"
        row = next(r for r in rows(table) if "CONFIRMED as Z59.1" in r)
        assert "Inadequate housing" in row
        assert "Homelessness" not in row
        assert "not Z59.0" in row  # what it replaced, in words

    needs = query_db(
        db_url,
        lambda s: [n.code for n in s.exec(select(Need).where(Need.person_id == NOWAK.id)).all()],
    )
    assert "Z59.1" in needs and "Z59.0" not in needs


async def test_code_a_need_records_with_one_enter(db_url: str) -> None:
    app = make_app(db_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.person = NOWAK
        await pilot.press("f3")
        await settle(pilot)
        assert type(app.screen).__name__ == "CodesScreen"
        await pilot.press(*"lonely", "enter")  # Enter before the search is back
        await settle(pilot)
        table = app.screen.query_one("#code-results", DataTable)
        top = str(table.get_row_at(0)[0])

    def recorded(session: Any) -> list[tuple[str, str]]:
        found = session.exec(select(Need).where(Need.person_id == NOWAK.id)).all()
        return [(n.code, n.words) for n in found if n.words == "lonely"]

    assert recorded and query_db(db_url, recorded) == [(top, "lonely")]


def test_the_cli_shows_what_a_suggestion_was_confirmed_as(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The CLI's list of a screening's suggestions says the code recorded instead and its
    meaning, not only 'edited' beside the suggested code's meaning."""
    made = cli(
        "person", "add", "--given", "Test", "--family", "Person", "--birth-date", "06/05/1970",
        "--json", db=db_url,
    )  # fmt: skip
    pid = made.json()["id"][:8]
    answers = tmp_path / "answers.yaml"
    answers.write_text("housing.situation: sofa-surfing\n")
    screened = cli("screen", pid, "--answers", str(answers), "--json", db=db_url)
    assert screened.code == 0, screened.err
    sid = screened.json()["id"][:8]
    edited = cli("need", "confirm", sid, "Z59.0", "--as", "Z59.1", db=db_url)
    assert edited.code == 0, edited.err
    data = cli("need", "suggestions", sid, "--json", db=db_url).json()
    homeless = next(s for s in data["suggestions"] if s["code"] == "Z59.0")
    assert (homeless["state"], homeless["confirmed_as"], homeless["confirmed_display"]) == (
        "edited", "Z59.1", "Inadequate housing",
    )  # fmt: skip
    table = " ".join(cli("need", "suggestions", sid, db=db_url).out.replace("│", " ").split())
    assert "confirmed as Z59.1" in table and "Inadequate" in table, table


async def test_a_long_answer_wraps_and_is_never_cut_short() -> None:
    """At 50 columns a long answer takes more lines, whole, rather than ending in '...';
    the lines after the first stand under its words, not under the button."""
    from textual.app import App, ComposeResult

    from tui.widgets.body import Body
    from tui.widgets.toggles import Choice

    long = "A home, but I am worried about losing it (eviction notice, arrears, end of tenancy)"

    class Questions(App[None]):
        CSS_PATH = str(Path(__file__).resolve().parents[1] / "tui" / "app.tcss")

        def compose(self) -> ComposeResult:
            with Body(id="scr-questions"):
                yield RadioSet(Choice("Settled"), Choice(long), Choice("Prefer not to say"))

    app = Questions()
    async with app.run_test(size=(50, 12)) as pilot:
        await pilot.pause()
        shown = app.export_screenshot()
        words = " ".join(app.query(Choice)[1].render().plain.split())
        assert app.query(Choice)[1].size.height >= 2
        assert long in words and "…" not in shown
        lines = app.query(Choice)[1].render().plain.splitlines()
        assert len(lines) == app.query(Choice)[1].size.height
        assert all(line.startswith("    ") for line in lines[1:]), lines

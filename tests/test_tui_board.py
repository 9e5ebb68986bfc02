"""Pilot tests of the referrals board and home screen: completing a referral records its
outcome (ONS4 after, needs resolved, note) in one go; a passphrase-protected key is
unlocked once per session; home reads well at 80x24."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from textual.widgets import DataTable, Input, Static

from linkwork.db import open_engine, session_scope
from linkwork.settings import load_settings
from tui.app import LinkworkApp

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed

pytestmark = pytest.mark.anyio

PRIYA = tui_seed.pid(2)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def seed_practice(url: str) -> str:
    """The fixed practice (tests/tui_seed.py) plus Priya's earlier ONS4 answers."""
    tui_seed.seed(url)
    return add_earlier_answers(url)


def add_earlier_answers(url: str) -> str:
    """Priya's earlier ONS4 answers, added to a copy of the fixed practice."""
    from screening.people import get_person
    from screening.questionnaire import complete_screening

    engine = open_engine(url)
    with session_scope(engine) as session:
        answers = {"ons4.satisfied": "3", "ons4.worthwhile": "4", "ons4.anxious": "8"}
        complete_screening(
            session,
            get_person(session, PRIYA),
            answers,
            actor="test.worker",
            at=datetime(2026, 2, 8, 10, tzinfo=UTC),
        )
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def seeded_template(tui_practice_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui-board") / "practice.db"
    shutil.copy(tui_practice_template, path)  # the fixed practice, made once per worker
    add_earlier_answers(f"sqlite:///{path}")
    return path


@pytest.fixture
def seeded_url(seeded_template: Path, tmp_path: Path) -> str:
    """A fresh copy of the practice, made once per module (SQLite)."""
    target = tmp_path / "practice.db"
    shutil.copy(seeded_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def seeded_any(db_url: str, seeded_template: Path) -> str:
    """The same practice on SQLite (a copy of the module's, rather than seeding the empty
    database anew) and on PostgreSQL (seeded)."""
    if db_url.startswith("sqlite:///"):
        shutil.copy(seeded_template, db_url.removeprefix("sqlite:///"))
        return db_url
    return seed_practice(db_url)


async def settle(pilot: Any, app: LinkworkApp) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def rows(table: DataTable[Any]) -> list[str]:
    return [" | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def priya_referral(url: str) -> dict[str, Any]:
    """Priya's referral (in progress in the seed) as the record now holds it."""
    from screening.models import Referral
    from screening.referrals import referral_dict

    engine = open_engine(url)
    try:
        with session_scope(engine) as session:
            referral = session.exec(select(Referral).where(Referral.person_id == PRIYA)).one()
            return referral_dict(session, referral, full=True)
    finally:
        engine.dispose()


async def open_outcome_form(pilot: Any, app: LinkworkApp) -> None:
    """From start-up, by keyboard: the board, Priya's in-progress referral, completed."""
    await settle(pilot, app)
    await pilot.press("f5")
    await settle(pilot, app)
    board = app.screen.query_one("#ref-table", DataTable)
    # Open referrals first: requested, accepted, then Priya's in-progress one.
    assert "IN-PROGRESS" in rows(board)[2] and "Priya" in rows(board)[2]
    await pilot.press("down", "down", "u")
    await settle(pilot, app)
    assert type(app.screen).__name__ == "StatusScreen"
    await pilot.press("enter", "down", "down", "enter")  # on-hold, completed, ...
    assert app.screen.query_one("#new-status").value == "completed"  # type: ignore[attr-defined]
    await pilot.press("ctrl+s")
    await settle(pilot, app)
    assert type(app.screen).__name__ == "OutcomeScreen"


def seeded_app(url: str, **kw: Any) -> LinkworkApp:
    kw.setdefault("build_index", False)  # the board never searches the directory
    return LinkworkApp(load_settings(database_url=url), today=tui_seed.TODAY, **kw)


async def test_completing_from_the_board_records_the_outcome_by_keyboard(
    seeded_any: str,
) -> None:
    seeded_url = seeded_any
    app = seeded_app(seeded_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_outcome_form(pilot, app)
        screen = app.screen
        # The questions as published, and the earlier answers beside the fields.
        assert "how satisfied are you with your life nowadays" in str(
            screen.query_one(".question", Static).render()
        )
        assert str(screen.query_one("#ons4-before-satisfied", Static).render()) == "before: 3"
        assert str(screen.query_one("#ons4-before-happy", Static).render()) == ("before: not asked")
        assert app.focused is screen.query_one("#ons4-satisfied")
        await pilot.press("7", "tab", "8", "tab", "tab", "2")  # happiness left empty
        await pilot.press("tab", "space")  # Z59.6 resolved
        await tui_seed.press(pilot, "tab", *"Debt plan agreed", "ctrl+s")
        await settle(pilot, app)

        assert type(app.screen).__name__ == "ReferralsScreen"
        board = app.screen.query_one("#ref-table", DataTable)
        assert any("COMPLETED" in r and "Priya" in r for r in rows(board)), rows(board)
        # The cursor stayed on it (now sorted last); opening it again: closed, and the
        # outcome in words (all of it, at any width).
        assert "COMPLETED" in rows(board)[board.cursor_row]
        await pilot.press("u")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "StatusScreen"
        assert "closed: its status cannot change" in str(
            app.screen.query_one("#status-closed", Static).render()
        )
        assert str(app.screen.query_one("#status-outcome", Static).render()) == (
            "Outcome: ONS4 life satisfaction 3->7, worthwhile 4->8, anxiety 8->2; "
            "resolved Z59.6; note: Debt plan agreed"
        )
        await pilot.press("escape")
        await settle(pilot, app)

        stored = priya_referral(seeded_url)
        assert stored["status"] == "completed"
        outcome = stored["outcome"]
        assert outcome["ons4"] == {"satisfied": 7, "worthwhile": 8, "happy": None, "anxious": 2}
        assert outcome["note"] == "Debt plan agreed"
        [need] = stored["needs"]
        assert need["code"] == "Z59.6" and outcome["needs"] == {need["id"]: True}

        # The person's timeline shows the outcome: before -> after, resolved, note.
        from tui.state import PersonRef

        app.open_person(PersonRef(PRIYA, "Priya Chaudhry"))
        await settle(pilot, app)
        # The table may shorten it to fit; the line below shows the chosen entry in full.
        table = app.screen.query_one("#person-timeline", DataTable)
        [at] = [i for i, r in enumerate(rows(table)) if "Outcome of" in r]
        table.move_cursor(row=at)
        await settle(pilot, app)
        line = str(app.screen.query_one("#person-detail", Static).render())
        assert "Outcome of referral" in line and "OUTCOME (COMPLETED)" in line
        assert "life satisfaction 3->7" in line and "worthwhile 4->8" in line
        assert "anxiety 8->2" in line and "happiness" not in line
        assert "resolved Z59.6" in line and "note: Debt plan agreed" in line


async def test_an_ons4_score_out_of_range_is_refused_and_nothing_saved(seeded_url: str) -> None:
    app = seeded_app(seeded_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_outcome_form(pilot, app)
        await pilot.press("1", "1")
        await pilot.pause()
        error = app.screen.query_one("#ons4-error-satisfied", Static)
        assert error.display
        assert "Life satisfaction: use a whole number from 0 to 10" in str(error.render())
        await pilot.press("tab", "x")
        await pilot.pause()
        assert "Worthwhile: use a whole number" in str(
            app.screen.query_one("#ons4-error-worthwhile", Static).render()
        )
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "OutcomeScreen"
        assert "Nothing saved. Life satisfaction" in str(
            app.screen.query_one("#outcome-error", Static).render()
        )
        assert app.focused is app.screen.query_one("#ons4-satisfied")
        # Fixing it clears the message.
        app.screen.query_one("#ons4-satisfied", Input).value = "10"
        await pilot.pause()
        assert not app.screen.query_one("#ons4-error-satisfied", Static).display
    stored = priya_referral(seeded_url)
    assert stored["status"] == "in-progress" and stored["outcome"] is None


async def test_escape_from_the_outcome_form_saves_nothing(seeded_url: str) -> None:
    app = seeded_app(seeded_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_outcome_form(pilot, app)
        await tui_seed.press(pilot, "6", "tab", "tab", "tab", "tab", "space", "tab", *"half done")
        await pilot.press("escape")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ChoiceModal"  # asks first (issue 22, point 1)
        await pilot.press("d")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "StatusScreen"
        await pilot.press("escape")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferralsScreen"
        board = app.screen.query_one("#ref-table", DataTable)
        assert not any("COMPLETED" in r for r in rows(board))
    stored = priya_referral(seeded_url)
    assert stored["status"] == "in-progress" and stored["outcome"] is None
    assert [e["to"] for e in stored["events"]][-1] == "in-progress"


# -- a passphrase-protected private key ---------------------------------------------------

PASSPHRASE = "correct horse battery"


@pytest.fixture
def protected(isolated_home: Path, tmp_path: Path) -> dict[str, Any]:
    """Our key protected by a passphrase, a trusted hub, the sample directory, and one
    person with an active need."""
    from directory.models import Service
    from linkwork.sample import load_sample_directory
    from screening.exchange.keys import load_public_key, trust_key, write_key_pair
    from screening.needs import add_need
    from screening.people import create_person

    settings = load_settings()
    keys = write_key_pair(settings.dir_or_default("keys_dir"), "practice", PASSPHRASE)
    hub = write_key_pair(tmp_path / "hub-keys", "hub")
    engine = open_engine(settings.resolved_database_url())
    with session_scope(engine) as session:
        load_sample_directory(session)
        trust_key(session, load_public_key(hub.public), "Wellbeing Hub", "test.worker")
        person = create_person(
            session,
            given_name="Robin",
            family_name="Ashworth",
            birth_date=datetime(1961, 7, 3).date(),
            nhs_number="9434765919",
            actor="test.worker",
        )
        add_need(session, person, "Z59.0", actor="test.worker", words="sofa surfing")
        service = session.exec(select(Service).order_by(col(Service.id))).first()
        assert service is not None
        ids = {"person": person.id, "service": service.id, "service_name": service.name}
    engine.dispose()
    return {"settings": settings, "private": keys.private, **ids}


def referrals_in(settings: Any) -> int:
    from screening.models import Referral

    engine = open_engine(settings.resolved_database_url())
    try:
        with session_scope(engine) as session:
            return len(session.exec(select(Referral)).all())
    finally:
        engine.dispose()


async def to_review(pilot: Any, app: LinkworkApp, practice: dict[str, Any]) -> None:
    from tui.state import PersonRef

    await settle(pilot, app)
    app.person = PersonRef(practice["person"], "Robin Ashworth")
    app.action_refer(practice["service"], practice["service_name"])
    await settle(pilot, app)
    app.screen.query_one("#consent-given").focus()
    await pilot.press("space", "ctrl+n")
    await settle(pilot, app)
    # Opened without a search: no need starts ticked; Space ticks the first (focused).
    assert app.screen.chosen_needs() == []  # type: ignore[attr-defined]
    await pilot.press("space")
    app.screen.query_one("#refer-reason").focus()
    await tui_seed.press(pilot, *"sofa surfing", "enter")
    await settle(pilot, app)
    assert app.screen.step == 2  # type: ignore[attr-defined]
    assert app.screen.partner() == "Wellbeing Hub"  # type: ignore[attr-defined]


def notes(app: LinkworkApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_protected_key_asks_for_the_passphrase_wrong_then_right(
    protected: dict[str, Any],
) -> None:
    settings = protected["settings"]
    key_text = protected["private"].read_text()
    keys_before = sorted(p.name for p in settings.dir_or_default("keys_dir").iterdir())
    outbox = settings.dir_or_default("outbox")
    app = LinkworkApp(settings, today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_review(pilot, app, protected)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "PassphraseScreen"
        field = app.screen.query_one("#passphrase", Input)
        assert field.password and app.focused is field
        await tui_seed.press(pilot, *"wrong horse", "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "PassphraseScreen"
        assert str(app.screen.query_one("#pass-error", Static).render()) == (
            "Wrong passphrase: try again."
        )
        assert field.value == ""
        assert not list(outbox.glob("*.jwe")) and referrals_in(settings) == 0
        await tui_seed.press(pilot, *PASSPHRASE, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "PersonScreen"
        files = list(outbox.glob("referral-*.jwe"))
        assert len(files) == 1 and files[0].read_text().count(".") == 4
        assert any("Referral sent: REQUESTED" in m for m in notes(app)), notes(app)
        # Unlocked for the session: the next send does not ask again.
        assert not app.actions.exchange.key_locked(app.workspace)
    # Nothing about the key was written: same files, the key file still protected.
    assert sorted(p.name for p in settings.dir_or_default("keys_dir").iterdir()) == keys_before
    assert protected["private"].read_text() == key_text
    # A new session starts locked again.
    fresh = LinkworkApp(settings)
    assert fresh.actions.exchange.key_locked(fresh.workspace)


async def test_escape_at_the_passphrase_sends_nothing(protected: dict[str, Any]) -> None:
    settings = protected["settings"]
    app = LinkworkApp(settings, today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_review(pilot, app, protected)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "PassphraseScreen"
        await tui_seed.press(pilot, *"half typed", "escape")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferScreen"
        assert any("Nothing sent: the private key is still locked" in m for m in notes(app))
    assert referrals_in(settings) == 0
    assert not list(settings.dir_or_default("outbox").glob("*"))


async def test_inbox_import_unlocks_the_key_first(protected: dict[str, Any]) -> None:
    settings = protected["settings"]
    inbox = settings.dir_or_default("inbox")
    inbox.mkdir(parents=True, exist_ok=True)
    update = inbox / "update-1.jwe"
    update.write_text("not.a.real.jwe.file\n")
    app = LinkworkApp(settings, today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        await settle(pilot, app)
        await pilot.press("i")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "PassphraseScreen"
        await pilot.press("escape")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferralsScreen"
        assert any("Nothing imported" in m for m in notes(app))
        assert update.exists()
        await pilot.press("i")
        await settle(pilot, app)
        await tui_seed.press(pilot, *PASSPHRASE, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferralsScreen"
        # The import ran with the unlocked key: the bad file is refused and stays.
        assert any("Inbox: 1 files; none imported; 1 refused" in m for m in notes(app)), notes(app)
        assert update.exists()
        await pilot.press("i")  # unlocked for the session: no second question
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferralsScreen"


# -- home reads well in a small and a large terminal --------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (170, 40)])
async def test_home_lists_show_every_column_without_scrolling(
    seeded_url: str, size: tuple[int, int]
) -> None:
    app = seeded_app(seeded_url)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        screen = app.screen
        # Side by side only in a wide terminal; stacked (each list full width) below.
        followups, waiting = (
            screen.query_one(f"#home-{k}", DataTable) for k in ("followups", "waiting")
        )
        side_by_side = followups.region.y == waiting.region.y
        assert side_by_side == (size[0] >= 160)
        for key, wanted in (
            ("followups", ["Due", "Person", "Service", "Status"]),
            ("waiting", ["Sent", "Person", "Service", "Status"]),
            ("recent", ["Name", "Born", "NHS number", "Postcode"]),
        ):
            table = screen.query_one(f"#home-{key}", DataTable)
            assert [str(c.label) for c in table.columns.values()] == wanted
            # Every column is on screen: nothing to scroll sideways, nothing past the edge.
            assert table.virtual_size.width <= table.scrollable_content_region.width
            assert table.region.right <= size[0]
        statuses = [str(followups.get_row_at(i)[3]) for i in range(followups.row_count)]
        assert statuses == ["ACCEPTED", "IN-PROGRESS"]
        assert str(followups.get_row_at(0)[0]) == "17 Feb OVERDUE"
        assert str(waiting.get_row_at(0)[3]) == "REQUESTED"
        services = [str(followups.get_row_at(i)[2]) for i in range(followups.row_count)]
        assert all(s.startswith("Hollinsford") for s in services)
        # The lists and the footer fit on the screen together.
        recent = screen.query_one("#home-recent", DataTable)
        assert recent.region.bottom <= screen.query_one("Footer").region.y


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 40)])
async def test_board_fits_its_columns_and_shows_the_chosen_note(
    seeded_url: str, size: tuple[int, int]
) -> None:
    app = seeded_app(seeded_url)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        await settle(pilot, app)
        board = app.screen.query_one("#ref-table", DataTable)
        labels = [str(c.label) for c in board.columns.values()]
        wide = size[0] >= 160  # the note column only beside full-width others
        assert labels == ["Ref", "Status", "Person", "Service", "Delivery", "Follow-up"] + (
            ["Note"] if wide else []
        )
        assert board.virtual_size.width <= board.scrollable_content_region.width
        # The short id the CLI asks for, the status in words, and "Sent" only when sent:
        # the seed's referrals were recorded, never sent to a partner.
        assert [
            (str(board.get_row_at(i)[0]), str(board.get_row_at(i)[1]))
            for i in range(board.row_count)
        ] == [
            ("22222222", "REQUESTED"), ("11111111", "ACCEPTED"), ("33333333", "IN-PROGRESS"),
            ("44444444", "REJECTED"),
        ]  # fmt: skip
        assert {str(board.get_row_at(i)[4]) for i in range(board.row_count)} == {"NOT SENT"}
        assert str(board.get_row_at(1)[5]) == "17 Feb OVERDUE"
        # The chosen referral's note and delivery, in full, below the table.
        await pilot.press("down", "down", "down")
        detail = str(app.screen.query_one("#ref-detail", Static).render())
        assert detail == (
            "44444444 REJECTED: Tomasz Nowak to Marlbridge Befriending Service, made "
            "12 Feb 2026. Note: Full until April\nNot sent to any partner: S sends it."
        )
        assert not app.screen.query_one("#ref-empty").display


async def test_board_on_a_new_database_says_how_to_refer() -> None:
    app = LinkworkApp(load_settings(), today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        await settle(pilot, app)
        empty = app.screen.query_one("#ref-empty", Static)
        assert empty.display
        assert "No referrals yet" in str(empty.render())
        assert "Ctrl+R to refer" in str(empty.render())


async def test_failing_needs_a_reason_then_records_the_outcome(seeded_url: str) -> None:
    app = seeded_app(seeded_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        await settle(pilot, app)
        await pilot.press("down", "down", "u")
        await settle(pilot, app)
        await pilot.press("enter", "down", "down", "down", "enter")  # on-hold, completed, failed
        assert app.screen.query_one("#new-status").value == "failed"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        error = app.screen.query_one("#status-error", Static)
        assert type(app.screen).__name__ == "StatusScreen"
        assert error.display and str(error.render()) == "! A reason is needed for failed."
        assert app.focused is app.screen.query_one("#reason")
        await tui_seed.press(pilot, *"Stopped replying", "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "OutcomeScreen"
        assert "marking it FAILED" in str(app.screen.query_one("#outcome-title", Static).render())
        await tui_seed.press(pilot, "tab", "tab", "tab", "tab", "tab", *"Moved away", "ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferralsScreen"
    stored = priya_referral(seeded_url)
    assert stored["status"] == "failed" and stored["events"][-1]["reason"] == "Stopped replying"
    outcome = stored["outcome"]
    assert outcome["note"] == "Moved away"
    assert set(outcome["ons4"].values()) == {None}
    assert list(outcome["needs"].values()) == [False]


async def test_home_says_due_today_and_overdue_in_words(seeded_url: str) -> None:
    from datetime import date

    # The seed's food bank referral (sent 10 Feb, 21 days) is due on 3 March.
    app = LinkworkApp(
        load_settings(database_url=seeded_url), today=date(2026, 3, 3), build_index=False
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        followups = app.screen.query_one("#home-followups", DataTable)
        due = [str(followups.get_row_at(i)[0]) for i in range(followups.row_count)]
        assert due == ["17 Feb OVERDUE", "23 Feb OVERDUE", "03 Mar due today"]
        assert followups.virtual_size.width <= followups.scrollable_content_region.width


def test_fit_widths_shares_a_narrow_width_and_keeps_minimums() -> None:
    from tui.widgets.fit_table import clip, fit_widths

    spec = [("Sent", 6, 6), ("Person", 18, 10), ("Service", None, 20), ("Status", 0, 11)]
    rows = [("24 Nov", "Fartun Adeyemi", "Hollinsford Renters' Advice Project", "R" * 37)]
    # Plenty of room: every column at its full width, the flexible one at its longest.
    assert fit_widths(spec, rows, 200) == [6, 18, 35, 37]
    # Narrow: the flexible column keeps its minimum; the one with most to spare gives way.
    narrow = fit_widths(spec, rows, 62)
    assert sum(narrow) == 62 and narrow[0] == 6 and narrow[2] == 20
    assert narrow[3] < 37 and narrow[1] <= 18
    # Too narrow for the minimums: never below them (the table scrolls instead).
    assert fit_widths(spec, rows, 20) == [6, 10, 20, 11]
    assert clip("Hollinsford Renters' Advice Project", 12) == "Hollinsford…"
    assert clip("REQUESTED", 12) == "REQUESTED"

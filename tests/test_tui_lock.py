"""The app and the encrypted database: the passphrase asked for before the database is
opened (chosen twice on first use, a mismatch refused; a wrong one refused), "not
encrypted" in the header of a plain file, and the idle lock: after the idle time the
records are hidden and nothing is reachable until the passphrase (PostgreSQL: the login's
password) is typed again."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import tui_seed
from textual.widgets import Input

from linkwork import db as lwdb
from linkwork.settings import load_settings
from tui.app import LinkworkApp
from tui.widgets.plain import Static

pytestmark = pytest.mark.anyio

PASSPHRASE = "correct horse battery"
SIZE = (120, 40)
FAMILY = "QUILLFEATHERSTONE"  # as the lists show a family name


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def settle(pilot, app: LinkworkApp) -> None:  # type: ignore[no-untyped-def]
    """Wait for the workers this step started (opening the database, a check) to finish."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def screen_text(app: LinkworkApp) -> str:
    """Everything the terminal shows now, as text (the screenshot's characters)."""
    svg = re.sub(r">\s+<", "><", app.export_screenshot())
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def error_text(app: LinkworkApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def type_into(pilot, app: LinkworkApp, selector: str, text: str) -> None:  # type: ignore[no-untyped-def]
    app.screen.query_one(selector, Input).focus()
    await pilot.pause()
    await tui_seed.press(pilot, *text)
    await pilot.press("enter")


def encrypted_with_a_person(path: Path) -> str:
    """An encrypted database holding one synthetic person; its URL."""
    from screening.people import create_person

    url = f"sqlite+pysqlcipher:///{path}"
    engine = lwdb.open_engine(url, passphrase=PASSPHRASE)
    with lwdb.session_scope(engine) as session:
        create_person(
            session, given_name="Zebediah", family_name="Quillfeatherstone",
            birth_date=date(1970, 5, 6), nhs_number="9990000018", actor="test.worker",
        )  # fmt: skip
    engine.dispose()
    return url


def refusals(engine: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """The audit trail's refusals of going on after the lock: (actor, what, detail)."""
    from sqlmodel import Session, select

    from screening.models import AuditEvent

    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.action == "refused", AuditEvent.entity == "session")
        ).all()
        return [(row.actor, str(row.entity_id), dict(row.detail)) for row in rows]


async def test_first_run_asks_for_a_new_passphrase_twice_before_opening(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    app = LinkworkApp(load_settings(database_url=f"sqlite+pysqlcipher:///{path}"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert type(app.screen).__name__ == "DatabasePassphraseScreen"
        assert not app.workspace.is_open and not path.exists()
        assert "Choose a passphrase for the new database" in screen_text(app)

        await pilot.press("f2")  # nothing else is reachable yet
        assert type(app.screen).__name__ == "DatabasePassphraseScreen"

        await type_into(pilot, app, "#db-pass", PASSPHRASE)
        assert app.focused is not None and app.focused.id == "db-pass-again"
        await type_into(pilot, app, "#db-pass-again", PASSPHRASE + "!")
        await settle(pilot, app)
        assert error_text(app, "#db-pass-error") == (
            "the two passphrases differ: type the same one twice"
        )
        assert type(app.screen).__name__ == "DatabasePassphraseScreen"
        assert not path.exists()

        await type_into(pilot, app, "#db-pass", "short")
        await type_into(pilot, app, "#db-pass-again", "short")
        await settle(pilot, app)
        assert error_text(app, "#db-pass-error") == ("choose a passphrase of at least 8 characters")
        assert not path.exists()

        await type_into(pilot, app, "#db-pass", PASSPHRASE)
        await type_into(pilot, app, "#db-pass-again", PASSPHRASE)
        await settle(pilot, app)
        await settle(pilot, app)
        assert app.db_ready
        assert type(app.screen).__name__ == "HomeScreen"
        assert "not encrypted" not in screen_text(app)
    assert path.read_bytes()[:16] != b"SQLite format 3\x00"
    engine = lwdb.open_engine(f"sqlite+pysqlcipher:///{path}", passphrase=PASSPHRASE)
    engine.dispose()


async def test_a_wrong_passphrase_is_refused_and_the_right_one_opens(tmp_path: Path) -> None:
    url = encrypted_with_a_person(tmp_path / "practice.db")
    app = LinkworkApp(load_settings(database_url=url), build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert type(app.screen).__name__ == "DatabasePassphraseScreen"
        assert "Unlock the database" in screen_text(app)
        assert len(app.screen.query(Input)) == 1  # typed once
        await type_into(pilot, app, "#db-pass", "not the passphrase")
        await settle(pilot, app)
        assert error_text(app, "#db-pass-error") == "Wrong passphrase: try again."
        assert not app.workspace.is_open
        await type_into(pilot, app, "#db-pass", PASSPHRASE)
        await settle(pilot, app)
        await settle(pilot, app)
        assert app.db_ready and type(app.screen).__name__ == "HomeScreen"
        assert FAMILY in screen_text(app)  # recent people


async def test_escape_on_the_passphrase_screen_leaves_without_opening(tmp_path: Path) -> None:
    url = encrypted_with_a_person(tmp_path / "practice.db")
    app = LinkworkApp(load_settings(database_url=url), build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        await pilot.pause()
    assert not app.workspace.is_open


async def test_a_plain_database_says_not_encrypted_in_the_header(tmp_path: Path) -> None:
    app = LinkworkApp(load_settings(database_url=f"sqlite:///{tmp_path / 'plain.db'}"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.db_ready and type(app.screen).__name__ == "HomeScreen"
        assert "linkwork (not encrypted)" in screen_text(app)


async def test_idle_lock_hides_the_records_and_asks_for_the_passphrase(tmp_path: Path) -> None:
    url = encrypted_with_a_person(tmp_path / "practice.db")
    # 0.01 minutes: locked 0.6 s after the last key press
    settings = load_settings(database_url=url, idle_lock_minutes=0.01)
    engine = lwdb.open_engine(url, passphrase=PASSPHRASE)
    app = LinkworkApp(settings, engine=engine, build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for _ in range(40):  # the app's own timer locks it (at most 4 s)
            await pilot.pause(0.1)
            if app.locked:
                break
        await pilot.pause()
        assert type(app.screen).__name__ == "LockScreen"
        app.settings = replace(settings, idle_lock_minutes=60)  # not again while we type
        shown = screen_text(app)
        assert "linkwork is locked" in shown and "Type the database passphrase" in shown
        assert FAMILY not in shown.upper() and "999 000 0018" not in shown

        for key in ("f1", "f2", "ctrl+p", "ctrl+n"):  # no way round it
            await pilot.press(key)
            await pilot.pause()
            assert type(app.screen).__name__ == "LockScreen", key
            assert FAMILY not in screen_text(app)

        await type_into(pilot, app, "#lock-pass", "not the passphrase")
        await settle(pilot, app)
        assert error_text(app, "#lock-error") == "Wrong passphrase: try again."
        assert type(app.screen).__name__ == "LockScreen"
        assert refusals(engine) == [("test.worker", "unlock", {"reason": "wrong passphrase"})]

        await type_into(pilot, app, "#lock-pass", PASSPHRASE)
        await settle(pilot, app)
        assert not app.locked
        assert type(app.screen).__name__ == "HomeScreen"
        assert FAMILY in screen_text(app)
    engine.dispose()


async def test_no_idle_lock_when_the_setting_is_0(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", idle_lock_minutes=0)
    app = LinkworkApp(settings, build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.last_activity -= 24 * 3600  # a day without a key press
        app._check_idle()
        await pilot.pause()
        assert not app.locked and type(app.screen).__name__ == "HomeScreen"


async def test_the_lock_on_a_plain_database_goes_on_with_enter(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", idle_lock_minutes=5)
    app = LinkworkApp(settings, build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        await pilot.pause()
        app.last_activity -= 5 * 60  # five minutes without a key press
        app._check_idle()
        await pilot.pause()
        assert type(app.screen).__name__ == "LockScreen"
        shown = screen_text(app)
        assert "This database is not encrypted" in shown and "Go on (Enter)" in shown
        await pilot.press("enter")
        await pilot.pause()
        assert not app.locked and type(app.screen).__name__ == "PeopleScreen"


def test_the_idle_lock_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().idle_lock_minutes == 10
    monkeypatch.setenv("LINKWORK_IDLE_LOCK_MINUTES", "2.5")
    assert load_settings().idle_lock_minutes == 2.5
    monkeypatch.setenv("LINKWORK_IDLE_LOCK_MINUTES", "-1")
    with pytest.raises(ValueError, match="idle_lock_minutes must be a number of 0 or more"):
        load_settings()
    monkeypatch.setenv("LINKWORK_IDLE_LOCK_MINUTES", "soon")
    with pytest.raises(ValueError, match="idle_lock_minutes must be a number, not 'soon'"):
        load_settings()


def test_on_postgresql_the_lock_checks_the_logins_password(db_url: str) -> None:
    """The lock's check on PostgreSQL opens a new connection with the typed password."""
    import sqlalchemy as sa

    from linkwork.actions import database
    from linkwork.workspace import Workspace

    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (the SQLite cases are above)")
    password = sa.make_url(db_url).password
    if not password:
        pytest.skip("this PostgreSQL login has no password")
    ws = Workspace(load_settings(database_url=db_url))
    database.check_passphrase(ws, password)
    with pytest.raises(ValueError, match=r"^wrong password for the database login "):
        database.check_passphrase(ws, password + "x")


async def test_on_postgresql_the_app_locks_and_asks_for_the_password(db_url: str) -> None:
    import sqlalchemy as sa

    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (the SQLite cases are above)")
    password = sa.make_url(db_url).password
    if not password:
        pytest.skip("this PostgreSQL login has no password")
    app = LinkworkApp(load_settings(database_url=db_url, idle_lock_minutes=5), build_index=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.db_ready and "not encrypted" not in screen_text(app)
        app.last_activity -= 5 * 60
        app._check_idle()
        await pilot.pause()
        assert type(app.screen).__name__ == "LockScreen"
        assert error_text(app, ".gate-help") == (
            "Locked after 5 minutes without use. Type your database password to go on."
        )
        await type_into(pilot, app, "#lock-pass", password + "x")
        await settle(pilot, app)
        assert error_text(app, "#lock-error") == "Wrong password: try again."
        ws = app.workspace
        assert refusals(ws.engine) == [(ws.user, "unlock", {"reason": "wrong password"})]
        await type_into(pilot, app, "#lock-pass", password)
        await settle(pilot, app)
        assert not app.locked and type(app.screen).__name__ == "HomeScreen"

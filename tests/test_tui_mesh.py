"""MESH in the app (issue 17, points 2 and 5), both sides through NHS England's
mesh-sandbox: the practice sends from the board (S); the hub syncs on demand (F9), reads
the received referral (who sent it, the needs shared, the reason, contact details as the
consent allows) and accepts it (A); the practice's next sync shows ACCEPTED and its
message DELIVERED; the status line says when it last synced and what waits; a tampered
message is quarantined and listed with its reason; the background sync runs by itself;
keys and partners are managed with the fingerprint compared on screen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tui_seed
from mesh_support import HUB_MAILBOX, PRACTICE_MAILBOX, Pair, Sandbox, make_pair, sandbox_fixture
from test_exchange_support import make_referral, second_db
from textual.widgets import DataTable, Input, Static

from linkwork.settings import load_settings
from tui.app import LinkworkApp

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from sandbox_fixture(tmp_path_factory)


@pytest.fixture
def hub_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_db(request, db_url, tmp_path)


@pytest.fixture
def pair(cli, monkeypatch, sandbox, db_url, hub_url, tmp_path) -> Pair:  # type: ignore[no-untyped-def]
    if sandbox.process is None:
        sandbox.start()
    return make_pair(cli, monkeypatch, sandbox, db_url, hub_url, tmp_path)


def app_for(pair: Pair, side: Any, **settings: Any) -> LinkworkApp:
    side.env(pair.mp, pair.sandbox)
    settings.setdefault("mesh_sync_seconds", 0)  # on demand only, unless a test says
    return LinkworkApp(load_settings(database_url=side.url, **settings), build_index=False)


async def settle(pilot: Any, app: LinkworkApp) -> None:
    for _ in range(4):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def rows(table: DataTable[Any]) -> list[str]:
    return [" | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def notes(app: LinkworkApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def mesh_line(app: LinkworkApp) -> str:
    from textual.widgets import Footer

    bar = app.screen.query_one("#mesh-bar", Static)
    assert bar.display
    # On screen, on the line just above the footer (not under it).
    assert bar.region.height == 1
    assert bar.region.bottom == app.screen.query_one(Footer).region.y
    return str(bar.render())


async def test_send_receive_open_accept_and_back_in_the_app(pair: Pair) -> None:
    practice, hub = pair.practice, pair.hub
    rid = make_referral(practice.url).referral_id

    # The practice sends from the board: S, the partner chosen, Ctrl+S.
    app = app_for(pair, practice)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert mesh_line(app).startswith("MESH: not synced yet  |  0 waiting to send")
        await pilot.press("f5")
        await settle(pilot, app)
        board = app.screen.query_one("#ref-table", DataTable)
        assert rows(board)[0].startswith(f"{rid[:8]} | REQUESTED")
        assert "NOT SENT" in rows(board)[0]
        await pilot.press("s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "PartnerScreen"
        assert app.screen.query_one("#partner").value == "hub"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        board = app.screen.query_one("#ref-table", DataTable)
        assert "| SENT " in rows(board)[0], rows(board)
        assert f"sent by MESH to {HUB_MAILBOX}" in str(app.screen.query_one("#ref-detail").render())
        # S again: already sent, said in words, nothing sent twice.
        await pilot.press("s")
        await settle(pilot, app)
        assert any("already sent, nothing sent again" in m for m in notes(app)), notes(app)

    # The hub syncs on demand (F9), opens the referral and accepts it.
    app = app_for(pair, hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5", "f9")
        await settle(pilot, app)
        assert any("MESH sync: 0 sent, 1 received, 1 applied" in m for m in notes(app))
        assert mesh_line(app).startswith("MESH: last synced ")
        assert "0 waiting to send" in mesh_line(app)
        board = app.screen.query_one("#ref-table", DataTable)
        assert "| RECEIVED " in rows(board)[0] and rid[:8] in rows(board)[0]
        await pilot.press("enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReceivedScreen"
        text = str(app.screen.query_one("#received-text", Static).render())
        assert "From:      practice (ODS Y99901), received " in text
        assert "Person:    Ada Testperson, born 02 Mar 1984, NHS number " in text
        assert "Reason:    Sofa surfing since March" in text
        assert "  Z59.0 " in text and "  Z59.4 " in text
        assert "shares needs, contact" in text
        assert "Contact:   Phone 07700 900123" in text and "Contact:   Postcode ZZ99 3AB" in text
        await pilot.press("a")
        await settle(pilot, app)
        assert "Status:    ACCEPTED" in str(app.screen.query_one("#received-text").render())
    assert pair.show(hub, rid)["delivery"][0]["state"] == "sent"  # the update went at once

    # The practice's next sync: ACCEPTED on the board, its message DELIVERED.
    app = app_for(pair, practice)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5", "f9")
        await settle(pilot, app)
        board = app.screen.query_one("#ref-table", DataTable)
        row = rows(board)[0]
        assert "ACCEPTED" in row and "| DELIVERED " in row, row


async def test_a_tampered_message_is_quarantined_and_listed_with_its_reason(pair: Pair) -> None:
    with pair.sandbox.client(PRACTICE_MAILBOX) as client:
        client.send_message(HUB_MAILBOX, b"not.a.jwe.at.all", workflow_id="LINKWORK")
    app = app_for(pair, pair.hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f9")
        await settle(pilot, app)
        assert "1 QUARANTINED" in mesh_line(app)
        await app.run_action("quarantine")
        await settle(pilot, app)
        table = app.screen.query_one("#q-table", DataTable)
        assert table.row_count == 1 and PRACTICE_MAILBOX in rows(table)[0]
        detail = str(app.screen.query_one("#q-detail", Static).render())
        assert detail.startswith(f"From {PRACTICE_MAILBOX} by mesh (message ")
        assert detail.endswith("16 bytes): refused (tampered): the encryption header is unreadable")


async def test_the_background_sync_runs_by_itself(pair: Pair) -> None:
    rid = make_referral(pair.practice.url).referral_id
    pair.ok(pair.practice, "referral", "send", rid, "--to", "hub")
    app = app_for(pair, pair.hub, mesh_sync_seconds=1)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):  # no key pressed: the timer's sync brings the referral in
            await asyncio.sleep(0.1)
            if app.mesh.last_sync is not None:
                break
        await settle(pilot, app)
        assert app.mesh.last_sync is not None
        assert mesh_line(app).startswith("MESH: last synced ")
    assert pair.show(pair.hub, rid)["direction"] == "incoming"


async def test_without_mesh_there_is_no_status_line_and_f9_says_why(
    isolated_home: Path,
) -> None:
    app = LinkworkApp(load_settings(), build_index=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert not app.screen.query_one("#mesh-bar").display
        await pilot.press("f9")
        await settle(pilot, app)
        assert any(m.startswith("MESH is not set up: give its server") for m in notes(app))
        assert app.mesh.timer is None


async def test_keys_and_partners_compare_the_fingerprint_before_trusting(
    pair: Pair, tmp_path: Path
) -> None:
    from linkwork.actions.mesh import fingerprint
    from screening.exchange.keys import write_key_pair

    other = write_key_pair(tmp_path / "other", "northside")
    app = app_for(pair, pair.practice)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await app.run_action("keys")
        await settle(pilot, app)
        ours = str(app.screen.query_one("#our-key", Static).render())
        kid = pair.ok(pair.practice, "keys", "list", "--json").json()
        assert ours.startswith("Fingerprint: ")
        assert len(ours.split("\n")[0].removeprefix("Fingerprint: ").split()) == 16
        public = json.loads(ours.split("Public key: ", 1)[1].split("\n", 1)[0])
        assert (public["kty"], public["crv"]) == ("EC", "P-256") and "d" not in public
        partners = app.screen.query_one("#partner-table", DataTable)
        assert "hub" in rows(partners)[0] and f"MESH {HUB_MAILBOX}" in rows(partners)[0]
        assert kid  # the CLI lists the same partner

        await pilot.press("t")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "TrustScreen"
        await tui_seed.press(pilot, *str(other.public), "enter")
        await settle(pilot, app)
        shown = str(app.screen.query_one("#trust-print", Static).render())
        assert fingerprint(other.kid) in shown
        await tui_seed.press(pilot, *"Northside Hub", "tab", *"x26abc9", "ctrl+s")
        await settle(pilot, app)
        error = str(app.screen.query_one(".error", Static).render())
        assert error.startswith("! Compare the fingerprint with the partner's first")
        app.screen.query_one("#trust-match").focus()
        await pilot.press("space", "ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "KeysScreen"
        partners = app.screen.query_one("#partner-table", DataTable)
        assert any("Northside Hub" in r and "MESH X26ABC9" in r for r in rows(partners))

        # M sets the route (empty means files) and the ODS code; a bad code is said in
        # the form and nothing changes until it is put right.
        at = next(i for i, r in enumerate(rows(partners)) if r.startswith("Northside Hub"))
        assert "Northside Hub | none |" in rows(partners)[at]
        partners.move_cursor(row=at)
        await pilot.press("m")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "RouteScreen"
        field = app.screen.query_one("#route-mailbox", Input)
        field.value = ""
        await pilot.press("enter")  # on to the ODS code
        app.screen.query_one("#route-ods", Input).value = "Y01 234"
        await pilot.press("enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "RouteScreen"
        assert "is not an ODS organisation code" in str(
            app.screen.query_one(".error", Static).render()
        )
        app.screen.query_one("#route-ods", Input).value = "x26hb1"
        await pilot.press("enter")
        await settle(pilot, app)
        partners = app.screen.query_one("#partner-table", DataTable)
        assert any("Northside Hub | X26HB1 | files" in r for r in rows(partners))
        assert any("hub" in r and f"MESH {HUB_MAILBOX}" in r for r in rows(partners))
    listed = {p["name"]: p for p in pair.ok(pair.practice, "keys", "list", "--json").json()}
    assert (listed["Northside Hub"]["route"], listed["Northside Hub"]["ods"]) == (
        "files",
        "X26HB1",
    )
    assert listed["Northside Hub"]["fingerprint"] == fingerprint(other.kid)

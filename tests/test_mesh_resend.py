"""Resend and cancel a send (issue 17, point 2), through the CLI against mesh-sandbox: a
referral queued while the server is down can be cancelled (nothing goes), sent after all
(the same message, once), and is never sent twice; the board's delivery cell says where
it is in words ("SENT" only once sent); what the referral shared is kept and shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mesh_support import HUB_MAILBOX, Pair, Sandbox, make_pair, sandbox_fixture
from test_exchange_support import make_referral, second_db


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


def board_cell(pair: Pair, rid: str) -> dict[str, str]:
    from datetime import date

    from linkwork.actions.referrals import referral_board
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    pair.practice.env(pair.mp, pair.sandbox)
    ws = Workspace(load_settings(database_url=pair.practice.url))
    rows = {r["id"]: r for r in referral_board(ws, date.today())}
    row: dict[str, Any] = rows[rid]
    assert row["short_id"] == rid[:8]
    cell: dict[str, str] = row["delivery"]
    return cell


def audit_actions(url: str, rid: str) -> list[str]:
    from sqlmodel import col, select
    from test_exchange_support import session_for

    from screening.models import AuditEvent

    with session_for(url) as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.entity_id == rid).order_by(col(AuditEvent.seq))
        ).all()
        return [r.action for r in rows]


def test_cancel_a_queued_send_then_send_it_after_all(pair: Pair) -> None:
    practice, hub = pair.practice, pair.hub
    rid = make_referral(practice.url).referral_id
    assert board_cell(pair, rid)["cell"] == "NOT SENT"
    # Never sent: resend needs a partner, in words.
    refused = pair.run(practice, "referral", "resend", rid)
    assert refused.code == 2
    assert f"was never sent: choose a partner (linkwork referral send {rid[:8]}" in refused.err

    pair.sandbox.stop()
    queued = pair.run(practice, "referral", "send", rid, "--to", "hub")
    assert queued.code == 2 and "queued, not sent" in queued.err
    cell = board_cell(pair, rid)
    assert cell["state"] == "QUEUED" and cell["cell"] == "QUEUED"
    assert "cannot be reached" in cell["words"] and "Next try" in cell["words"]

    # Cancelled: audited, and nothing goes even when the server is back.
    done = pair.ok(practice, "referral", "cancel-send", rid, "--json").json()
    assert (done["state"], done["cancelled"]) == ("cancelled", 1)
    assert board_cell(pair, rid)["cell"] == "CANCELLED"
    again = pair.run(practice, "referral", "cancel-send", rid)
    assert again.code == 2 and f"nothing queued for referral {rid[:8]} to cancel" in again.err
    pair.sandbox.start()
    assert pair.sync(practice, "--now")["sent"] == 0
    assert pair.sandbox.inbox(HUB_MAILBOX) == []

    # Sent after all: the same message, once.
    sent = pair.ok(practice, "referral", "resend", rid, "--json").json()
    assert (sent["state"], sent["mailbox"]) == ("sent", HUB_MAILBOX)
    cell = board_cell(pair, rid)
    assert cell["state"] == "SENT" and cell["cell"].startswith("SENT ")
    twice = pair.run(practice, "referral", "resend", rid)
    assert twice.code == 2 and "already sent, nothing sent again" in twice.err
    got = pair.sync(hub)
    assert (got["received"], got["applied"]) == (1, 1)
    assert pair.sync(hub)["received"] == 0
    assert "cancel-send" in audit_actions(practice.url, rid)
    assert "resend" in audit_actions(practice.url, rid)

    # What went to the hub is kept with the referral and shown.
    shown = pair.show(practice, rid)
    assert [s["what"].split(" (")[0] for s in shown["shared"]] == ["Shared with hub"]
    assert "needs Z59.0 " in shown["shared"][0]["line"]
    text = pair.ok(practice, "referral", "show", rid).out
    assert "shared with hub: name, date of birth, NHS number; needs Z59.0" in text

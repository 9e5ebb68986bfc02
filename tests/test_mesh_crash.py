"""Issue 17's last MESH gaps, against the real mesh-sandbox on a loopback port:

* the crash window: MESH accepted a message but our commit marking it sent failed (a
  crash, the database gone). The next try asks MESH for the message by its local id (the
  delivery's) before sending: MESH has it, so it is marked sent with MESH's message id and
  not sent again; exactly one message reaches the hub.
* how many messages wait in our MESH inbox: in ``mesh sync --json``, ``mesh status`` and
  the app's status line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mesh_support import HUB_MAILBOX, Pair, Sandbox, make_pair, sandbox_fixture
from test_exchange_support import make_referral, second_db, session_for


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


def _workspace(pair: Pair, url: str) -> Any:
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    pair.practice.env(pair.mp, pair.sandbox)
    return Workspace(load_settings(database_url=url))


def _deliveries(url: str) -> list[Any]:
    from sqlmodel import col, select

    from screening.exchange.delivery import Delivery

    with session_for(url) as session:
        rows = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
        return [(r.state, r.attempts, r.transport_id) for r in rows]


def _sends_audited(url: str, rid: str) -> list[dict[str, Any]]:
    from sqlmodel import col, select

    from screening.models import AuditEvent

    with session_for(url) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_id == rid, AuditEvent.action == "send")
            .order_by(col(AuditEvent.seq))
        ).all()
        return [dict(r.detail or {}) for r in rows]


def test_a_crash_after_mesh_accepted_the_message_never_sends_it_twice(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkwork.actions import mesh as act
    from screening.exchange import delivery as dl

    practice, hub = pair.practice, pair.hub
    rid = make_referral(practice.url).referral_id
    real = dl.mark_sent
    crashes: list[str] = []

    def crash_once(row: Any, transport_id: str, **kwargs: Any) -> None:
        if not crashes:
            crashes.append(transport_id)
            raise RuntimeError("the machine stopped before the commit")
        real(row, transport_id, **kwargs)

    monkeypatch.setattr(dl, "mark_sent", crash_once)
    with pytest.raises(RuntimeError, match="stopped before the commit"):
        act.send_referral(_workspace(pair, practice.url), rid, "hub")
    # MESH has the message; our record does not say so (the commit never happened) but
    # does say a try began.
    first = pair.sandbox.inbox(HUB_MAILBOX)
    assert first == crashes and len(first) == 1
    assert _deliveries(practice.url) == [("queued", 1, "")]

    # The retry asks MESH by the local id, finds the message, and does not send it again.
    again = pair.sync(practice, "--now")
    assert (again["sent"], again["failed"]) == (1, 0)
    assert pair.sandbox.inbox(HUB_MAILBOX) == first
    assert _deliveries(practice.url) == [("sent", 1, first[0])]
    audited = _sends_audited(practice.url, rid)
    assert [a["mesh_message_id"] for a in audited] == first
    assert "not sent again" in audited[0]["found"]

    got = pair.sync(hub)
    assert (got["received"], got["applied"], got["failed"]) == (1, 1, 0)
    assert pair.sync(practice, "--now")["sent"] == 0  # nothing left to send


def test_a_retry_after_a_refused_send_still_sends_it_once(pair: Pair) -> None:
    """A try that failed before MESH had the message (the server was down) is looked up,
    not found, and sent: one message, not none."""
    practice = pair.practice
    rid = make_referral(practice.url).referral_id
    pair.sandbox.stop()
    down = pair.run(practice, "referral", "send", rid, "--to", "hub")
    assert down.code == 2 and "queued, not sent" in down.err
    assert [d[:2] for d in _deliveries(practice.url)] == [("queued", 1)]
    pair.sandbox.start()
    assert pair.sync(practice, "--now")["sent"] == 1
    inbox = pair.sandbox.inbox(HUB_MAILBOX)
    assert len(inbox) == 1
    assert _deliveries(practice.url) == [("sent", 2, inbox[0])]
    assert "found" not in _sends_audited(practice.url, rid)[0]


def test_a_message_mesh_said_failed_is_sent_again_when_resent(pair: Pair) -> None:
    """Each try has its own local id: resending a message MESH gave up on (tracking said
    expired) sends it anew, rather than finding the failed one and calling it sent."""
    from sqlmodel import select

    from screening.exchange.delivery import Delivery

    practice, hub = pair.practice, pair.hub
    rid = make_referral(practice.url).referral_id
    pair.ok(practice, "referral", "send", rid, "--to", "hub")
    (first,) = pair.sandbox.inbox(HUB_MAILBOX)
    with session_for(practice.url) as session:  # as _track records MESH's 'expired'
        (row,) = session.exec(select(Delivery)).all()
        row.state, row.last_reason = "failed", "MESH says the message was not delivered"
        session.commit()
    again = pair.ok(practice, "referral", "resend", rid, "--json").json()
    assert again["state"] == "sent" and again["transport_id"] != first
    assert sorted(pair.sandbox.inbox(HUB_MAILBOX)) == sorted([first, again["transport_id"]])
    assert _deliveries(practice.url) == [("sent", 2, again["transport_id"])]
    got = pair.sync(hub)  # the same Bundle twice: applied once
    assert (got["received"], got["applied"], got["failed"]) == (2, 1, 0)


def test_messages_waiting_in_our_inbox_are_counted(pair: Pair) -> None:
    practice, hub = pair.practice, pair.hub
    status = pair.ok(hub, "mesh", "status", "--json").json()
    assert (status["mesh"], status["inbox"]) == (True, 0)
    rid = make_referral(practice.url).referral_id
    pair.ok(practice, "referral", "send", rid, "--to", "hub")
    assert pair.ok(hub, "mesh", "status", "--json").json()["inbox"] == 1
    words = " ".join(pair.ok(hub, "mesh", "status").out.split())  # as wrapped at 80
    assert words.endswith("0 quarantined, 1 in our MESH inbox")
    # The practice's own inbox is empty: the count is of our inbox, not the server's.
    assert pair.ok(practice, "mesh", "status", "--json").json()["inbox"] == 0

    synced = pair.sync(hub)
    assert (synced["applied"], synced["inbox"]) == (1, 0)
    assert pair.ok(hub, "mesh", "status", "--json").json()["inbox"] == 0
    pair.ok(hub, "referral", "status", rid, "accepted")  # the reply goes to the practice
    assert pair.ok(practice, "mesh", "status", "--json").json()["inbox"] == 1

    pair.sandbox.stop()
    down = " ".join(pair.ok(hub, "mesh", "status").out.split())
    assert "our MESH inbox could not be counted" in down
    assert pair.ok(hub, "mesh", "status", "--json").json()["inbox"] is None
    pair.sandbox.start()


def test_the_status_line_says_how_many_wait_in_our_inbox() -> None:
    """The app's line, from what the status peek found (the peek itself is tested above)."""
    from types import SimpleNamespace

    from tui.mesh_sync import MeshSync

    sync = MeshSync(SimpleNamespace())  # type: ignore[arg-type]
    sync.set_up = True
    assert "in our inbox" not in sync.line()  # not counted yet: nothing claimed
    sync.inbox = 3
    assert "0 waiting to send  |  3 in our inbox" in sync.line()
    sync.set_up = False
    assert sync.line() == ""

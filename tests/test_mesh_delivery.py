"""The loop over NHS MESH: a practice and a hub, each with its own database and keys,
exchange a referral and its replies through NHS England's mesh-sandbox with NHS England's
mesh-client. No file is carried by hand; nothing but `referral send`, `mesh sync` and the
hub's status changes is run."""

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


def _referrals(url: str) -> list[tuple[str, str, str]]:
    from sqlmodel import select

    from screening.models import Referral

    with session_for(url) as session:
        return [(r.id, r.direction, r.status) for r in session.exec(select(Referral)).all()]


def _no_files(pair: Pair) -> None:
    for side in (pair.practice, pair.hub):
        for folder in ("outbox", "inbox"):
            path = side.folder / folder
            assert not path.exists() or not any(path.iterdir()), path


def _loop(pair: Pair, between: Any = lambda: None) -> str:
    """refer -> send -> hub sync -> accept -> syncs -> complete -> syncs; ``between`` runs
    between every two steps (a sandbox restart in the second test)."""
    practice, hub = pair.practice, pair.hub
    made = make_referral(practice.url)
    rid = made.referral_id
    between()

    sent = pair.ok(practice, "referral", "send", rid, "--to", "hub", "--json").json()
    assert (sent["state"], sent["route"], sent["mailbox"]) == ("sent", "mesh", HUB_MAILBOX)
    assert len(sent["transport_id"]) == 32  # the MESH message id
    between()

    got = pair.sync(hub)
    assert (got["received"], got["applied"], got["quarantined"], got["failed"]) == (1, 1, 0, 0)
    seen = pair.show(hub, rid)
    assert (seen["direction"], seen["status"]) == ("incoming", "requested")
    assert sorted(n["code"] for n in seen["needs"]) == ["Z59.0", "Z59.4"]
    between()

    pair.ok(hub, "referral", "status", rid, "accepted")
    between()
    pair.sync(hub)
    between()
    back = pair.sync(practice)
    assert (back["received"], back["applied"], back["failed"]) == (1, 1, 0)
    shown = pair.show(practice, rid)
    assert shown["status"] == "accepted"
    # The practice's own referral: MESH tracking says the hub downloaded it.
    assert [d["state"] for d in shown["delivery"]] == ["acknowledged"]
    between()

    pair.ok(hub, "referral", "status", rid, "in-progress")
    between()
    pair.ok(
        hub, "referral", "status", rid, "completed",
        "--resolved", "Z59.0", "--ons4", "6,7,7,3", "--note", "housed by the council",
    )  # fmt: skip
    between()
    pair.sync(hub)
    between()
    pair.sync(practice)
    done = pair.show(practice, rid)
    assert done["status"] == "completed"
    outcome = done["outcome"]
    assert outcome["note"] == "housed by the council"
    assert outcome["ons4"] == {"satisfied": 6, "worthwhile": 7, "happy": 7, "anxious": 3}
    codes = {n["id"]: n["code"] for n in done["needs"]}
    resolved = {codes[need]: flag for need, flag in outcome["needs"].items()}
    assert resolved == {"Z59.0": True, "Z59.4": False}
    hub_side = pair.show(hub, rid)
    assert [d["kind"] for d in hub_side["delivery"]] == ["update"] * 3
    assert {d["state"] for d in hub_side["delivery"]} <= {"sent", "acknowledged"}
    return rid


def test_the_loop_over_mesh(pair: Pair) -> None:
    rid = _loop(pair)
    assert _referrals(pair.practice.url) == [(rid, "outgoing", "completed")]
    assert _referrals(pair.hub.url) == [(rid, "incoming", "completed")]
    _no_files(pair)
    assert pair.sandbox.inbox("X26ABC1") == [] and pair.sandbox.inbox("X26ABC2") == []
    # The practice's screen shows where its referral went, in words.
    shown = pair.ok(pair.practice, "referral", "show", rid).out
    assert f"delivery: Referral for hub: downloaded by {HUB_MAILBOX}" in shown


def test_the_loop_with_the_sandbox_restarted_between_every_step(pair: Pair) -> None:
    """The sandbox's file store keeps its messages over a restart: a restart between any
    two steps changes nothing (no referral twice, no update lost)."""
    restarts = []

    def restart() -> None:
        pair.sandbox.restart()
        restarts.append(1)

    rid = _loop(pair, restart)
    assert len(restarts) == 9
    assert _referrals(pair.practice.url) == [(rid, "outgoing", "completed")]
    assert _referrals(pair.hub.url) == [(rid, "incoming", "completed")]
    _no_files(pair)


def test_a_status_change_while_the_server_is_down_goes_with_a_later_sync(pair: Pair) -> None:
    practice, hub = pair.practice, pair.hub
    rid = make_referral(practice.url).referral_id
    pair.ok(practice, "referral", "send", rid, "--to", "hub")
    pair.sync(hub)

    pair.sandbox.stop()
    pair.ok(hub, "referral", "status", rid, "accepted")  # recorded; the update waits
    waiting = pair.show(hub, rid)["delivery"]
    assert [(d["state"], d["attempts"]) for d in waiting] == [("queued", 1)]
    assert "cannot be reached" in waiting[0]["last_reason"]
    assert waiting[0]["next_try_at"] is not None

    pair.sandbox.start()
    early = pair.sync(hub)  # its next try has not come: it waits (backoff)
    assert early["sent"] == 0 and early["failed"] == 0
    now = pair.sync(hub, "--now")
    assert now["sent"] == 1
    assert pair.sync(practice)["applied"] == 1
    assert pair.show(practice, rid)["status"] == "accepted"

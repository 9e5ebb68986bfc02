"""Issue 19 over NHS MESH: one practice sync that brings the hub's accepted, in-progress and
completed updates together leaves three entries on the practice's timeline, each with the
time the hub made the change (mesh-sandbox, as tests/test_mesh_delivery.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mesh_support import Pair, Sandbox, make_pair, sandbox_fixture
from test_exchange_support import make_referral, second_db, session_for

from linkwork import db as lwdb
from linkwork.actions.people import person_record
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.models import as_utc

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


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


@sqlite_only
@pytest.mark.parametrize("key", ["available", "locked"])
def test_one_sync_bringing_three_updates_shows_three_timeline_entries(pair: Pair, key: str) -> None:
    """``locked``: the hub's key is unavailable while it records the three changes, so they
    leave as one update sealed by the next sync (the case where the practice saw only
    requested -> completed before issue 19)."""
    from screening.referrals import get_referral, referral_events

    practice, hub = pair.practice, pair.hub
    made = make_referral(practice.url)
    rid = made.referral_id
    pair.ok(practice, "referral", "send", rid, "--to", "hub")
    assert pair.sync(hub)["applied"] == 1
    private = hub.keys / "hub.private.jwk"
    aside = hub.folder / "hub.private.jwk.aside"
    if key == "locked":
        private.rename(aside)
    pair.ok(hub, "referral", "status", rid, "accepted")
    pair.ok(hub, "referral", "status", rid, "in-progress")
    pair.ok(
        hub, "referral", "status", rid, "completed",
        "--resolved", "Z59.0", "--ons4", "6,7,7,3", "--note", "housed by the council",
    )  # fmt: skip
    if key == "locked":
        aside.rename(private)
    pair.sync(hub)  # the updates go
    got = pair.sync(practice)  # ... and arrive together
    assert got["received"] == (3 if key == "available" else 1) and got["failed"] == 0
    with session_for(hub.url) as session:
        hub_times = {
            e.to_status.upper(): as_utc(e.at)
            for e in referral_events(session, get_referral(session, rid))
            if e.source == "local"
        }
    practice.env(pair.mp, pair.sandbox)
    ws = Workspace(load_settings(database_url=practice.url), lwdb.open_engine(practice.url))
    try:
        timeline = person_record(ws, made.person_id, timeline=True)["timeline"]
    finally:
        ws.engine.dispose()
    entries = sorted(
        (t["at"], t["status"])
        for t in timeline
        if t["referral_id"] == rid and t["what"].startswith("Referral")
        and t["status"] != "REQUESTED"
    )  # fmt: skip
    assert entries == sorted((at, s) for s, at in hub_times.items())
    assert [s for _, s in entries] == ["ACCEPTED", "IN-PROGRESS", "COMPLETED"]
    assert pair.show(practice, rid)["outcome"]["note"] == "housed by the council"

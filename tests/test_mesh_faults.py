"""MESH faults, each against the real mesh-sandbox: the server stopped mid-sync, a wrong
password, an unknown recipient mailbox, the same message downloaded twice, a tampered or
unreadable message, and an acknowledgement failing after the import. Each leaves both
databases consistent, says what happened in one line (exit 2 where the user must act),
and loses or duplicates nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mesh_support import HUB_MAILBOX, PRACTICE_MAILBOX, Pair, Sandbox, make_pair, sandbox_fixture
from test_exchange_support import make_referral, second_db, session_for

from screening.exchange.mesh import MeshTransport
from screening.exchange.transport import OTHER, TransportError


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


def _count(url: str, model: Any) -> int:
    from sqlmodel import func, select

    with session_for(url) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _referrals(url: str) -> int:
    from screening.models import Referral

    return _count(url, Referral)


def _one_line(result: Any) -> str:
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkwork: "), result.err
    assert "Traceback" not in result.err
    return str(lines[0])


def _audit(url: str, action: str) -> list[Any]:
    from sqlmodel import select

    from screening.models import AuditEvent

    with session_for(url) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_the_server_stopped_mid_sync_loses_nothing(pair: Pair, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    practice, hub = pair.practice, pair.hub
    first = make_referral(practice.url, nhs="9990000026", given="Ann").referral_id
    second = make_referral(practice.url, nhs="9990000034", given="Bea", hub="North").referral_id
    for rid in (first, second):
        pair.ok(practice, "referral", "send", rid, "--to", "hub")

    original = MeshTransport.fetch
    calls = []

    def fetch_then_die(self: MeshTransport, message_id: str) -> Any:
        calls.append(message_id)
        if len(calls) == 2:
            pair.sandbox.stop()  # the server goes away between two downloads
        return original(self, message_id)

    monkeypatch.setattr(MeshTransport, "fetch", fetch_then_die)
    cut = pair.run(hub, "mesh", "sync")
    line = _one_line(cut)
    assert "cannot be reached" in line
    assert "1 received, 1 applied" in cut.out
    assert _referrals(hub.url) == 1
    monkeypatch.setattr(MeshTransport, "fetch", original)

    pair.sandbox.start()
    again = pair.sync(hub)
    assert (again["received"], again["applied"], again["failed"]) == (1, 1, 0)
    assert _referrals(hub.url) == 2
    assert pair.sandbox.inbox(HUB_MAILBOX) == []


def test_a_wrong_password_is_one_line_and_changes_nothing(pair: Pair) -> None:
    practice = pair.practice
    rid = make_referral(practice.url).referral_id
    practice.env(pair.mp, pair.sandbox)
    pair.mp.setenv("LINKWORK_MESH_PASSWORD", "not-the-password")
    sent = pair.cli("referral", "send", rid, "--to", "hub", db=practice.url)
    line = _one_line(sent)
    assert "queued, not sent" in line and "refused our mailbox X26ABC1" in line
    assert "not-the-password" not in sent.out + sent.err
    synced = pair.cli("mesh", "sync", "--now", db=practice.url)
    assert "refused our mailbox X26ABC1" in _one_line(synced)
    assert pair.sandbox.inbox(HUB_MAILBOX) == []

    # The right password: the same message (the same Bundle) goes, once.
    pair.mp.setenv("LINKWORK_MESH_PASSWORD", "password")
    assert pair.cli("mesh", "sync", "--now", "--json", db=practice.url).json()["sent"] == 1
    got = pair.sync(pair.hub)
    assert (got["received"], got["applied"]) == (1, 1)
    delivery = pair.show(practice, rid)["delivery"]
    assert [(d["state"], d["attempts"]) for d in delivery] == [("sent", 3)]


def test_an_unknown_recipient_mailbox_waits_for_the_route_to_be_fixed(
    cli, monkeypatch, sandbox, db_url, hub_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    if sandbox.process is None:
        sandbox.start()
    pair = make_pair(cli, monkeypatch, sandbox, db_url, hub_url, tmp_path, hub_mailbox="X99ZZZ9")
    rid = make_referral(pair.practice.url).referral_id
    sent = pair.run(pair.practice, "referral", "send", rid, "--to", "hub")
    assert "MESH does not know mailbox X99ZZZ9" in _one_line(sent)
    listed = pair.ok(pair.practice, "keys", "list").out
    assert "MESH X99ZZZ9" in listed

    fixed = pair.ok(
        pair.practice,
        "keys", "trust", pair.hub.keys / "hub.public.jwk", "--name", "hub",
        "--mesh-mailbox", HUB_MAILBOX,
    )  # fmt: skip
    assert "Already trusted: hub, reached by MESH X26ABC2" in fixed.out
    assert len(_audit(pair.practice.url, "route")) == 1
    assert pair.sync(pair.practice, "--now")["sent"] == 1
    assert pair.sync(pair.hub)["applied"] == 1
    assert _referrals(pair.hub.url) == 1


def test_an_acknowledgement_failing_after_import_means_one_harmless_download_more(
    pair: Pair, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    rid = make_referral(pair.practice.url).referral_id
    pair.ok(pair.practice, "referral", "send", rid, "--to", "hub")

    def refuse(self: MeshTransport, message_id: str) -> None:
        raise TransportError(f"MESH refused acknowledging message {message_id}", OTHER)

    original = MeshTransport.acknowledge
    monkeypatch.setattr(MeshTransport, "acknowledge", refuse)
    first = pair.run(pair.hub, "mesh", "sync")
    assert "refused acknowledging" in _one_line(first)
    assert _referrals(pair.hub.url) == 1  # imported and committed
    assert len(pair.sandbox.inbox(HUB_MAILBOX)) == 1  # still there

    monkeypatch.setattr(MeshTransport, "acknowledge", original)
    again = pair.sync(pair.hub)  # the same message downloaded twice: nothing changes
    assert (again["received"], again["applied"], again["failed"]) == (1, 0, 0)
    assert _referrals(pair.hub.url) == 1
    assert pair.sandbox.inbox(HUB_MAILBOX) == []
    imports = [e for e in _audit(pair.hub.url, "import") if e.entity_id == rid]
    assert [e.detail["result"] for e in imports] == ["created", "duplicate"][: len(imports)]


def test_tampered_and_unreadable_messages_are_quarantined_and_never_block(pair: Pair) -> None:
    from screening.exchange.delivery import Quarantined

    rid = make_referral(pair.practice.url).referral_id
    pair.ok(pair.practice, "referral", "send", rid, "--to", "hub")
    # Take the genuine message out of the hub's inbox and put back, from the practice's
    # mailbox, a tampered copy and a message that is not JOSE at all, then the genuine one.
    with pair.sandbox.client(HUB_MAILBOX) as hub_box:
        (ident,) = hub_box.list_messages()
        genuine = hub_box.retrieve_message(ident).read()
        hub_box.acknowledge_message(ident)
    header, key, iv, ciphertext, tag = genuine.strip().split(b".")
    flipped = bytes([ciphertext[10] ^ 1]) if ciphertext[10:11] not in (b"-", b"_") else b"A"
    tampered = b".".join([header, key, iv, ciphertext[:10] + flipped + ciphertext[11:], tag])
    with pair.sandbox.client(PRACTICE_MAILBOX) as practice_box:
        for body in (tampered, b"hello, not a referral", genuine):
            practice_box.send_message(HUB_MAILBOX, body, workflow_id="LINKWORK_SOCIAL_PRESCRIBING")

    result = pair.run(pair.hub, "mesh", "sync", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert (data["received"], data["applied"], data["quarantined"]) == (3, 1, 2)
    assert _referrals(pair.hub.url) == 1
    assert pair.sandbox.inbox(HUB_MAILBOX) == []  # acknowledged, all three
    with session_for(pair.hub.url) as session:
        from sqlmodel import select

        kept = session.exec(select(Quarantined)).all()
        assert sorted(q.reason for q in kept) == ["not a JOSE file", "tampered"]
        assert {q.sender for q in kept} == {PRACTICE_MAILBOX}
        assert tampered in {q.content for q in kept}
    assert len(_audit(pair.hub.url, "quarantine")) == 2
    words = pair.run(pair.hub, "mesh", "sync").out  # nothing new, nothing quarantined again
    assert "0 received" in words and _count(pair.hub.url, Quarantined) == 2

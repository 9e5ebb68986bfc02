"""No exit 3 for what a busy practice can foresee, on a real SQLite file and on PostgreSQL:

- the same referral file received four times at once (four processes, or four threads
  made to look at the same moment): one creates it, the others find it ("already received");
- another connection holding the write lock: a short hold is waited for; one longer than
  the ``busy_timeout`` setting is one line, exit 2, nothing changed, and the app's words
  are the same;
- a received file (or key file) nested thousands of levels deep: refused as a bad file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_exchange_support import counts, make_referral, second_db
from test_record_cli import snapshot

from linkwork.errors import BUSY_MESSAGE, plain_error, problem

LINKWORK = Path(sys.executable).parent / "linkwork"


@pytest.fixture
def hub_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_db(request, db_url, tmp_path)


@pytest.fixture
def sent(cli, db_url: str, hub_url: str, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A referral file from the practice (db_url) to the hub (hub_url), and the hub's key."""
    folder = tmp_path / "keys"
    for name in ("practice", "hub"):
        assert cli("keys", "new", name, "--out", folder).code == 0
    assert cli("keys", "trust", folder / "hub.public.jwk", "--name", "hub", db=db_url).code == 0
    trusted = cli("keys", "trust", folder / "practice.public.jwk", "--name", "practice",
                  db=hub_url)  # fmt: skip
    assert trusted.code == 0
    made = make_referral(db_url, hub="Northside Hub")
    out = tmp_path / "referral.jwe"
    exported = cli("referral", "export", made.referral_id, "--to", "hub",
                   "--key", folder / "practice.private.jwk", "--out", out, db=db_url)  # fmt: skip
    assert exported.code == 0, exported.err
    return {"file": out, "key": folder / "hub.private.jwk", "keys": folder, "id": made.referral_id}


def _after_one_receive(hub_url: str, before: dict[str, int]) -> None:
    after = counts(hub_url)
    assert after["Person"] == before["Person"] + 1
    assert after["Referral"] == before["Referral"] + 1
    assert after["Need"] == before["Need"] + 2
    assert after["ExchangeMessage"] == before["ExchangeMessage"] + 1


# -- the same file received at once --------------------------------------------------------


def test_four_threads_receiving_the_same_file_at_the_same_moment(  # type: ignore[no-untyped-def]
    hub_url: str, sent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each thread has its own engine (as a process would); a barrier holds all four after
    opening the file, so all of them look for the referral at the same moment."""
    from linkwork import db as lwdb
    from linkwork.actions import exchange as ex
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace
    from screening.exchange import inbound

    barrier = threading.Barrier(4, timeout=60)
    real_open = inbound.open_file

    def open_together(*args: Any, **kwargs: Any) -> Any:
        opened = real_open(*args, **kwargs)
        barrier.wait()
        return opened

    monkeypatch.setattr(inbound, "open_file", open_together)
    before = counts(hub_url)
    results: list[Any] = [None] * 4

    def receive(i: int) -> None:
        ws = Workspace(load_settings(database_url=hub_url), lwdb.open_engine(hub_url))
        try:
            results[i] = ex.receive_file(ws, sent["file"], key_file=sent["key"])["status"]
        except Exception as exc:  # what a front end would have to word
            results[i] = problem(exc)
        finally:
            ws.engine.dispose()

    threads = [threading.Thread(target=receive, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(map(str, results)) == ["created", "duplicate", "duplicate", "duplicate"]
    _after_one_receive(hub_url, before)


def test_four_processes_receiving_the_same_file(hub_url: str, sent: dict[str, Any]) -> None:
    """The report's own reproduction: four ``linkwork referral receive`` started together
    (SQLite, where it was found; the threads above cover both backends deterministically)."""
    if not hub_url.startswith("sqlite"):
        pytest.skip("four processes once, on SQLite: each costs a whole linkwork start-up")
    before = counts(hub_url)
    env = {**os.environ, "LINKWORK_DATABASE_URL": hub_url}
    procs = [
        subprocess.Popen(
            [str(LINKWORK), "referral", "receive", str(sent["file"]), "--key", str(sent["key"])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    done = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    for p in procs:
        p.stdout.close()  # type: ignore[union-attr]
        p.stderr.close()  # type: ignore[union-attr]
    assert [code for code, _, _ in done] == [0, 0, 0, 0], done
    said = sorted(out.split(" referral ")[0] for _, out, _ in done)
    assert said == ["Already received this file for"] * 3 + ["Received new"], done
    _after_one_receive(hub_url, before)


def _four_at_once(url: str, action: Any) -> list[Any]:
    """Run ``action(workspace)`` in four threads, each with its own engine (as four
    processes would); what each returned, or what a front end would say of its error."""
    from linkwork import db as lwdb
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    results: list[Any] = [None] * 4

    def run(i: int) -> None:
        ws = Workspace(load_settings(database_url=url), lwdb.open_engine(url))
        try:
            results[i] = action(ws)
        except Exception as exc:
            results[i] = problem(exc)
        finally:
            ws.engine.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_the_same_patient_added_four_times_at_once(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four link workers add one patient (one NHS number) at the same moment: one is added,
    three are told the NHS number is already recorded (exit 2), none is an IntegrityError."""
    from linkwork.actions import people as people_act
    from screening import people

    barrier = threading.Barrier(4, timeout=60)
    real_check = people._check_unique_nhs

    def check_together(*args: Any, **kwargs: Any) -> None:
        barrier.wait()  # all four look for the NHS number at the same moment
        real_check(*args, **kwargs)

    monkeypatch.setattr(people, "_check_unique_nhs", check_together)
    results = _four_at_once(
        db_url,
        lambda ws: people_act.add_person(
            ws, given_name="Ada", family_name="Lovelace", birth_date="1984-03-02",
            nhs_number="943 476 5919",
        )["nhs_number"],
    )  # fmt: skip
    added = [r for r in results if r == "9434765919"]
    refused = [r for r in results if r != "9434765919"]
    assert len(added) == 1, results
    assert [(r.code, r.message) for r in refused] == [
        (2, "NHS number 9434765919 is already recorded for Ada Lovelace")
    ] * 3
    assert counts(db_url)["Person"] == 1


def test_the_same_key_trusted_four_times_at_once(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkwork.actions import exchange as ex
    from screening.exchange import keys

    made = keys.write_key_pair(tmp_path, "partner")
    barrier = threading.Barrier(4, timeout=60)
    real_trust = keys.trust_key

    def trust_together(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return real_trust(*args, **kwargs)

    monkeypatch.setattr(ex, "trust_key", trust_together)
    results = _four_at_once(db_url, lambda ws: ex.trust_partner(ws, made.public, "partner"))
    assert sorted(r["created"] for r in results) == [False, False, False, True], results
    assert counts(db_url)["TrustedKey"] == 1


# -- a busy database ------------------------------------------------------------------------


@contextmanager
def write_lock_held(url: str) -> Iterator[None]:
    """Another connection holding the database's write lock, as a long write would."""
    if url.startswith("sqlite"):
        raw = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        return
    from screening.audit import _PG_LOCK_KEY

    engine = sa.create_engine(url)
    conn = engine.connect()
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    # an append to the audit chain of organisation '' (these tests' people's), not yet
    # committed: the next append there waits for it (screening.audit.append_pending)
    conn.execute(
        sa.text(
            "INSERT INTO audit_event (seq, at, actor, action, entity, entity_id, detail, "
            "prev_hash, hash, org, chain_seq) SELECT -1, now(), session_user, 'view', 'x', "
            "'', '{}', '', repeat('f', 64), '', coalesce(max(chain_seq), 0) + 1 "
            "FROM audit_event WHERE org = ''"
        )
    )
    try:
        yield
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()


def _person(cli, db_url: str) -> str:  # type: ignore[no-untyped-def]
    added = cli("person", "add", "--given", "Ada", "--family", "Lovelace",
                "--birth-date", "1984-03-02", "--json", db=db_url)  # fmt: skip
    assert added.code == 0, added.err
    return str(added.json()["id"])


def test_a_write_lock_held_too_long_is_one_line_exit_2_and_nothing_changes(  # type: ignore[no-untyped-def]
    cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _person(cli, db_url)
    monkeypatch.setenv("LINKWORK_BUSY_TIMEOUT", "1")
    before = snapshot(db_url)
    with write_lock_held(db_url):
        busy = cli("need", "add", pid, "--code", "Z59.0", db=db_url)
    assert busy.code == 2, busy.err
    assert busy.err == f"linkwork: {BUSY_MESSAGE}\n"
    assert busy.out == ""
    assert snapshot(db_url) == before
    again = cli("need", "add", pid, "--code", "Z59.0", db=db_url)  # try again: it works
    assert again.code == 0, again.err


def test_the_app_says_the_same_words(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from linkwork.actions import needs as needs_act
    from linkwork.settings import Settings
    from linkwork.workspace import Workspace

    pid = _person(cli, db_url)
    ws = Workspace(Settings(database_url=db_url, busy_timeout=1))
    with (
        write_lock_held(db_url),
        pytest.raises(sa.exc.OperationalError, match=r"database is locked|lock timeout") as raised,
    ):
        needs_act.add_need(ws, pid, code="Z59.0")
    ws.engine.dispose()
    assert plain_error(raised.value) == BUSY_MESSAGE  # what tui/workers.py notifies
    assert problem(raised.value).code == 2 and not problem(raised.value).unexpected


def test_a_short_hold_is_waited_for(cli, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The lock is let go only once the command has started writing (so it had to wait)."""
    from sqlalchemy.engine import Engine

    pid = _person(cli, db_url)
    monkeypatch.setenv("LINKWORK_BUSY_TIMEOUT", "60")
    writing = threading.Event()

    def started(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "SELECT PG_ADVISORY")):
            writing.set()

    result: list[Any] = []
    sa.event.listen(Engine, "before_cursor_execute", started)
    try:
        with write_lock_held(db_url):
            worker = threading.Thread(
                target=lambda: result.append(cli("need", "add", pid, "--code", "Z59.0", db=db_url))
            )
            worker.start()
            assert writing.wait(timeout=60)
            worker.join(timeout=0.3)  # still waiting for the lock
            assert worker.is_alive()
        worker.join(timeout=120)
    finally:
        sa.event.remove(Engine, "before_cursor_execute", started)
    assert result and result[0].code == 0, result and result[0].err


def test_the_busy_timeout_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from linkwork.settings import load_settings

    monkeypatch.delenv("LINKWORK_BUSY_TIMEOUT", raising=False)
    assert load_settings().busy_timeout == 10
    monkeypatch.setenv("LINKWORK_BUSY_TIMEOUT", "3")
    assert load_settings().busy_timeout == 3
    monkeypatch.setenv("LINKWORK_BUSY_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="setting busy_timeout must be a whole number"):
        load_settings()


# -- nested too deep ------------------------------------------------------------------------


def _signed_for_hub(sent: dict[str, Any], payload: bytes) -> bytes:
    from screening.exchange import jose
    from screening.exchange.keys import load_private_key, load_public_key

    practice = load_private_key(sent["keys"] / "practice.private.jwk")
    hub = load_public_key(sent["keys"] / "hub.public.jwk")
    return jose.seal(payload, practice, hub).encode() + b"\n"


DEEP = 100_000


@pytest.mark.parametrize("command", ["receive", "open"])
def test_a_received_file_nested_deep_is_refused_in_one_line(  # type: ignore[no-untyped-def]
    cli, hub_url: str, sent: dict[str, Any], tmp_path: Path, command: str
) -> None:
    files = {
        "array": b"[" * DEEP + b"]" * DEEP,
        "in a Bundle": b'{"resourceType":"Bundle","type":"collection","entry":[],"x":'
        + b"[" * 5000
        + b"]" * 5000
        + b"}",
        "just over the limit": b'{"resourceType":"Bundle","type":"collection","x":'
        + b"[" * 64
        + b"]" * 64
        + b"}",
    }
    before = snapshot(hub_url)
    for name, payload in files.items():
        path = tmp_path / f"{name}.jwe"
        path.write_bytes(_signed_for_hub(sent, payload))
        result = cli("referral", command, path, "--key", sent["key"], db=hub_url)
        assert result.code == 2, (name, result.err)
        assert result.err == (
            "linkwork: refused (not a FHIR Bundle): the signed content nests more than "
            "64 levels deep\n"
        ), name
    assert snapshot(hub_url) == before


def test_a_deep_header_or_key_file_is_refused_in_one_line(  # type: ignore[no-untyped-def]
    cli, hub_url: str, sent: dict[str, Any], tmp_path: Path
) -> None:
    import base64

    header = base64.urlsafe_b64encode(b"[" * DEEP + b"]" * DEEP).rstrip(b"=")
    path = tmp_path / "deep-header.jwe"
    path.write_bytes(header + b".a.b.c.dddddddddddddddddddddd\n")
    result = cli("referral", "receive", path, "--key", sent["key"], db=hub_url)
    assert result.code == 2 and result.err.startswith("linkwork: refused (")
    assert result.err.count("\n") == 1

    deep_key = tmp_path / "deep.jwk"
    deep_key.write_text('{"kty": "EC", "x": ' + "[" * DEEP + "]" * DEEP + "}")
    os.chmod(deep_key, 0o600)
    trusted = cli("keys", "trust", deep_key, "--name", "deep", db=hub_url)
    assert trusted.code == 2 and trusted.err == f"linkwork: {deep_key} is not a JSON JWK\n"
    used = cli("referral", "receive", path, "--key", deep_key, db=hub_url)
    assert used.code == 2 and used.err == f"linkwork: {deep_key} is not valid JSON\n"


def test_an_answers_file_or_config_nested_deep_is_refused_in_one_line(  # type: ignore[no-untyped-def]
    cli, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _person(cli, db_url)
    before = snapshot(db_url)
    deep = "[" * DEEP + "]" * DEEP
    for name, kind in (("deep.json", "JSON"), ("deep.yaml", "YAML")):
        answers = tmp_path / name
        answers.write_text(deep)
        result = cli("screen", pid, "--answers", answers, db=db_url)
        assert result.code == 2, result.err
        assert result.err.startswith(f"linkwork: answers file {answers} is not valid {kind}: ")
        assert result.err.endswith("nested too deeply\n") and result.err.count("\n") == 1
    assert snapshot(db_url) == before
    config = tmp_path / "config.toml"
    config.write_text(f"user = 'a'\nx = {deep}\n")
    monkeypatch.setenv("LINKWORK_CONFIG", str(config))
    result = cli("person", "list", db=db_url)
    assert result.code == 2
    assert result.err == f"linkwork: config file {config} is not valid TOML: nested too deeply\n"


def test_a_json_depth_within_the_limit_is_read() -> None:
    from screening.exchange.jose import MAX_DEPTH, payload_json

    ok = json.dumps({"a": [[{"b": 1}]]}).encode()
    assert payload_json(ok) == {"a": [[{"b": 1}]]}
    nested: Any = 1
    for _ in range(MAX_DEPTH):
        nested = [nested]
    assert payload_json(json.dumps(nested)) == nested  # exactly MAX_DEPTH levels: fine
    from screening.exchange.errors import ExchangeRefused

    with pytest.raises(ExchangeRefused, match="nests more than 64 levels deep"):
        payload_json(json.dumps([nested]))
    with pytest.raises(ExchangeRefused, match="the signed content is not JSON"):
        payload_json(b"{not json")


# -- too large is too large -----------------------------------------------------------------


def test_a_large_file_within_the_limit_is_read_and_a_huge_header_is_too_large(  # type: ignore[no-untyped-def]
    cli, hub_url: str, sent: dict[str, Any], tmp_path: Path
) -> None:
    """joserfc's own limits (64 KiB of ciphertext, 128,000 bytes of signed content) made a
    good 300 KB file "tampered"; the one limit is ``MAX_FILE_BYTES``, and a part over one
    of joserfc's fixed limits (a 1 KiB header) is "too large"."""
    import base64

    from jwcrypto import jwk as jw_jwk
    from test_exchange_support import jwcrypto_encrypt

    entries = [
        {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
            "resource": {"resourceType": "Basic", "id": f"b{n}", "code": {"text": "x" * 1000}},
        }
        for n in range(300)
    ]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    big = tmp_path / "big.jwe"
    big.write_bytes(_signed_for_hub(sent, json.dumps(bundle).encode()))
    assert len(big.read_bytes()) > 300_000
    opened = cli("referral", "open", big, "--key", sent["key"], "--json", db=hub_url)
    assert opened.code == 0, opened.err
    assert opened.json()["resources"] == {"Basic": 300}

    hub = jw_jwk.JWK.from_json((sent["keys"] / "hub.public.jwk").read_text())
    header = {
        "alg": "ECDH-ES+A256KW",
        "enc": "A256GCM",
        "cty": "JOSE",
        "kid": hub.thumbprint(),
        "apu": base64.urlsafe_b64encode(b"u" * 1500).rstrip(b"=").decode(),
    }
    huge = tmp_path / "huge-header.jwe"
    huge.write_text(jwcrypto_encrypt(b"a.b.c", hub, header) + "\n")
    before = snapshot(hub_url)
    refused = cli("referral", "receive", huge, "--key", sent["key"], db=hub_url)
    assert refused.code == 2
    assert refused.err.startswith("linkwork: refused (too large): part of the file is larger")
    assert "tampered" not in refused.err and refused.err.count("\n") == 1
    assert snapshot(hub_url) == before


def test_the_sender_never_makes_a_file_its_partner_would_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from screening.exchange import jose
    from screening.exchange.errors import ExchangeRefused
    from screening.exchange.keys import new_key

    ours, theirs = new_key(), new_key()
    monkeypatch.setattr(jose, "MAX_FILE_BYTES", 20_000)
    small = jose.seal(b"{}" * 100, ours, theirs)
    assert len(small) < 20_000
    with pytest.raises(ValueError, match=r"would be [\d,]+ bytes: more than the 20,000"):
        jose.seal(b"{}" * 10_000, ours, theirs)
    monkeypatch.setattr(jose, "MAX_FILE_BYTES", 200_000)
    token = jose.seal(b"{}" * 30_000, ours, theirs)  # 60,000 bytes signed: fine now
    assert jose.open_sealed(token, theirs, lambda kid: ours).payload == b"{}" * 30_000
    monkeypatch.setattr(jose, "MAX_FILE_BYTES", len(token) - 1)
    with pytest.raises(ExchangeRefused, match=r"^refused \(too large\)"):
        jose.open_sealed(token, theirs, lambda kid: ours)

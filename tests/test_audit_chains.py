"""One audit chain per organisation (issue 16, point 6; migration scr_0004).

- Each organisation's rows are numbered 1, 2, ... in its own chain (``chain_seq``), the
  first chaining from GENESIS, while ``seq`` numbers every row of the table.
- An event lands in the chain of the organisation holding the person's record (else the
  session's), and only when the transaction commits: a rolled-back action leaves nothing.
- ``audit verify`` walks every chain and names the organisation whose chain is broken;
  a checkpoint signs each chain's head.
- Rows from before the upgrade keep their hashes and stay one chain in ``seq`` order.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from linkwork import db as lwdb
from screening.audit import GENESIS, compute_hash, record_event
from screening.audit_checkpoints import FILE_NAME
from screening.models import AuditEvent

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
A, B = "Y02101", "Y02102"


def _write(db_url: str, orgs: list[str]) -> None:
    """One event per entry of ``orgs``, for that organisation, in one transaction."""
    engine = lwdb.open_engine(db_url)
    with Session(engine) as session:
        for i, org in enumerate(orgs):
            record_event(session, "worker.a", "view", "person", f"id-{i}", {"n": i}, org=org)
        session.commit()
    engine.dispose()


def _chains(db_url: str) -> list[tuple[int, str, int | None, str]]:
    engine = lwdb.create_engine(db_url)
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.seq, table.c.org, table.c.chain_seq, table.c.prev_hash).order_by(
                table.c.seq
            )
        ).all()
    engine.dispose()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _sql(db_url: str, statement: str) -> None:
    engine = lwdb.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


def test_each_organisation_numbers_its_own_chain(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _write(db_url, [A, B, A, A, B])
    rows = _chains(db_url)
    first_seq = rows[0][0]
    # one transaction: numbered organisation by organisation (in ODS order), each in turn
    assert [(s - first_seq, o, c) for s, o, c, _ in rows] == [
        (0, A, 1), (1, A, 2), (2, A, 3), (3, B, 1), (4, B, 2),
    ]  # fmt: skip
    assert rows[0][3] == GENESIS and rows[3][3] == GENESIS  # each chain starts afresh
    result = cli("audit", "verify", db=db_url)
    assert result.code == 0 and "5 events in 2 chains checked" in result.out


def test_a_person_s_events_go_to_the_chain_of_the_organisation_holding_them(
    cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LINKWORK_PRACTICE", A)
    added = cli("person", "add", "--given", "Ann", "--family", "Example", "--birth-date",
                "1970-05-06", "--json", db=db_url)  # fmt: skip
    assert added.code == 0, added.err
    monkeypatch.setenv("LINKWORK_PRACTICE", B)  # a later session acting for B ...
    assert cli("need", "add", added.json()["id"], "--code", "Z59.0", db=db_url).code == 0
    rows = _chains(db_url)
    assert [(o, c) for _, o, c, _ in rows] == [(A, 1), (A, 2)]  # ... records in A's chain


def test_a_rolled_back_action_appends_nothing(db_url: str) -> None:
    engine = lwdb.open_engine(db_url)
    with Session(engine) as session:
        record_event(session, "worker.a", "view", "person", "x", org=A)
        session.rollback()
        record_event(session, "worker.a", "view", "person", "y", org=A)
        session.commit()
    engine.dispose()
    rows = _chains(db_url)
    assert [(o, c) for _, o, c, _ in rows] == [(A, 1)]


def test_verify_names_the_organisation_whose_chain_is_broken(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _write(db_url, [A, B, A, B, B])
    seq_of_b2 = next(s for s, o, c, _ in _chains(db_url) if (o, c) == (B, 2))
    _sql(db_url, f"DELETE FROM audit_event WHERE seq = {seq_of_b2}")
    result = cli("audit", "verify", db=db_url)
    assert result.code == 2
    assert result.err == (
        f"linkwork: audit trail broken at row seq {seq_of_b2 + 1}: organisation {B}: row 2 of "
        "its chain is missing (next row is 3)\n"
    )
    as_json = cli("audit", "verify", "--json", db=db_url).json()
    assert (as_json["ok"], as_json["org"]) == (False, B)


def test_one_chain_cut_is_found_by_its_own_checkpoint(
    cli, db_url: str, isolated_home: Path
) -> None:  # type: ignore[no-untyped-def]
    assert cli("keys", "new", "our-practice").code == 0
    _write(db_url, [A, B, A, B, B])
    made = cli("audit", "checkpoint", "--json", db=db_url)
    assert made.code == 0
    assert [(c["org"], c["seq"]) for c in made.json()["chains"]] == [(A, 2), (B, 3)]
    lines = [json.loads(x) for x in (isolated_home / FILE_NAME).read_text().splitlines()]
    assert [(x["chain"], x["seq"]) for x in lines] == [(A, 2), (B, 3)]
    _sql(db_url, f"DELETE FROM audit_event WHERE org = '{B}'")  # a whole chain gone
    result = cli("audit", "verify", db=db_url)
    assert result.code == 2
    assert result.err.startswith(
        f"linkwork: audit trail broken: organisation {B}: rows 1 to 3 of its chain are "
        "missing (cut)"
    )


def test_moving_a_row_to_another_chain_is_found(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _write(db_url, [A, B])
    _sql(db_url, f"UPDATE audit_event SET org = '{B}', chain_seq = 2 WHERE org = '{A}'")
    result = cli("audit", "verify", db=db_url)
    assert result.code == 2
    assert f"organisation {B}: its link to the row before does not match" in result.err


def test_rows_from_before_the_upgrade_stay_one_chain(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """A database at scr_0003 with audit rows (hashed the old way), upgraded: the old rows
    keep their hashes and are checked in seq order; new rows go to the chains; an edit of
    an old row is still found."""
    from alembic import command

    engine = lwdb.open_engine(db_url)
    cfg = lwdb._alembic_config(engine)
    command.downgrade(cfg, "scr_0003")
    engine.dispose()
    prev = GENESIS
    with engine.begin() as conn:
        for seq in range(1, 6):
            at = START + timedelta(minutes=seq)
            fields = {
                "seq": seq, "at": at, "actor": "old.worker", "action": "view",
                "entity": "person", "entity_id": f"old-{seq}", "person_id": None,
                "detail": {}, "prev_hash": prev,
            }  # fmt: skip
            digest = compute_hash(**fields)
            conn.execute(
                sa.text(
                    "INSERT INTO audit_event (seq, at, actor, action, entity, entity_id, "
                    "person_id, detail, prev_hash, hash, org) VALUES (:seq, :at, :actor, "
                    ":action, :entity, :entity_id, NULL, '{}', :prev_hash, :hash, :org)"
                ),
                fields | {"hash": digest, "org": A},
            )
            prev = digest
    engine.dispose()
    command.upgrade(cfg, "heads")
    engine.dispose()
    _write(db_url, [A, B])
    rows = _chains(db_url)
    assert [(s, c) for s, _, c, _ in rows[:5]] == [(s, None) for s in range(1, 6)]
    assert [(o, c) for s, o, c, _ in rows[5:]] == [(A, 1), (B, 1)]
    assert all(s > 5 for s, _, _, _ in rows[5:])  # the table's seq goes on after the old rows
    result = cli("audit", "verify", db=db_url)
    assert result.code == 0 and "7 events in 3 chains checked" in result.out
    _sql(db_url, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 3")
    broken = cli("audit", "verify", db=db_url)
    assert broken.err == (
        "linkwork: audit trail broken at row seq 3: its contents do not match its hash (edited)\n"
    )


def test_appends_at_the_same_moment_never_fork_a_chain(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """Eight writers, two organisations, ten appends each, all at once: every event is in
    its chain once, the chains intact (on PostgreSQL the losers of a race for a place wait
    for the winner's commit and go after it)."""
    import threading

    engine = lwdb.open_engine(db_url)
    barrier = threading.Barrier(8, timeout=60)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                with Session(engine) as session:
                    org = (A, B)[n % 2]
                    record_event(session, f"worker.{n}", "view", "person", f"{n}-{i}", org=org)
                    session.commit()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert failures == []
    rows = _chains(db_url)
    assert sorted((o, c) for _, o, c, _ in rows) == sorted(
        [(A, c) for c in range(1, 41)] + [(B, c) for c in range(1, 41)]
    )
    result = cli("audit", "verify", db=db_url)
    assert result.code == 0 and "80 events in 2 chains checked" in result.out

"""``linkwork audit verify`` against every kind of tampering at the ends of the chain, on
SQLite and PostgreSQL: the first row (which chains from GENESIS, so a walk that starts at
row 2 or trusts row 1's link would miss it) and the last row edited, removed or re-linked.

Cutting the tail (the last row, the last 10) or editing a row and recomputing every later
hash leaves a chain that is consistent in itself: only an anchor outside the table can
show it, the signed checkpoint taken after the rows were written (``audit checkpoint``,
issue 16 point 5; more in tests/test_audit_checkpoints.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from linkwork import db as lwdb
from screening.audit import GENESIS, compute_hash, record_event
from screening.models import AuditEvent

ROWS = 20


def _fill(db_url: str) -> None:
    engine = lwdb.open_engine(db_url)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with Session(engine) as session:
        for i in range(ROWS):
            record_event(
                session,
                "worker.a" if i % 2 else "worker.b",
                ("create", "view", "update", "status")[i % 4],
                ("person", "need", "referral")[i % 3],
                f"id-{i}",
                {"n": i, "words": f"event {i}"},
                person_id=f"person-{i % 5}",
                at=start + timedelta(minutes=i),
            )
        session.commit()
    engine.dispose()


def _rows(conn: sa.Connection) -> list[sa.RowMapping]:
    """Every row, typed as the app reads them (times as datetimes, detail as a dict)."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    return list(conn.execute(sa.select(table).order_by(table.c.seq)).mappings())


def _rehash(conn: sa.Connection, row: sa.RowMapping, prev_hash: str) -> str:
    """Give ``row`` the link ``prev_hash`` and a hash that matches its contents again."""
    digest = compute_hash(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        person_id=row["person_id"],
        detail=row["detail"] or {},
        prev_hash=prev_hash,
        org=row["org"],
        chain_seq=row["chain_seq"],
    )
    conn.execute(
        sa.text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
        {"p": prev_hash, "h": digest, "s": row["seq"]},
    )
    return digest


def edit_first(conn: sa.Connection) -> None:
    conn.execute(sa.text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 1"))


def edit_first_detail(conn: sa.Connection) -> None:
    conn.execute(sa.text("UPDATE audit_event SET entity_id = 'id-99' WHERE seq = 1"))


def delete_first(conn: sa.Connection) -> None:
    conn.execute(sa.text("DELETE FROM audit_event WHERE seq = 1"))


def relink_first(conn: sa.Connection) -> None:
    """Row 1 chained from something other than GENESIS, its own hash made to match."""
    _rehash(conn, _rows(conn)[0], "f" * 64)


def relink_first_and_rest(conn: sa.Connection) -> None:
    """Row 1 chained from elsewhere and every later row re-chained to it: only the GENESIS
    check on row 1 can see it."""
    prev = "f" * 64
    for row in _rows(conn):
        prev = _rehash(conn, row, prev)


def edit_last(conn: sa.Connection) -> None:
    conn.execute(sa.text(f"UPDATE audit_event SET action = 'delete' WHERE seq = {ROWS}"))


def relink_last(conn: sa.Connection) -> None:
    _rehash(conn, _rows(conn)[-1], GENESIS)


def delete_last(conn: sa.Connection) -> None:
    conn.execute(sa.text(f"DELETE FROM audit_event WHERE seq = {ROWS}"))


def delete_last_ten(conn: sa.Connection) -> None:
    conn.execute(sa.text(f"DELETE FROM audit_event WHERE seq > {ROWS - 10}"))


def edit_and_recompute(conn: sa.Connection) -> None:
    """Row 3 edited, then it and every later row rehashed and re-linked."""
    conn.execute(sa.text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3"))
    rows = _rows(conn)
    prev = rows[1]["hash"]
    for row in rows[2:]:
        prev = _rehash(conn, row, prev)


Tamper = Callable[[sa.Connection], None]
# The rows are about no one's record and the session acts for no organisation: they are
# the chain of organisation '' (shown as "(none)"), places 1 to ROWS.
CHAIN = "organisation (none): "
CASES: list[tuple[Tamper, int, str]] = [
    (edit_first, 1, CHAIN + "its contents do not match its hash (edited)"),
    (edit_first_detail, 1, CHAIN + "its contents do not match its hash (edited)"),
    (delete_first, 2, CHAIN + "row 1 of its chain is missing (next row is 2)"),
    (relink_first, 1, CHAIN + "its link to the row before does not match"),
    (relink_first_and_rest, 1, CHAIN + "its link to the row before does not match"),
    (edit_last, ROWS, CHAIN + "its contents do not match its hash (edited)"),
    (relink_last, ROWS, CHAIN + "its link to the row before does not match"),
]
CUT: list[Tamper] = [delete_last, delete_last_ten, edit_and_recompute]


def _verify(cli, db_url: str):  # type: ignore[no-untyped-def]
    result = cli("audit", "verify", db=db_url)
    as_json = cli("audit", "verify", "--json", db=db_url)
    return result, as_json


def _tamper(db_url: str, tamper: Tamper) -> None:
    engine = lwdb.create_engine(db_url)
    with engine.begin() as conn:
        tamper(conn)
    engine.dispose()


def _fill_and_anchor(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """The rows, then our key and a checkpoint of the chain's head (row ROWS)."""
    _fill(db_url)
    assert cli("keys", "new", "our-practice").code == 0
    made = cli("audit", "checkpoint", "--json", db=db_url)
    assert made.code == 0, made.err
    assert made.json()["chains"] == [{"org": "", "seq": ROWS, "head": _rows_hash_last(db_url)}]


def _rows_hash_last(db_url: str) -> str:
    engine = lwdb.create_engine(db_url)
    with engine.connect() as conn:
        last = _rows(conn)[-1]["hash"]
    engine.dispose()
    return str(last)


def test_an_untouched_chain_is_intact(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _fill_and_anchor(cli, db_url)
    result, as_json = _verify(cli, db_url)
    assert (result.code, result.err) == (0, "")
    assert f"{ROWS} events in 1 chains checked against 1 checkpoints" in result.out
    assert as_json.json() == {
        "ok": True,
        "checked": ROWS,
        "broken_seq": None,
        "problem": "",
        "checkpoints": 1,
        "org": None,
    }


@pytest.mark.parametrize(("tamper", "seq", "problem"), CASES, ids=[c[0].__name__ for c in CASES])
def test_tampering_at_either_end_is_found(
    cli, db_url: str, tamper: Tamper, seq: int, problem: str
) -> None:  # type: ignore[no-untyped-def]
    _fill_and_anchor(cli, db_url)
    _tamper(db_url, tamper)
    result, as_json = _verify(cli, db_url)
    assert result.code == 2 and result.out == ""
    assert result.err == f"linkwork: audit trail broken at row seq {seq}: {problem}\n"
    assert as_json.code == 2
    assert as_json.json()["ok"] is False
    assert (as_json.json()["broken_seq"], as_json.json()["problem"]) == (seq, problem)


@pytest.mark.parametrize("tamper", CUT, ids=[t.__name__ for t in CUT])
def test_a_cut_tail_or_a_recomputed_chain_is_found(cli, db_url: str, tamper: Tamper) -> None:  # type: ignore[no-untyped-def]
    _fill_and_anchor(cli, db_url)
    _tamper(db_url, tamper)
    result, as_json = _verify(cli, db_url)
    assert result.code == 2, result.out
    assert result.err.startswith("linkwork: audit trail") and result.err.count("\n") == 1
    assert as_json.json()["ok"] is False

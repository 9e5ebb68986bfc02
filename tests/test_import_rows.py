"""directory.rows: the import's rows written through the driver are the rows SQLAlchemy's
own insert writes (JSON text, dates, times, booleans), whatever is remembered between
rows and batches; the ids it gives for new rows are the ids stored, and it gives none it
cannot be sure of. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from directory.models import Service
from directory.rows import IMPORT_CACHE_KIB, Inserter, import_cache, insert_rows

TABLE: sa.Table = Service.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
# the same instant in another zone: stored as its own wall-clock time on SQLite
SAME_INSTANT = NOW.astimezone(timezone(timedelta(hours=5)))


def _service(n: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_id": f"s{n}",
        "organisation_id": None,
        "name": f"Service {n}",
        "description": "Café für alle — ☕",
        "url": "https://example.org",
        "email": "",
        "phone": "01632 960000",
        "status": "active",
        "fees": "",
        "min_age": 16,
        "max_age": None,
        "eligibility": "",
        "service_area": "North Vale",
        "attending": "",
        "withdrawn_at": None,
        "content_hash": f"{n:064d}",
        "raw_hash": "",
        "is_free": n % 2 == 0,
        "languages": ["English", "Polish"],
        "taxonomy_terms": [],
        "domains": ["food"],
        "z_codes": ["Z59.4"],
        "opening_hours": [{"day": 1, "opens": "09:00", "closes": "17:00"}],
        "contacts": [{"name": "Ann", "phones": ["01632 960000"]}],
        "last_verified": date(2024, 5, 1),
        "withdrawn": False,
        "imported_at": NOW,
        "updated_at": NOW,
    }
    row.update(values)
    return row


def _tricky(postgres: bool) -> list[dict[str, Any]]:
    """Rows whose values are alike but written differently (or the same)."""
    rows = [
        _service(0),
        _service(1),  # the same lists again: remembered
        _service(2, opening_hours=[{"closes": "17:00", "day": 1, "opens": "09:00"}]),  # key order
        _service(3, contacts=[{"name": "Ann", "phones": ["01632 960000"]}, 1]),
        _service(4, contacts=[1.0], languages=["Français", "Cymraeg"]),
        _service(5, contacts=[True], z_codes=[]),
        _service(6, contacts=[2**70], last_verified=date(2024, 5, 1)),  # (not MessagePack)
        _service(7, contacts=[None], last_verified=None, is_free=True),
        _service(8, contacts=[-0.0], updated_at=SAME_INSTANT),
        _service(9, contacts=[0.0], last_verified=date(2020, 2, 29)),
        _service(10, contacts=[{"a": 1}], opening_hours=[], updated_at=NOW),
        _service(11, contacts=[{"a": "1"}], languages=["English", "Polish", "Welsh"]),
        _service(12, contacts=["\u00e9", "e\u0301"], domains=["food", "money"]),
        _service(13, contacts=[[1, [2, {"x": None}]]], taxonomy_terms=["1", "2"]),
        # lists of words, and lists alike that are not
        _service(20, domains=[1], languages=[["English"]]),
        _service(21, domains=[True], languages=["English"]),
        _service(22, domains=[1.0], languages=[{"English": 1}]),
        _service(23, domains=["1"], languages=[None]),
        _service(24, domains=[1], languages=[["English"]]),
    ]
    if not postgres:  # (PostgreSQL's json refuses NaN and Infinity)
        rows += [
            _service(14, contacts=[float("nan")]),
            _service(15, contacts=[float("inf")]),
            _service(16, contacts=[None]),
        ]
    return rows


def _stored(session: Session, source: str) -> dict[str, dict[str, Any]]:
    """Each row of ``source`` as the database holds it (JSON as its text), by feed id."""
    skip = {"id", "source"}
    columns = [c for c in TABLE.columns if c.name not in skip]
    json_columns = {c.name for c in columns if isinstance(c.type, sa.JSON)}
    wanted = [sa.cast(c, sa.Text).label(c.name) if c.name in json_columns else c for c in columns]
    rows = session.connection().execute(
        sa.select(*wanted).where(TABLE.c.source == source).order_by(TABLE.c.source_id)
    )
    return {row.source_id: row._asdict() for row in rows}


def test_rows_are_those_sqlalchemy_writes(session: Session) -> None:
    postgres = session.connection().dialect.name == "postgresql"
    rows = _tricky(postgres)
    conn = session.connection()
    conn.execute(sa.insert(TABLE), [{"source": "own", **r} for r in rows])
    names = ["source", *rows[0]]
    inserter = Inserter(conn, TABLE, names)
    assert not inserter.own_way  # every column given: the driver's way
    # in two batches (what is remembered outlives a batch), the second in reverse
    first, second = rows[:8], rows[8:] + [dict(r, source_id="again" + r["source_id"]) for r in rows]
    for batch in (first, second[::-1]):
        inserter.insert(conn, [("fast", *(r[n] for n in names[1:])) for r in batch])
    own, fast = _stored(session, "own"), _stored(session, "fast")
    assert len(own) == len(rows) and len(fast) == 2 * len(rows)
    for sid, row in own.items():
        assert fast[sid] == row, sid
        assert fast["again" + sid] == row | {"source_id": "again" + sid}, sid
    # the values alike were told apart: only services 0, 1, 2 and 20-24 have the same
    # contacts, and 7 and 16; 20 and 24 the same words
    alike = 7 if postgres else 8
    assert len({row["contacts"] for row in own.values()}) == len(rows) - alike
    assert len({(row["domains"], row["languages"]) for row in own.values()}) == 8


def test_new_rows_ids_are_the_ids_stored(session: Session) -> None:
    postgres = session.connection().dialect.name == "postgresql"
    conn = session.connection()
    # rows already there, the last of them deleted (SQLite gives its id again)
    insert_rows(session, TABLE, [{"source": "a", **_service(n)} for n in range(3)])
    conn.execute(sa.delete(TABLE).where(TABLE.c.source_id == "s2"))
    ids = insert_rows(session, TABLE, [{"source": "b", **_service(n)} for n in range(5)])
    stored = dict(
        conn.execute(
            sa.select(TABLE.c.source_id, TABLE.c.id)
            .where(TABLE.c.source == "b")
            .order_by(TABLE.c.source_id)
        ).all()
    )
    if postgres:  # other sessions draw from the same sequence: read back by the caller
        assert ids is None
    else:
        assert ids == [stored[f"s{n}"] for n in range(5)]
        assert ids == sorted(ids) and len(set(ids)) == 5


def test_ids_never_guessed(session: Session) -> None:
    """SQLite past its largest id draws them at random: none are given."""
    if session.connection().dialect.name != "sqlite":
        pytest.skip("SQLite's ids")
    insert_rows(session, TABLE, [{"source": "a", "id": 2**63 - 1, **_service(0)}])
    ids = insert_rows(session, TABLE, [{"source": "b", **_service(n)} for n in range(4)])
    assert ids is None
    count = session.connection().execute(sa.select(sa.func.count()).where(TABLE.c.source == "b"))
    assert count.scalar() == 4


def test_import_cache_put_back(session: Session) -> None:
    """SQLite's page cache is larger while an import writes, then as it was; a larger
    one already set is left alone."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")

    def size() -> int:
        return int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or 0)

    conn.exec_driver_sql("PRAGMA cache_size = -2000")
    with import_cache(conn):
        assert size() == -IMPORT_CACHE_KIB
    assert size() == -2000
    with pytest.raises(RuntimeError, match="stopped"), import_cache(conn):
        assert size() == -IMPORT_CACHE_KIB
        raise RuntimeError("stopped")
    assert size() == -2000
    conn.exec_driver_sql("PRAGMA cache_size = 5000")  # pages of 4 KiB: about 20 MiB
    with import_cache(conn):
        assert size() == 5000
    assert size() == 5000


def test_import_cache_keeps_the_error(engine: sa.Engine) -> None:
    """An error inside is the one raised, even when the connection it broke cannot put
    the cache back."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")
    conn = engine.connect()
    try:
        with pytest.raises(RuntimeError, match="the feed stopped"), import_cache(conn):
            conn.connection.dbapi_connection.close()  # type: ignore[union-attr]
            raise RuntimeError("the feed stopped")
    finally:
        conn.invalidate()
        conn.close()

"""The tests' PostgreSQL databases are reused (tests/pg_pool.py): a database put back after a
test must be exactly what a fresh copy of the template is, under a name the earlier test
never saw, and a database whose schema, grants or alembic history a test changed must not
be put back at all."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlmodel import Session

from linkwork import db as lwdb
from linkwork.demo import make_demo


@pytest.fixture
def pool(request: pytest.FixtureRequest) -> Any:
    import conftest

    conftest._require_pg()
    return request.getfixturevalue("pg_pool")


@pytest.fixture(scope="module")
def fresh_dump(request: pytest.FixtureRequest) -> Iterator[str]:
    """``pg_dump`` (schema and data) of a copy of the template made here, not by the pool
    (once per module: every copy of the template is the same)."""
    import conftest

    conftest._require_pg()
    pool = request.getfixturevalue("pg_pool")
    name = f"lw_reference_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(pool.conninfo("postgres"), autocommit=True)
    try:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pool.template}"')
        yield _dump(pool, name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _dump(pool: Any, name: str) -> str:
    text = subprocess.run(
        ["pg_dump", "-d", pool.conninfo(name)], check=True, capture_output=True, text=True
    ).stdout
    # pg_dump 15.14+ fences its output with a random key: \restrict KEY ... \unrestrict KEY
    return "\n".join(line for line in text.splitlines() if "restrict " not in line[:12])


def _oid(pool: Any, name: str) -> int:
    with psycopg.connect(pool.conninfo("postgres")) as conn:
        row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return int(row[0]) if row else -1


def _fill(url: str) -> None:
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=12, seed=3, actor="pool.test")
        session.commit()
    engine.dispose()


def _counts(pool: Any, name: str) -> dict[str, int]:
    with psycopg.connect(pool.conninfo(name)) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()]  # fmt: skip
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_a_database_put_back_is_a_fresh_copy_under_a_new_name(pool: Any, fresh_dump: str) -> None:
    name = pool.acquire()
    oid = _oid(pool, name)
    _fill(pool.url(name))
    filled = {t: n for t, n in _counts(pool, name).items() if n and t != "alembic_version"}
    assert len(filled) >= 8, filled  # people, needs, referrals, audit, the directory...
    left_open = psycopg.connect(pool.conninfo(name))
    left_open.execute("SELECT count(*) FROM person")  # a session idle in a transaction
    pool.release(name)

    again = pool.acquire()
    try:
        assert _oid(pool, again) == oid  # the same database, reused
        assert again != name and _oid(pool, name) == -1  # the old name reaches nothing
        with pytest.raises(psycopg.OperationalError, match=rf'database "{name}" does not exist'):
            psycopg.connect(pool.conninfo(name))
        with pytest.raises(psycopg.OperationalError, match="terminat"):
            left_open.execute("SELECT count(*) FROM need")  # its session was ended
        assert {t: n for t, n in _counts(pool, again).items() if n} == {"alembic_version": 5}
        assert _dump(pool, again) == fresh_dump  # schema, grants, policies, data, sequences
    finally:
        left_open.close()
        pool.release(again)


CHANGES = {
    "column": "ALTER TABLE person ADD COLUMN extra text",
    "grant": "GRANT DELETE ON person TO linkwork_worker",
    "policy made again": "DROP POLICY linkwork_org ON person; CREATE POLICY linkwork_org ON "
    "person TO linkwork_worker USING (org = ANY (linkwork_orgs())) WITH CHECK (true)",
    "row security off": "ALTER TABLE person NO FORCE ROW LEVEL SECURITY",
    "trigger disabled": "ALTER TABLE audit_event DISABLE TRIGGER ALL",
    "function body": "CREATE OR REPLACE FUNCTION linkwork_orgs() RETURNS text[] LANGUAGE sql "
    "STABLE SECURITY DEFINER AS $$ SELECT ARRAY['*'] $$",
    "alembic history": "UPDATE alembic_version SET version_num = 'cnt_0005' "
    "WHERE version_num = 'cnt_0006'",
    "index dropped": "DROP INDEX {index}",
    "database setting": "ALTER DATABASE {db} SET work_mem = '8MB'",
    "comment": "COMMENT ON TABLE person IS 'changed'",
    "table made": "CREATE TABLE scratch (x int)",
    "owner": "ALTER TABLE need OWNER TO CURRENT_USER",
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_database_whose_schema_changed_is_dropped_not_put_back(
    pool: Any, fresh_dump: str, change: str
) -> None:
    name = pool.acquire()
    oid = _oid(pool, name)
    sql = CHANGES[change].replace("{db}", f'"{name}"')
    with psycopg.connect(pool.conninfo(name), autocommit=True) as conn:
        if change == "index dropped":
            index = conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index "
                "WHERE indrelid = 'person'::regclass ORDER BY 1 LIMIT 1"
            ).fetchone()[0]
            sql = sql.replace("{index}", index)
        for statement in sql.split("; "):
            conn.execute(statement)
    changed = pool.fallbacks.get("changed", 0)
    pool.release(name)
    assert pool.fallbacks.get("changed", 0) == changed + 1
    assert oid not in {_oid(pool, n) for n in pool.clean}

    again = pool.acquire()
    try:
        assert _oid(pool, again) != oid
        assert _dump(pool, again) == fresh_dump
    finally:
        pool.release(again)


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_rows_written_by_an_earlier_test_are_not_seen(db_url: str, turn: int) -> None:
    """In any order, on any worker: each finds nothing, then leaves rows behind."""
    engine = lwdb.open_engine(db_url)
    with engine.connect() as conn:
        tables = [t for (t,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table'" if db_url.startswith("sqlite")
            else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).all()]  # fmt: skip
        rows = {t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in tables}
    engine.dispose()
    assert {t: n for t, n in rows.items() if n} == {"alembic_version": 5}
    _fill(db_url)

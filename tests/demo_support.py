"""Databases that many tests build the same way (a demo practice, a hand-made set of records)
built once per test process and copied into each test's fresh database.

A test's ``db_url`` is a fresh, migrated, empty database (tests/conftest.py). ``built_copy``
leaves it holding exactly what ``build(url)`` would have made there: the first test asking
for a ``key`` runs ``build`` on its own database and keeps a copy; later tests get the copy.

* SQLite: the database file, checkpointed, copied over the test's fresh file (nothing holds it
  open yet: the caller's engine comes after).
* PostgreSQL: the rows of every table that ``build`` filled and the state of every sequence,
  kept in binary ``COPY`` form, written into the test's fresh database (a copy of the same
  template, so the same tables and columns) with triggers and foreign-key checks off, as the
  rows were checked when first written. A build that changed rows the template itself holds
  (``alembic_version``) is not kept: it runs again for every test.

The same rows, ids, sequences and audit chain as the first build (tests/test_demo_support.py
compares a dump of a copy with the built database's, both backends). On PostgreSQL a table's
rows may lie in another physical order than in the built database (rows the build updated in
place, as ``fill_missing_orgs`` does after a bulk insert, moved within its pages): as in any
database, only ``ORDER BY`` fixes the order of a query's rows. What ``build`` writes
outside the database (files in the test's home folder) is not copied: such a build must not
use this.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa


@dataclass
class _PgRows:
    tables: list[tuple[str, str, bytes]]  # table, its columns, its rows in binary COPY
    sequences: list[tuple[str, int, bool]]  # sequence, last_value, is_called


_BUILT: dict[tuple[str, Hashable], Path | _PgRows | None] = {}

_TABLES = """
SELECT c.oid::regclass::text,
       (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
ORDER BY 1
"""
_SEQUENCES = """
SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname = current_schema() ORDER BY 1
"""


def _conninfo(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tables(conn: Any) -> list[tuple[str, str]]:
    return [(t, cols) for t, cols in conn.execute(_TABLES).fetchall()]


def _has_rows(conn: Any, table: str) -> bool:
    return bool(conn.execute(f"SELECT EXISTS (SELECT FROM {table})").fetchone()[0])


def _content(conn: Any, tables: list[str]) -> dict[str, str]:
    return {
        t: conn.execute(
            f"SELECT md5(string_agg(x::text, E'\\n' ORDER BY x::text)) FROM {t} x"
        ).fetchone()[0]
        for t in tables
    }


def _pg_keep(url: str, build: Callable[[str], None]) -> _PgRows | None:
    import psycopg

    with psycopg.connect(_conninfo(url)) as conn:
        tables = _pg_tables(conn)
        held = [t for t, _ in tables if _has_rows(conn, t)]  # the template's own rows
        before = _content(conn, held)
    build(url)
    with psycopg.connect(_conninfo(url)) as conn:
        if _content(conn, held) != before:
            return None  # changed what the template holds: build for every test
        kept = []
        for table, columns in tables:
            if table in held or not _has_rows(conn, table):
                continue
            with conn.cursor().copy(f"COPY {table} ({columns}) TO STDOUT (FORMAT BINARY)") as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            kept.append((table, columns, data))
        sequences = []
        for (sequence,) in conn.execute(_SEQUENCES).fetchall():
            value, called = conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
            sequences.append((sequence, int(value), bool(called)))
    return _PgRows(kept, sequences)


def _pg_restore(url: str, rows: _PgRows) -> None:
    import psycopg

    with psycopg.connect(_conninfo(url)) as conn:
        # the rows were checked by their triggers and constraints when first written
        conn.execute("SET LOCAL session_replication_role = replica")
        for table, columns, data in rows.tables:
            with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(data)
        for sequence, value, called in rows.sequences:
            conn.execute("SELECT setval(%s, %s, %s)", (sequence, value, called))
        conn.commit()


def _sqlite_path(url: str) -> Path:
    database = sa.make_url(url).database
    assert database, url
    return Path(database)


def _sqlite_keep(url: str, build: Callable[[str], None], folder: Path) -> Path:
    build(url)
    path = _sqlite_path(url)
    conn = sqlite3.connect(path)
    try:  # everything written into the database file itself
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, f"{path} is still in use after the build"
    finally:
        conn.close()
    kept = folder / f"built-{len(_BUILT)}.db"
    shutil.copy(path, kept)
    return kept


def _sqlite_restore(url: str, kept: Path) -> None:
    path = _sqlite_path(url)
    for sidecar in ("-wal", "-shm", "-journal"):
        assert not Path(f"{path}{sidecar}").exists(), f"{path}{sidecar}: not a fresh database"
    shutil.copy(kept, path)


def built_copy(
    request: pytest.FixtureRequest,
    url: str,
    build: Callable[[str], None],
    key: Hashable = None,
) -> str:
    """Make the fresh, empty database at ``url`` hold what ``build(url)`` makes: built once per
    test process, backend and ``key`` (by default the function ``build`` itself; a key must
    name everything the build depends on), copied after. Returns ``url``."""
    backend = sa.make_url(url).get_backend_name()
    slot = (backend, build if key is None else key)
    if slot not in _BUILT:
        if backend == "sqlite":
            folder = request.getfixturevalue("tmp_path_factory").mktemp("built")
            _BUILT[slot] = _sqlite_keep(url, build, folder)
        else:
            _BUILT[slot] = _pg_keep(url, build)
        return url
    kept = _BUILT[slot]
    if kept is None:
        build(url)
    elif isinstance(kept, Path):
        _sqlite_restore(url, kept)
    else:
        _pg_restore(url, kept)
    return url

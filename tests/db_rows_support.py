"""Every row of a database's tables as text, for the tests that check a command changed
nothing (no tests here): read through the database's own driver, sqlite3 or psycopg, rather
than a new SQLAlchemy engine and its inspector per look (a look ran 30-70 ms that way, most
of it engine set-up, statement compiling and, on PostgreSQL, one round trip per table; the
SELECTs here go in one pipeline)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SQLITE_TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' "
    "AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name"
)
PG_TABLES = (
    "SELECT n.nspname, c.relname FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg~_%' ESCAPE '~' ORDER BY 1, 2"
)


def pg_connect(url: str) -> Any:
    import psycopg

    rendered = sa.make_url(url).set(drivername="postgresql")
    return psycopg.connect(rendered.render_as_string(hide_password=False), autocommit=True)


def table_rows(
    url: str, tables: tuple[str, ...] | None = None, *, pg: Any = None
) -> dict[str, list[tuple[Any, ...]]]:
    """table -> its rows (tuples, in the order the database gives them). ``tables``: these
    (in the default schema), else every table (on PostgreSQL of every schema but the
    system's, named ``schema.table``). ``pg``: an open psycopg connection to ``url`` to use
    (else one is opened and closed)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not path.is_file():
            raise FileNotFoundError(path)
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
        try:
            names = list(tables or (name for (name,) in conn.execute(SQLITE_TABLES)))
            return {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in names}
        finally:
            conn.close()
    own = pg is None
    conn = pg_connect(url) if own else pg
    try:
        if tables:
            names, quoted = list(tables), [f'"{t}"' for t in tables]
        else:
            listed = conn.execute(PG_TABLES).fetchall()
            names = [f"{schema}.{name}" for schema, name in listed]
            quoted = [f'"{schema}"."{name}"' for schema, name in listed]
        with conn.pipeline():
            cursors = [conn.cursor().execute(f"SELECT * FROM {q}") for q in quoted]
        return {name: cursor.fetchall() for name, cursor in zip(names, cursors, strict=True)}
    finally:
        if own:
            conn.close()


def rows_as_text(url: str, tables: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    """table -> each row as text, sorted: equal before and after = nothing changed."""
    return {
        table: sorted(repr(tuple(row)) for row in rows)
        for table, rows in table_rows(url, tables).items()
    }


def rows_hash(url: str, *, pg: Any = None) -> str:
    """Every table's rows, each row as text, sorted, hashed: equal = nothing changed."""
    digest = hashlib.sha256()
    for table, rows in table_rows(url, pg=pg).items():
        digest.update(f"{table}:{len(rows)}\n".encode())
        for line in sorted(repr(tuple(r)) for r in rows):
            digest.update(line.encode("utf-8", "backslashreplace") + b"\n")
    return digest.hexdigest()

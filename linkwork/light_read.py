"""The embedded database read with its driver alone: ``sqlite3``, or ``sqlcipher3`` for the
encrypted default, keyed as SQLAlchemy's pysqlcipher dialect keys it (as the CLI's search
reads the directory's stamp: ``directory.index_file.sqlite_stamp``). No SQLAlchemy, no
models, no migrations: the app's home screen fills from it before any of those load
(issue 22, start-up: importing them takes longer than everything else the home does).

Only a database that needs nothing done first is read so: an SQLite file (plain, or
encrypted with its passphrase given already) holding the newest schema
(``linkwork.revisions``), opened read-only, by a workspace whose engine is not open yet.
Anything else (no file yet, an older schema, PostgreSQL, a file this cannot read) gets
None, and the caller goes the usual way (``Workspace.session``), which makes the database,
migrates it or says in words what is wrong.

SQL is written once for both ways, with ``?`` placeholders (``Rows``): run here on the
driver's connection, or on a session's connection (``Rows.of_session``: PostgreSQL, with
the login's own row-level security, or an SQLite database already open).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from linkwork.atrest import file_state
from linkwork.revisions import CURRENT_REVISIONS
from linkwork.sqlite_url import sqlite_file

if TYPE_CHECKING:
    from sqlmodel import Session

    from linkwork.workspace import Workspace

T = TypeVar("T")


class Rows:
    """Run SQL written with ``?`` placeholders and get its rows as tuples, whichever
    connection is under it. ``day`` turns a date into what the database compares a
    date column with (SQLite stores ISO text, as SQLAlchemy writes it)."""

    def __init__(self, run: Callable[[str, tuple[Any, ...]], Sequence[Any]], *, pg: bool):
        self._run = run
        self.pg = pg

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.pg:
            sql = sql.replace("?", "%s")
        return [tuple(row) for row in self._run(sql, tuple(params))]

    def day(self, value: date) -> Any:
        return value if self.pg else value.isoformat()

    @staticmethod
    def marks(count: int) -> str:
        """``?, ?, ?`` for an ``IN (...)`` of ``count`` values."""
        return ", ".join("?" * count)

    @classmethod
    def of_session(cls, session: Session) -> Rows:
        """Through an open session's connection (its transaction, its login)."""
        conn = session.connection()
        pg = conn.dialect.name == "postgresql"
        return cls(lambda sql, params: conn.exec_driver_sql(sql, params).all(), pg=pg)


def _connect(ws: Workspace) -> tuple[Any, type[Exception]] | None:
    """A read-only DB-API connection to the workspace's SQLite file at the newest schema
    and its driver's error class, or None (see the module's docstring)."""
    if ws.is_open:
        return None
    found = sqlite_file(ws.settings.resolved_database_url())
    if found is None:
        return None
    path, encrypted = found
    path = path.expanduser()
    passphrase = ws.passphrase if encrypted else None
    if file_state(path) != ("encrypted" if encrypted else "plain"):
        return None  # no file yet (made by the usual way), or not what the URL says
    if encrypted and not passphrase:
        return None
    if passphrase is None:
        import sqlite3 as driver
    else:
        import sqlcipher3 as driver  # type: ignore[import-not-found,no-redef,unused-ignore]
    try:
        conn = driver.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=ws.settings.busy_timeout,
        )
    except driver.Error:
        return None
    try:
        if passphrase is not None:
            conn.execute("PRAGMA cipher_log_level = NONE")  # a wrong key: no stderr line
            conn.execute('pragma key="{}"'.format(passphrase.replace('"', '""')))
        stored = frozenset(
            str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version")
        )
    except driver.Error:
        conn.close()
        return None
    if stored != CURRENT_REVISIONS:
        conn.close()
        return None
    return conn, driver.Error


def readable(ws: Workspace) -> bool:
    """Whether the workspace's database can be read so now: for an encrypted one, also
    whether the passphrase given is its key (SQLCipher reads nothing with another)."""
    opened = _connect(ws)
    if opened is not None:
        opened[0].close()
    return opened is not None


def read(ws: Workspace, reader: Callable[[Rows], T]) -> T | None:
    """``reader`` run on the workspace's database read with its driver alone, or None
    when it cannot be read so (then nothing was changed, and the caller reads it the
    usual way, which says what is wrong if anything is)."""
    opened = _connect(ws)
    if opened is None:
        return None
    conn, error = opened
    try:
        return reader(Rows(lambda sql, params: conn.execute(sql, params).fetchall(), pg=False))
    except error:
        return None  # locked past the busy timeout, a damaged file: the usual way says
    finally:
        conn.close()

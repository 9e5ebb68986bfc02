"""The database: one engine per process, SQLite by default, PostgreSQL for shared use.

``open_engine`` validates the URL, checks the target is usable, and brings the schema up
to date with the Alembic migrations shipped in ``linkwork/migrations`` (multiple branches,
one per domain package, applied together as ``heads``).

An SQLite database holds names, NHS numbers and postcodes, so it is private whatever the
umask: its folder is made 0700, the file itself is made 0600 before SQLite opens it (SQLite
gives its ``-wal``, ``-shm`` and ``-journal`` files the database file's mode), and an
existing file (or journal) readable by others is made 0600 when it is opened.

The default SQLite database is encrypted (SQLCipher 4 through the ``sqlite+pysqlcipher``
dialect and the ``sqlcipher3`` module; ``linkwork.atrest``): the passphrase is given to
``create_engine`` (never in a URL that is printed), the key is derived once per pooled
connection (a ``QueuePool``, so once per process in practice), and a wrong one is
"wrong passphrase for the database ..." (exit 2). ``encrypt_sqlite_file`` converts a plain
file in place (``linkwork db encrypt``).

Waiting for another writer is bounded on both backends by the ``busy_timeout`` setting
(SQLite's busy timeout; PostgreSQL's ``lock_timeout``); then ``linkwork.errors`` says
"the database is busy" (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlmodel import Session

from linkwork.atrest import ENCRYPTED_DRIVER, SQLITE_MAGIC
from linkwork.errors import BUSY_MESSAGE
from linkwork.revisions import CURRENT_REVISIONS as CURRENT_REVISIONS

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
# How long a command waits for another linkwork's write to finish before saying the
# database is busy (seconds; the ``busy_timeout`` setting).
BUSY_TIMEOUT = 10

# CURRENT_REVISIONS (imported above): what ``alembic_version`` holds in a database at the
# newest schema. A new migration's head goes in linkwork/revisions.py (kept apart so the
# app's home screen can read it without SQLAlchemy).


class DatabaseError(ValueError):
    """A database the user pointed at cannot be used (bad URL, unreachable, wrong file)."""


def normalise_url(url: str) -> sa.URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"malformed database URL {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise DatabaseError(
            f"unsupported database {backend!r}: use sqlite:///FILE or postgresql+psycopg://..."
        )
    return parsed


def _check_sqlite_file(url: sa.URL) -> None:
    database = url.database
    if not database or database == ":memory:":
        return
    path = Path(database).expanduser()
    if path.exists():
        if path.is_dir():
            raise DatabaseError(f"{path} is a folder, not a database file")
        with path.open("rb") as handle:
            head = handle.read(16)
        # An SQLCipher file has no SQLite header (its first bytes are a random salt): only
        # its key tells it from any other file (a wrong one: "wrong passphrase").
        encrypted = url.drivername == ENCRYPTED_DRIVER
        if head and head != SQLITE_MAGIC and not encrypted:
            raise DatabaseError(
                f"{path} is not an SQLite database (if it is an encrypted one, open it "
                f"with --db {ENCRYPTED_DRIVER}:///{path} and its passphrase)"
            )
        if head == SQLITE_MAGIC and encrypted:
            raise DatabaseError(
                f"{path} is not encrypted: encrypt it with 'linkwork db encrypt --db "
                f"sqlite:///{path}', or open it as it is with --db sqlite:///{path}"
            )
        if not os.access(path, os.W_OK):
            raise DatabaseError(f"{path} is read-only")
        return
    folder = path.parent
    if not folder.exists():
        from screening.exchange.files import private_folder

        try:
            private_folder(folder)
        except OSError as exc:
            raise DatabaseError(f"cannot create folder {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise DatabaseError(f"cannot create a database in {folder}: the folder is read-only")


def _private_sqlite_file(database: str) -> None:
    """Before SQLite opens ``database``: make it 0600 if it is new (SQLite then makes its
    journal files 0600 too), or make it and its journal files 0600 if others can read them.
    A file owned by someone else is left alone (only its owner may change its mode)."""
    path = Path(database).expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError:
        return  # SQLite's own open says what is wrong, in words (see _connection_message)
    else:
        try:
            if hasattr(os, "fchmod"):  # not on Windows before Python 3.13 (ACLs apply)
                os.fchmod(fd, 0o600)  # an odd umask may have taken bits from the owner
        finally:
            os.close(fd)
        return
    if not hasattr(os, "geteuid"):
        return  # Windows: no POSIX modes to tighten (the folder's ACLs apply)
    for one in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDECARS)):
        try:
            info = one.stat()
            if info.st_mode & 0o077 and info.st_uid == os.geteuid():
                os.chmod(one, 0o600)
        except OSError:
            continue  # no such journal, or not ours


def _sqlite_pragmas(busy_ms: int) -> Any:
    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
        cursor.close()

    return pragmas


def _before_sqlite_connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> None:
    database = cparams.get("database", cargs[0] if cargs else None)
    uri = bool(cparams.get("uri")) or str(database or "").startswith("file:")
    if database and database != ":memory:" and not uri:
        _private_sqlite_file(str(database))


def _pg_options(parsed: sa.URL, busy_ms: int) -> str:
    """libpq ``options`` with linkwork's lock timeout added to any the URL gives."""
    given = parsed.query.get("options") or ""
    if isinstance(given, tuple):
        given = " ".join(given)
    return f"{given} -c lock_timeout={busy_ms:d}".strip()


def _quiet_sqlcipher() -> None:
    """SQLCipher writes its own error lines to stderr (a wrong key: "hmac check failed");
    linkwork says what went wrong in one line of its own, so they are turned off (the
    level is the whole process's)."""
    global _SQLCIPHER_QUIET
    if _SQLCIPHER_QUIET:
        return
    import sqlcipher3

    conn = sqlcipher3.connect(":memory:")
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
    finally:
        conn.close()
    _SQLCIPHER_QUIET = True


_SQLCIPHER_QUIET = False


def is_encrypted(engine: Engine) -> bool:
    return engine.url.drivername == ENCRYPTED_DRIVER


def create_engine(
    url: str, *, busy_timeout: float = BUSY_TIMEOUT, passphrase: str | None = None
) -> Engine:
    """An engine for ``url`` with linkwork's connection settings, without touching the
    schema. ``busy_timeout``: the longest wait, in seconds, for another connection's write
    lock (then an OperationalError that ``linkwork.errors`` words as "busy").
    ``passphrase``: the key of an encrypted SQLite database (``sqlite+pysqlcipher``); it
    is kept in the engine's URL, which never prints it (``describe``)."""
    parsed = normalise_url(url)
    busy_ms = max(0, int(busy_timeout * 1000))
    try:
        if parsed.drivername == ENCRYPTED_DRIVER:
            if passphrase is not None:
                parsed = parsed.set(password=passphrase)
            if not parsed.password:
                raise DatabaseError(
                    f"the database {parsed.database} is encrypted: its passphrase is needed"
                )
            _check_sqlite_file(parsed)
            _quiet_sqlcipher()
            # The key is derived from the passphrase (256,000 rounds of PBKDF2) on every
            # new connection: a QueuePool keeps them (the dialect's default keeps one per
            # thread, and the app's workers are new threads).
            engine = sa.create_engine(
                parsed, poolclass=sa.pool.QueuePool, connect_args={"timeout": busy_ms / 1000}
            )
            sa.event.listen(engine, "do_connect", _before_sqlite_connect)
            sa.event.listen(engine, "connect", _sqlite_pragmas(busy_ms))
        elif parsed.get_backend_name() == "sqlite":
            _check_sqlite_file(parsed)
            engine = sa.create_engine(parsed, connect_args={"timeout": busy_ms / 1000})
            sa.event.listen(engine, "do_connect", _before_sqlite_connect)
            sa.event.listen(engine, "connect", _sqlite_pragmas(busy_ms))
        else:
            engine = sa.create_engine(
                parsed,
                pool_pre_ping=True,
                connect_args={"connect_timeout": 5, "options": _pg_options(parsed, busy_ms)},
            )
    except NoSuchModuleError:
        raise DatabaseError(f"no database driver for {parsed.drivername!r}") from None
    return engine


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def describe(engine: Engine) -> str:
    """The URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)


def _missing_sqlite_file(engine: Engine) -> bool:
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return False
    return not Path(database).expanduser().exists()


def schema_status(engine: Engine) -> dict[str, object]:
    """Current and known revisions; raises DatabaseError if the database is unreachable."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(engine))
    heads = set(script.get_heads())
    known = {rev.revision for rev in script.walk_revisions()}
    if _missing_sqlite_file(engine):
        current: set[str] = set()  # looking must not create the file
    else:
        try:
            with engine.connect() as conn:
                current = set(MigrationContext.configure(conn).get_current_heads())
        except DBAPIError as exc:
            raise DatabaseError(_connection_message(engine, exc)) from None
    unknown = current - known
    if unknown:
        state = "newer"
    elif not current:
        state = "empty"
    elif heads <= {r.revision for r in script.iterate_revisions(tuple(current), "base")}:
        # A head another branch depends on (dir_0001 under scr_0001) is not listed itself.
        state = "current"
    else:
        state = "behind"
    return {
        "url": describe(engine),
        "state": state,
        "current": sorted(current),
        "heads": sorted(heads),
        "unknown": sorted(unknown),
    }


def _connection_message(engine: Engine, exc: DBAPIError) -> str:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()
    first = reason[0] if reason else exc.__class__.__name__
    if "file is not a database" in first:
        if is_encrypted(engine):
            return wrong_passphrase(engine.url.database)
        return f"{engine.url.database} is not an SQLite database"
    if "readonly" in first or "read-only" in first:
        return f"database {describe(engine)} is read-only"
    if "database is locked" in first or "lock timeout" in first:
        return BUSY_MESSAGE
    return f"cannot use database {describe(engine)}: {first}"


def upgrade(engine: Engine) -> dict[str, object]:
    """Apply every pending migration. Refuses a database made by a newer linkwork.

    The status after, with ``findings``: what the migrations reported for a person to act
    on (scr_0002: stored identifiers that are not ASCII), each with its ``message``."""
    status = schema_status(engine)
    findings: list[dict[str, object]] = []
    if status["state"] == "newer":
        raise DatabaseError(
            f"database {status['url']} was made by a newer linkwork "
            f"(unknown schema revision {', '.join(status['unknown'])}); upgrade linkwork"  # type: ignore[arg-type]
        )
    if status["state"] != "current":
        from alembic import command

        config = _alembic_config(engine)
        try:
            command.upgrade(config, "heads")
        except DBAPIError as exc:
            raise DatabaseError(_connection_message(engine, exc)) from None
        findings = list(config.attributes.get("identifier_findings", []))
    return schema_status(engine) | {"findings": findings}


def _stored_revisions(engine: Engine) -> frozenset[str] | None:
    """The rows of ``alembic_version`` by plain SQL, or None if they cannot be read (no
    file, no table, no server): :func:`upgrade` then looks properly and says why."""
    if _missing_sqlite_file(engine):
        return None
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError as exc:
        if is_encrypted(engine) and "file is not a database" in str(exc.orig):
            raise DatabaseError(wrong_passphrase(engine.url.database)) from None
        return None
    return frozenset(str(row[0]) for row in rows)


def wrong_passphrase(database: str | None) -> str:
    return f"wrong passphrase for the database {database}: nothing was changed"


def open_engine(
    url: str, *, busy_timeout: float = BUSY_TIMEOUT, passphrase: str | None = None
) -> Engine:
    """Create the engine and bring the schema up to date: what every command uses."""
    engine = create_engine(url, busy_timeout=busy_timeout, passphrase=passphrase)
    try:
        if _stored_revisions(engine) != CURRENT_REVISIONS:
            upgrade(engine)
    except BaseException:
        engine.dispose()  # a wrong passphrase keeps no engine (nor its key) around
        raise
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on any error: nothing half-written."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

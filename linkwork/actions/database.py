"""Actions on the database itself: open an encrypted one with its passphrase, check the
passphrase (or the PostgreSQL login's password) to go on after the app locked, and encrypt
a plain SQLite database in place (``linkwork db encrypt``).

The passphrase is never stored: the workspace keeps it in memory for the session, and
nothing here writes it to a file, a URL that is printed, or the settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkwork import atrest, light_read
from linkwork.workspace import Workspace


def unlock(workspace: Workspace, passphrase: str, confirm: str | None = None) -> dict[str, Any]:
    """Open the workspace's encrypted database with ``passphrase`` (creating it, with the
    passphrase typed twice, on first use). ValueError in words for a passphrase refused or
    a wrong one ("wrong passphrase for the database ..."); nothing is kept then. An
    existing database at the newest schema is only read with the key (SQLCipher reads
    nothing with a wrong one: ``linkwork.light_read``); its engine opens on first use."""
    kind = workspace.needs_passphrase()
    if kind == "new":
        atrest.check_new_passphrase(passphrase, confirm)
    if kind is not None:
        workspace.set_passphrase(passphrase)
    if kind == "existing" and light_read.readable(workspace):
        # The passphrase reads it and it needs no migration: the app's home screen reads it
        # so too, and the engine (SQLAlchemy) opens after the home is filled (issue 22).
        return {"database": str(atrest.sqlite_path(workspace.database_url())), "new": False}
    engine = workspace.engine  # opened (and made, and migrated) here: a wrong key raises
    return {"database": str(engine.url.database), "new": kind == "new"}


def check_passphrase(workspace: Workspace, text: str) -> None:
    """Go on after the app locked: ``text`` must open the database afresh (a new connection
    with it: SQLCipher derives the key again; PostgreSQL checks the login's password). A
    plain SQLite file has no passphrase: nothing to check. ValueError in words if wrong
    (and the refusal audited: action "refused", entity "session")."""
    from linkwork import db

    engine = workspace.engine
    try:
        if db.is_encrypted(engine):
            from linkwork.dbcrypt import check_key

            check_key(Path(str(engine.url.database)), text)
        elif engine.url.get_backend_name() == "postgresql":
            _check_pg_password(engine, text)
    except ValueError as exc:
        if str(exc).startswith("wrong "):
            # The database is open (the app is only locked): the refusal is audited.
            from linkwork.actions.audit import audit_refusal

            audit_refusal(workspace, "session", "unlock", {"reason": str(exc).split(" for ")[0]})
        raise


def _check_pg_password(engine: Any, text: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    probe = sa.create_engine(
        engine.url.set(password=text), poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    try:
        with probe.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        lines = str(exc.orig).strip().splitlines()
        first = lines[0] if lines else type(exc).__name__
        if "password" in first:
            raise ValueError(
                f"wrong password for the database login {engine.url.username}"
            ) from None
        raise ValueError(f"cannot check the password: {first}") from None
    finally:
        probe.dispose()


def encryption_target(workspace: Workspace) -> Path:
    """The plain SQLite file ``db encrypt`` would encrypt; ValueError in words if there is
    none (PostgreSQL, memory, no file, a file encrypted already). Asked before the new
    passphrase is, so a refusal costs no typing."""
    url = workspace.settings.resolved_database_url()
    if not atrest.is_sqlite_url(url):
        raise ValueError(
            "only an SQLite database file is encrypted by linkwork: "
            "a PostgreSQL database is protected by its server"
        )
    path = atrest.sqlite_path(url)
    if path is None:
        raise ValueError("an in-memory database cannot be encrypted")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a database file")
    state = atrest.file_state(path)
    if state == "missing":
        raise ValueError(f"there is no database at {path} to encrypt")
    if state == "encrypted":
        raise ValueError(f"{path} is already encrypted (or is not an SQLite database)")
    return path


def encrypt_database(
    workspace: Workspace, passphrase: str, confirm: str | None = None
) -> dict[str, Any]:
    """Encrypt the workspace's plain SQLite database in place with a new passphrase
    (``linkwork.dbcrypt.encrypt_sqlite_file``: atomic, no plain copy left). The rows of
    every table (checked equal after), and the URL to open it with from now on."""
    path = encryption_target(workspace)
    atrest.check_new_passphrase(passphrase, confirm)
    from linkwork.dbcrypt import encrypt_sqlite_file

    counts = encrypt_sqlite_file(path, passphrase, busy_timeout=workspace.settings.busy_timeout)
    default = not workspace.settings.database_url
    return {
        "database": str(path),
        "tables": len(counts),
        "rows": sum(counts.values()),
        "counts": counts,
        # The default database is found encrypted by itself next time; a URL given with
        # --db (or LINKWORK_DATABASE_URL) now has to name the encrypted driver.
        "url": "" if default else f"{atrest.ENCRYPTED_DRIVER}:///{path}",
    }


def change_passphrase(
    workspace: Workspace, old: str, new: str, confirm: str | None = None
) -> dict[str, Any]:
    """Give the workspace's encrypted database a new passphrase (when someone who knew the
    old one leaves): copied under the new key and put in place atomically, nothing left
    under the old one (``linkwork.dbcrypt.rekey_sqlite_file``); audited. ValueError in
    words for a plain or server database, a wrong old passphrase, or a new one refused."""
    path = change_target(workspace)
    if workspace.is_open:  # its pooled connections would go on with the old file
        raise ValueError("the database is open here: change its passphrase with nothing open")
    atrest.check_new_passphrase(new, confirm)
    if new == old:
        raise ValueError("the new passphrase is the old one: choose another")
    from linkwork.dbcrypt import rekey_sqlite_file

    counts = rekey_sqlite_file(path, old, new, busy_timeout=workspace.settings.busy_timeout)
    workspace.set_passphrase(new)
    from screening.audit import record_event

    with workspace.session() as session:
        record_event(session, workspace.user, "rekey", "database", "", {"tables": len(counts)})
    return {"database": str(path), "tables": len(counts), "rows": sum(counts.values())}


def change_target(workspace: Workspace) -> Path:
    """The encrypted SQLite file ``db passphrase`` would change; ValueError in words if the
    database is not one (asked before any passphrase is)."""
    url = workspace.settings.resolved_database_url()
    path = atrest.sqlite_path(url)
    if not atrest.is_sqlite_url(url) or path is None:
        raise ValueError("only an encrypted SQLite database has a passphrase to change")
    if not atrest.is_encrypted_url(url) or atrest.file_state(path) != "encrypted":
        raise ValueError(f"{path} is not encrypted: encrypt it with 'linkwork db encrypt'")
    return path

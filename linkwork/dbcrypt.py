"""Encrypting a plain SQLite database in place, giving an encrypted one a new passphrase,
and checking a passphrase against one, with SQLCipher directly (``sqlcipher3``, no engine).

``encrypt_sqlite_file`` is atomic: SQLCipher's ``sqlcipher_export`` copies every table,
index, trigger and row into a new private (0600) file in the same folder, the copy is
counted table by table against the original and flushed to disk, and only then does
``os.replace`` put it in the original's place. The original's ``-wal``/``-shm`` files go
first (it is switched out of WAL mode, which SQLite allows only when no other connection
has it open: so a linkwork still using it is found before anything is done). On any
failure the plain file is left as it was and the half-made copy removed. The disk blocks
the plain file used are freed, not overwritten (no file system promises more).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from linkwork.atrest import file_state
from linkwork.db import DatabaseError, _quiet_sqlcipher, wrong_passphrase

SIDECARS = ("-wal", "-shm", "-journal")


def _connect(path: Path, timeout: float) -> Any:
    _quiet_sqlcipher()
    import sqlcipher3

    return sqlcipher3.connect(str(path), timeout=timeout, isolation_level=None)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_counts(conn: Any, schema: str = "main") -> dict[str, int]:
    """Rows in every table of ``schema`` (SQLite's own ``sqlite_sequence`` included)."""
    names = [
        row[0]
        for row in conn.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' ORDER BY name"
        )
    ]
    return {
        name: int(conn.execute(f"SELECT count(*) FROM {schema}.{_quote(name)}").fetchone()[0])
        for name in names
    }


def check_key(path: Path, passphrase: str) -> None:
    """Raise ValueError unless ``passphrase`` opens the encrypted file at ``path`` (a new
    connection: the key is derived again and page 1 read and authenticated)."""
    import sqlcipher3

    conn = _connect(path, 5)
    try:
        conn.execute("PRAGMA key = " + _quote(passphrase))
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        if "file is not a database" in str(exc):
            raise DatabaseError(wrong_passphrase(str(path))) from None
        raise DatabaseError(f"cannot use database {path}: {exc}") from None
    finally:
        conn.close()


def _fsync(path: Path, *, folder: bool = False) -> None:
    if folder and not hasattr(os, "O_DIRECTORY"):
        return  # Windows: a folder cannot be opened to flush (NTFS journals the rename)
    fd = os.open(path, (os.O_RDONLY | os.O_DIRECTORY) if folder else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def encrypt_sqlite_file(path: Path, passphrase: str, *, busy_timeout: float = 10) -> dict[str, int]:
    """Encrypt the plain SQLite database at ``path`` in place with ``passphrase``; the rows
    of every table (the same before and after, checked). DatabaseError (one line) if there
    is no database, it is encrypted already, or another linkwork has it open."""
    state = file_state(path)
    if not path.exists():
        raise DatabaseError(f"there is no database at {path}")
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file")
    if state == "missing":
        raise DatabaseError(f"{path} is empty: there is nothing to encrypt")
    if state == "encrypted":
        raise DatabaseError(f"{path} is already encrypted (or is not an SQLite database)")
    return _export(path, None, passphrase, busy_timeout)


def rekey_sqlite_file(
    path: Path, old: str, new: str, *, busy_timeout: float = 10
) -> dict[str, int]:
    """Give the encrypted database at ``path`` a new passphrase, the same way (a new file
    under the new key replaces the old one: nothing under the old key is left)."""
    if file_state(path) != "encrypted":
        raise DatabaseError(f"{path} is not an encrypted database")
    check_key(path, old)
    return _export(path, old, new, busy_timeout)


def _export(path: Path, old: str | None, new: str, busy_timeout: float) -> dict[str, int]:
    """Copy the database at ``path`` (plain, or encrypted under ``old``) into a new file
    encrypted under ``new`` and put it in its place; the rows of every table."""
    import sqlcipher3

    # mkstemp makes the file 0600 whatever the umask
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".encrypting", dir=path.parent)
    os.close(fd)
    copy = Path(name)
    source = _connect(path, busy_timeout)
    try:
        if old is not None:
            source.execute("PRAGMA key = " + _quote(old))
        try:
            source.execute("PRAGMA busy_timeout = 2000")
            mode = source.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlcipher3.OperationalError:
            mode = "wal"
        if str(mode).lower() != "delete":
            raise DatabaseError(f"{path} is in use by another linkwork: close it, then try again")
        # Every lock taken from here on is held until the connection closes, after the
        # copy has replaced the original: no one writes to the old file in between.
        source.execute("PRAGMA main.locking_mode = EXCLUSIVE")
        source.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000):d}")
        before = table_counts(source)
        version = source.execute("PRAGMA user_version").fetchone()[0]
        source.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(copy), new))
        source.execute("PRAGMA encrypted.synchronous = FULL")
        source.execute("BEGIN EXCLUSIVE")
        source.execute("SELECT sqlcipher_export('encrypted')")
        source.execute(f"PRAGMA encrypted.user_version = {int(version):d}")
        after = table_counts(source, "encrypted")
        if after != before:
            raise DatabaseError(
                f"{path}: the encrypted copy does not hold every row; nothing was changed"
            )
        source.execute("COMMIT")
        _fsync(copy)
        if os.name == "nt":
            # Windows replaces no file another handle has open: let go of the lock first.
            source.close()
        os.replace(copy, path)
        _fsync(path.parent, folder=True)
    except BaseException:
        with contextlib.suppress(Exception):
            source.close()
        for one in (copy, *(Path(f"{copy}{suffix}") for suffix in SIDECARS)):
            _remove(one)
        raise
    source.close()
    for suffix in SIDECARS:
        _remove(Path(f"{path}{suffix}"))
    # Read back through the new key, as every later run will.
    check = _connect(path, busy_timeout)
    try:
        check.execute("PRAGMA key = " + _quote(new))
        reread = table_counts(check)
    finally:
        check.close()
    if reread != before:  # pragma: no cover - the export was counted before the replace
        raise DatabaseError(f"{path}: the encrypted database does not read back whole")
    return before

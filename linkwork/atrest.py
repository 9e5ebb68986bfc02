"""The embedded database encrypted at rest: which database URL is encrypted, what an SQLite
file holds, and the rules for a passphrase. Cheap to import (no SQLAlchemy, no SQLCipher):
the app uses it to decide, before its first paint, whether to ask for the passphrase.

The default database is an SQLCipher file (``sqlite+pysqlcipher:///FILE``): SQLite
encrypted page by page (AES-256, the key derived from the passphrase by PBKDF2), so the
file holds no readable name or NHS number and has no SQLite header. The passphrase is
never stored: it is asked for (or read from ``LINKWORK_DB_PASSPHRASE`` by the CLI) and kept
in the process's memory only. A plain ``sqlite:///FILE`` URL still opens a plain file (for
throwaway and test databases); the app says "not encrypted" in its header for one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

ENCRYPTED_DRIVER = "sqlite+pysqlcipher"
PASSPHRASE_ENV = "LINKWORK_DB_PASSPHRASE"
NEW_PASSPHRASE_ENV = "LINKWORK_DB_NEW_PASSPHRASE"  # db passphrase: the new one, unattended
SQLITE_MAGIC = b"SQLite format 3\x00"
MIN_PASSPHRASE = 8

FileState = Literal["missing", "plain", "encrypted"]
Protection = Literal["encrypted", "not encrypted", "server", "memory"]


def _scheme(url: str) -> str:
    return url.partition(":")[0].strip().lower()


def is_encrypted_url(url: str) -> bool:
    return _scheme(url) == ENCRYPTED_DRIVER


def is_sqlite_url(url: str) -> bool:
    scheme = _scheme(url)
    return scheme == "sqlite" or scheme.startswith("sqlite+")


def sqlite_path(url: str) -> Path | None:
    """The file an SQLite URL names (``sqlite:///rel``, ``sqlite:////abs``), or None for
    another database, an in-memory one or a URL this cannot read (SQLAlchemy then says)."""
    if not is_sqlite_url(url) or "://" not in url:
        return None
    rest = url.split("://", 1)[1].split("?", 1)[0]
    _credentials, slash, database = rest.partition("/")
    if not slash or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def file_state(path: Path) -> FileState:
    """What an SQLite file holds: nothing yet (missing or empty: a new database), a plain
    SQLite database (its 16-byte header), or anything else: an SQLCipher file, whose first
    16 bytes are a random salt (nothing tells it apart from other bytes but its key)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        return "missing"
    except IsADirectoryError:
        return "encrypted"  # not "missing": opening it says it is a folder
    except OSError:
        return "encrypted"  # unreadable: opening it says why
    if not head:
        return "missing"
    return "plain" if head == SQLITE_MAGIC else "encrypted"


def protection(url: str) -> Protection:
    """How the database at ``url`` is protected at rest, for the app's header: an
    encrypted file, a plain file ("not encrypted"), memory, or a server (PostgreSQL:
    protected by the server's own access control and storage)."""
    if not is_sqlite_url(url):
        return "server"
    if sqlite_path(url) is None:
        return "memory"
    return "encrypted" if is_encrypted_url(url) else "not encrypted"


def has_password(url: str) -> bool:
    """Whether ``url`` holds a password (``scheme://user:PASSWORD@...``)."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    credentials = rest.partition("/")[0]
    return "@" in credentials and bool(credentials.rsplit("@", 1)[0].partition(":")[2])


def needs_passphrase(url: str, has_passphrase: bool) -> Literal["new", "existing"] | None:
    """Whether opening ``url`` first needs a passphrase: "new" (none set yet: asked twice)
    or "existing" (asked once); None for a plain or server database, or one given already
    (in the workspace or in the URL's password field)."""
    if not is_encrypted_url(url) or has_passphrase or has_password(url):
        return None  # has_password: sqlite+pysqlcipher://:PASSPHRASE@/FILE
    path = sqlite_path(url)
    if path is None:
        return None
    return "new" if file_state(path) == "missing" else "existing"


def check_new_passphrase(text: str, confirm: str | None = None) -> str:
    """The rule for choosing a database passphrase, the same for the CLI and the app."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValueError("a passphrase cannot hold control characters")
    if len(text) < MIN_PASSPHRASE:
        raise ValueError(f"choose a passphrase of at least {MIN_PASSPHRASE} characters")
    if confirm is not None and confirm != text:
        raise ValueError("the two passphrases differ: type the same one twice")
    return text

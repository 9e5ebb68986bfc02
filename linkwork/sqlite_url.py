"""An SQLite database URL read without SQLAlchemy (importing it costs every command a
large part of a second: issue 18's start-up).

Only the plainest form is read here, ``sqlite:///FILE`` (or ``sqlite+pysqlcipher:///FILE``)
with no password and no query: SQLAlchemy's ``make_url`` reads those as the file name
after the third slash, always. Anything else returns None and goes to ``linkwork.db``.
"""

from __future__ import annotations

from pathlib import Path

PLAIN = "sqlite:///"
ENCRYPTED = "sqlite+pysqlcipher:///"


def sqlite_file(url: str) -> tuple[Path, bool] | None:
    """``(file, encrypted)`` of a plain SQLite URL naming a file, else None."""
    for prefix, encrypted in ((PLAIN, False), (ENCRYPTED, True)):
        if url.startswith(prefix):
            database = url[len(prefix) :]
            if not database or "?" in database or database == ":memory:":
                return None
            return Path(database), encrypted
    return None

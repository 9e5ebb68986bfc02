"""Exceptions into words: the one translator both front ends use.

Domain code signals a user's mistake by raising ``ValueError`` or ``LookupError`` (or a
subclass) with a message written for the user. ``problem`` turns any exception into an
exit code and one line of words: the CLI prints ``linkwork: LINE`` and exits with the
code; the app shows the line in a notification. Neither ever shows a traceback.

Exit codes: 0 success, 1 nothing found / nothing to do, 2 bad input or refused,
3 a bug (something unexpected; nothing was saved). ``NotFound`` (from the domain core's
``directory.notfound``, re-exported here) is exit 1: no such record, whichever command
names it (``person show nobody``, ``need add nobody ...``).

A database busy with another linkwork's write for longer than the ``busy_timeout``
setting is not a bug: exit 2 with ``BUSY_MESSAGE`` (nothing was saved; trying again works).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from directory.notfound import NotFound
from directory.untrusted import visible_controls

__all__ = ["BUSY_MESSAGE", "KeyLocked", "NotFound", "Problem", "plain_error", "problem"]

BUSY_MESSAGE = "the database is busy (another linkwork is writing): try again"


class KeyLocked(ValueError):
    """Our private key is protected by a passphrase that has not been given yet."""


@dataclass(frozen=True)
class Problem:
    code: int
    message: str
    unexpected: bool = False


def _one_line(exc: BaseException) -> str:
    # Messages quote what was typed or stored: its control characters are shown, not sent.
    text = visible_controls(str(exc).strip())
    if isinstance(exc, KeyError) and text[:1] in "'\"":
        text = text[1:-1]
    lines = text.splitlines()
    return lines[0] if lines else type(exc).__name__


def is_busy(exc: BaseException) -> bool:
    """Did the database refuse because another connection held its write lock too long?
    (SQLite "database is locked"; PostgreSQL lock_timeout, SQLSTATE 55P03.)"""
    if "sqlalchemy" not in sys.modules:
        return False  # nothing has touched a database: not loaded just to look
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "55P03":
        return True
    text = str(orig)
    return "database is locked" in text or "database table is locked" in text


NUL_MESSAGE = "the text given contains a NUL character (U+0000): type it again without it"


def is_nul_refused(exc: BaseException) -> bool:
    """Did PostgreSQL refuse a NUL character in text? (Text from outside is cleaned first by
    ``directory.untrusted``; this is the net under it, so a path it missed is not a bug.)"""
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.exc import DataError

    return isinstance(exc, DataError) and "NUL (0x00)" in str(exc.orig)


def refused_message(exc: BaseException) -> str | None:
    """PostgreSQL refused this login (SQLSTATE 42501: its grants, row-level security or
    the actor check, ``linkwork.access_sql``): the refusal in words, else None."""
    if "sqlalchemy" not in sys.modules:
        return None
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) != "42501":
        return None
    from linkwork.access import refusal_words

    return refusal_words(str(orig))


def problem(exc: BaseException) -> Problem:
    """The exit code and one line of words for an exception that reached a front end."""
    if is_busy(exc):
        return Problem(2, BUSY_MESSAGE)
    refused = refused_message(exc)
    if refused is not None:
        return Problem(2, refused)
    if is_nul_refused(exc):
        return Problem(2, NUL_MESSAGE)
    if isinstance(exc, NotFound):
        return Problem(1, _one_line(exc))
    if isinstance(exc, ValueError | LookupError):
        return Problem(2, _one_line(exc))
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return Problem(
            2, visible_controls(f"cannot use{where}: {exc.strerror or exc}", keep_newlines=False)
        )
    return Problem(
        3, f"something went wrong ({type(exc).__name__}); nothing was saved", unexpected=True
    )


def plain_error(exc: BaseException) -> str:
    """One line a link worker can read: the domain's own message, never a traceback."""
    return problem(exc).message

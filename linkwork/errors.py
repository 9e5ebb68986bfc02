"""Exceptions into words: the one translator both front ends use.

Domain code signals a user's mistake by raising ``ValueError`` or ``LookupError`` (or a
subclass) with a message written for the user. ``problem`` turns any exception into an
exit code and one line of words: the CLI prints ``linkwork: LINE`` and exits with the
code; the app shows the line in a notification. Neither ever shows a traceback.

Exit codes: 0 success, 1 nothing found / nothing to do, 2 bad input or refused,
3 a bug (something unexpected; nothing was saved).
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.untrusted import visible_controls


class NotFound(LookupError):
    """Nothing to show: exit 1 with a one-line message (not an error in the input)."""


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


def problem(exc: BaseException) -> Problem:
    """The exit code and one line of words for an exception that reached a front end."""
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

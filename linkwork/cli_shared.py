"""What every command prints with, without Typer: escaping, JSON, the passphrase prompt, the
consoles, and an error as one line and an exit code.

``linkwork.cli.common`` re-exports these for the Typer commands; they live here, outside the
``linkwork.cli`` package (whose start imports Typer), so that the command line's search can
run without Typer (``linkwork.search_command``; issue 18: a search in under 0.3 s). The
consoles (``console``, ``err_console``: ``linkwork.consoles``) are Rich's, made when first
asked for: a command printing only JSON never imports Rich.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directory.untrusted import control_positions, escape_terminal, visible_controls
from linkwork.errors import problem

if TYPE_CHECKING:
    from linkwork.consoles import TerminalConsole, console, err_console
    from linkwork.workspace import Workspace

__all__ = [
    "TerminalConsole",
    "ask_passphrase",
    "console",
    "dumps",
    "err_console",
    "esc",
    "exit_line",
    "leave",
    "open_workspace",
    "print_json",
    "safe",
]


def esc(value: object) -> str:
    """Stored or typed text ready to go into a console string, a markup string or a table
    cell: control characters shown as escapes and Rich markup escaped
    (``directory.untrusted.escape_terminal``). ``None`` is an empty string."""
    return escape_terminal(value)


def safe(data: Any) -> Any:
    """``data`` (an action's dicts and lists) with every string passed through ``esc``:
    what a command does first in its human-readable branch, once (escaping twice would
    show the backslashes). JSON output takes the data as it is (``print_json``)."""
    if isinstance(data, str):
        return esc(data)
    if isinstance(data, dict):
        return {key: safe(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [safe(value) for value in data]
    return data


def __getattr__(name: str) -> Any:
    """``console``, ``err_console`` and ``TerminalConsole`` (``linkwork.consoles``), Rich
    imported on first use."""
    if name in ("console", "err_console", "TerminalConsole"):
        from linkwork import consoles

        return getattr(consoles, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _on_a_terminal() -> bool:
    try:
        return bool(sys.stdin and sys.stdin.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def ask_passphrase(kind: str, where: str, env: str = "") -> str:
    """The encrypted database's passphrase for a command: ``LINKWORK_DB_PASSPHRASE`` (or
    ``env``), or typed on the terminal (not shown; twice for a new one: "new"). With
    neither, one line (exit 2). Never stored anywhere."""
    import getpass

    from linkwork.atrest import PASSPHRASE_ENV, check_new_passphrase

    env = env or PASSPHRASE_ENV
    given = os.environ.get(env)
    if given:
        return check_new_passphrase(given) if kind == "new" else given
    if not _on_a_terminal():
        doing = "choose one" if kind == "new" else "type it"
        raise ValueError(
            f"the database {where} is encrypted: set {env}, "
            f"or run linkwork on a terminal to {doing}"
        )
    if kind == "new":
        from linkwork.consoles import err_console

        err_console.print(
            f"The database at {esc(where)}: choose its new passphrase (at least 8 "
            "characters). It is not stored anywhere: without it the database cannot be opened.",
            highlight=False,
        )
        first = getpass.getpass("New passphrase: ")
        second = getpass.getpass("The same passphrase again: ")
        return check_new_passphrase(first, second)
    return getpass.getpass(f"Passphrase for the database {visible_controls(where)}: ")


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def dumps(data: Any) -> str:
    """JSON for stdout: the same data, with every control character json leaves raw (DEL,
    C1 controls, bidirectional overrides, zero-width characters) written as a ``\\u``
    escape, so a terminal showing it is not driven by it."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_default)
    if text.isascii() and "\x7f" not in text:
        return text
    bad = control_positions(text, multiline=True)
    if not bad:
        return text
    chars = list(text)
    for i in bad:
        chars[i] = _json_escape(chars[i])
    return "".join(chars)


def print_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def open_workspace(db: str | None, user: str | None) -> Workspace:
    """The command's workspace from the root's ``--db`` and ``--user`` (None: not given;
    the environment and the config file are read by ``load_settings``). A database URL is
    checked before any command runs, so a mistyped --db is refused even by commands that
    never open the database (codes search, codes show); a plain sqlite:///FILE needs no
    checking, nor SQLAlchemy's import (most of a second)."""
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    settings = load_settings(database_url=db, user=user)
    if settings.database_url:
        from linkwork.sqlite_url import sqlite_file

        if sqlite_file(settings.database_url) is None:
            from linkwork.db import normalise_url

            normalise_url(settings.database_url)
    return Workspace(settings, ask_passphrase=ask_passphrase)


def exit_line(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line for an error a command raised (``linkwork.errors``)."""
    found = problem(exc)
    if found.unexpected:
        return found.code, f"{found.message}; run again with LINKWORK_DEBUG=1 for details"
    return found.code, found.message


def traceback_wanted(code: int) -> bool:
    """Whether an unexpected error (exit code 3) is to be raised whole, with its
    traceback, instead of said in one line: when the user asked (``LINKWORK_DEBUG``)."""
    return code == 3 and bool(os.environ.get("LINKWORK_DEBUG"))


def leave(code: int, message: str) -> None:
    """Print ``linkwork: MESSAGE`` as one line on stderr, whatever it quotes (a typed
    argument, a stored name), and exit with ``code``."""
    sys.stderr.write(f"linkwork: {visible_controls(message, keep_newlines=False)}\n")
    sys.exit(code)

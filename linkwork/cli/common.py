"""What every command shares: its workspace, JSON output, and the consoles.

A command parses its options, calls one action (``linkwork.actions``) with the workspace,
and prints the result. Errors become one line and an exit code in ``linkwork.errors``.

The consoles (``console``, ``err_console``: ``linkwork.cli.terminal``) are Rich's, made
when first asked for: a command printing only JSON (``--json``) never imports Rich
(issue 18: a search from the command line in under 0.3 s).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from directory.untrusted import control_positions, escape_terminal, visible_controls
from linkwork.errors import NotFound
from linkwork.workspace import Workspace

if TYPE_CHECKING:
    from linkwork.cli.terminal import TerminalConsole, console, err_console

__all__ = [
    "JsonOption",
    "NotFound",
    "TerminalConsole",
    "answer",
    "ask_passphrase",
    "console",
    "err_console",
    "esc",
    "print_json",
    "safe",
    "workspace",
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


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
    """``console``, ``err_console`` and ``TerminalConsole`` (``linkwork.cli.terminal``),
    Rich imported on first use."""
    if name in ("console", "err_console", "TerminalConsole"):
        from linkwork.cli import terminal

        return getattr(terminal, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def workspace(ctx: typer.Context) -> Workspace:
    """The command's workspace (settings, database, acting user), made by the root callback."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Workspace):
        raise RuntimeError("linkwork CLI workspace is missing")
    return obj


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
    import os

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
        from linkwork.cli.terminal import err_console

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


def answer(data: Any, json_out: bool, show: Callable[[Any], None]) -> None:
    """Print an action's answer: its JSON when asked for (``--json``), else ``show`` prints
    it in words from the data made safe for the terminal (``safe``) - the choice every
    command makes once."""
    if json_out:
        print_json(data)
    else:
        show(safe(data))

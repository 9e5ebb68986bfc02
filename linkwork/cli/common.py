"""What every command shares: its workspace, JSON output, and the consoles.

Escaping, JSON, the passphrase prompt and the consoles live in ``linkwork.cli_shared`` (without
Typer, for the command line's search: ``linkwork.search_command``) and are re-exported here.

A command parses its options, calls one action (``linkwork.actions``) with the workspace,
and prints the result. Errors become one line and an exit code in ``linkwork.errors``.

The consoles (``console``, ``err_console``: ``linkwork.consoles``) are Rich's, made
when first asked for: a command printing only JSON (``--json``) never imports Rich
(issue 18: a search from the command line in under 0.3 s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from linkwork.cli_shared import ask_passphrase, dumps, esc, print_json, safe
from linkwork.errors import NotFound
from linkwork.workspace import Workspace

if TYPE_CHECKING:
    from linkwork.consoles import TerminalConsole, console, err_console

__all__ = [
    "JsonOption",
    "NotFound",
    "TerminalConsole",
    "answer",
    "ask_passphrase",
    "console",
    "dumps",
    "err_console",
    "esc",
    "print_json",
    "safe",
    "workspace",
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def __getattr__(name: str) -> Any:
    """``console``, ``err_console`` and ``TerminalConsole`` (``linkwork.consoles``), Rich
    imported on first use."""
    if name in ("console", "err_console", "TerminalConsole"):
        from linkwork import consoles

        return getattr(consoles, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def workspace(ctx: typer.Context) -> Workspace:
    """The command's workspace (settings, database, acting user), made by the root callback."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Workspace):
        raise RuntimeError("linkwork CLI workspace is missing")
    return obj


def answer(data: Any, json_out: bool, show: Callable[[Any], None]) -> None:
    """Print an action's answer: its JSON when asked for (``--json``), else ``show`` prints
    it in words from the data made safe for the terminal (``safe``) - the choice every
    command makes once."""
    if json_out:
        print_json(data)
    else:
        show(safe(data))

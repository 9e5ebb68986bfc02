"""What every command shares: its workspace, JSON output, and the consoles.

A command parses its options, calls one action (``linkwork.actions``) with the workspace,
and prints the result. Errors become one line and an exit code in ``linkwork.errors``.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from linkwork.errors import NotFound
from linkwork.workspace import Workspace

__all__ = ["JsonOption", "NotFound", "console", "err_console", "print_json", "workspace"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]

console = Console()
err_console = Console(stderr=True)


def workspace(ctx: typer.Context) -> Workspace:
    """The command's workspace (settings, database, acting user), made by the root callback."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Workspace):
        raise RuntimeError("linkwork CLI workspace is missing")
    return obj


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


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def print_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()

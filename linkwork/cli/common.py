"""What every command shares: the app context (settings, engine), JSON output, exit codes.

Exit codes: 0 success, 1 not found / nothing to do, 2 bad input (one line on stderr
starting ``linkwork: ``). Domain code signals bad input by raising ValueError or
LookupError (or subclasses); ``linkwork.cli.main`` turns those into exit 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session

from linkwork.settings import Settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]

console = Console()
err_console = Console(stderr=True)


class NotFound(Exception):
    """Nothing to show: exit 1 with a one-line message (not an error in the input)."""


@dataclass
class AppContext:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from linkwork.db import open_engine

            self._engine = open_engine(self.settings.resolved_database_url())
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        from linkwork.db import session_scope

        with session_scope(self.engine) as session:
            yield session


def app_context(ctx: typer.Context) -> AppContext:
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, AppContext):
        raise RuntimeError("linkwork CLI context is missing")
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

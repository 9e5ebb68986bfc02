"""``linkwork db``: look at and upgrade the database schema; encrypt an SQLite database.

The database layer (``linkwork.db``: SQLAlchemy, SQLModel) is imported by each command
that uses it, not with this module: ``linkwork --help`` imports this module (an area of
``linkwork.cli``, imported for the ``db`` command and for the whole command line's help)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from linkwork.atrest import protection
from linkwork.cli.common import (
    JsonOption,
    ask_passphrase,
    console,
    esc,
    print_json,
    workspace,
)

app = typer.Typer(
    help="The database: schema status and upgrade; encrypt an SQLite file.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")


def _render(status: dict[str, object]) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("Database", str(status["url"]))
    table.add_row("State", str(status["state"]))
    table.add_row("Current", ", ".join(status["current"]) or "(empty)")  # type: ignore[arg-type]
    table.add_row("Latest", ", ".join(status["heads"]))  # type: ignore[arg-type]
    if status.get("protection"):
        table.add_row("At rest", str(status["protection"]))
    console.print(table)


def _engine(ctx: typer.Context) -> Any:
    """An engine on the workspace's database without migrating it (the passphrase of an
    encrypted one asked for as every command asks)."""
    from linkwork import db

    ws = workspace(ctx)
    settings = ws.settings
    return db.create_engine(
        settings.resolved_database_url(),
        busy_timeout=settings.busy_timeout,
        passphrase=ws.database_passphrase(),
    )


@app.command()
def status(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Show the schema revision of the database and whether it is up to date."""
    from linkwork import db

    result = db.schema_status(_engine(ctx))
    result["protection"] = protection(workspace(ctx).settings.resolved_database_url())
    if json_out:
        print_json(result)
    else:
        _render(result)


@app.command()
def upgrade(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Apply any pending migrations (also done automatically on first use)."""
    from linkwork import db

    result = db.upgrade(_engine(ctx))
    if json_out:
        print_json(result)
        return
    _render(result)
    findings = result.get("findings") or []
    if isinstance(findings, list) and findings:
        console.print(
            f"{len(findings)} stored identifier(s) hold characters that are not ASCII "
            "(nothing was changed; each is in the audit trail as a review):",
            highlight=False,
        )
        for finding in findings:
            console.print(f"  {esc(finding['message'])}", highlight=False)


@app.command()
def encrypt(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Encrypt a plain SQLite database in place, with a new passphrase.

    The passphrase is typed twice (or read from LINKWORK_DB_PASSPHRASE). Atomic: no plain
    copy is left behind."""
    from linkwork.actions import database

    ws = workspace(ctx)
    path = database.encryption_target(ws)  # refused before a passphrase is asked for
    passphrase = ask_passphrase("new", str(path))
    result = database.encrypt_database(ws, passphrase)
    if json_out:
        print_json(result)
        return
    console.print(
        f"Encrypted {esc(result['database'])}: {result['tables']} tables, {result['rows']} "
        "rows, each table counted the same before and after. No plain copy is left.",
        highlight=False,
    )
    if result["url"]:
        console.print(f"From now on open it with --db {esc(result['url'])}", highlight=False)


@app.command()
def passphrase(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Give the encrypted database a new passphrase.

    The current one is typed (or LINKWORK_DB_PASSPHRASE), then the new one twice (or
    LINKWORK_DB_NEW_PASSPHRASE). Atomic: nothing under the old passphrase is left."""
    from linkwork.actions import database
    from linkwork.atrest import NEW_PASSPHRASE_ENV

    ws = workspace(ctx)
    path = database.change_target(ws)  # refused before a passphrase is asked for
    old = ask_passphrase("existing", str(path))
    new = ask_passphrase("new", str(path), NEW_PASSPHRASE_ENV)
    result = database.change_passphrase(ws, old, new)
    if json_out:
        print_json(result)
        return
    console.print(
        f"New passphrase for {esc(result['database'])}: {result['tables']} tables, "
        f"{result['rows']} rows copied under it. The old passphrase opens nothing now.",
        highlight=False,
    )

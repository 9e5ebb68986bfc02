"""``linkwork db``: look at and upgrade the database schema."""

from __future__ import annotations

import typer
from rich.table import Table

from linkwork import db
from linkwork.cli.common import JsonOption, console, esc, print_json, workspace

app = typer.Typer(help="Database schema: status and upgrade.", no_args_is_help=True)


def _render(status: dict[str, object]) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("Database", str(status["url"]))
    table.add_row("State", str(status["state"]))
    table.add_row("Current", ", ".join(status["current"]) or "(empty)")  # type: ignore[arg-type]
    table.add_row("Latest", ", ".join(status["heads"]))  # type: ignore[arg-type]
    console.print(table)


@app.command()
def status(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Show the schema revision of the database and whether it is up to date."""
    settings = workspace(ctx).settings
    engine = db.create_engine(settings.resolved_database_url(), busy_timeout=settings.busy_timeout)
    result = db.schema_status(engine)
    if json_out:
        print_json(result)
    else:
        _render(result)


@app.command()
def upgrade(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Apply any pending migrations (also done automatically on first use)."""
    settings = workspace(ctx).settings
    engine = db.create_engine(settings.resolved_database_url(), busy_timeout=settings.busy_timeout)
    result = db.upgrade(engine)
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

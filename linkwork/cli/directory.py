"""``linkwork directory``: import Open Referral UK feeds, search, show services."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from linkwork.cli.common import JsonOption, print_json, safe, workspace

# Rich (the consoles, tables) is imported by the commands that print words, not here:
# ``directory search --json`` prints without it (issue 18: under 0.3 s).

app = typer.Typer(
    help="The local service directory: import Open Referral UK feeds, search and show services.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="directory")


def _print_summary(summary: Any) -> None:
    """The import's counts and each reject: feed text (names, ids, reasons) escaped."""
    from directory.untrusted import escape_terminal as esc
    from linkwork.cli.terminal import console

    data = summary.to_dict()
    console.print(
        f"{esc(data['source'])}: {data['added']} added, {data['updated']} updated, "
        f"{data['unchanged']} unchanged, {data['withdrawn']} withdrawn, "
        f"{len(data['rejected'])} rejected"
        + ("" if data["full"] else " (partial feed: nothing withdrawn)"),
        highlight=False,
    )
    for r in data["rejected"]:
        ident = f" id {esc(r['id'])}" if r["id"] else ""
        name = f" {esc(repr(r['name']))}" if r["name"] else ""
        console.print(
            f"  rejected {esc(r['where'])}{ident}{name}: {esc(r['reason'])}",
            highlight=False,
            soft_wrap=True,
        )
    from linkwork.actions.directory import NO_ORGANISATION

    no_org = [n for n in data["notes"] if n["note"] == NO_ORGANISATION]
    if no_org:
        console.print(
            f"  {len(no_org)} service(s) had no organisation and were imported without one",
            highlight=False,
        )
        for note in no_org[:20]:
            console.print(
                f"    {esc(note['where'])} id {esc(note['id'])} {esc(repr(note['name']))}",
                highlight=False,
            )
    left_out = [n for n in data["notes"] if n["note"] != NO_ORGANISATION]
    if left_out:
        console.print(
            f"  {len(left_out)} value(s) could not be read and were left out"
            " (--strict refuses them)",
            highlight=False,
        )
        for note in left_out[:20]:
            console.print(
                f"    {esc(note['where'])} id {esc(note['id'])}: {esc(note['note'])}",
                highlight=False,
                soft_wrap=True,
            )


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="A file, a folder of page files, or an http(s) ORUK API base URL.")
    ],
    fmt: Annotated[str, typer.Option("--format", help="auto, oruk or csv.")] = "auto",
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Fail the whole import on the first rejected service, and reject a service "
            "with control characters or a value that cannot be read (a date, a time).",
        ),
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            "--source", help="Name to file the services under (default: from the file name or URL)."
        ),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Import (or re-import) a feed: added, updated, unchanged, withdrawn, rejected.

    A feed is read within the settings import_max_page_bytes,
    import_max_feed_bytes, import_max_pages and import_max_services.
    A service with a value of the wrong type is rejected with its
    reason. Nothing is written unless all of the feed can be read.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from linkwork.actions import directory as act
    from linkwork.cli.terminal import err_console

    is_url = source.startswith(("http://", "https://"))
    with Progress(
        TextColumn("fetching pages"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
        disable=not (is_url and err_console.is_terminal),
    ) as bar:
        task = bar.add_task("pages", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        summary = act.import_directory(
            workspace(ctx), source, fmt=fmt, strict=strict, progress=progress, source_name=name
        )
    if json_:
        print_json(summary.to_dict())
    else:
        _print_summary(summary)


@app.command("load-sample")
def load_sample(ctx: typer.Context, json_: JsonOption = False) -> None:
    """Load the bundled sample directory (400 synthetic services)."""
    from linkwork.actions import directory as act

    summary = act.load_sample(workspace(ctx))
    if json_:
        print_json(summary.to_dict())
    else:
        _print_summary(summary)


@app.command("search")
def search_cmd(
    ctx: typer.Context,
    text: Annotated[
        str, typer.Argument(help="Words, lay or professional; may be empty with --need.")
    ] = "",
    need: Annotated[
        list[str] | None,
        typer.Option("--need", help="A need code (ICD-10 Z code, SNOMED) or domain; repeatable."),
    ] = None,
    near: Annotated[str | None, typer.Option("--near", help="A postcode or town.")] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="A language the service offers.")
    ] = None,
    age: Annotated[int | None, typer.Option("--age", help="The person's age.")] = None,
    open_now: Annotated[bool, typer.Option("--open-now", help="Only services open now.")] = False,
    free: Annotated[bool, typer.Option("--free", help="Only free services.")] = False,
    current_only: Annotated[
        bool,
        typer.Option(
            "--current-only",
            help="Only services verified within stale_months (others are shown, flagged, "
            "ranked a little lower).",
        ),
    ] = False,
    include_stale: Annotated[
        bool,
        typer.Option("--include-stale", hidden=True, help="The default now (kept for scripts)."),
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="How many results.")] = 10,
    json_: JsonOption = False,
) -> None:
    """Find services for a need, best first, with why each matched."""
    # (a plain search is read and run without Typer by linkwork.search_command: this
    # command is what reads any other, with the same action and printing)
    from linkwork.actions import search as act

    results = act.find_services(
        workspace(ctx),
        text,
        current_only=current_only and not include_stale,
        needs=need or [],
        near=near,
        language=language,
        age=age,
        open_now=open_now,
        free=free,
        limit=limit,
    )
    from linkwork.search_command import show_results

    show_results(results, json_)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The service's id in its feed, or linkwork's number.")],
    json_: JsonOption = False,
) -> None:
    """Everything about one service."""
    from linkwork.actions import directory as act

    data = act.show_service(workspace(ctx), ref)
    if json_:
        print_json(data)
        return
    from linkwork.cli.terminal import console

    data = safe(data)
    console.print(
        f"[bold]{data['name']}[/bold]  ({data['organisation'] or 'no organisation'})",
        highlight=False,
    )
    console.print(
        f"id {data['id']} (linkwork {data['service_id']}), feed {data['source']}", highlight=False
    )
    status = data["status"] + (", not verified recently" if data["stale"] else "")
    console.print(
        f"status: {status}; last verified {data['last_verified'] or 'unknown'}", highlight=False
    )
    if data["description"]:
        console.print()
        console.print(data["description"], highlight=False)
        console.print()
    rows = [
        (
            "needs",
            ", ".join(data["domains"])
            + (f"  ({', '.join(data['z_codes'])})" if data["z_codes"] else ""),
        ),
        ("categories", "; ".join(data["taxonomy_terms"])),
        ("who for", data["eligibility"]),
        ("ages", _ages(data["min_age"], data["max_age"])),
        ("cost", data["fees"] or ("free" if data["free"] else "")),
        ("languages", ", ".join(data["languages"])),
        ("open", "; ".join(data["opening_hours"])),
        ("phone", data["phone"]),
        ("email", data["email"]),
        ("web", data["url"]),
        ("area", data["service_area"]),
    ]
    for loc in data["locations"]:
        rows.append(
            (
                "where",
                ", ".join(
                    x for x in (loc["name"], loc["address"], loc["town"], loc["postcode"]) if x
                ),
            )
        )
    for label, value in rows:
        if value:
            console.print(f"{label:>11}: {value}", highlight=False)


def _ages(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f"{low} and over"
    if low is None:
        return f"up to {high}"
    return f"{low} to {high}"


@app.command("stats")
def stats_cmd(ctx: typer.Context, json_: JsonOption = False) -> None:
    """How many services each feed has, and the last imports."""
    from linkwork.actions import directory as act

    data = act.stats(workspace(ctx))
    if json_:
        print_json(data)
        return
    from linkwork.cli.terminal import console

    data = safe(data)
    console.print(f"{data['services']} services listed, {data['withdrawn']} withdrawn")
    for feed in data["feeds"]:
        console.print(
            f"  {feed['source']}: {feed['listed']} listed, {feed['withdrawn']} withdrawn",
            highlight=False,
        )


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    feed: Annotated[
        str | None, typer.Option("--feed", help="Only this feed (its source name).")
    ] = None,
    withdrawn: Annotated[
        bool, typer.Option("--withdrawn", help="List withdrawn services instead.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="How many (0 = all).")] = 50,
    json_: JsonOption = False,
) -> None:
    """Services in the directory, by name."""
    from linkwork.actions import directory as act

    rows = act.services(workspace(ctx), feed=feed, withdrawn=withdrawn, limit=limit)
    if json_:
        print_json(rows)
        return
    from rich.table import Table

    from linkwork.cli.terminal import console

    rows = safe(rows)
    table = Table()
    for column in ("id", "service", "organisation", "feed"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["name"], row["organisation"], row["source"])
    console.print(table)

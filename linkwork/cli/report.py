"""``linkwork report``: counts for data leads, disclosure-controlled.

``linkwork report needs --by need,ethnic_group [--from DATE] [--to DATE] [--practice ODS]
[--format table|csv|json|fhir] [--out FILE] [--chart] [--chart-out FILE.svg]``;
``report referrals`` (``--direction received`` at a hub) and ``report outcomes`` take the
same options; ``report
load-deprivation FILE.csv`` loads a postcode -> IMD decile lookup; ``report dimensions``
lists the dimensions.

Counts of 1-7 are always hidden and the rest rounded to 5 unless ``--no-suppression``
(the practice's internal view only), which prints a warning and is recorded in the audit
trail. Every report run is recorded in the audit trail (no personal data in it). Each
command parses its options, calls one action (``linkwork.actions.reports``, the app's
Counts screen calls the same) and prints the result.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from directory.untrusted import visible_controls
from linkwork.cli.common import (
    JsonOption,
    console,
    err_console,
    esc,
    print_json,
    safe,
    workspace,
)

app = typer.Typer(
    help="Counts of needs, referrals and outcomes for data leads (disclosure-controlled).",
    no_args_is_help=True,
)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    fhir = "fhir"


ByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        help="Dimensions, comma-separated (up to 3): need, domain, month, quarter, year "
        "(quarter and year are financial, April-March), practice, ethnicity, ethnic_group, "
        "age_band, sex, disability, deprivation.",
    ),
]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day counted (YYYY-MM-DD).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day counted (YYYY-MM-DD).")]
PracticeOpt = Annotated[
    str | None, typer.Option("--practice", help="Only people registered at this ODS code.")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Write the output to this file (atomically).")
]
ChartOpt = Annotated[bool, typer.Option("--chart", help="Also draw a bar chart in the terminal.")]
ChartOutOpt = Annotated[
    Path | None,
    typer.Option("--chart-out", help="Write a bar chart to FILE.svg (or .png with matplotlib)."),
]
NoSuppressionOpt = Annotated[
    bool,
    typer.Option(
        "--no-suppression",
        help="Raw numbers for the practice's own internal view: never publish them. "
        "Prints a warning and is recorded in the audit trail.",
    ),
]
ThresholdOpt = Annotated[
    int, typer.Option("--threshold", help="Hide counts from 1 up to this (at least 7).")
]


class Direction(StrEnum):
    sent = "sent"
    received = "received"


DirectionOpt = Annotated[
    Direction,
    typer.Option(
        "--direction",
        help="sent: referrals made here (a practice); received: referrals that came in "
        "from elsewhere (a hub).",
    ),
]
RoundOpt = Annotated[
    int, typer.Option("--round-to", help="Round other counts to a multiple of this (5, 10, ...).")
]


population_app = typer.Typer(
    help="Practice list sizes (registered patients): the denominators of rates per 1,000.",
    no_args_is_help=True,
)
deprivation_app = typer.Typer(
    help="The postcode -> IMD decile lookup behind --by deprivation.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="report")
    root.add_typer(population_app, name="population")
    root.add_typer(deprivation_app, name="deprivation")


@population_app.command("import")
def population_import_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="NHS England's 'Patients Registered at a GP Practice' CSV: "
            "gp-reg-pat-prac-quin-age.csv, or gp-reg-pat-prac-sing-age-female/-male.csv; "
            "or your own list by ethnicity (columns ORG_CODE, ETHNIC_CATEGORY as an NHS "
            "ethnic category code, NUMBER_OF_PATIENTS)."
        ),
    ],
    json_out: JsonOption = False,
) -> None:
    """Load (replace) the list sizes of the practices in the records, by sex and age, or
    by ethnic category (a file with an ETHNIC_CATEGORY column)."""
    from linkwork.actions import reports as act

    found = act.load_population(workspace(ctx), file)
    if json_out:
        print_json(found)
        return
    by = " by ethnic category" if found.get("layout") == "ethnic category" else ""
    extract = f", extract {esc(found['extract_date'])}" if found["extract_date"] else ""
    console.print(
        f"loaded the list sizes{by} of {found['practices']} practices ({found['lines']} lines"
        f"{extract}); {found['skipped']} other practices in the file have nobody in the records",
        highlight=False,
    )


@deprivation_app.command("import")
def deprivation_import_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns postcode,decile (1-10), or the national English indices "
            "of deprivation file by LSOA (with --postcodes)."
        ),
    ],
    postcodes: Annotated[
        Path | None,
        typer.Option(
            "--postcodes",
            help="The national postcode lookup (ONS NSPL/ONSPD CSV: pcds, lsoa21 or lsoa11), "
            "for a file by LSOA.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Load (replace) the postcode -> IMD decile lookup behind --by deprivation."""
    from linkwork.actions import reports as act

    n = act.load_deprivation(workspace(ctx), file, postcodes)
    if json_out:
        print_json({"postcodes": n})
    else:
        console.print(f"loaded {n} postcodes with their deprivation decile", highlight=False)


def _run(
    ctx: typer.Context,
    name: str,
    by: str,
    date_from: str | None,
    date_to: str | None,
    practice: str | None,
    fmt: Format,
    out: Path | None,
    chart: bool,
    chart_out: Path | None,
    no_suppression: bool,
    threshold: int,
    round_to: int,
    json_out: bool,
    direction: str | None = None,
) -> None:
    from linkwork.actions import reports as act

    if json_out:
        fmt = Format.json
    spec = act.ReportSpec(
        name=name,
        by=by,
        # the one date parser, naming the options as typed here
        date_from=act.parse_day(date_from, "--from date"),
        date_to=act.parse_day(date_to, "--to date"),
        practice=practice,
        direction=direction,
        suppression=not no_suppression,
        threshold=threshold,
        round_to=round_to,
    )
    result = act.make_report(workspace(ctx), spec, fmt=fmt.value, out=out, chart_out=chart_out)
    if no_suppression:
        err_console.print(
            "[bold red]WARNING:[/] --no-suppression shows raw numbers, including counts "
            "of 1 to 7 that could identify people. For the practice's internal use only: "
            "do not publish or share. This has been recorded in the audit trail.",
            highlight=False,
        )
    if result.checkpoint_note:
        err_console.print(f"note: {esc(result.checkpoint_note)}", highlight=False)
    if result.published:
        err_console.print(esc(result.published), highlight=False)
    to_stdout = out is None
    if to_stdout:
        if fmt is Format.table:
            _print_table(result)
        elif isinstance(result.content, str):
            sys.stdout.write(visible_controls(result.content))
        else:
            print_json(result.content)
    elif fmt is not Format.json:
        err_console.print(f"wrote {esc(out)}", highlight=False)
    if chart:
        _print_chart(result, stderr=to_stdout and fmt is not Format.table)
    if chart_out is not None and fmt is not Format.json:
        err_console.print(f"wrote {esc(chart_out)}", highlight=False)


def _print_table(result: Any) -> None:
    from linkwork.actions.reports import report_table

    dims = len(result.dims)
    table = report_table(
        esc(result.title), dims, safe(result.columns), safe(result.rows), result.totals
    )
    console.print(table)
    console.print(esc(result.note), highlight=False, style="dim")
    f = safe(result.filters)
    if f["from"] or f["to"] or f["practice"]:
        console.print(
            f"from {f['from'] or 'the start'} to {f['to'] or 'now'}"
            + (f", practice {f['practice']}" if f["practice"] else ""),
            highlight=False,
        )


def _print_chart(result: Any, stderr: bool) -> None:
    target = err_console if stderr else console
    series = result.chart
    if not series:
        return
    peak = max([v for _, v, _ in series if isinstance(v, int | float)] + [1])
    width = 40
    label_w = min(40, max(len(label) for label, _, _ in series))
    target.print(f"[bold]{esc(result.chart_title)}[/]", highlight=False)
    for label, value, text in series:
        name = esc(label[:label_w].ljust(label_w))
        if value is None:
            target.print(f"{name} [dim]*[/]", highlight=False)
            continue
        bar = "█" * max(0, round(width * float(value) / peak))
        target.print(f"{name} [blue]{bar}[/] {esc(text)}", highlight=False)


# ----------------------------------------------------------------------- commands


def _make_command(name: str, doc: str) -> None:
    def command(
        ctx: typer.Context,
        by: ByOpt,
        date_from: FromOpt = None,
        date_to: ToOpt = None,
        practice: PracticeOpt = None,
        fmt: FormatOpt = Format.table,
        out: OutOpt = None,
        chart: ChartOpt = False,
        chart_out: ChartOutOpt = None,
        no_suppression: NoSuppressionOpt = False,
        threshold: ThresholdOpt = 7,
        round_to: RoundOpt = 5,
        json_out: JsonOption = False,
    ) -> None:
        _run(
            ctx,
            name,
            by,
            date_from,
            date_to,
            practice,
            fmt,
            out,
            chart,
            chart_out,
            no_suppression,
            threshold,
            round_to,
            json_out,
        )

    command.__doc__ = doc
    app.command(name)(command)


_make_command(
    "needs",
    "People with a recorded need (each counted once per cell), by the --by dimensions.",
)


@app.command("referrals")
def referrals_cmd(
    ctx: typer.Context,
    by: ByOpt,
    direction: DirectionOpt = Direction.sent,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    practice: PracticeOpt = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
    chart: ChartOpt = False,
    chart_out: ChartOutOpt = None,
    no_suppression: NoSuppressionOpt = False,
    threshold: ThresholdOpt = 7,
    round_to: RoundOpt = 5,
    json_out: JsonOption = False,
) -> None:
    """Referrals made (--direction sent) or received (--direction received, at a hub),
    accepted, completed and declined, by the --by dimensions."""
    _run(
        ctx,
        "referrals",
        by,
        date_from,
        date_to,
        practice,
        fmt,
        out,
        chart,
        chart_out,
        no_suppression,
        threshold,
        round_to,
        json_out,
        direction.value,
    )


_make_command(
    "funnel",
    "The referral funnel in people: with a need, referred, accepted, then completed, failed, "
    "cancelled or declined; each step a rate with its numerator, denominator and a Wilson "
    "95% interval (from the published counts), by the --by dimensions.",
)
_make_command(
    "timeliness",
    "Referrals made, accepted and completed with the median and quartiles of days to "
    "acceptance and to completion (from the status history), by any --by dimension but "
    "need and domain, or by service or provider; beside them (not by service or provider) "
    "casework episodes started and the days from each start to its first attended contact.",
)
_make_command(
    "contacts",
    "Casework: social prescribing episodes started, their contacts, contacts per episode, "
    "the did-not-attend rate and the mean ONS4 change from start to latest review, by up "
    "to two --by dimensions (not need or domain).",
)
_make_command(
    "outcomes",
    "Needs resolved (share) and mean change in ONS4 wellbeing with pairs, missing, baseline "
    "means and intervals, by up to two --by dimensions, the service referred to or its "
    "provider among them.",
)


class Report(StrEnum):
    needs = "needs"
    referrals = "referrals"
    outcomes = "outcomes"
    funnel = "funnel"
    timeliness = "timeliness"
    contacts = "contacts"


class Publishable(StrEnum):
    needs = "needs"
    referrals = "referrals"
    outcomes = "outcomes"
    funnel = "funnel"
    timeliness = "timeliness"
    contacts = "contacts"
    equality = "equality"


@app.command("equality")
def equality_cmd(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="FILE.html (every page, printable), FILE.svg (the first page) or FILE.csv "
            "(the figures).",
        ),
    ],
    practice: PracticeOpt = None,
    json_out: JsonOption = False,
) -> None:
    """The equality report: one printable page for a practice (--practice), or one for every
    practice together followed by one per practice: where need is highest, which groups
    are referred less or benefit less, with 95% intervals and the disclosure note."""
    from linkwork.actions import reports as act

    found = act.equality_report(workspace(ctx), practice, out)
    if found["checkpoint_note"]:
        err_console.print(f"note: {esc(found['checkpoint_note'])}", highlight=False)
    if json_out:
        print_json(found)
        return
    err_console.print(
        f"wrote {esc(out)} ({len(found['pages'])} page{'s' if len(found['pages']) != 1 else ''})",
        highlight=False,
    )


@app.command("publish")
def publish_cmd(
    ctx: typer.Context,
    name: Annotated[
        Publishable,
        typer.Argument(help="needs, referrals, outcomes, funnel or equality (its reports)."),
    ],
    by: Annotated[
        str, typer.Option("--by", help="Dimensions, comma-separated (not for equality).")
    ] = "",
    direction: Annotated[
        Direction | None,
        typer.Option("--direction", help="Referrals only: sent (the default) or received."),
    ] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    practice: PracticeOpt = None,
    threshold: ThresholdOpt = 7,
    round_to: RoundOpt = 5,
    json_out: JsonOption = False,
) -> None:
    """Publish a report for data leads (admin): built as `report NAME` builds it, with
    disclosure control, and kept in the database for data leads to read. A data lead's
    login reads only published reports, never the records."""
    from linkwork.actions import reports as act

    spec = act.ReportSpec(
        name=name.value,
        by=by,
        date_from=act.parse_day(date_from, "--from date"),
        date_to=act.parse_day(date_to, "--to date"),
        practice=practice,
        direction=direction.value if direction else None,
        threshold=threshold,
        round_to=round_to,
    )
    item = act.publish_report(workspace(ctx), spec)
    if json_out:
        print_json(item.as_dict())
        return
    console.print(
        f"published {esc(item.name)} report ({item.rows} rows) for "
        f"{'every organisation' if item.org == '*' else esc(item.org)}: a data lead sees it "
        f"with linkwork report {esc(item.command)}",
        highlight=False,
    )


@app.command("published")
def published_cmd(
    ctx: typer.Context,
    name: Annotated[
        Report | None, typer.Argument(help="Only this report: needs, referrals or outcomes.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """List the published reports your login may read, newest first."""
    from linkwork.actions import reports as act

    items = act.published_reports(workspace(ctx), name.value if name else None)
    if json_out:
        print_json([i.as_dict() for i in items])
        return
    if not items:
        console.print(
            "no reports published yet: an admin publishes one with linkwork report publish",
            highlight=False,
        )
        return
    table = Table("report", "for", "rows", "published", "by", "show it with")
    for item in items:
        table.add_row(
            esc(item.name),
            "every organisation" if item.org == "*" else esc(item.org),
            str(item.rows),
            esc(item.published_at[:16].replace("T", " ")),
            esc(item.published_by),
            esc(f"linkwork report {item.command}"),
        )
    console.print(table)


@app.command("load-deprivation")
def load_deprivation_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV with columns postcode,decile (1-10).")],
    json_out: JsonOption = False,
) -> None:
    """Load (replace) the postcode -> IMD decile lookup used by --by deprivation."""
    from linkwork.actions import reports as act

    n = act.load_deprivation(workspace(ctx), file)
    if json_out:
        print_json({"postcodes": n})
    else:
        console.print(f"loaded {n} postcodes with their deprivation decile", highlight=False)


@app.command("dimensions")
def dimensions_cmd(json_out: JsonOption = False) -> None:
    """List the dimensions that --by accepts."""
    from linkwork.actions import reports as act

    items = act.list_dimensions()
    if json_out:
        print_json(items)
        return
    items = safe(items)
    table = Table("dimension", "what it is")
    for item in items:
        table.add_row(item["name"], item["description"])
    console.print(table)

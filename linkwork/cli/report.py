"""``linkwork report``: counts for data leads, disclosure-controlled.

``linkwork report needs --by need,ethnic_group [--from DATE] [--to DATE] [--practice ODS]
[--format table|csv|json|fhir] [--out FILE] [--chart] [--chart-out FILE.svg]``;
``report referrals`` (``--direction received`` at a hub) and ``report outcomes`` take the
same options; ``report
load-deprivation FILE.csv`` loads a postcode -> IMD decile lookup; ``report dimensions``
lists the dimensions.

Counts of 1-7 are always hidden and the rest rounded to 5 unless ``--no-suppression``
(the practice's internal view only), which prints a warning and is recorded in the audit
trail. Every report run is recorded in the audit trail (no personal data in it).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from linkwork.cli.common import (
    JsonOption,
    NotFound,
    console,
    dumps,
    err_console,
    print_json,
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


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="report")


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
    from screening import counts
    from screening.audit import record_event
    from screening.disclosure import Rule

    # Everything the user typed is checked before the database is touched.
    dims = counts.parse_dimensions(by)
    start = counts.parse_date(date_from, "--from date") if date_from else None
    end = counts.parse_date(date_to, "--to date") if date_to else None
    ods = practice.strip().upper() if practice else None
    filters = counts.Filters(start=start, end=end, practice=ods)
    rule = None if no_suppression else Rule(threshold=threshold, base=round_to)
    if json_out:
        fmt = Format.json
    if chart_out is not None:
        suffix = chart_out.suffix.lower()
        if suffix not in (".svg", ".png"):
            raise ValueError(f"chart file {chart_out} must end in .svg or .png")
        if suffix == ".png" and not _has_matplotlib():
            raise ValueError("PNG charts need matplotlib, which is not installed: use .svg")
    for target in (out, chart_out):
        if target is not None and not (target.parent if str(target.parent) else Path(".")).is_dir():
            raise ValueError(f"folder {target.parent} does not exist")

    builders = {
        "needs": counts.needs_report,
        "referrals": counts.referrals_report,
        "outcomes": counts.outcomes_report,
    }
    app_ctx = workspace(ctx)
    with app_ctx.session() as session:
        extra = {"direction": direction} if direction else {}
        report = builders[name](session, dims, filters, rule, **extra)
        if report.is_empty:
            raise NotFound(f"nothing to count: no {report.unit} recorded for this selection")
        if no_suppression:
            err_console.print(
                "[bold red]WARNING:[/] --no-suppression shows raw numbers, including counts "
                "of 1 to 7 that could identify people. For the practice's internal use only: "
                "do not publish or share. This has been recorded in the audit trail.",
                highlight=False,
            )
        record_event(
            session,
            app_ctx.settings.user,
            "export" if out or chart_out else "view",
            "report",
            name,
            {
                "by": list(dims),
                "filters": filters.as_dict(),
                "format": fmt.value,
                "suppression": "off" if no_suppression else "on",
                "out": str(out) if out else None,
                **extra,
            },
        )
        rendered = _render(report, fmt)
        svg = counts.to_svg(report) if chart_out and chart_out.suffix.lower() == ".svg" else None

    # Files are written whole or not at all.
    from screening.exchange.files import atomic_write

    if out is not None:
        atomic_write(out, rendered if isinstance(rendered, str) else dumps(rendered) + "\n")
    if chart_out is not None:
        if svg is not None:
            atomic_write(chart_out, svg)
        else:
            _write_png(report, chart_out)

    to_stdout = out is None
    if to_stdout:
        if fmt is Format.table:
            _print_table(report)
        elif isinstance(rendered, str):
            sys.stdout.write(rendered)
        else:
            print_json(rendered)
    elif fmt is not Format.json:
        err_console.print(f"wrote {out}", highlight=False)
    if chart:
        _print_chart(report, stderr=to_stdout and fmt is not Format.table)
    if chart_out is not None and fmt is not Format.json:
        err_console.print(f"wrote {chart_out}", highlight=False)


def _render(report: Any, fmt: Format) -> str | dict[str, Any]:
    from screening import counts

    if fmt is Format.csv:
        return counts.to_csv(report)
    if fmt is Format.json:
        return counts.to_json(report)
    if fmt is Format.fhir:
        return counts.to_measure_report(report)
    return _table_text(report)


def _build_table(report: Any) -> Table:
    from screening import counts

    table = Table(title=report.title)
    for d in report.dims:
        table.add_column(counts.DIMENSIONS[d].label)
    for m in report.measures:
        table.add_column(m.label, justify="right")
    for row in report.rows:
        cells = [counts.key_label(d, k) for d, k in zip(report.dims, row.keys, strict=True)]
        cells += [_cell(row.values.get(m.key), m.kind) for m in report.measures]
        table.add_row(*cells, style="bold" if row.is_total else None)
    return table


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "*"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    return str(value)


def _table_text(report: Any) -> str:
    import io

    from rich.console import Console

    from screening import counts

    buffer = Console(file=io.StringIO(), width=160, color_system=None)
    buffer.print(_build_table(report))
    buffer.print(counts.disclosure_note(report), highlight=False)
    return buffer.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def _print_table(report: Any) -> None:
    from screening import counts

    console.print(_build_table(report))
    console.print(counts.disclosure_note(report), highlight=False, style="dim")
    if report.filters.start or report.filters.end or report.filters.practice:
        f = report.filters.as_dict()
        console.print(
            f"from {f['from'] or 'the start'} to {f['to'] or 'now'}"
            + (f", practice {f['practice']}" if f["practice"] else ""),
            highlight=False,
        )


def _print_chart(report: Any, stderr: bool) -> None:
    from screening import counts

    target = err_console if stderr else console
    series = counts.chart_series(report)
    if not series:
        return
    peak = max([v for _, v in series if isinstance(v, int | float)] + [1])
    width = 40
    label_w = min(40, max(len(label) for label, _ in series))
    target.print(
        f"[bold]{report.measures[0].label} by {counts.DIMENSIONS[report.dims[0]].label.lower()}[/]",
        highlight=False,
    )
    for label, value in series:
        name = label[:label_w].ljust(label_w)
        if value is None:
            target.print(f"{name} [dim]*[/]", highlight=False)
            continue
        bar = "█" * max(0, round(width * float(value) / peak))
        target.print(f"{name} [blue]{bar}[/] {value}", highlight=False)


def _has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _write_png(report: Any, path: Path) -> None:  # pragma: no cover - matplotlib not installed
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from screening import counts
    from screening.exchange.files import atomic_write

    series = counts.chart_series(report)
    labels = [label for label, _ in series]
    values = [v or 0 for _, v in series]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(series) + 1.5))
    ax.barh(labels, values, color="#005eb8")
    ax.invert_yaxis()
    ax.set_title(report.title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buffer.getvalue())


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
    "outcomes",
    "Needs resolved (share) and mean change in ONS4 wellbeing, by one dimension.",
)


@app.command("load-deprivation")
def load_deprivation_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV with columns postcode,decile (1-10).")],
    json_out: JsonOption = False,
) -> None:
    """Load (replace) the postcode -> IMD decile lookup used by --by deprivation."""
    from screening import counts
    from screening.audit import record_event

    app_ctx = workspace(ctx)
    with app_ctx.session() as session:
        n = counts.load_deprivation(session, file)
        record_event(
            session, app_ctx.settings.user, "import", "deprivation", file.name, {"postcodes": n}
        )
    if json_out:
        print_json({"postcodes": n})
    else:
        console.print(f"loaded {n} postcodes with their deprivation decile", highlight=False)


@app.command("dimensions")
def dimensions_cmd(json_out: JsonOption = False) -> None:
    """List the dimensions that --by accepts."""
    from screening import counts

    items = [
        {"name": d.name, "label": d.label, "description": d.description}
        for d in counts.DIMENSIONS.values()
    ]
    if json_out:
        print_json(items)
        return
    table = Table("dimension", "what it is")
    for item in items:
        table.add_row(item["name"], item["description"])
    console.print(table)

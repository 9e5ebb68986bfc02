"""Counts for data leads: build a disclosure-controlled report (needs, referrals sent or
received, outcomes), record it in the audit trail, and show it or write it to a file; load
the deprivation lookup; list the dimensions.

One path for both front ends (``linkwork report ...`` and the app's Counts screen):
- what was typed is checked before the database is touched (dimensions, dates, the rule,
  the target files);
- a report shown is audited as a ``view``, one written to a file as an ``export``, with the
  same detail from either front end (``by``, ``filters``, ``format``, ``suppression``,
  ``out``; ``direction`` for referrals);
- files are written inside the transaction that records the export: when a file cannot be
  written nothing is recorded, and when nothing is recorded no file is left (no file, no
  audit entry);
- values shown in a table are written by one function (``screening.counts.count_text``:
  ``*`` where hidden, rates as percentages, mean changes signed); CSV keeps plain numbers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from linkwork.actions import audit
from linkwork.errors import NotFound
from linkwork.workspace import Workspace
from screening.audit import record_event
from screening.counts import (
    DIMENSIONS,
    Filters,
    Report,
    chart_series,
    count_text,
    disclosure_note,
    needs_report,
    outcomes_report,
    parse_date,
    parse_dimensions,
    referrals_report,
    split_table,
    table_rows,
    to_csv,
    to_json,
    to_measure_report,
    to_svg,
)
from screening.counts import load_deprivation as load_lookup
from screening.disclosure import DEFAULT_MIN_POPULATION, Rule
from screening.exchange.files import atomic_write

T = TypeVar("T")

REPORTS = ("needs", "referrals", "outcomes")
FORMATS = ("table", "csv", "json", "fhir")
DIRECTIONS = ("sent", "received")  # referrals only: made here (a practice), or come in (a hub)
TABLE_WIDTH = 160  # a table written to a file


@dataclass(frozen=True)
class ReportSpec:
    """What to count, as the user gave it. Dates may be text (``YYYY-MM-DD``, checked
    here) or dates already parsed by a front end that names its own fields."""

    name: str  # needs | referrals | outcomes
    by: str | Sequence[str]
    date_from: str | date | None = None
    date_to: str | date | None = None
    practice: str | None = None
    direction: str | None = None  # referrals: sent (the default) or received
    suppression: bool = True  # False: raw numbers (the practice's internal view only)
    threshold: int = 7
    round_to: int = 5


@dataclass
class ReportResult:
    """A report as both front ends show it."""

    name: str  # needs | referrals | outcomes
    title: str
    unit: str
    format: str
    dims: list[str]
    columns: list[str]  # dimension labels, then measure labels
    rows: list[list[str]]  # text as shown (count_text)
    totals: list[bool]  # which rows are totals
    note: str  # the disclosure note
    filters: dict[str, str | None]
    suppressed: bool
    chart_title: str
    chart: list[tuple[str, int | float | None, str]]  # (label, value, text) per bar
    # the output in ``format`` to print (None for a table, which is printed from ``rows``,
    # and when written to a file)
    content: str | dict[str, Any] | None = None
    written: list[str] = field(default_factory=list)  # files written
    # why no audit checkpoint was signed after it (said once per workspace), else None
    checkpoint_note: str | None = None


# ----------------------------------------------------------------------- checking


def parse_day(text: str | date | None, what: str) -> date | None:
    """A day typed as ``YYYY-MM-DD`` (``what`` names the field in the message)."""
    if text is None or isinstance(text, date):
        return text
    return parse_date(text, what) if text.strip() else None


@dataclass(frozen=True)
class _Parsed:
    dims: tuple[str, ...]
    filters: Filters
    rule: Rule | None
    direction: str | None


def _parse(spec: ReportSpec, min_population: int = DEFAULT_MIN_POPULATION) -> _Parsed:
    if spec.name not in REPORTS:
        raise ValueError(f"unknown report {spec.name!r}: use {', '.join(REPORTS)}")
    direction = spec.direction
    if spec.name == "referrals":
        direction = direction or "sent"
        if direction not in DIRECTIONS:
            raise ValueError(f"direction {direction!r} is not one of: {', '.join(DIRECTIONS)}")
    elif direction:
        raise ValueError(f"only referrals have a direction, not {spec.name}")
    dims = parse_dimensions(spec.by)
    practice = spec.practice.strip().upper() if spec.practice and spec.practice.strip() else None
    filters = Filters(
        start=parse_day(spec.date_from, "from date"),
        end=parse_day(spec.date_to, "to date"),
        practice=practice,
    )
    rule = (
        Rule(threshold=spec.threshold, base=spec.round_to, min_population=min_population)
        if spec.suppression
        else None
    )
    return _Parsed(dims, filters, rule, direction)


def _target(path: Path | str | None, what: str = "file") -> Path | None:
    """A file to write: its folder must exist and it must not be a folder itself."""
    if path is None:
        return None
    target = Path(path).expanduser()
    if not target.name or target.is_dir():
        raise ValueError(f"{path} is a folder: give a {what} name")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"folder {target.parent} does not exist")
    return target


def _chart_target(path: Path | str | None) -> Path | None:
    target = _target(path, "chart file")
    if target is None:
        return None
    suffix = target.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise ValueError(f"chart file {path} must end in .svg or .png")
    if suffix == ".png" and importlib.util.find_spec("matplotlib") is None:
        raise ValueError("PNG charts need matplotlib, which is not installed: use .svg")
    return target


# ----------------------------------------------------------------------- the action


def _build(session: Session, p: _Parsed, name: str) -> Report:
    if name == "needs":
        return needs_report(session, p.dims, p.filters, p.rule)
    if name == "referrals":
        return referrals_report(session, p.dims, p.filters, p.rule, direction=str(p.direction))
    return outcomes_report(session, p.dims, p.filters, p.rule)


def _run(
    ws: Workspace,
    spec: ReportSpec,
    fmt: str,
    out: Path | str | None,
    chart_out: Path | str | None,
    allow_empty: bool,
    shape: Callable[[Report], T],
) -> tuple[T, Report, list[Path], str | None]:
    """Build, audit, shape and write: everything typed is checked first; the files are
    written inside the transaction that records them; then a checkpoint of the audit
    chain (``actions.audit.auto_checkpoint``: its note, said once, when none is signed)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    parsed = _parse(spec, ws.settings.min_population)
    target, chart_target = _target(out), _chart_target(chart_out)
    asked = {"by": list(parsed.dims), "filters": parsed.filters.as_dict()}
    with audit.refusal_audited(ws, "report", spec.name, asked), ws.session() as session:
        report = _build(session, parsed, spec.name)
        writing = target is not None or chart_target is not None
        if report.is_empty and (writing or not allow_empty):
            raise NotFound(
                f"nothing to count: no {report.unit} recorded for this selection"
                + ("; no file written" if writing else "")
            )
        detail: dict[str, Any] = {
            "by": list(parsed.dims),
            "filters": parsed.filters.as_dict(),
            "format": fmt,
            "suppression": "on" if parsed.rule is not None else "off",
            "out": str(target) if target else None,
            "rows": len(table_rows(report)[1]),
        }
        if chart_target is not None:
            detail["chart_out"] = str(chart_target)
        if parsed.direction is not None:
            detail["direction"] = parsed.direction
        record_event(session, ws.user, "export" if writing else "view", "report", spec.name, detail)
        shaped = shape(report)
        files: list[tuple[Path, str | bytes]] = []
        if target is not None:
            files.append((target, _file_text(render(report, fmt))))
        if chart_target is not None:
            svg = chart_target.suffix.lower() == ".svg"
            files.append((chart_target, to_svg(report) if svg else _png(report)))
        written = _write_all(files)  # inside the transaction: no file, no audit entry
    note = audit.auto_checkpoint(ws)  # after the commit: the head includes this report
    return shaped, report, written, note


def make_report(
    ws: Workspace,
    spec: ReportSpec,
    *,
    fmt: str = "table",
    out: Path | str | None = None,
    chart_out: Path | str | None = None,
    allow_empty: bool = False,
) -> ReportResult:
    """Build a report and show it (audited as a view) or write it to ``out`` in ``fmt``
    and/or a chart to ``chart_out`` (.svg, or .png with matplotlib; audited as an export).
    Nothing counted: NotFound, unless ``allow_empty`` and nothing is written."""

    def shape(report: Report) -> ReportResult:
        columns, rows, totals = table_rows(report)
        content = render(report, fmt) if fmt != "table" and out is None else None
        return ReportResult(
            name=spec.name,
            title=report.title,
            unit=report.unit,
            format=fmt,
            dims=list(report.dims),
            columns=columns,
            rows=rows,
            totals=totals,
            note=disclosure_note(report),
            filters=report.filters.as_dict(),
            suppressed=report.suppressed,
            chart_title=(
                f"{report.measures[0].label} by {DIMENSIONS[report.dims[0]].label.lower()}"
            ),
            chart=[
                (label, value, count_text(value, report.measures[0].kind))
                for label, value in chart_series(report)
            ],
            content=content,
        )

    result, _, written, note = _run(ws, spec, fmt, out, chart_out, allow_empty, shape)
    result.written = [str(p) for p in written]
    result.checkpoint_note = note
    return result


def count_table(ws: Workspace, spec: ReportSpec, measure: str) -> dict[str, Any]:
    """One measure by a row dimension and an optional split (``spec.by``: one or two
    dimensions) laid out for a table and a bar chart (``screening.counts.split_table``);
    shown, so audited as a view. Nothing counted is not an error here: every cell is 0
    and ``empty`` is true."""
    shaped, _, _, _ = _run(
        ws, spec, "table", None, None, True, lambda report: split_table(report, measure)
    )
    return shaped


def export_report(
    ws: Workspace, spec: ReportSpec, out: Path | str, *, fmt: str = "csv"
) -> ReportResult:
    """Write a report to ``out`` (CSV unless ``fmt`` says otherwise), audited as an export."""
    return make_report(ws, spec, fmt=fmt, out=out)


# ----------------------------------------------------------------------- output


def render(report: Report, fmt: str) -> str | dict[str, Any]:
    """The report in ``fmt``: CSV text, JSON or a FHIR MeasureReport (dicts), or the
    table as text."""
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "fhir":
        return to_measure_report(report)
    return table_text(report)


def table_text(report: Report) -> str:
    """The table and the disclosure note as plain text (``--format table --out FILE``)."""
    columns, rows, totals = table_rows(report)
    sink = io.StringIO()
    console = Console(file=sink, width=TABLE_WIDTH, color_system=None)
    console.print(report_table(report.title, len(report.dims), columns, rows, totals))
    console.print(disclosure_note(report), highlight=False)
    return sink.getvalue()


def report_table(
    title: str, n_dims: int, columns: list[str], rows: list[list[str]], totals: list[bool]
) -> Table:
    """A report's table for rich (the terminal and a table file): dimension columns, then
    the measures right-aligned; totals in bold."""
    table = Table(title=title)
    for n, heading in enumerate(columns):
        table.add_column(heading, justify="right" if n >= n_dims else "left")
    for cells, total in zip(rows, totals, strict=True):
        table.add_row(*cells, style="bold" if total else None)
    return table


def _file_text(content: str | dict[str, Any]) -> str:
    if isinstance(content, str):
        return content
    return json.dumps(content, ensure_ascii=False, indent=2) + "\n"


def _png(report: Report) -> bytes:  # pragma: no cover - matplotlib is not installed
    import matplotlib  # optional: only for --chart-out FILE.png

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = chart_series(report)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(series) + 1.5))
    ax.barh([label for label, _ in series], [v or 0 for _, v in series], color="#005eb8")
    ax.invert_yaxis()
    ax.set_title(report.title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _write_all(files: list[tuple[Path, str | bytes]]) -> list[Path]:
    """Write each file whole or not at all; if one fails, the ones written before it in
    this call are removed (the transaction that records them is about to roll back)."""
    written: list[Path] = []
    try:
        for path, data in files:
            written.append(atomic_write(path, data))
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return written


# ----------------------------------------------------------------------- the lookup


def load_deprivation(ws: Workspace, path: Path | str) -> int:
    """Load (replace) the postcode -> IMD decile lookup from a CSV (``postcode,decile``),
    all or nothing; recorded as an import. Returns how many postcodes were loaded."""
    path = Path(path).expanduser()
    with ws.session() as session:
        n = load_lookup(session, path)
        record_event(session, ws.user, "import", "deprivation", path.name, {"postcodes": n})
    return n


def list_dimensions() -> list[dict[str, str]]:
    """The dimensions reports can be counted by (``--by``)."""
    return [
        {"name": d.name, "label": d.label, "description": d.description}
        for d in DIMENSIONS.values()
    ]

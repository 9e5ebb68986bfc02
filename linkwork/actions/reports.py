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
from dataclasses import dataclass, field, replace
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
from screening.counts.dimensions import REFERRAL_ONLY
from screening.counts.extracts import (
    ExtractProblem,
    PublishedReport,
    find_published,
    list_published,
    publish,
    question,
    report_from_data,
)
from screening.counts.funnel import funnel_report
from screening.counts.reports import partial_month
from screening.counts.timeliness import timeliness_report
from screening.disclosure import DEFAULT_MIN_POPULATION, Rule
from screening.exchange.files import atomic_write

T = TypeVar("T")

REPORTS = ("needs", "referrals", "outcomes", "funnel", "timeliness", "contacts")
FORMATS = ("table", "csv", "json", "fhir")
DIRECTIONS = ("sent", "received")  # referrals only: made here (a practice), or come in (a hub)
TABLE_WIDTH = 160  # a table written to a file


@dataclass(frozen=True)
class ReportSpec:
    """What to count, as the user gave it. Dates may be text (``YYYY-MM-DD``, checked
    here) or dates already parsed by a front end that names its own fields."""

    name: str  # needs | referrals | outcomes | funnel
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
    # a data lead's report: when and by whom it was published ("2026-12-07 10:02 by ...")
    published: str | None = None


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
    dims = parse_dimensions(
        spec.by, extra=REFERRAL_ONLY if spec.name in ("timeliness", "outcomes") else ()
    )
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
    """Count the records (for a login that may read them) and apply disclosure control; a
    month not over today is flagged (``Report.partial``)."""
    report = _counted(session, p, name)
    report.partial = partial_month(report.period, date.today())
    return report


def _counted(session: Session, p: _Parsed, name: str) -> Report:
    if name == "needs":
        return needs_report(session, p.dims, p.filters, p.rule)
    if name == "referrals":
        return referrals_report(session, p.dims, p.filters, p.rule, direction=str(p.direction))
    if name == "funnel":
        return funnel_report(session, p.dims, p.filters, p.rule)
    if name == "timeliness":
        return timeliness_report(session, p.dims, p.filters, p.rule)
    if name == "contacts":
        from screening.counts.casework import casework_report

        return casework_report(session, p.dims, p.filters, p.rule)
    return outcomes_report(session, p.dims, p.filters, p.rule)


def _run(
    ws: Workspace,
    spec: ReportSpec,
    fmt: str,
    out: Path | str | None,
    chart_out: Path | str | None,
    allow_empty: bool,
    shape: Callable[[Report], T],
) -> tuple[T, Report, list[Path], str | None, str | None]:
    """Build, audit, shape and write: everything typed is checked first; the files are
    written inside the transaction that records them; then a checkpoint of the audit
    chain (``actions.audit.auto_checkpoint``: its note, said once, when none is signed)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    parsed = _parse(spec, ws.settings.min_population)
    target, chart_target = _target(out), _chart_target(chart_out)
    asked = {"by": list(parsed.dims), "filters": parsed.filters.as_dict()}
    reads_records = _may_read_records(ws, spec, asked)
    if not reads_records:
        parsed = _scoped(ws, parsed)
    with audit.refusal_audited(ws, "report", spec.name, asked), ws.session() as session:
        published: str | None = None
        if reads_records:
            report = _build(session, parsed, spec.name)
        else:
            report, published = _published_report(session, parsed, spec)
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
            files.append((target, _file_text(render(report, fmt, ws.org))))
        if chart_target is not None:
            svg = chart_target.suffix.lower() == ".svg"
            files.append((chart_target, to_svg(report) if svg else _png(report)))
        written = _write_all(files)  # inside the transaction: no file, no audit entry
    note = audit.auto_checkpoint(ws)  # after the commit: the head includes this report
    return shaped, report, written, note, published


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
        content = render(report, fmt, ws.org) if fmt != "table" and out is None else None
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

    result, _, written, note, published = _run(ws, spec, fmt, out, chart_out, allow_empty, shape)
    result.written = [str(p) for p in written]
    result.checkpoint_note = note
    result.published = published
    return result


def _may_read_records(ws: Workspace, spec: ReportSpec, asked: dict[str, Any]) -> bool:
    """Whether this report is counted from the records (False: a data lead's login, which
    reads only published extracts). Counts without disclosure control need ``admin``; a
    refusal is audited, then said in one line."""
    from linkwork import access

    try:
        access.require(ws, access.REPORTS if spec.suppression else access.REPORTS_UNSUPPRESSED)
    except access.AccessRefused:
        audit.audit_refusal(ws, "report", spec.name, asked | {"suppression": "off"})
        raise
    return not ws.is_shared or ws.login.may(access.RECORDS_READ)


def _scoped(ws: Workspace, p: _Parsed) -> _Parsed:
    """A data lead of one organisation asking with no ``--practice`` asks about its own
    (what it may read); one granted every organisation, or several, asks as typed."""
    from linkwork.access_sql import ALL_ORGS as EVERY_ORG

    orgs = ws.login.orgs
    if p.filters.practice is None and EVERY_ORG not in orgs and len(orgs) == 1:
        return replace(p, filters=replace(p.filters, practice=orgs[0]))
    return p


def _question(p: _Parsed, spec: ReportSpec) -> dict[str, Any]:
    assert p.rule is not None  # only suppressed reports are published
    return question(spec.name, p.dims, p.filters, p.rule, p.direction)


def _published_report(session: Session, p: _Parsed, spec: ReportSpec) -> tuple[Report, str]:
    """The extract published for exactly this question (a data lead's report) and when
    and by whom it was published, or one line saying who can publish it and how."""
    found = find_published(session, _question(p, spec))
    if found is None:
        raise NotFound(
            f"this {spec.name} report has not been published: an admin can publish it with "
            f"linkwork report publish {_report_command(_question(p, spec))} "
            "(linkwork report published lists those that have been)"
        )
    try:
        report = report_from_data(found.body)
    except ExtractProblem as exc:
        raise ValueError(f"cannot show the published report: {exc}") from None
    # a month not over on the day it was published, as the publisher's report said
    report.partial = partial_month(report.period, found.published_at.date())
    when = found.published_at.strftime("%Y-%m-%d %H:%M")
    return report, f"published {when} by {found.published_by}"


def _report_command(question: dict[str, Any]) -> str:
    """The report options that ask ``question`` (``screening.counts.extracts.question``)
    again: for the publish command a data lead is told, and the list of published ones."""
    words = [str(question.get("name", "")), "--by", ",".join(question.get("by") or [])]
    for key, option in (("from", "--from"), ("to", "--to"), ("practice", "--practice")):
        if question.get(key):
            words += [option, str(question[key])]
    if question.get("direction") and question.get("direction") != "sent":
        words += ["--direction", str(question["direction"])]
    for key, option, default in (
        ("threshold", "--threshold", ReportSpec.threshold),
        ("round_to", "--round-to", ReportSpec.round_to),
    ):
        if question.get(key, default) != default:
            words += [option, str(question[key])]
    return " ".join(words)


@dataclass
class Published:
    """A published extract as both front ends list it."""

    name: str
    question: dict[str, Any]
    rows: int
    published_at: str
    published_by: str
    org: str
    command: str  # the report options that show it

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "question": self.question,
            "rows": self.rows,
            "published_at": self.published_at,
            "published_by": self.published_by,
            "org": self.org,
            "command": self.command,
        }


def _published_item(extract: PublishedReport) -> Published:
    spec = {"name": extract.name, **(extract.spec or {})}
    return Published(
        name=extract.name,
        question=spec,
        rows=len((extract.body or {}).get("rows") or []),
        published_at=extract.published_at.isoformat(timespec="seconds"),
        published_by=extract.published_by,
        org=extract.org,
        command=_report_command(spec),
    )


def publish_report(ws: Workspace, spec: ReportSpec) -> Published:
    """Publish a report for data leads: build it exactly as :func:`make_report` does for
    this login (disclosure control always applied) and keep it as the answer to its
    question, replacing an earlier one; audited as ``publish``. Only an admin publishes,
    and only what it can count whole: a report over every practice needs a login granted
    every organisation (row-level security would count only its own under that name), so
    an admin of some organisations publishes one practice at a time (``--practice``)."""
    from linkwork.access import REPORTS_PUBLISH, AccessRefused, require
    from linkwork.access_sql import ALL_ORGS as EVERY_ORG

    if not spec.suppression:
        raise ValueError("only a report with disclosure control applied can be published")
    if spec.name == "equality":  # every report its page is made of
        items = [
            publish_report(ws, replace(part, threshold=spec.threshold, round_to=spec.round_to))
            for part in equality_specs(spec.practice)
        ]
        return replace(items[-1], name="equality", rows=sum(i.rows for i in items))
    parsed = _parse(spec, ws.settings.min_population)
    asked = {"by": list(parsed.dims), "filters": parsed.filters.as_dict()}
    try:
        require(ws, REPORTS_PUBLISH)
        if ws.is_shared and not ws.login.owner and EVERY_ORG not in ws.login.orgs:
            practice = parsed.filters.practice
            if practice is None or practice not in ws.login.orgs:
                raise AccessRefused(
                    f"your login {ws.login.login} counts only its own organisations "
                    f"({', '.join(ws.login.orgs) or 'none'}): publish one of them with "
                    "--practice"
                )
    except AccessRefused:
        audit.audit_refusal(ws, "report", spec.name, asked | {"publish": True})
        raise
    with audit.refusal_audited(ws, "report", spec.name, asked), ws.session() as session:
        report = _build(session, parsed, spec.name)
        if report.is_empty:
            raise NotFound(
                f"nothing to count: no {report.unit} recorded for this selection; nothing published"
            )
        extract = publish(session, _question(parsed, spec), report, ws.user)
        item = _published_item(extract)
        record_event(
            session,
            ws.user,
            "publish",
            "report",
            spec.name,
            {
                "by": list(parsed.dims),
                "filters": parsed.filters.as_dict(),
                "suppression": "on",
                "rows": item.rows,
                "org": extract.org,
            },
        )
    audit.auto_checkpoint(ws)
    return item


def published_reports(ws: Workspace, name: str | None = None) -> list[Published]:
    """The published extracts this login may read (row-level security decides which)."""
    from linkwork import access

    access.require(ws, access.REPORTS)
    if name is not None and name not in REPORTS:
        raise ValueError(f"unknown report {name!r}: use {', '.join(REPORTS)}")
    with ws.session() as session:
        return [_published_item(e) for e in list_published(session, name)]


def count_table(ws: Workspace, spec: ReportSpec, measure: str) -> dict[str, Any]:
    """One measure by a row dimension and an optional split (``spec.by``: one or two
    dimensions) laid out for a table and a bar chart (``screening.counts.split_table``);
    shown, so audited as a view. Nothing counted is not an error here: every cell is 0
    and ``empty`` is true."""
    shaped, _, _, _, _ = _run(
        ws, spec, "table", None, None, True, lambda report: split_table(report, measure)
    )
    return shaped


def export_report(
    ws: Workspace, spec: ReportSpec, out: Path | str, *, fmt: str = "csv"
) -> ReportResult:
    """Write a report to ``out`` (CSV unless ``fmt`` says otherwise), audited as an export."""
    return make_report(ws, spec, fmt=fmt, out=out)


# ----------------------------------------------------------------------- output


def render(report: Report, fmt: str, reporter: str | None = None) -> str | dict[str, Any]:
    """The report in ``fmt``: CSV text, JSON or a FHIR MeasureReport (dicts; ``reporter``:
    the ODS code of the organisation reporting, when no practice is chosen), or the table
    as text."""
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "fhir":
        return to_measure_report(report, reporter=reporter or None)
    return table_text(report)


def table_text(report: Report) -> str:
    """The table and the disclosure note as plain text (``--format table --out FILE``)."""
    from rich.markup import escape

    columns, rows, totals = table_rows(report)
    # names from directory feeds (services, providers) are text, never markup
    rows = [[escape(cell) for cell in row] for row in rows]
    sink = io.StringIO()
    console = Console(file=sink, width=TABLE_WIDTH, color_system=None)
    console.print(report_table(escape(report.title), len(report.dims), columns, rows, totals))
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


def load_deprivation(ws: Workspace, path: Path | str, postcodes: Path | str | None = None) -> int:
    """Load (replace) the postcode -> IMD decile lookup from a CSV (``postcode,decile``), or
    from the national file by LSOA with the national postcode lookup (``postcodes``), all
    or nothing; recorded as an import. Returns how many postcodes were loaded."""
    path = Path(path).expanduser()
    lookup = Path(postcodes).expanduser() if postcodes is not None else None
    with ws.session() as session:
        n = load_lookup(session, path, lookup)
        detail: dict[str, Any] = {"postcodes": n}
        if lookup is not None:
            detail["postcode_lookup"] = lookup.name
        record_event(session, ws.user, "import", "deprivation", path.name, detail)
    return n


# ----------------------------------------------------------------------- equality


EQUALITY_SUFFIXES = (".html", ".svg", ".csv")


def equality_specs(practice: str | None) -> list[ReportSpec]:
    """The published reports an equality page is made of (each published and read like any
    other report: ``report publish equality`` publishes them all)."""
    from screening.counts.equality_page import GROUP_DIMS

    return [
        ReportSpec("needs", "domain", practice=practice),
        *[ReportSpec("funnel", dim, practice=practice) for dim in GROUP_DIMS],
        ReportSpec("outcomes", "ethnic_group", practice=practice),
    ]


def _equality_target(out: Path | str) -> Path:
    target = _target(out)
    assert target is not None
    if target.suffix.lower() not in EQUALITY_SUFFIXES:
        raise ValueError(
            f"equality report file {out} must end in .html (every page, printable), .svg "
            "(the first page) or .csv (the figures)"
        )
    return target


def equality_page(ws: Workspace, practice: str | None, today: date | None = None) -> dict[str, Any]:
    """The equality report's first page (``screening.counts.equality_page.Page``) for the
    app to show, as ``equality_report`` writes it for the same practice (None: every
    practice together), audited as a view; and the practices that have a page of their
    own (``practices``: empty when one practice was asked for or the login is one
    organisation's)."""
    pages, _, choices = _equality(ws, practice, None, today)
    return {"page": pages[0], "practices": choices}


def equality_report(
    ws: Workspace, practice: str | None, out: Path | str, today: date | None = None
) -> dict[str, Any]:
    """The equality report: one page for ``practice``, or one for every practice together
    followed by one per practice (those with at least the smallest group), each built from
    the same reports a data lead reads (published extracts on a shared deployment, never
    the records), written to ``out`` (.html, .svg or .csv) inside the transaction that
    audits it as an export."""
    target = _equality_target(out)
    pages, written, _ = _equality(ws, practice, target, today)
    note = audit.auto_checkpoint(ws)
    return {
        "pages": [p.practice or "all" for p in pages],
        "written": [str(w) for w in written],
        "checkpoint_note": note,
    }


def _equality(
    ws: Workspace, practice: str | None, target: Path | None, today: date | None
) -> tuple[list[Any], list[Path], list[str]]:
    """Build the equality pages and, with ``target``, write them (.html every page, .svg
    the first, .csv the figures) inside the transaction that audits the export; without
    it, build the first page only and audit a view. Also the practices with a page."""
    from screening.counts.equality_page import build_page, page_svg, pages_csv, pages_html
    from screening.counts.sql import practice_population

    practice = practice.strip().upper() if practice and practice.strip() else None
    probe = equality_specs(practice)[0]
    parsed = _parse(probe, ws.settings.min_population)
    asked: dict[str, Any] = {"practice": practice}
    if target is not None:
        asked["out"] = str(target)
    reads_records = _may_read_records(ws, probe, asked)
    if not reads_records:
        parsed = _scoped(ws, parsed)
        practice = parsed.filters.practice
    today = today or date.today()
    written: list[Path] = []
    with audit.refusal_audited(ws, "report", "equality", asked), ws.session() as session:
        wanted: list[str | None] = [practice]
        choices: list[str] = []
        if practice is None and reads_records:
            sizes = practice_population(session)
            choices = sorted(
                ods for ods, n in sizes.items() if ods and n >= ws.settings.min_population
            )
            wanted += choices
        pages = []
        for who in wanted if target is not None else wanted[:1]:
            reports = []
            for spec in equality_specs(who):
                p = _parse(spec, ws.settings.min_population)
                if reads_records:
                    reports.append(_build(session, p, spec.name))
                else:
                    reports.append(_published_report(session, p, spec)[0])
            pages.append(build_page(who, reports[0], reports[1:-1], reports[-1], today))
        detail: dict[str, Any] = {"practice": practice, "pages": len(pages), "suppression": "on"}
        if target is None:
            record_event(session, ws.user, "view", "report", "equality", detail)
            return pages, written, choices
        suffix = target.suffix.lower()
        text = (
            pages_html(pages)
            if suffix == ".html"
            else page_svg(pages[0])
            if suffix == ".svg"
            else pages_csv(pages)
        )
        detail = {
            "practice": practice,
            "pages": len(pages),
            "out": str(target),
            "suppression": "on",
        }
        record_event(session, ws.user, "export", "report", "equality", detail)
        written = _write_all([(target, text)])
    return pages, written, choices


def load_population(ws: Workspace, path: Path | str) -> dict[str, Any]:
    """Load (replace) the practices' list sizes from NHS England's "Patients Registered at
    a GP Practice" CSV, or the user's own list by ethnic category (a file with an
    ``ETHNIC_CATEGORY`` column: ``screening.counts.population``), all or nothing; recorded
    as an import. Returns how many practices and lines were loaded and skipped."""
    from screening.counts.population import load_population as load_sizes

    path = Path(path).expanduser()
    with ws.session() as session:
        found = load_sizes(session, path)
        record_event(session, ws.user, "import", "population", path.name, found.as_dict())
    return found.as_dict()


def list_dimensions() -> list[dict[str, str]]:
    """The dimensions reports can be counted by (``--by``)."""
    return [
        {"name": d.name, "label": d.label, "description": d.description}
        for d in DIMENSIONS.values()
    ]

"""Counts for data leads: choose a measure (people with a need; referrals made, accepted,
completed, declined; at a hub, referrals received; outcomes), a row dimension and an
optional split dimension, filter by period and practice, and see a table and a bar chart
of the same numbers. Disclosure control is always on (the domain's default rule): hidden
counts show as ``*``, the rest are rounded to 5, and the note saying so is always on
screen. Ctrl+E writes the same CSV as ``linkwork report REPORT --by ROWS[,SPLIT] --format
csv --out FILE``. Counting and exporting are ``linkwork.actions.reports`` (the CLI's too),
called from workers."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select

from tui.screens.base import LinkworkScreen
from tui.widgets.bars import CountChart
from tui.widgets.plain import DataTable, Label, Static

# (label, report, measure key in that report, direction for referrals)
MEASURES: list[tuple[str, str, str, str | None]] = [
    ("People with a need", "needs", "people", None),
    ("Referrals made", "referrals", "made", "sent"),
    ("Referrals accepted", "referrals", "accepted", "sent"),
    ("Referrals completed", "referrals", "completed", "sent"),
    ("Referrals declined", "referrals", "declined", "sent"),
    ("Referrals received (hub)", "referrals", "received", "received"),
    ("Received: accepted (hub)", "referrals", "accepted", "received"),
    ("Received: completed (hub)", "referrals", "completed", "received"),
    ("Received: declined (hub)", "referrals", "declined", "received"),
    ("Needs with an outcome", "outcomes", "needs", None),
    ("Needs resolved", "outcomes", "resolved", None),
    ("Share of needs resolved", "outcomes", "share_resolved", None),
    ("ONS4 change: life satisfaction", "outcomes", "ons4_satisfied_change", None),
    ("ONS4 change: worthwhile", "outcomes", "ons4_worthwhile_change", None),
    ("ONS4 change: happiness", "outcomes", "ons4_happy_change", None),
    ("ONS4 change: anxiety", "outcomes", "ons4_anxious_change", None),
    # the referral funnel in people (issue 21): each step's share of the one before
    ("Funnel: referred once a need is recorded", "funnel", "referred_rate", None),
    ("Funnel: accepted of those referred", "funnel", "accepted_rate", None),
    ("Funnel: completed of those accepted", "funnel", "completed_rate", None),
]

DIMENSIONS: list[tuple[str, str]] = [
    ("Need area", "domain"),
    ("Need (code)", "need"),
    ("Month", "month"),
    ("Quarter", "quarter"),
    ("Financial year", "year"),
    ("Practice", "practice"),
    ("Ethnic group", "ethnic_group"),
    ("Ethnic category", "ethnicity"),
    ("Age band", "age_band"),
    ("Sex", "sex"),
    ("Disability", "disability"),
    ("Deprivation decile", "deprivation"),
]
DIM_LABEL = dict((key, label) for label, key in DIMENSIONS)
NO_SPLIT = "none"
NARROW = 100  # below this many columns the table and the chart take turns (Ctrl+G)


def spec_fields(params: dict[str, Any]) -> dict[str, Any]:
    """The screen's choices as the fields of ``linkwork.actions.reports.ReportSpec``: the
    rows dimension, then the split (if any, and not the same)."""
    rows, split = params["rows"], params["split"]
    return {
        "name": params["report"],
        "by": [rows] + ([split] if split and split != rows else []),
        "date_from": params["date_from"],
        "date_to": params["date_to"],
        "practice": params["practice"],
        "direction": params["direction"],
    }


class CountsScreen(LinkworkScreen):
    TITLE_TEXT = "Counts"
    BINDINGS = [
        Binding("ctrl+r", "reload", "Recount"),
        Binding("ctrl+e", "export", "Export CSV"),
        Binding("ctrl+g", "toggle_view", "Table/chart"),
        Binding("ctrl+b", "next_series", "Chart next split"),
        Binding("ctrl+o", "equality", "Equality report"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.result: dict[str, Any] | None = None
        self.series_index = -1  # which split value the chart shows (-1: the "All" column)
        self.view = "both"  # both | table | chart
        self._loaded: dict[str, Any] = {}  # what the table shows (or is being counted)

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            with Horizontal(id="counts-choose", classes="filters"):
                yield Select(
                    [(label, n) for n, (label, *_) in enumerate(MEASURES)],
                    value=0,
                    allow_blank=False,
                    id="c-measure",
                    compact=True,
                )
                yield Select(
                    [(f"Rows: {label}", key) for label, key in DIMENSIONS],
                    value="domain",
                    allow_blank=False,
                    id="c-by",
                    compact=True,
                )
                yield Select(
                    [("Split: none", NO_SPLIT)]
                    + [(f"Split: {label}", key) for label, key in DIMENSIONS],
                    value=NO_SPLIT,
                    allow_blank=False,
                    id="c-split",
                    compact=True,
                )
            with Horizontal(id="counts-filter", classes="filters"):
                yield Input(placeholder="from YYYY-MM-DD", id="c-from", compact=True)
                yield Input(placeholder="to YYYY-MM-DD", id="c-to", compact=True)
                yield Input(placeholder="practice ODS code", id="c-practice", compact=True)
            yield Static("Counting...", id="counts-status", classes="status")
            yield Static("", id="counts-scroll", classes="status")  # when the table is wider
            with Horizontal(id="counts-main"):
                yield CountsTable(id="counts-table", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="counts-chart-box"):
                    yield CountChart(id="counts-chart")
                    yield Static("", id="counts-legend", classes="status")
            yield Static(
                "Disclosure control is on: counts of 1 to 7 are hidden (*) and all others "
                "rounded to the nearest 5.",
                id="counts-note",
            )
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#c-measure", Select).focus()
        table: DataTable[Any] = self.query_one("#counts-table", DataTable)
        table.fixed_columns = 1  # the row's label stays while the counts scroll sideways
        self.query_one("#counts-scroll").display = False
        self.watch(table, "scroll_x", lambda _x: self._scroll_hint(), init=False)

    def on_resize(self, event: Resize) -> None:
        self._apply_view()
        self.call_after_refresh(self._scroll_hint)

    def _scroll_hint(self) -> None:
        """When the table is wider than its room: which columns show, and how to reach
        the rest (the table also shows its sideways scroll bar)."""
        table: DataTable[Any] = self.query_one("#counts-table", DataTable)
        hint = self.query_one("#counts-scroll", Static)
        widths = [c.get_render_width(table) for c in table.columns.values()]
        room = table.scrollable_content_region.width
        if len(widths) < 2 or sum(widths) <= room or not table.display:
            hint.display = False
            return
        left, start, shown = round(table.scroll_x) + widths[0], widths[0], []
        for n, width in enumerate(widths[1:], start=1):
            if start >= left and start + width <= left + room - widths[0]:
                shown.append(n)
            start += width
        seen = f"columns {shown[0]}-{shown[-1]}" if shown else "no whole column"
        beside = self.query_one("#counts-chart-box").display  # the chart takes half
        hint.update(
            f"Wider than the screen: {seen} of {len(widths) - 1} shown; Left/Right "
            "scroll (Tab to the table)" + (", Ctrl+G the table alone." if beside else ".")
        )
        hint.display = True

    # -- what to count ----------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        chosen = int(self.query_one("#c-measure", Select).value)  # type: ignore[arg-type]
        label, report, measure, direction = MEASURES[chosen]
        split = str(self.query_one("#c-split", Select).value)
        return {
            "label": label,
            "report": report,
            "direction": direction,
            "measure": measure,
            "rows": str(self.query_one("#c-by", Select).value),
            "split": None if split == NO_SPLIT else split,
            "date_from": self.query_one("#c-from", Input).value.strip() or None,
            "date_to": self.query_one("#c-to", Input).value.strip() or None,
            "practice": self.query_one("#c-practice", Input).value.strip() or None,
        }

    def refresh_data(self) -> None:
        self._loaded = self.params()
        self.load(self._loaded)

    def action_reload(self) -> None:
        self.refresh_data()

    @on(Select.Changed)
    def _chosen(self) -> None:
        # Lists report a change when they are first set up too: count only real changes
        # (the first count comes from the screen showing, or the database opening).
        if self.lw.db_ready and self._loaded and self.params() != self._loaded:
            self.refresh_data()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if self.lw.db_ready:
            self.refresh_data()

    def spec(self, params: dict[str, Any]) -> Any:
        """What to count, for ``actions.reports`` (from a worker: it loads the domain)."""
        return self.actions.reports.ReportSpec(**spec_fields(params))

    @work(thread=True, exit_on_error=False, exclusive=True, group="counts")
    def load(self, params: dict[str, Any]) -> None:
        def count() -> dict[str, Any]:
            table = self.actions.reports.count_table(
                self.workspace, self.spec(params), params["measure"]
            )
            return {**table, "measure": params["label"]}

        self.fetch(count, self._show)

    # -- showing ----------------------------------------------------------------------------
    def _show(self, result: dict[str, Any]) -> None:
        self.result = result
        self.series_index = -1
        table: DataTable[Any] = self.query_one("#counts-table", DataTable)
        table.clear(columns=True)
        dims = result["dims"]
        first = DIM_LABEL.get(dims[0], dims[0])
        heading = first
        if len(dims) > 1:
            heading = f"{first} \\ {DIM_LABEL.get(dims[1], dims[1])}"
        rows = list(zip(result["row_labels"], result["cells"], result["totals"], strict=True))
        # Each column as wide as its longest text, set here: Textual measures auto widths
        # only on a later idle, and a table shown before that cut every label to its
        # heading's width (the walkthrough's "Housing a" at 110 columns).
        table.add_column(heading, key="label", width=widest(heading, [r[0] for r in rows]))
        for n, label in enumerate(result["col_labels"]):
            table.add_column(
                Text(label, justify="right"),
                key=f"c{n}",
                width=widest(label, [cells[n] for _, cells, _ in rows]),
            )
        for label, cells, total in rows:
            style = "bold" if total else ""
            table.add_row(
                Text(label, style=style),
                *[Text(c, style=style, justify="right") for c in cells],
            )
        what = f"{result['measure']} by {first.lower()}"
        if len(dims) > 1:
            what += f" and {DIM_LABEL.get(dims[1], dims[1]).lower()}"
        where = f", practice {result['practice']}" if result["practice"] else ", all practices"
        when = f", {result['period']}" if result["period"] else ""
        status = f"{what}{when}{where}."
        if result["empty"]:
            status = f"Nothing recorded to count for this selection. {status}"
        self.query_one("#counts-status", Static).update(status)
        self.query_one("#counts-note", Static).update(result["note"])
        self._chart()
        self.call_after_refresh(self._scroll_hint)

    def _chart(self) -> None:
        result = self.result
        if result is None:
            return
        names = list(result["series"])
        name = names[self.series_index % len(names)] if names else ""
        points = result["series"].get(name, [])
        first = DIM_LABEL.get(result["dims"][0], result["dims"][0]).lower()
        title = f"{result['measure']} by {first}"
        legend = f"Bars: {result['measure'].lower()} by {first}"
        if len(result["dims"]) > 1:
            split = DIM_LABEL.get(result["dims"][1], result["dims"][1])
            title = f"{split}: {name}"
            legend += (
                f", {split.lower()}: {name} ({(self.series_index % len(names)) + 1} of "
                f"{len(names)}; Ctrl+B for the next)"
            )
        legend += ". Each value is written beside its label."
        self.query_one("#counts-chart", CountChart).show(title, points, result["kind"])
        self.query_one("#counts-legend", Static).update(legend)

    def action_next_series(self) -> None:
        if self.result is None or len(self.result["dims"]) < 2:
            self.notify("Choose a split (the third list) to chart each of its values in turn.")
            return
        self.series_index += 1
        self._chart()
        if self.view == "table" or (self.view == "both" and self._narrow()):
            self.view = "chart"
            self._apply_view()

    # -- table / chart ----------------------------------------------------------------------
    def _narrow(self) -> bool:
        return self.size.width < NARROW

    def _apply_view(self) -> None:
        view = self.view
        if view == "both" and self._narrow():
            view = "table"
        self.query_one("#counts-table").display = view in ("both", "table")
        self.query_one("#counts-chart-box").display = view in ("both", "chart")
        self.set_class(view != "both", "single-view")
        self.call_after_refresh(self._scroll_hint)

    def action_toggle_view(self) -> None:
        order = ["table", "chart"] if self._narrow() else ["both", "table", "chart"]
        current = self.view if self.view in order else order[0]
        self.view = order[(order.index(current) + 1) % len(order)]
        self._apply_view()
        shown = {"both": "table and chart", "table": "table", "chart": "chart"}[self.view]
        self.notify(f"Showing the {shown}.")

    def action_equality(self) -> None:
        from tui.screens.equality import EqualityScreen

        self.app.push_screen(EqualityScreen())

    # -- export -----------------------------------------------------------------------------
    def default_export_path(self) -> Path:
        params = self.params()
        dims = "-".join(d for d in (params["rows"], params["split"]) if d)
        name = params["report"]
        if params["direction"] == "received":
            name += "-received"
        folder = self.lw.settings.home / "exports"
        return folder / f"{name}-by-{dims}-{self.lw.today.isoformat()}.csv"

    def action_export(self) -> None:
        params = self.params()
        target = self.default_export_path()
        with contextlib.suppress(OSError, ValueError):  # the suggested file's folder
            from screening.exchange.files import private_folder

            private_folder(target.parent)  # 0700, as the data folder it is in
        self.app.push_screen(ExportScreen(str(target)), lambda path: self._export_to(path, params))

    def _export_to(self, path: str | None, params: dict[str, Any]) -> None:
        if path:
            self.export(path, params)

    @work(thread=True, exit_on_error=False, exclusive=True, group="counts-export")
    def export(self, path: str, params: dict[str, Any]) -> None:
        self.fetch(
            lambda: self.actions.reports.export_report(self.workspace, self.spec(params), path),
            lambda result: self.notify(
                f"Wrote {result.written[0]} (CSV, disclosure control on: hidden counts as *)."
            ),
        )


def widest(heading: str, texts: list[str]) -> int:
    """The cells a column needs to show its heading and every text whole."""
    return max([cell_len(heading), *(cell_len(t) for t in texts)])


class CountsTable(DataTable[Any]):
    """The counts table: Left/Right move a whole column sideways when the table is wider
    than its room (the row's label stays put), not a cell at a time."""

    def _starts(self) -> list[int]:
        starts, at = [], 0
        for column in self.columns.values():
            starts.append(at)
            at += column.get_render_width(self)
        return starts

    def action_cursor_right(self) -> None:
        starts = self._starts()
        if len(starts) < 2:
            return super().action_cursor_right()
        fixed = starts[1]
        after = [x - fixed for x in starts[1:] if x - fixed > round(self.scroll_x)]
        self.scroll_to(x=after[0] if after else self.max_scroll_x, animate=False)

    def action_cursor_left(self) -> None:
        starts = self._starts()
        if len(starts) < 2:
            return super().action_cursor_left()
        fixed = starts[1]
        before = [x - fixed for x in starts[1:] if x - fixed < round(self.scroll_x)]
        self.scroll_to(x=before[-1] if before else 0, animate=False)


class ExportScreen(ModalScreen[str | None]):
    """Ask where to write the CSV (a file name, prefilled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    #export-box {
        width: 76; height: auto; border: thick $accent; padding: 1 2; background: $panel;
    }
    #export-box Input { width: 100%; }
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export these counts as CSV (disclosure control stays on).")
            yield Label("File to write (Enter to write, Esc to cancel):")
            yield Input(self.path, id="export-path")
            with Horizontal(classes="form-row"):
                yield Button("Write (Enter)", id="write", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#write")
    def _write(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self.app.notify("Give a file name to write.", severity="warning")
            return
        self.dismiss(path)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

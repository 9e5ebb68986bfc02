"""The equality report in the app (issue 21, point 5), from the Counts screen: choose every
practice together or one practice and read its page as text and tables (where need is
highest; which groups are referred less once a need is recorded, have fewer needs
resolved or a smaller wellbeing change, each with its 95% interval and a word where the
whole interval lies below everyone's value; the disclosure note; a month not yet over),
then export it to a file: the same bytes ``linkwork report equality [--practice ODS]
--out FILE`` writes. Building and exporting are ``linkwork.actions.reports`` (the CLI's
too), called from workers."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select

from tui.screens.base import SubScreen
from tui.widgets.plain import DataTable, Label, Static

EVERY = "all"  # the choice of every practice together
SECTIONS = (
    # section, heading, the value's column, percent (else a mean change)
    ("referred", "Referred once a need is recorded, by group", "Referred", True),
    ("resolved", "Needs resolved, by ethnic group", "Resolved", True),
    ("wellbeing", "Change in life satisfaction (ONS4), by ethnic group", "Change", False),
)
GROUP_WIDTH = 32  # the widest a group's column is (a longer name wraps)
LOWER_WORDS = "LOWER: the whole 95% interval lies below everyone's value."
DIMENSION_WORDS = {
    "ethnic_group": "Ethnic group",
    "age_band": "Age band",
    "sex": "Sex",
    "deprivation": "Deprivation",
    "domain": "Need area",
}


def shown(value: Any, percent: bool) -> str:
    """A rate as a whole percentage, a mean change signed to one place; * when hidden."""
    if value is None:
        return "*"
    return f"{float(value) * 100:.0f}%" if percent else f"{float(value):+.1f}"


def interval(low: Any, high: Any, percent: bool) -> str:
    if low is None or high is None:
        return "-"
    return f"{shown(low, percent)} to {shown(high, percent)}"


def page_lines(page: Any) -> dict[str, list[list[str]]]:
    """The page's figures as table rows: ``need`` (by need area), then one list per
    section and dimension (``referred:ethnic_group``, ``per1000:sex``, ...): words and
    numbers only, a group whose whole interval lies below everyone's flagged in words."""
    out: dict[str, list[list[str]]] = {}
    out["need"] = [
        [f.label, "*" if f.value is None else str(f.value)] for f in page.section("need")
    ]
    for f in page.section("per1000"):
        out.setdefault(f"per1000:{f.dimension}", []).append(
            [
                f.label,
                "*" if f.value is None else f"{float(f.value):.0f}",
                "*" if f.over is None else str(f.over),
            ]
        )
    for section, _, _, percent in SECTIONS:
        for f in page.section(section):
            out.setdefault(f"{section}:{f.dimension}", []).append(
                [
                    f.label,
                    shown(f.value, percent),
                    interval(f.low, f.high, percent),
                    "*" if f.over is None else str(f.over),
                    "LOWER" if f.below else "",
                ]
            )
    return out


class EqualityScreen(SubScreen):
    TITLE_TEXT = "Equality report"
    BINDINGS = [
        Binding("ctrl+e", "export", "Export"),
        Binding("ctrl+r", "reload", "Rebuild"),
    ]
    DEFAULT_CSS = """
    EqualityScreen #eq-body { height: 1fr; }
    EqualityScreen .eq-heading { text-style: bold; margin-top: 1; }
    EqualityScreen DataTable { height: auto; max-height: 16; }
    EqualityScreen #eq-practice { width: 30; }
    EqualityScreen #eq-groups { height: auto; }
    EqualityScreen .eq-by { margin-top: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.page: Any = None
        self.practices: list[str] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            with Horizontal(classes="filters"):
                yield Select(
                    [("All practices", EVERY)],
                    value=EVERY,
                    allow_blank=False,
                    id="eq-practice",
                    compact=True,
                )
            yield Static("Building the equality report...", id="eq-status", classes="status")
            with VerticalScroll(id="eq-body"):
                yield Static("", id="eq-title")
                yield Static("", id="eq-partial")
                yield Label(
                    "Where need is highest (people with a need; Tab and Up/Down for more)",
                    classes="eq-heading",
                )
                yield DataTable(id="eq-need", cursor_type="row", zebra_stripes=True)
                yield Vertical(id="eq-groups")
                yield Static("", id="eq-note", classes="status")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        # the need areas scroll in a few lines, so the groups show on a small screen too
        self.query_one("#eq-need", DataTable).styles.max_height = 7
        self.load(None)

    def practice(self) -> str | None:
        value = self.query_one("#eq-practice", Select).value
        return None if value in (EVERY, Select.BLANK) else str(value)

    @on(Select.Changed, "#eq-practice")
    def _chosen(self) -> None:
        if self.page is not None and self.page.practice != self.practice():
            self.load(self.practice())

    def action_reload(self) -> None:
        self.load(self.practice())

    @work(thread=True, exit_on_error=False, exclusive=True, group="equality")
    def load(self, practice: str | None) -> None:
        self.app.call_from_thread(self._status, "Building the equality report...")
        self.fetch(
            lambda: self.actions.reports.equality_page(self.workspace, practice, self.lw.today),
            self._show,
        )

    def _status(self, text: str) -> None:
        self.query_one("#eq-status", Static).update(text)

    # -- showing ----------------------------------------------------------------------------
    def _show(self, found: dict[str, Any]) -> None:
        page = found["page"]
        self.page = page
        # the practices with a page; a login of one organisation gets its own page only
        known = list(found["practices"]) or ([page.practice] if page.practice else [])
        if known and not self.practices:
            self.practices = known
            choice = self.query_one("#eq-practice", Select)
            with self.prevent(Select.Changed):
                choice.set_options(
                    [("All practices", EVERY)]
                    + [(f"Practice {ods}", ods) for ods in self.practices]
                )
        with self.prevent(Select.Changed):  # the choice says whose page is shown
            self.query_one("#eq-practice", Select).value = page.practice or EVERY
        self._status("Ctrl+E exports this page (.html, .svg or .csv); * = hidden (small numbers).")
        self.query_one("#eq-title", Static).update(
            f"{page.title}\n{page.period or 'No records counted yet'}"
        )
        self.query_one("#eq-partial", Static).update(
            f"Partial month: {page.partial}." if page.partial else ""
        )
        lines = page_lines(page)
        self._fill(self.query_one("#eq-need", DataTable), ["Need area", "People"], lines["need"])
        self._groups(lines)
        self.query_one("#eq-note", Static).update(f"Disclosure control: {page.note}")

    def _groups(self, lines: dict[str, list[list[str]]]) -> None:
        """A heading per section, then a small table per dimension (the group, the value,
        its interval, what it is over, and LOWER where the whole interval is below)."""
        box = self.query_one("#eq-groups", Vertical)
        box.remove_children()
        widgets: list[Any] = []
        per = [(k, v) for k, v in lines.items() if k.startswith("per1000:")]
        if per:
            widgets.append(Label("Need per 1,000 registered patients", classes="eq-heading"))
            for key, rows in per:
                widgets.append(Label(self._by(key), classes="eq-by"))
                widgets.append(self._table(["Group", "Per 1,000", "Registered"], rows))
        for section, heading, column, _ in SECTIONS:
            found = [(k, v) for k, v in lines.items() if k.startswith(f"{section}:")]
            if not found:
                continue
            widgets.append(Label(heading, classes="eq-heading"))
            widgets.append(Label(LOWER_WORDS, classes="status"))
            over = {"resolved": "Needs", "wellbeing": "Pairs"}.get(section, "People")
            for key, rows in found:
                widgets.append(Label(self._by(key), classes="eq-by"))
                widgets.append(self._table(["Group", column, "95% interval", over, "Flag"], rows))
        box.mount_all(widgets)

    @staticmethod
    def _by(key: str) -> str:
        dimension = key.split(":", 1)[1]
        return "By " + DIMENSION_WORDS.get(dimension, dimension).lower()

    def _table(self, columns: list[str], rows: list[list[str]]) -> DataTable[Any]:
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True)
        self._fill(table, columns, rows)
        return table

    @staticmethod
    def _fill(table: DataTable[Any], columns: list[str], rows: list[list[str]]) -> None:
        """The first column (need areas, groups) at most ``GROUP_WIDTH`` wide, a longer
        name wrapping at its spaces onto a second line (never cut: the columns after it
        stay on an 80-column screen)."""
        table.clear(columns=True)
        widest = max([len(columns[0]), *(len(r[0]) for r in rows)])
        table.add_column(columns[0], width=min(widest, GROUP_WIDTH))
        table.add_columns(*columns[1:])
        for row in rows:
            table.add_row(*row, height=None if len(row[0]) > GROUP_WIDTH else 1)

    # -- export -----------------------------------------------------------------------------
    def default_export_path(self) -> Path:
        who = self.practice() or "all-practices"
        return self.lw.settings.home / "exports" / f"equality-{who}-{self.lw.today}.html"

    def action_export(self) -> None:
        target = self.default_export_path()
        with contextlib.suppress(OSError, ValueError):  # the suggested file's folder
            from screening.exchange.files import private_folder

            private_folder(target.parent)  # 0700, as the data folder it is in
        practice = self.practice()
        self.app.push_screen(
            EqualityExportScreen(str(target)), lambda path: self._export_to(path, practice)
        )

    def _export_to(self, path: str | None, practice: str | None) -> None:
        if path:
            self.export(path, practice)

    @work(thread=True, exit_on_error=False, exclusive=True, group="equality-export")
    def export(self, path: str, practice: str | None) -> None:
        self.fetch(
            lambda: self.actions.reports.equality_report(
                self.workspace, practice, path, self.lw.today
            ),
            lambda result: self.notify(
                f"Wrote {result['written'][0]} ({len(result['pages'])} page"
                f"{'s' if len(result['pages']) != 1 else ''}, disclosure control on)."
            ),
        )


class EqualityExportScreen(ModalScreen[str | None]):
    """Ask where to write the equality report: the file's ending chooses the form."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    EqualityExportScreen { align: center middle; }
    #eq-export-box {
        width: 76; height: auto; border: thick $accent; padding: 1 2; background: $panel;
    }
    #eq-export-box Input { width: 100%; }
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="eq-export-box"):
            yield Label("Export the equality report (disclosure control stays on).")
            yield Label("File: .html every page, .svg the first page, .csv the figures.")
            yield Label("Enter writes it, Esc cancels.")
            yield Input(self.path, id="eq-export-path")
            with Horizontal(classes="form-row"):
                yield Button("Write (Enter)", id="eq-write", variant="primary")
                yield Button("Cancel (Esc)", id="eq-cancel")

    def on_mount(self) -> None:
        self.query_one("#eq-export-path", Input).focus()

    @on(Input.Submitted, "#eq-export-path")
    @on(Button.Pressed, "#eq-write")
    def _write(self) -> None:
        path = self.query_one("#eq-export-path", Input).value.strip()
        if not path:
            self.app.notify("Give a file name to write.", severity="warning")
            return
        self.dismiss(path)

    @on(Button.Pressed, "#eq-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

"""Counts: the need-count view for data leads. A table and a bar chart of people with a
need, by one dimension, with a period and practice filter. Disclosure control stays on:
suppressed cells show as ``*``."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Select, Static

from tui.screens.base import LinkworkScreen
from tui.widgets.bars import BarChart

DIMENSIONS = [
    ("Need area", "domain"),
    ("Need (code)", "need"),
    ("Month", "month"),
    ("Quarter", "quarter"),
    ("Financial year", "year"),
    ("Practice", "practice"),
    ("Ethnic group", "ethnic_group"),
    ("Age band", "age_band"),
    ("Sex", "sex"),
    ("Disability", "disability"),
]


class CountsScreen(LinkworkScreen):
    TITLE_TEXT = "Counts"
    BINDINGS = [Binding("ctrl+r", "reload", "Recount")]

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            with Horizontal(classes="filters"):
                yield Select(DIMENSIONS, value="domain", allow_blank=False, id="c-by", compact=True)
                yield Input(placeholder="from YYYY-MM-DD", id="c-from", compact=True)
                yield Input(placeholder="to YYYY-MM-DD", id="c-to", compact=True)
                yield Input(placeholder="practice ODS", id="c-practice", compact=True)
            yield Static(
                "People with a need. Counts of 1-7 are hidden (*), others rounded to 5.",
                id="counts-status",
                classes="status",
            )
            with Horizontal(id="counts-main"):
                table: DataTable[str] = DataTable(id="counts-table", cursor_type="row")
                yield table
                with VerticalScroll(id="counts-chart-box"):
                    yield BarChart(id="counts-chart")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()

    def refresh_data(self) -> None:
        self.load(self.params())

    def action_reload(self) -> None:
        self.refresh_data()

    def params(self) -> dict[str, Any]:
        return {
            "by": str(self.query_one("#c-by", Select).value),
            "date_from": self.query_one("#c-from", Input).value.strip() or None,
            "date_to": self.query_one("#c-to", Input).value.strip() or None,
            "practice": self.query_one("#c-practice", Input).value.strip() or None,
        }

    @on(Select.Changed)
    @on(Input.Submitted)
    def _changed(self) -> None:
        self.refresh_data()

    @work(thread=True, exit_on_error=False, exclusive=True, group="counts")
    def load(self, params: dict[str, Any]) -> None:
        self.fetch(lambda: self.backend.need_counts(**params), self._show)

    def _show(self, result: dict[str, Any]) -> None:
        self.query_one("#counts-main").display = True
        table = self.query_one("#counts-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*result["columns"])
        for row in result["rows"]:
            table.add_row(*row)
        self.query_one("#counts-chart", BarChart).show(result["chart"])
        self.query_one("#counts-status", Static).update(result.get("note", ""))

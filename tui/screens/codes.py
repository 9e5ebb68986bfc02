"""Code a need: type lay words, matching codes update as you type; Enter records the
highlighted code (from the search box: the top one, as soon as its search is back, so
Enter is never needed twice) as a need for the current person, their words kept with it. Words for a
need with no code of its own offer its need area instead (see ``code_picker.match_rows``)."""

from __future__ import annotations

import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input
from textual.worker import get_current_worker

from linkwork.words import counted
from tui.screens.base import LinkworkScreen
from tui.screens.code_picker import match_rows
from tui.widgets.fit_table import WHOLE, Column, FitTable
from tui.widgets.plain import DataTable, Static

# Columns (label, width, shrinks to; see tui.widgets.fit_table): the meaning whole and
# Why in the room left, where at least 20 is left; else without Why (at 80 columns). What
# is cut or left out is said whole in the line under the table.
MATCHES: list[Column] = [
    ("Code", 0, WHOLE),
    ("Meaning", 0, 20),
    ("Need area", 0, 12),
    ("Match", 0, WHOLE),
    ("Why", None, 20),
]
MATCHES_NARROW: list[Column] = [*MATCHES[:1], ("Meaning", None, 20), *MATCHES[2:4]]


class CodesScreen(LinkworkScreen):
    TITLE_TEXT = "Code a need"
    BINDINGS = [
        Binding("enter", "record", "Record as need", show=True),
        Binding("ctrl+f", "focus_search", "Search box"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._seq = 0
        self.matches: list[dict[str, Any]] = []
        self.timings: list[float] = []
        self._shown = 0  # the search whose matches are shown
        self._record_when_shown = False  # Enter came before its search was back

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            yield Input(
                placeholder="Type what the person said, e.g. sofa surfing, cant afford food",
                id="code-query",
            )
            yield Static("Type to see matching codes.", id="code-status", classes="status")
            yield FitTable(id="code-results", cursor_type="row", zebra_stripes=True)
            yield Static("", id="code-detail", classes="help")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#code-query", Input).focus()

    def action_focus_search(self) -> None:
        self.query_one("#code-query", Input).focus()

    @on(Input.Changed, "#code-query")
    def _changed(self, event: Input.Changed) -> None:
        self._seq += 1
        self._record_when_shown = False
        self.search(event.value, self._seq, time.perf_counter())

    @on(Input.Submitted, "#code-query")
    def _submitted(self) -> None:
        """Enter in the search box records the top match of what is typed: at once if
        its search is back, else as soon as it is."""
        if self._shown != self._seq:
            self._record_when_shown = True
            return
        self.action_record()

    @on(FitTable.Fitted, "#code-results")
    @on(DataTable.RowHighlighted, "#code-results")
    def _detail(self) -> None:
        """The highlighted match whole (its meaning and why), shown while the table has
        to cut a column short or leave Why out (at 80 columns)."""
        table = self.query_one("#code-results", FitTable)
        detail = self.query_one("#code-detail", Static)
        row = table.cursor_row
        whole = table.layout_index == 0 and not table.cut
        detail.display = not whole and 0 <= row < len(self.matches)
        if detail.display:
            match = self.matches[row]
            why = f". Why: {match['why']}" if match.get("why") else ""
            detail.update(f"{match['code']}  {match['display']} ({match['domain']}){why}")

    @on(DataTable.RowSelected, "#code-results")
    def _selected(self) -> None:
        self.action_record()

    @work(thread=True, exit_on_error=False, exclusive=True, group="code-search")
    def search(self, text: str, seq: int, started: float) -> None:
        worker = get_current_worker()
        if not text.strip():
            self.app.call_from_thread(self._show, [], seq, started, "Type to see matching codes.")
            return
        try:
            found = self.actions.codes.search_codes(text, limit=15)
        except Exception as exc:
            self.fail(exc)
            return
        if worker.is_cancelled or seq != self._seq:
            return
        matches, message = match_rows(found)
        self.app.call_from_thread(self._show, matches, seq, started, message)

    def _show(self, matches: list[dict[str, Any]], seq: int, started: float, message: str) -> None:
        if seq != self._seq:
            return  # a newer keystroke is already being searched
        table = self.query_one("#code-results", FitTable)
        table.display = True
        self.matches = matches
        self._shown = seq
        rows = [
            [
                match["code"],
                match["display"],
                str(match["domain"]),
                "" if match["score"] is None else f"{round(float(match['score']))}",
                str(match.get("why") or ""),
            ]
            for match in matches
        ]
        table.move_cursor(row=0)  # new words: the top match first
        table.show((MATCHES, rows), (MATCHES_NARROW, [row[:4] for row in rows]))
        self._detail()
        status = message or "No code matches those words. Try other words."
        if matches:
            choose = "Enter records the top one as a need; Down to choose another."
            found = counted(len(matches), "matching code")
            status = f"{message} {choose}" if message else f"{found}. {choose}"
        self.query_one("#code-status", Static).update(status)
        self.timings.append(time.perf_counter() - started)
        if self._record_when_shown:
            self._record_when_shown = False
            self.action_record()

    def action_record(self) -> None:
        table = self.query_one("#code-results", DataTable)
        if not self.matches or table.cursor_row < 0:
            self.notify(
                "Type what the person said first: matching codes show below.", severity="warning"
            )
            return
        match = self.matches[min(table.cursor_row, len(self.matches) - 1)]
        person = self.lw.require_person()
        if person is None:
            return
        words = self.query_one("#code-query", Input).value
        self.record_need(person.id, person.name, match["code"], words)

    @work(thread=True, exit_on_error=False, group="record-need")
    def record_need(self, person_id: str, name: str, code: str, words: str) -> None:
        try:
            need = self.actions.needs.add_need(self.workspace, person_id, code=code, words=words)
        except Exception as exc:
            self.fail(exc)
            return
        said = f"Recorded {need['code']} {need['display']} as a need for {name}."
        self.app.call_from_thread(self.notify, said)

"""A code picker: type lay words, matching codes update as you type (the same search as
the Code-a-need screen, ``actions.codes.search_codes``); Enter chooses the highlighted
code (from the search box: the top one, once its search is back: never Enter twice),
Down moves to the list to choose another, Escape chooses nothing. Used to confirm a
screening's suggestion as a different code.

Words that point at a need area with no code of its own (digital, transport, ...) offer
that area as the one row to choose: the need is then recorded by its area, as the CLI's
``codes search`` says to do."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input
from textual.worker import get_current_worker

from linkwork.errors import plain_error
from linkwork.words import counted
from tui.widgets.plain import DataTable, Static


def match_rows(found: Any) -> tuple[list[dict[str, Any]], str]:
    """The rows to choose from for a code search (``actions.codes.CodeSearch``): its
    matches (dicts: code, display, domain, score, why), or the need area to record by when
    no code fits but an area does; and, with no match, a line saying so in words."""
    if found.matches:
        return list(found.matches), ""
    if found.domain is not None:
        key, label = found.domain["key"], found.domain["label"]
        row = {
            "code": key,
            "display": f"{label} (no code of its own: recorded by need area)",
            "domain": key,
            "score": None,
            "why": "need area named by these words",
        }
        return [row], f"No code for those words: choose {label} to record it by its need area."
    return [], "No code matches those words. Try other words."


class CodePickerScreen(ModalScreen[Any]):
    """Dismisses with the chosen match (a dict: ``code``, ``display``, ...) or None."""

    DEFAULT_CSS = """
    CodePickerScreen {
        align: center middle;
    }
    #picker {
        width: 90%;
        max-width: 110;
        height: 80%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    #picker-title {
        padding: 0;
    }
    #picker-results {
        height: 1fr;
        max-height: 100%;
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+f", "focus_search", "Search box"),
    ]

    def __init__(self, title: str, text: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.start_text = text
        self.matches: list[Any] = []
        self._seq = 0
        self._shown = -1  # the search whose matches are shown
        self._choose_when_shown = False  # Enter came before its search was back

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static(self.title_text, id="picker-title", classes="section-title")
            yield Input(
                value=self.start_text,
                placeholder="Type what the person said, e.g. damp flat, behind on rent",
                id="picker-query",
            )
            yield Static("Type to see matching codes.", id="picker-status", classes="status")
            table: DataTable[str] = DataTable(
                id="picker-results", cursor_type="row", zebra_stripes=True
            )
            table.add_columns("Code", "Meaning", "Need area")
            yield table

    def on_mount(self) -> None:
        self.query_one("#picker-query", Input).focus()
        self._search_now(self.start_text)

    def action_focus_search(self) -> None:
        self.query_one("#picker-query", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _search_now(self, text: str) -> None:
        self._seq += 1
        self._choose_when_shown = False  # a new word typed: wait for a fresh Enter
        self.search(text, self._seq)

    @on(Input.Changed, "#picker-query")
    def _changed(self, event: Input.Changed) -> None:
        self._search_now(event.value)

    @on(Input.Submitted, "#picker-query")
    def _submitted(self) -> None:
        """Enter in the search box chooses the highlighted (top) match of what is typed,
        at once if its search is back, else as soon as it is."""
        if self._shown != self._seq:
            self._choose_when_shown = True
            return
        self._choose_highlighted()

    def _choose_highlighted(self) -> None:
        self._choose_when_shown = False
        if not self.matches:
            return
        row = self.query_one("#picker-results", DataTable).cursor_row
        self.dismiss(self.matches[max(0, min(row, len(self.matches) - 1))])

    def on_key(self, event: Any) -> None:
        if event.key == "down" and isinstance(self.focused, Input) and self.matches:
            self.query_one("#picker-results", DataTable).focus()
            event.stop()

    @work(thread=True, exit_on_error=False, exclusive=True, group="picker-search")
    def search(self, text: str, seq: int) -> None:
        worker = get_current_worker()
        if not text.strip():
            self.app.call_from_thread(self._show, [], "", seq)
            return
        try:
            found = self.app.actions.codes.search_codes(text, limit=15)  # type: ignore[attr-defined]
        except Exception as exc:
            self.app.call_from_thread(self.app.notify, plain_error(exc), severity="warning")
            return
        if not worker.is_cancelled and seq == self._seq:
            self.app.call_from_thread(self._show, *match_rows(found), seq)

    def _show(self, matches: list[dict[str, Any]], message: str, seq: int) -> None:
        if seq != self._seq:
            return  # a newer keystroke is already being searched
        self.matches = matches
        self._shown = seq
        table = self.query_one("#picker-results", DataTable)
        table.clear(columns=True)  # columns sized to these matches, not earlier ones
        table.add_columns("Code", "Meaning", "Need area")
        for match in matches:
            table.add_row(match["code"], match["display"], str(match["domain"]))
        status = "Type to see matching codes."
        if matches:
            count = counted(len(matches), "code")
            keys = "Enter chooses the top one, Down to choose another, Escape to cancel."
            status = f"{message or count + '.'} {keys}"
        elif self.query_one("#picker-query", Input).value.strip():
            status = message or "No code matches those words. Try other words."
        self.query_one("#picker-status", Static).update(status)
        if self._choose_when_shown:
            self._choose_highlighted()

    @on(DataTable.RowSelected, "#picker-results")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.matches):
            self.dismiss(self.matches[event.cursor_row])

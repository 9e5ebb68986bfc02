"""Find a service: search as you type over the directory index, with filters, and a
detail pane. Every keystroke starts an exclusive thread worker, so a slow or stale search
never blocks typing and never overwrites newer results."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Select
from textual.worker import get_current_worker

from directory.narrative import still_typed
from linkwork.errors import plain_error
from tui.screens.base import LinkworkScreen
from tui.widgets.fit_table import WHOLE, Column, FitTable
from tui.widgets.plain import DataTable, Static
from tui.widgets.service_detail import format_miles, render_service
from tui.widgets.toggles import Tick

PAUSE_SECONDS = 0.6  # typing paused this long on a word that may be unfinished: read it all

# The results' columns (label, width, shrinks to; see tui.widgets.fit_table): distance
# beside the status, so it stays in view in a narrow terminal.
RESULTS: list[Column] = [
    ("Checked", 0, WHOLE),
    ("Service", None, 16),
    ("Match", 0, WHOLE),
]
RESULTS_NEAR: list[Column] = [RESULTS[0], ("Distance", 0, WHOLE), *RESULTS[1:]]


@dataclass
class Results:
    """What one search gave: matches, miles (parallel, when a place is known), the place
    distances are from, and a hint about the near text (``unknown``: said clearly)."""

    matches: list[Any]
    miles: list[float | None] = field(default_factory=list)
    place: str | None = None
    hint: str = ""
    unknown: bool = False

    @classmethod
    def of(cls, found: Any) -> Results:
        if isinstance(found, list | tuple):  # a plain list of matches (no near reading)
            return cls(list(found))
        return cls(
            list(found.matches),
            list(found.miles),
            found.place,
            found.hint,
            bool(found.unknown),
        )

    def nearest_first(self) -> Results:
        """The same results ordered by distance (no known location last), ties by rank."""
        if not self.place or not self.miles:
            return self
        order = sorted(
            range(len(self.matches)),
            key=lambda i: (self.miles[i] is None, self.miles[i] or 0.0, i),
        )
        return Results(
            [self.matches[i] for i in order],
            [self.miles[i] for i in order],
            self.place,
            self.hint,
            self.unknown,
        )


def checked_cell(match: Any) -> str:
    """The results list's Checked column: "ok", or a stale service (``directory.stale``'s
    rule, as the detail pane and the CLI) flagged with the month it was last verified."""
    if not getattr(match, "stale", False):
        return "ok"
    verified = getattr(match, "last_verified", None)
    return f"! {verified:%b %Y}" if verified else "! STALE"


def service_cell(match: Any, repeated: set[str]) -> str:
    """The Service column: the name, and where it is when several results share the name
    (the same service at several sites): the postcode, else the town."""
    where = getattr(match, "postcode", "") or getattr(match, "town", "")
    return f"{match.name} ({where})" if match.name in repeated and where else match.name


@dataclass
class Filters:
    needs: list[str] = field(default_factory=list)
    near: str | None = None
    language: str | None = None
    age: int | None = None
    open_now: bool = False
    free: bool = False
    current_only: bool = False

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "needs": self.needs,
            "near": self.near,
            "language": self.language,
            "age": self.age,
            "open_now": self.open_now,
            "free": self.free,
            "current_only": self.current_only,
        }


class ServicesScreen(LinkworkScreen):
    TITLE_TEXT = "Find a service"
    # Below 100 columns the filters take two lines (the boxes, then the ticks) in the room
    # a wide screen gives one line and the gap under it, so each box shows its words whole
    # (app.tcss: "Find a service: the filters").
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("ctrl+f", "focus_search", "Search box"),
        Binding("ctrl+r", "refer", "Refer to this"),
        Binding("ctrl+l", "clear_filters", "Clear filters"),
        Binding("ctrl+o", "toggle_nearest", "Nearest first"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._seq = 0
        self._pause: Timer | None = None  # the search once typing pauses (run_search)
        self.matches: list[Any] = []
        self.miles: list[float | None] = []
        self.place: str | None = None
        self.nearest = False  # order results by distance (Ctrl+O) when a place is known
        self._last = Results([])
        #: seconds from an input change to its results painted (bench/tui.py reads these)
        self.timings: list[float] = []
        self.shown_query = ""
        # each service's replies (referrals sent, share accepted, median days), counted once
        # per visit (linkwork.actions.replies); None until the first detail is shown
        self.replies: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            yield Input(
                placeholder="What does the person need? e.g. help with debts, fod bank, lonely",
                id="svc-query",
            )
            with Horizontal(id="svc-filters", classes="filters"):
                with Horizontal(id="svc-fields"):
                    yield Select[str]([], prompt="Any need", id="f-need", compact=True)
                    yield Input(placeholder="near postcode/town", id="f-near", compact=True)
                    yield Input(placeholder="language", id="f-language", compact=True)
                    yield Input(placeholder="age", id="f-age", compact=True, type="integer")
                with Horizontal(id="svc-ticks"):
                    yield Tick("open now", id="f-open")
                    yield Tick("free", id="f-free")
                    yield Tick("current only", id="f-current")
            yield Static("", id="svc-near-note", classes="status")
            yield Static("Starting the service search...", id="svc-status", classes="status")
            with Horizontal(id="svc-main"):
                yield FitTable(id="svc-results", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="svc-detail-scroll"):
                    yield Static("Choose a service to see its details.", id="svc-detail")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#svc-query", Input).focus()
        self.watch(self.app, "index_ready", self._index_state)
        self._load_needs()

    # -- needs filter -----------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="svc-needs")
    def _load_needs(self) -> None:
        try:
            options = [(d["label"], d["key"]) for d in self.actions.codes.need_domains()]
        except Exception as exc:
            self.fail(exc)
            return
        self.app.call_from_thread(self.query_one("#f-need", Select).set_options, options)

    def _index_state(self, ready: bool) -> None:
        status = self.query_one("#svc-status", Static)
        if ready:
            size = self.lw.service_search.size or self.lw.directory_size
            status.update(
                f"Directory ready: {size} services. Type to search; results update as you type."
            )
            if self.query_one("#svc-query", Input).value or self.matches:
                self.run_search()
        elif self.lw.db_ready and self.lw.directory_size == 0:
            status.update(
                "The directory is empty. Ctrl+P, 'Load the sample directory' to load 400 services."
            )
        else:
            status.update("Preparing the service search... you can type already.")

    def refresh_data(self) -> None:
        self.replies = None  # counted again on this visit
        if not self.lw.index_ready and self.lw.directory_size > 0:
            self.lw._warm_if_needed()

    # -- searching --------------------------------------------------------------------------
    def filters(self) -> Filters:
        need = self.query_one("#f-need", Select).value
        age_text = self.query_one("#f-age", Input).value.strip()
        return Filters(
            needs=[str(need)] if isinstance(need, str) else [],
            near=self.query_one("#f-near", Input).value.strip() or None,
            language=self.query_one("#f-language", Input).value.strip() or None,
            age=int(age_text) if age_text.isdigit() else None,
            open_now=self.query_one("#f-open", Checkbox).value,
            free=self.query_one("#f-free", Checkbox).value,
            current_only=self.query_one("#f-current", Checkbox).value,
        )

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self.run_search()

    def run_search(self, whole: bool = False) -> None:
        """Search for what is typed now; ``whole``: read it all by meaning, the last word
        too (the search once typing pauses on a word that may be unfinished)."""
        if self._pause is not None:
            self._pause.stop()
            self._pause = None
        self._seq += 1
        text = self.query_one("#svc-query", Input).value
        self.search(text, self.filters(), self._seq, time.perf_counter(), whole)

    def _search_whole(self) -> None:
        self._pause = None
        self.run_search(whole=True)

    def _wait_for_pause(self, seq: int) -> None:
        if seq == self._seq:  # nothing typed since
            self._pause = self.set_timer(PAUSE_SECONDS, self._search_whole)

    @work(thread=True, exit_on_error=False, exclusive=True, group="svc-search")
    def search(
        self, text: str, filters: Filters, seq: int, started: float, whole: bool = False
    ) -> None:
        worker = get_current_worker()
        if not text.strip() and not filters.needs:
            self.app.call_from_thread(self._show, [], seq, started, text)
            return
        try:
            # while typing, the meaning model leaves out a last word that may be unfinished
            # (linkwork.actions.search.NearSearch); once typing pauses on one, the whole
            # text is read (still_typed: the pause search is needed only then)
            typing = {} if not whole else {"while_typing": False}
            found = Results.of(
                self.lw.service_search.search(
                    text, **filters.as_kwargs(), **typing, limit=30, today=self.lw.today
                )
            )
            if not whole and still_typed(text):
                self.app.call_from_thread(self._wait_for_pause, seq)
        except Exception as exc:
            self.app.call_from_thread(
                self.query_one("#svc-status", Static).update, f"Search problem: {plain_error(exc)}"
            )
            return
        if worker.is_cancelled or seq != self._seq:
            return  # the person typed on; a newer search will show its own results
        self.app.call_from_thread(self._show, found, seq, started, text)

    def _show(self, found: Results | list[Any], seq: int, started: float, text: str) -> None:
        if seq != self._seq:
            return
        results = found if isinstance(found, Results) else Results.of(found)
        self._last = results
        self._show_near_note(results)
        self._fill(results)
        matches = self.matches
        status = self.query_one("#svc-status", Static)
        if not text.strip() and not matches:
            status.update("Type what the person needs, in their words. Typos are fine.")
        elif matches:
            order = ""
            if self.place:
                order = (
                    f" Nearest to {self.place} first (Ctrl+O: best match first)."
                    if self.nearest
                    else f" Best match first, near {self.place} (Ctrl+O: nearest first)."
                )
            status.update(f"{len(matches)} services.{order} Up/Down to look, Ctrl+R to refer.")
        else:
            status.update("No service matches. Try fewer words, or clear filters (Ctrl+L).")
        self.shown_query = text
        if matches:
            self.show_detail(0)
        else:
            self.query_one("#svc-detail", Static).update("")
        self.call_after_refresh(self.timings.append, time.perf_counter() - started)

    def _show_near_note(self, results: Results) -> None:
        note = self.query_one("#svc-near-note", Static)
        hint = results.hint
        if results.unknown:
            hint = f"! Unknown postcode: {hint}"
        note.update(hint)
        note.display = bool(hint)
        note.set_class(results.unknown, "unknown")

    def _fill(self, results: Results) -> None:
        """Fill the table: a Distance column (miles) whenever a place is known."""
        shown = results.nearest_first() if self.nearest else results
        self.query_one("#svc-main").display = True
        table = self.query_one("#svc-results", FitTable)
        with_distance = bool(shown.place)
        self.matches = shown.matches
        self.miles = shown.miles if with_distance else []
        self.place = shown.place
        names = Counter(m.name for m in shown.matches)
        repeated = {name for name, count in names.items() if count > 1}
        rows: list[list[Any]] = []
        for i, match in enumerate(shown.matches):
            stale = bool(getattr(match, "stale", False))
            flag = checked_cell(match)
            cells: list[Any] = [Text(flag, style="bold") if stale else Text(flag)]
            if with_distance:
                miles = shown.miles[i] if i < len(shown.miles) else None
                cells.append(Text(format_miles(miles), justify="right"))
            cells += [service_cell(match, repeated), f"{round(float(getattr(match, 'score', 0)))}"]
            rows.append(cells)
        # Sized to the room (no sideways scrolling at 80 columns): a long name is cut with
        # an ellipsis and said whole in the detail pane beside it.
        table.move_cursor(row=0)  # a new search starts at its best match
        table.show((RESULTS_NEAR if with_distance else RESULTS, rows))

    # -- detail -----------------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#svc-results")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail(event.cursor_row)

    @on(DataTable.RowSelected, "#svc-results")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_refer()

    def show_detail(self, row: int) -> None:
        if 0 <= row < len(self.matches):
            miles = self.miles[row] if row < len(self.miles) else None
            self.load_detail(self.matches[row], miles, self.place)

    @work(thread=True, exit_on_error=False, exclusive=True, group="svc-detail")
    def load_detail(self, match: Any, miles: float | None = None, place: str | None = None) -> None:
        service: Any = None
        try:
            ref = getattr(match, "service_id", None) or match.id
            service = self.actions.directory.get_service_record(self.workspace, ref)
        except Exception:
            service = None  # the match itself still has enough to show
        today = self.lw.today
        text = render_service(
            match,
            service,
            today=today,
            stale_months=self.lw.settings.stale_months,
            miles=miles,
            place=place,
        )
        try:
            if self.replies is None:
                self.replies = self.actions.replies.service_replies(self.workspace)
            name = getattr(service, "name", None) or getattr(match, "name", "")
            line = self.actions.replies.replies_text(self.replies.get(str(name)))
            text.append(f"\n\n{line}")
        except Exception:
            pass  # the counts are extra: the service's details still show
        self.app.call_from_thread(self.query_one("#svc-detail", Static).update, text)

    # -- actions ----------------------------------------------------------------------------
    def action_focus_search(self) -> None:
        self.query_one("#svc-query", Input).focus()

    def action_toggle_nearest(self) -> None:
        self.nearest = not self.nearest
        if not self._last.place:
            self.notify(
                "Nearest first will apply once a postcode or town is in the near box."
                if self.nearest
                else "Best match first.",
            )
        self._show(self._last, self._seq, time.perf_counter(), self.shown_query)

    def action_clear_filters(self) -> None:
        self.query_one("#f-need", Select).clear()
        for name in ("#f-near", "#f-language", "#f-age"):
            self.query_one(name, Input).value = ""
        for name in ("#f-open", "#f-free", "#f-current"):
            self.query_one(name, Checkbox).value = False

    def selected_match(self) -> Any | None:
        table = self.query_one("#svc-results", DataTable)
        if not self.matches:
            return None
        return self.matches[max(0, min(table.cursor_row, len(self.matches) - 1))]

    def action_refer(self) -> None:
        match = self.selected_match()
        if match is None:
            self.notify("Search and highlight a service first.", severity="warning")
            return
        from tui.screens.refer import found_for

        need = self.query_one("#f-need", Select).value
        self.lw.action_refer(
            getattr(match, "service_id", None) or match.id,
            match.name,
            found_for=found_for(
                list(getattr(match, "why", [])),
                list(getattr(match, "domains", [])),
                need if isinstance(need, str) else None,
            ),
        )

"""Home: today's follow-ups due and overdue, referrals waiting on a reply, recent people;
on a new, empty database a clear offer to load the bundled sample directory."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.screens.base import LinkworkScreen
from tui.widgets.body import Body
from tui.widgets.notice import Notice

# Each list's columns: (label, width, shrinks to). Width None: the column that takes the
# room left, up to its longest value (and gives it back first); width 0: as wide as its
# longest value. When the list is narrower than them all, the column with the most to
# spare gives up a cell, again and again, never below its minimum.
COLUMNS: dict[str, list[tuple[str, int | None, int]]] = {
    "followups": [("Due", 0, 14), ("Person", 18, 10), ("Service", None, 20), ("Status", 0, 11)],
    "waiting": [("Sent", 6, 6), ("Person", 18, 10), ("Service", None, 20), ("Status", 0, 11)],
    "recent": [("Name", None, 14), ("Born", 11, 11), ("NHS number", 12, 12), ("Postcode", 8, 8)],
}
LONGEST = 40  # a data-sized column never takes more than this


def fit_widths(
    spec: list[tuple[str, int | None, int]], rows: list[tuple[str, ...]], room: int
) -> list[int]:
    """Column widths (without cell padding) that fit ``room`` cells when they can."""
    widths: list[int] = []
    for n, (label, width, _least) in enumerate(spec):
        longest = max([len(label), *(len(r[n]) for r in rows)])
        widths.append(width or min(longest, LONGEST))
    flex = next((n for n, (_, width, _) in enumerate(spec) if width is None), None)
    if flex is not None:
        fixed = sum(w for n, w in enumerate(widths) if n != flex)
        widths[flex] = max(min(room - fixed, widths[flex]), spec[flex][2])
    over = sum(widths) - room
    while over > 0:
        spare = [(widths[n] - least, n) for n, (_, _, least) in enumerate(spec)]
        most, n = max(spare)
        if most <= 0:
            break  # every column at its minimum: the table scrolls sideways
        widths[n] -= 1
        over -= 1
    return widths


def clip(text: str, width: int) -> str:
    """Shorten to ``width`` with an ellipsis, so a cut is visible."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


class FitTable(DataTable[str]):
    """A table whose screen refits its columns whenever its width changes (a terminal
    resize, or a scroll bar appearing beside it)."""

    def on_resize(self) -> None:
        refit = getattr(self.screen, "refit_table", None)
        if callable(refit):
            self.call_after_refresh(refit, self)


class HomeScreen(LinkworkScreen):
    TITLE_TEXT = "Home"
    # Below 160 columns the lists stack, each full width; in a short terminal without
    # the space between them (see app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (160, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("l", "load_sample", "Load sample directory"),
        Binding("a", "app.add_person", "Add person"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[Any]] = {"followups": [], "waiting": [], "recent": []}
        self.cells: dict[str, list[tuple[str, ...]]] = {k: [] for k in self.rows}
        self.widths: dict[str, tuple[int, list[int]]] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Body(id="body"):
            yield Static("Opening the database...", id="home-status", classes="status")
            yield Notice(
                "This database is empty",
                "Press L to load the bundled sample directory (400 synthetic services), "
                "or F2 to add the first person.",
                kind="empty",
                id="home-empty",
            )
            with Horizontal(id="home-lists"):
                with Vertical(classes="panel"):
                    yield Static("Follow-ups due today or overdue", classes="panel-title")
                    yield FitTable(id="home-followups", cursor_type="row")
                    yield Static("Nothing due today.", id="home-followups-none", classes="help")
                with Vertical(classes="panel"):
                    yield Static("Referrals waiting on a reply", classes="panel-title")
                    yield FitTable(id="home-waiting", cursor_type="row")
                    yield Static(
                        "No referrals waiting on a reply.", id="home-waiting-none", classes="help"
                    )
            with Vertical(classes="panel"):
                yield Static("Recent people", classes="panel-title")
                yield FitTable(id="home-recent", cursor_type="row")
                yield Static("No people yet: A to add one.", id="home-recent-none", classes="help")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#home-empty").display = False
        for key in ("followups", "waiting", "recent"):
            self.query_one(f"#home-{key}-none").display = False
            self._fill(key)
        self.watch(self.app, "directory_size", self._directory_size)

    def _directory_size(self, size: int) -> None:
        if size < 0:
            return
        self.query_one("#home-empty").display = size == 0 and not self.rows["recent"]

    def action_load_sample(self) -> None:
        if self.lw.directory_size > 0:
            self.notify(f"The directory already has {self.lw.directory_size} services.")
            return
        self.lw.action_load_sample()

    def action_reload(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="home")
    def load(self) -> None:
        self.fetch(lambda: self.backend.home_summary(self.lw.today), self._show)

    def _show(self, summary: dict[str, Any]) -> None:
        size = self.lw.directory_size
        status = self.query_one("#home-status", Static)
        today = self.lw.today.strftime("%A %d %B %Y")
        directory = f"Directory: {size} services." if size >= 0 else ""
        self.rows = {k: summary.get(k, []) for k in ("followups", "waiting", "recent")}
        overdue = sum(1 for row in self.rows["followups"] if row.get("overdue"))
        status.update(
            f"{today}.  {directory}  {len(self.rows['followups'])} follow-ups due "
            f"({overdue} overdue), {len(self.rows['waiting'])} referrals waiting."
        )
        self.cells["followups"] = [
            (
                row["due"].strftime("%d %b") + (" OVERDUE" if row.get("overdue") else " due today"),
                row["person"],
                row["service"],
                row["status"],
            )
            for row in self.rows["followups"]
        ]
        self.cells["waiting"] = [
            (row["sent"].strftime("%d %b"), row["person"], row["service"], row["status"])
            for row in self.rows["waiting"]
        ]
        self.cells["recent"] = [
            (row["name"], row["born"], row["nhs"] or "-", row["postcode"] or "-")
            for row in self.rows["recent"]
        ]
        self.widths.clear()
        for key in self.cells:
            self._fill(key)
        self.call_after_refresh(self._refit)  # again, once a scroll bar may have appeared

        for key in ("followups", "waiting", "recent"):
            self.query_one(f"#home-{key}").display = bool(self.rows[key])
            self.query_one(f"#home-{key}-none").display = not self.rows[key]
        self._directory_size(size)
        self.call_after_refresh(self.lw.home_filled)

    def _room(self, table: DataTable[Any]) -> int:
        """Cells the table can show across, less each column's padding and the room a
        vertical scroll bar takes (kept free, so a long list never needs a sideways one)."""
        panel = table.parent
        width = table.content_region.width
        if not width and isinstance(panel, Widget):
            width = panel.content_region.width
        if not width:  # not laid out yet: the screen less the frame around a list
            width = self.size.width - 6
        width -= table.styles.scrollbar_size_vertical
        return max(width, 0) - 2 * table.cell_padding * len(COLUMNS[self._key(table)])

    @staticmethod
    def _key(table: DataTable[Any]) -> str:
        return (table.id or "").removeprefix("home-")

    def _fill(self, key: str) -> None:
        """(Re)build a list's columns to fit its width, then its rows, clipped in words."""
        table = self.query_one(f"#home-{key}", DataTable)
        room = self._room(table)
        widths = fit_widths(COLUMNS[key], self.cells[key], room)
        if self.widths.get(key) == (room, widths):
            return
        self.widths[key] = (room, widths)
        cursor = table.cursor_row
        table.clear(columns=True)
        for (label, _, _), width in zip(COLUMNS[key], widths, strict=True):
            table.add_column(clip(label, width), width=width)
        for cells in self.cells[key]:
            table.add_row(*(clip(c, w) for c, w in zip(cells, widths, strict=True)))
        if self.cells[key]:
            table.move_cursor(row=min(cursor, len(self.cells[key]) - 1))

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit)

    def refit_table(self, table: DataTable[Any]) -> None:
        self._fill(self._key(table))

    def _refit(self) -> None:
        for key in self.cells:
            self._fill(key)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        key = {"home-followups": "followups", "home-waiting": "waiting", "home-recent": "recent"}
        rows = self.rows.get(key.get(event.data_table.id or "", ""), [])
        if 0 <= event.cursor_row < len(rows):
            self.lw.open_person(rows[event.cursor_row]["ref"])

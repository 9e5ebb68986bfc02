"""Home: today's follow-ups due and overdue, referrals waiting on a reply, recent people;
on a new, empty database a clear offer to load the bundled sample directory."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical

from linkwork.words import counted
from tui.screens.base import LinkworkScreen
from tui.state import person_ref
from tui.views import person_row
from tui.widgets.body import Body
from tui.widgets.fit_table import WHOLE, Column, FitTable
from tui.widgets.notice import Notice
from tui.widgets.plain import DataTable, Static

# Each list's columns: (label, width, shrinks to); see tui.widgets.fit_table.
COLUMNS: dict[str, list[Column]] = {
    "followups": [("Due", 0, 14), ("Person", 18, 10), ("Service", None, 20), ("Status", 0, WHOLE)],
    "waiting": [("Sent", 6, 6), ("Person", 18, 10), ("Service", None, 20), ("Status", 0, WHOLE)],
    "recent": [("Name", None, 14), ("Born", 11, 11), ("NHS number", 12, 12), ("Postcode", 8, 8)],
}


class HomeScreen(LinkworkScreen):
    TITLE_TEXT = "Home"
    # Below 160 columns the lists stack, each full width; in a short terminal without
    # the space between them (see app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (160, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("l", "load_sample", "Load sample directory"),
        Binding("a", "app.add_person", "Add person"),
        Binding("k", "app.caseload", "Caseload"),
        Binding("v", "app.diary", "Diary"),
        Binding("r", "reload", "Reload", show=False),  # in the palette
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[Any]] = {"followups": [], "waiting": [], "recent": []}

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
            self._fill(key, [])
        self.watch(self.app, "directory_size", self._directory_size)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """'Load sample directory' is offered only while the directory is empty."""
        if action == "load_sample":
            return self.lw.directory_size == 0
        return True

    def _directory_size(self, size: int) -> None:
        self.refresh_bindings()
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
        self.fetch(
            lambda: self.actions.today.home_summary(self.workspace, self.lw.today), self._show
        )

    def _show(self, summary: dict[str, Any]) -> None:
        size = self.lw.directory_size
        status = self.query_one("#home-status", Static)
        today = self.lw.today.strftime("%A %d %B %Y")
        directory = f"Directory: {size} services." if size >= 0 else ""
        self.rows = {k: summary.get(k, []) for k in ("followups", "waiting", "recent")}
        overdue = sum(1 for row in self.rows["followups"] if row.get("overdue"))
        due = counted(len(self.rows["followups"]), "follow-up")
        replies = counted(len(self.rows["waiting"]), "referral")
        status.update(f"{today}.  {directory}  {due} due ({overdue} overdue), {replies} waiting.")
        followups: list[tuple[str, ...]] = [
            (
                row["due"].strftime("%d %b") + (" OVERDUE" if row.get("overdue") else " due today"),
                row["person_name"],
                row["service"],
                row["status"].upper(),
            )
            for row in self.rows["followups"]
        ]
        waiting: list[tuple[str, ...]] = [
            (
                row["sent_sort"].strftime("%d %b"),
                row["person_name"],
                row["service"],
                row["status"].upper()
                + (f" ({row['business_status']})" if row["business_status"] else ""),
            )
            for row in self.rows["waiting"]
        ]
        recent = [person_row(p)[:4] for p in self.rows["recent"]]
        lists: tuple[tuple[str, list[tuple[str, ...]]], ...] = (
            ("followups", followups),
            ("waiting", waiting),
            ("recent", recent),
        )
        for key, cells in lists:
            self._fill(key, cells)

        for key in ("followups", "waiting", "recent"):
            self.query_one(f"#home-{key}").display = bool(self.rows[key])
            self.query_one(f"#home-{key}-none").display = not self.rows[key]
        self._directory_size(size)
        self.call_after_refresh(self.lw.home_filled)

    def _fill(self, key: str, cells: list[tuple[str, ...]]) -> None:
        self.query_one(f"#home-{key}", FitTable).show((COLUMNS[key], cells))

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        key = {"home-followups": "followups", "home-waiting": "waiting", "home-recent": "recent"}
        rows = self.rows.get(key.get(event.data_table.id or "", ""), [])
        if 0 <= event.cursor_row < len(rows):
            row = rows[event.cursor_row]
            person = row.get("person", row) if "person_name" in row else row
            if person is not None:
                self.lw.open_person(person_ref(person))

"""Home: today's follow-ups due and overdue, referrals waiting on a reply, recent people;
on a new, empty database a clear offer to load the bundled sample directory."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from tui.screens.base import LinkworkScreen
from tui.widgets.body import Body
from tui.widgets.notice import Notice


class HomeScreen(LinkworkScreen):
    TITLE_TEXT = "Home"
    BINDINGS = [
        Binding("l", "load_sample", "Load sample directory"),
        Binding("a", "app.add_person", "Add person"),
        Binding("r", "reload", "Reload"),
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
                    followups: DataTable[str] = DataTable(id="home-followups", cursor_type="row")
                    for label, width in (
                        ("Due", 14),
                        ("Person", 16),
                        ("Service", 22),
                        ("Status", 10),
                    ):
                        followups.add_column(label, width=width)
                    yield followups
                    yield Static("Nothing due today.", id="home-followups-none", classes="help")
                with Vertical(classes="panel"):
                    yield Static("Referrals waiting on a reply", classes="panel-title")
                    waiting: DataTable[str] = DataTable(id="home-waiting", cursor_type="row")
                    for label, width in (
                        ("Sent", 7),
                        ("Person", 16),
                        ("Service", 22),
                        ("Status", 18),
                    ):
                        waiting.add_column(label, width=width)
                    yield waiting
                    yield Static(
                        "No referrals waiting on a reply.", id="home-waiting-none", classes="help"
                    )
            with Vertical(classes="panel"):
                yield Static("Recent people", classes="panel-title")
                recent: DataTable[str] = DataTable(id="home-recent", cursor_type="row")
                for label, width in (
                    ("Name", 26),
                    ("Born", 12),
                    ("NHS number", 12),
                    ("Postcode", 9),
                ):
                    recent.add_column(label, width=width)
                yield recent
                yield Static("No people yet: A to add one.", id="home-recent-none", classes="help")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#home-empty").display = False
        for key in ("followups", "waiting", "recent"):
            self.query_one(f"#home-{key}-none").display = False
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
        table = self.query_one("#home-followups", DataTable)
        table.clear()
        for row in self.rows["followups"]:
            due = row["due"].strftime("%d %b")
            table.add_row(
                f"{due} OVERDUE" if row.get("overdue") else f"{due} due",
                row["person"],
                row["service"],
                row["status"],
            )

        table = self.query_one("#home-waiting", DataTable)
        table.clear()
        for row in self.rows["waiting"]:
            table.add_row(
                row["sent"].strftime("%d %b"), row["person"], row["service"], row["status"]
            )

        table = self.query_one("#home-recent", DataTable)
        table.clear()
        for row in self.rows["recent"]:
            table.add_row(row["name"], row["born"], row["nhs"] or "-", row["postcode"] or "-")

        for key in ("followups", "waiting", "recent"):
            self.query_one(f"#home-{key}").display = bool(self.rows[key])
            self.query_one(f"#home-{key}-none").display = not self.rows[key]
        self._directory_size(size)
        self.call_after_refresh(self.lw.home_filled)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        key = {"home-followups": "followups", "home-waiting": "waiting", "home-recent": "recent"}
        rows = self.rows.get(key.get(event.data_table.id or "", ""), [])
        if 0 <= event.cursor_row < len(rows):
            self.lw.open_person(rows[event.cursor_row]["ref"])

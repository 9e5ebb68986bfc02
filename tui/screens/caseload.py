"""The caseload (my open episodes with last and next contact and what needs attention;
O changes the order) and the week diary (every contact of a week; [ and ] move a week;
D then Y marks a booked contact as did not attend). Enter opens the person's casework.
From the home screen (K caseload, V diary) and the command palette."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.worker import get_current_worker

from tui.screens.base import SubScreen
from tui.screens.person_casework import contact_status, when_text
from tui.widgets.body import Body
from tui.widgets.fit_table import WHOLE, Column, FitTable
from tui.widgets.plain import DataTable, Static

SORTS = ("attention", "next", "last", "name", "started")
SORT_WORDS = {
    "attention": "needs attention first",
    "next": "next contact first",
    "last": "longest since a contact first",
    "name": "name",
    "started": "oldest episode first",
}
CASELOAD: list[Column] = [
    ("Person", None, 12),
    ("Last contact", 0, 9),
    ("Next", 0, 9),
    ("Needs attention", 0, 12),
    ("Seen", 0, 4),
]
DIARY: list[Column] = [
    ("Day", 10, 10),
    ("Time", 5, 5),
    ("Person", None, 12),
    ("How", 0, 5),
    ("Status", 0, WHOLE),
]
SHORT_STATUS = {"did-not-attend": "DNA", "no-answer": "no answer"}


def flags(row: dict[str, Any]) -> str:
    """What needs attention, in words (never colour alone)."""
    out = []
    if row["no_outcome"]:
        out.append(f"NO OUTCOME {row['no_outcome']}")
    if row["overdue_followups"]:
        out.append(f"OVERDUE {row['overdue_followups']}")
    if row["quiet"]:
        out.append(f"QUIET {row['days_since_contact'] // 7}w")
    return ", ".join(out) or "-"


def brief(contact: dict[str, Any] | None) -> str:
    if contact is None:
        return "none"
    status = SHORT_STATUS.get(contact["status"], "")
    day = datetime.fromisoformat(contact["at"]).astimezone().strftime("%d %b")
    return f"{day} {status}".strip()


class _CaseworkList(SubScreen):
    @staticmethod
    def _fresh(show: Callable[[Any], None]) -> Callable[[Any], None]:
        """``show`` for this worker's result, unless a newer load replaced the worker (a
        thread cannot be stopped: its late, older result must not overwrite the newer)."""
        worker = get_current_worker()
        return lambda result: None if worker.is_cancelled else show(result)

    def app_now(self) -> datetime | None:
        """The app's clock when it has a fixed one (its tests and screenshots)."""
        fixed = self.lw.fixed_today
        return datetime.combine(fixed, time(12, 0), tzinfo=UTC) if fixed else None

    def open_person(self, person_id: str, name: str) -> None:
        from tui.screens.person_casework import PersonCaseworkScreen
        from tui.state import PersonRef

        ref = PersonRef(person_id, name)
        self.lw.person = ref
        self.app.push_screen(PersonCaseworkScreen(ref))


class CaseloadScreen(_CaseworkList):
    TITLE_TEXT = "My caseload"
    BINDINGS = [
        Binding("o", "sort", "Order"),
        Binding("e", "everyone", "Mine/everyone"),
        Binding("v", "diary", "Week diary"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort = "attention"
        self.everyone = False
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Body(id="body"):
            yield Static("Loading the caseload...", id="cl-status", classes="status")
            with Vertical(classes="panel"):
                yield Static("Open episodes", id="cl-title", classes="panel-title")
                yield FitTable(id="cl-table", cursor_type="row")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_data()
        self.query_one("#cl-table").focus()

    def refresh_data(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="caseload")
    def load(self) -> None:
        self.fetch(
            lambda: self.actions.casework.caseload(
                self.workspace, everyone=self.everyone, sort=self.sort, now=self.app_now()
            ),
            self._fresh(self._show),
        )

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        whose = "everyone's" if self.everyone else "yours"
        attention = sum(1 for r in rows if flags(r) != "-")
        self.query_one("#cl-status", Static).update(
            f"{len(rows)} open episode{'' if len(rows) == 1 else 's'} ({whose}), "
            f"{attention} needing attention. Order: {SORT_WORDS[self.sort]} (O to change)."
        )
        cells = [
            (
                r["name"],
                brief(r["last_contact"]),
                brief(r["next_contact"]),
                flags(r),
                str(r["contacts"]),
            )
            for r in rows
        ]
        if not cells:
            cells = [("No open episodes. Start one from a person's casework (S).", "", "", "", "")]
        self.query_one("#cl-table", FitTable).show((CASELOAD, cells))

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_data()

    def action_everyone(self) -> None:
        self.everyone = not self.everyone
        self.refresh_data()

    def action_diary(self) -> None:
        self.app.push_screen(DiaryScreen())

    @on(DataTable.RowSelected, "#cl-table")
    def _open(self) -> None:
        row = self.query_one("#cl-table", FitTable).cursor_row
        if 0 <= row < len(self.rows):
            self.open_person(self.rows[row]["person_id"], self.rows[row]["name"])


class DiaryScreen(_CaseworkList):
    TITLE_TEXT = "Week diary"
    DEFAULT_CSS = "#dy-prompt { text-style: bold; }"
    BINDINGS = [
        Binding("left_square_bracket", "week(-1)", "Week before"),
        Binding("right_square_bracket", "week(1)", "Week after"),
        Binding("t", "this_week", "This week"),
        Binding("d", "dna", "DNA"),
        Binding("y", "confirm", "Confirm", show=False),
        Binding("e", "everyone", "Mine/everyone"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.day: date | None = None
        self.everyone = False
        self.rows: list[dict[str, Any]] = []
        self.pending: str | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Body(id="body"):
            yield Static("Loading the week...", id="dy-status", classes="status")
            yield Static("", id="dy-prompt", classes="status")
            with Vertical(classes="panel"):
                yield Static("Contacts this week", id="dy-title", classes="panel-title")
                yield FitTable(id="dy-table", cursor_type="row")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.day = self.lw.today
        self.refresh_data()
        self.query_one("#dy-table").focus()

    def refresh_data(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="diary")
    def load(self) -> None:
        day = self.day or self.lw.today
        self.fetch(
            lambda: self.actions.diary.week(
                self.workspace, day, everyone=self.everyone, now=self.app_now()
            ),
            self._fresh(self._show),
        )

    def _show(self, week: dict[str, Any]) -> None:
        self.rows = week["contacts"]
        start = date.fromisoformat(week["start"])
        end = start + timedelta(days=6)
        whose = "everyone's" if self.everyone else "yours"
        booked = sum(1 for c in self.rows if c["status"] == "booked")
        self.query_one("#dy-status", Static).update(
            f"Week of {start:%a %d %b} to {end:%a %d %b %Y} ({whose}): "
            f"{len(self.rows)} contact{'' if len(self.rows) == 1 else 's'}, {booked} booked. "
            "[ ] change week, T this week."
        )
        cells = []
        for c in self.rows:
            at = datetime.fromisoformat(c["at"]).astimezone()
            cells.append((at.strftime("%a %d %b"), at.strftime("%H:%M"), c["name"], c["kind"],
                          contact_status(c)))  # fmt: skip
        if not cells:
            cells = [("-", "", "Nothing in the diary this week.", "", "")]
        self.query_one("#dy-table", FitTable).show((DIARY, cells))

    def action_week(self, step: int) -> None:
        self.day = (self.day or self.lw.today) + timedelta(days=7 * step)
        self.refresh_data()

    def action_this_week(self) -> None:
        self.day = self.lw.today
        self.refresh_data()

    def action_everyone(self) -> None:
        self.everyone = not self.everyone
        self.refresh_data()

    def _chosen(self) -> dict[str, Any] | None:
        row = self.query_one("#dy-table", FitTable).cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def action_dna(self) -> None:
        contact = self._chosen()
        if contact is None or contact["status"] != "booked":
            self.notify("Choose a booked contact to mark as did not attend.", severity="warning")
            return
        self.pending = contact["id"]
        self.query_one("#dy-prompt", Static).update(
            f"{contact['name']} did not attend on {when_text(contact['at'])}? "
            "Y to confirm, any other key to leave it."
        )

    def action_confirm(self) -> None:
        contact_id, self.pending = self.pending, None
        self.query_one("#dy-prompt", Static).update("")
        if contact_id is not None:
            self._dna(contact_id)

    @work(thread=True, exit_on_error=False, group="diary-change")
    def _dna(self, contact_id: str) -> None:
        ws, act = self.workspace, self.actions
        done = self.fetch(
            lambda: act.casework.set_contact_status(ws, contact_id, "did-not-attend"),
            lambda _: self.notify("Did not attend: recorded."),
        )
        if done:
            self.app.call_from_thread(self.refresh_data)

    def on_key(self, event: Any) -> None:
        if self.pending is not None and event.key not in ("y", "d"):
            self.pending = None
            self.query_one("#dy-prompt", Static).update("")

    @on(DataTable.RowSelected, "#dy-table")
    def _open(self) -> None:
        contact = self._chosen()
        if contact is not None:
            self.open_person(contact["person_id"], contact["name"])

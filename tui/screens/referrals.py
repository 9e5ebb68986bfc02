"""Referrals board: every referral by status (in words), follow-ups due, update a status
with a reason, and import the update files that partners put in the inbox folder."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from tui.backend import plain_error
from tui.screens.base import LinkworkScreen

STATUS_ORDER = [
    "requested", "accepted", "in-progress", "on-hold", "draft",
    "rejected", "failed", "cancelled", "completed",
]  # fmt: skip
NEEDS_REASON = {"rejected", "cancelled", "on-hold", "failed"}
WITH_OUTCOME = {"completed", "failed"}


class ReferralsScreen(LinkworkScreen):
    TITLE_TEXT = "Referrals"
    BINDINGS = [
        Binding("u", "update", "Update status"),
        Binding("i", "import_inbox", "Import inbox"),
        Binding("d", "toggle_due", "Due only"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.referrals: list[dict[str, Any]] = []
        self.due_only = False

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            yield Static("Loading referrals...", id="ref-status", classes="status")
            table: DataTable[str] = DataTable(id="ref-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("Status", "Person", "Service", "Sent", "Follow-up", "Note")
            yield table
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#ref-table").focus()

    def refresh_data(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_toggle_due(self) -> None:
        self.due_only = not self.due_only
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="referrals")
    def load(self) -> None:
        self.fetch(lambda: self.backend.referral_board(self.lw.today), self._show)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        rank = {s: i for i, s in enumerate(STATUS_ORDER)}
        rows = sorted(rows, key=lambda r: (rank.get(r["status"], 99), r["sent_sort"]))
        if self.due_only:
            rows = [r for r in rows if r["due_state"]]
        self.referrals = rows
        table = self.query_one("#ref-table", DataTable)
        table.clear()
        for r in rows:
            status = r["status"].upper() + (
                f" ({r['business_status']})" if r["business_status"] else ""
            )
            table.add_row(status, r["person"], r["service"], r["sent"], r["followup"], r["note"])
        due = sum(1 for r in rows if r["due_state"])
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        summary = ", ".join(
            f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: rank.get(kv[0], 99))
        )
        where = "follow-ups due only" if self.due_only else "all referrals"
        self.query_one("#ref-status", Static).update(
            f"Showing {where}: {summary or 'none'}. {due} follow-ups due or overdue. "
            "U update status, I import inbox, D due only."
        )

    def selected(self) -> dict[str, Any] | None:
        table = self.query_one("#ref-table", DataTable)
        if not self.referrals:
            return None
        return self.referrals[max(0, min(table.cursor_row, len(self.referrals) - 1))]

    def action_update(self) -> None:
        referral = self.selected()
        if referral is None:
            self.notify("No referral chosen.", severity="warning")
            return
        self.app.push_screen(StatusScreen(referral), self._after_status)

    def _after_status(self, _changed: bool | None) -> None:
        self.load()

    @on(DataTable.RowSelected, "#ref-table")
    def _selected(self) -> None:
        self.action_update()

    def action_import_inbox(self) -> None:
        self.import_inbox()

    @work(thread=True, exit_on_error=False, exclusive=True, group="inbox")
    def import_inbox(self) -> None:
        from tui.backend import KeyLocked

        self.app.call_from_thread(self.notify, "Importing update files from the inbox...")
        try:
            message = self.backend.import_inbox()
        except KeyLocked:
            # Our key needs its passphrase (asked once per session); Escape imports nothing.
            self.app.call_from_thread(self._unlock_then_import)
            return
        except Exception as exc:
            self.fail(exc)
            return
        self.app.call_from_thread(self.notify, message)
        self.app.call_from_thread(self.load)

    def _unlock_then_import(self) -> None:
        from tui.screens.passphrase import unlock_then

        unlock_then(
            self,
            "open the update files in the inbox",
            self.import_inbox,
            "Nothing imported: the private key is still locked.",
        )


class StatusScreen(ModalScreen[bool]):
    """Change a referral's status; a reason is required where the workflow needs one."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]
    DEFAULT_CSS = """
    StatusScreen { align: center middle; }
    #status-box {
        width: 72; height: auto; border: thick $accent; padding: 1 2; background: $panel;
    }
    #status-box Select, #status-box Input { width: 100%; }
    """

    def __init__(self, referral: dict[str, Any]) -> None:
        super().__init__()
        self.referral = referral

    def compose(self) -> ComposeResult:
        allowed = self.referral.get("allowed") or [
            s for s in STATUS_ORDER if s != self.referral["status"]
        ]
        with Vertical(id="status-box"):
            yield Label(f"Referral for {self.referral['person']} to {self.referral['service']}")
            yield Label(f"Now: {self.referral['status'].upper()}")
            yield Select([(s, s) for s in allowed], prompt="New status", id="new-status")
            yield Input(
                placeholder="Reason (needed for rejected, cancelled, on hold, failed)", id="reason"
            )
            yield Static("", id="status-error", classes="form-error")
            with Horizontal(classes="form-row"):
                yield Button("Save (Ctrl+S)", id="save", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#new-status", Select).focus()

    def on_worker_state_changed(self, event: Any) -> None:
        from tui.backend import report_worker_error

        report_worker_error(self, event)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#reason")
    def action_save(self) -> None:
        status = self.query_one("#new-status", Select).value
        reason = self.query_one("#reason", Input).value.strip()
        error = self.query_one("#status-error", Static)
        if not isinstance(status, str):
            error.update("! Choose the new status first.")
            return
        if status in NEEDS_REASON and not reason:
            error.update(f"! A reason is needed for {status}.")
            self.query_one("#reason", Input).focus()
            return
        if status in WITH_OUTCOME:
            # Completing (or failing) asks for the outcome; both are saved together.
            from tui.screens.outcome import OutcomeScreen

            error.update("")
            self.app.push_screen(OutcomeScreen(self.referral, status, reason), self._outcome)
            return
        self.save(status, reason)

    def _outcome(self, saved: bool | None) -> None:
        if saved:
            self.dismiss(True)

    @work(thread=True, exit_on_error=False, exclusive=True, group="status")
    def save(self, status: str, reason: str) -> None:
        app: Any = self.app
        try:
            app.backend.set_status(self.referral["id"], status, reason)
        except Exception as exc:
            self.app.call_from_thread(
                self.query_one("#status-error", Static).update, f"! {plain_error(exc)}"
            )
            return
        self.app.call_from_thread(self.app.notify, f"Referral now {status.upper()}.")
        self.app.call_from_thread(self.dismiss, True)

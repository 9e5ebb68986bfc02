"""Referrals board: every referral by status (in words) with its short id and where its
message is (NOT SENT, QUEUED, SENT with the time, DELIVERED, FAILED with the reason:
"SENT" only once it was sent), follow-ups due; update a status with a reason; send or
resend (S) and cancel a queued send (X); import the update files that partners put in the
inbox folder."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select

from linkwork.errors import plain_error
from tui.screens.base import LinkworkScreen
from tui.widgets.fit_table import WHOLE, FitTable
from tui.widgets.notice import Notice
from tui.widgets.plain import DataTable, Label, Static, plain

STATUS_ORDER = [
    "requested", "accepted", "in-progress", "on-hold", "draft",
    "rejected", "failed", "cancelled", "completed",
]  # fmt: skip
NEEDS_REASON = {"rejected", "cancelled", "on-hold", "failed"}
WITH_OUTCOME = {"completed", "failed"}
# The board's columns (label, width, shrinks to; see tui.widgets.fit_table): with the
# note when it has room, else without it (and the year of "Sent"); the chosen referral's
# note is always in full on the line below the table.
BOARD = [("Ref", 8, 8), ("Status", 0, WHOLE), ("Person", 16, 10), ("Service", 0, 12),
         ("Delivery", 0, WHOLE), ("Follow-up", 0, 14), ("Note", None, 16)]  # fmt: skip
BOARD_NARROW = [("Ref", 8, 8), ("Status", 0, WHOLE), ("Person", 14, 8), ("Service", None, 8),
                ("Delivery", 0, WHOLE), ("Follow-up", 0, 14)]  # fmt: skip


class ReferralsScreen(LinkworkScreen):
    TITLE_TEXT = "Referrals"
    BINDINGS = [
        Binding("u", "update", "Update status"),
        Binding("o", "open_received", "Open received"),
        Binding("s", "resend", "Send/resend"),
        Binding("x", "cancel_send", "Cancel send"),
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
            yield FitTable(id="ref-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="ref-detail", classes="help")
            yield Notice(
                "No referrals yet",
                "Find a person (F2), choose a service (F4), then Ctrl+R to refer them. "
                "Replies from partners come in with I (import inbox).",
                kind="empty",
                id="ref-empty",
            )
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#ref-empty").display = False
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
        self.fetch(
            lambda: self.actions.referrals.referral_board(self.workspace, self.lw.today), self._show
        )

    def _show(self, rows: list[dict[str, Any]]) -> None:
        rank = {s: i for i, s in enumerate(STATUS_ORDER)}
        rows = sorted(rows, key=lambda r: (rank.get(r["status"], 99), r["sent_sort"]))
        if self.due_only:
            rows = [r for r in rows if r["due_state"]]
        chosen = self.selected()
        self.referrals = rows
        self._fill()
        if chosen is not None:  # stay on the same referral, wherever its new status sorts it
            at = next((i for i, r in enumerate(rows) if r["id"] == chosen["id"]), None)
            if at is not None:
                self.query_one("#ref-table", DataTable).move_cursor(row=at)
        self.query_one("#ref-empty").display = not rows and not self.due_only
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
            "Enter opens, U update status, S send/resend, X cancel send, I import inbox, "
            "D due only."
        )

    @staticmethod
    def _status(r: dict[str, Any]) -> str:
        business = r["business_status"]
        return r["status"].upper() + (f" ({business})" if business else "")

    @staticmethod
    def _delivery(r: dict[str, Any]) -> dict[str, str]:
        return r.get("delivery") or {"state": "-", "cell": "-", "words": ""}

    def _cells(self, r: dict[str, Any], narrow: bool) -> tuple[str, ...]:
        short = r.get("short_id") or r["id"][:8]
        if narrow:  # the status detail and the delivery's time are on the line below
            return (
                short,
                r["status"].upper(),
                r["person_name"],
                r["service"],
                self._delivery(r)["cell"],  # cut short when short of room: in full below
                r["followup"],
            )
        status = self._status(r)
        return (
            short,
            status,
            r["person_name"],
            r["service"],
            self._delivery(r)["cell"],
            r["followup"],
            r["note"],
        )

    def _fill(self) -> None:
        """The board with the note column when it has room beside the others, else
        without it (and without the year of "Sent"); the chosen referral's note is in full
        on the line below the table."""
        self.query_one("#ref-table", FitTable).show(
            (BOARD, [self._cells(r, narrow=False) for r in self.referrals]),
            (BOARD_NARROW, [self._cells(r, narrow=True) for r in self.referrals]),
        )
        self._detail()

    @on(DataTable.RowHighlighted, "#ref-table")
    def _detail(self) -> None:
        r = self.selected()
        text = ""
        if r is not None:
            short = r.get("short_id") or r["id"][:8]
            text = (
                f"{short} {self._status(r)}: {r['person_name']} to {r['service']}, made {r['sent']}"
            )
            if r["due_state"]:
                text += f", follow-up {r['followup']}"
            text += f". Note: {r['note']}" if r["note"] else "."
            words = self._delivery(r)["words"]
            text += f"\n{words}" if words else ""
        self.query_one("#ref-detail", Static).update(text)

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
        referral = self.selected()
        if referral is not None and referral.get("direction") == "incoming":
            self.action_open_received()  # read it before accepting or declining
        else:
            self.action_update()

    def action_open_received(self) -> None:
        from tui.screens.received import ReceivedScreen

        referral = self.selected()
        if referral is None:
            self.notify("No referral chosen.", severity="warning")
        elif referral.get("direction") != "incoming":
            self.notify("That is a referral we made: U updates its status.")
        else:
            self.app.push_screen(ReceivedScreen(referral["id"]), self._after_status)

    # -- send, resend, cancel ---------------------------------------------------------------
    def action_resend(self) -> None:
        referral = self.selected()
        if referral is None:
            self.notify("No referral chosen.", severity="warning")
            return
        if self._delivery(referral)["state"] == "NOT SENT":
            self.app.push_screen(PartnerScreen(referral), self._partner_chosen)
            return
        self.resend(referral["id"], None)

    def _partner_chosen(self, partner: str | None) -> None:
        referral = self.selected()
        if partner and referral is not None:
            self.resend(referral["id"], partner)

    @work(thread=True, exit_on_error=False, exclusive=True, group="resend")
    def resend(self, ref: str, to: str | None) -> None:
        from linkwork.errors import KeyLocked

        self.app.call_from_thread(self.notify, "Sending...")
        try:
            data = self.actions.mesh.resend(self.workspace, ref, to=to)
        except KeyLocked:
            self.app.call_from_thread(self._unlock_then_resend, ref, to)
            return
        except Exception as exc:
            self.fail(exc)
            return
        problem = data.get("problem")
        self.app.call_from_thread(
            self.notify, data["message"], severity="warning" if problem else "information"
        )
        self.app.call_from_thread(self.load)

    def _unlock_then_resend(self, ref: str, to: str | None) -> None:
        from tui.screens.passphrase import unlock_then

        unlock_then(
            self,
            "sign and send this referral",
            lambda: self.resend(ref, to),
            "Nothing sent: the private key is still locked.",
        )

    def action_cancel_send(self) -> None:
        referral = self.selected()
        if referral is None:
            self.notify("No referral chosen.", severity="warning")
            return
        self.cancel_send(referral["id"])

    @work(thread=True, exit_on_error=False, exclusive=True, group="resend")
    def cancel_send(self, ref: str) -> None:
        if self.fetch(lambda: self.actions.mesh.cancel_send(self.workspace, ref), self._done):
            self.app.call_from_thread(self.load)

    def _done(self, data: dict[str, Any]) -> None:
        self.notify(data["message"])

    def action_import_inbox(self) -> None:
        self.import_inbox()

    @work(thread=True, exit_on_error=False, exclusive=True, group="inbox")
    def import_inbox(self) -> None:
        from linkwork.errors import KeyLocked

        self.app.call_from_thread(self.notify, "Importing update files from the inbox...")
        try:
            message = self.actions.exchange.import_inbox(self.workspace)["message"]
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
    #status-error { color: $error; text-style: bold; height: auto; }
    #status-outcome, #status-closed { height: auto; margin: 1 0 0 0; }
    """

    def __init__(self, referral: dict[str, Any]) -> None:
        super().__init__()
        self.referral = referral

    def allowed(self) -> list[str]:
        """The next statuses the workflow allows (none: the referral is closed)."""
        if "allowed" in self.referral:
            return list(self.referral["allowed"])
        return [s for s in STATUS_ORDER if s != self.referral["status"]]

    def compose(self) -> ComposeResult:
        allowed = self.allowed()
        with Vertical(id="status-box"):
            short = self.referral.get("short_id") or str(self.referral["id"])[:8]
            yield Label(
                f"Referral {short} for {self.referral['person_name']} to {self.referral['service']}"
            )
            yield Label(f"Now: {self.referral['status'].upper()}")
            yield Static("", id="status-outcome")
            if not allowed:
                yield Static(
                    "This referral is closed: its status cannot change.", id="status-closed"
                )
                with Horizontal(classes="form-row"):
                    yield Button("Close (Esc)", id="cancel")
                return
            yield Select([(s, s) for s in allowed], prompt="New status", id="new-status")
            yield Input(
                placeholder="Reason (needed for rejected, cancelled, on hold, failed)", id="reason"
            )
            if WITH_OUTCOME & set(allowed):
                yield Static(
                    "Completed or failed: the outcome form follows (wellbeing scores, "
                    "needs resolved, a note); both are saved together.",
                    classes="help",
                )
            yield Static("", id="status-error")
            with Horizontal(classes="form-row"):
                yield Button("Save (Ctrl+S)", id="save", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#status-outcome").display = False
        if not self.allowed():
            self.query_one("#cancel").focus()
        else:
            self.query_one("#status-error").display = False
            self.query_one("#new-status", Select).focus()
        if self.referral["status"] in WITH_OUTCOME:
            self.load_outcome()

    @work(thread=True, exit_on_error=False, exclusive=True, group="status-outcome")
    def load_outcome(self) -> None:
        app: Any = self.app
        text = app.actions.referrals.outcome_text(app.workspace, self.referral["id"])
        self.app.call_from_thread(self._show_outcome, text)

    def _show_outcome(self, text: str) -> None:
        line = self.query_one("#status-outcome", Static)
        line.update(f"Outcome: {text}" if text else "Outcome: not recorded.")
        line.display = True

    def on_worker_state_changed(self, event: Any) -> None:
        from tui.workers import finished_with_true, report_worker_error

        if finished_with_true(event, "status"):
            self.dismiss(True)
        report_worker_error(self, event)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#reason")
    def action_save(self) -> None:
        if not self.allowed():
            return
        status = self.query_one("#new-status", Select).value
        reason = self.query_one("#reason", Input).value.strip()
        if not isinstance(status, str):
            self._error("Choose the new status first.")
            return
        if status in NEEDS_REASON and not reason:
            self._error(f"A reason is needed for {status}.")
            self.query_one("#reason", Input).focus()
            return
        if status in WITH_OUTCOME:
            # Completing (or failing) asks for the outcome; both are saved together.
            from tui.screens.outcome import OutcomeScreen

            self._error("")
            self.app.push_screen(OutcomeScreen(self.referral, status, reason), self._outcome)
            return
        self.save(status, reason)

    def _error(self, message: str) -> None:
        """One line in words under the form (shown only when there is something to say)."""
        line = self.query_one("#status-error", Static)
        line.update(f"! {message}" if message else "")
        line.display = bool(message)

    def _outcome(self, saved: bool | None) -> None:
        if saved:
            self.dismiss(True)

    @work(thread=True, exit_on_error=False, exclusive=True, group="status")
    def save(self, status: str, reason: str) -> bool:
        app: Any = self.app
        try:
            app.actions.referrals.set_status(
                app.workspace, self.referral["id"], status, reason=reason
            )
        except Exception as exc:
            self.app.call_from_thread(self._error, plain_error(exc))
            return False
        self.app.call_from_thread(self.app.notify, f"Referral now {status.upper()}.")
        return True


class PartnerScreen(ModalScreen[str | None]):
    """Choose the trusted partner to send a referral to (Enter sends, Escape does not)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "choose", "Send")]
    DEFAULT_CSS = """
    PartnerScreen { align: center middle; }
    #partner-box {
        width: 72; height: auto; border: thick $accent; padding: 1 2; background: $panel;
    }
    #partner-box Select { width: 100%; }
    """

    def __init__(self, referral: dict[str, Any]) -> None:
        super().__init__()
        self.referral = referral

    def compose(self) -> ComposeResult:
        with Vertical(id="partner-box"):
            yield Label(
                f"Send the referral for {self.referral['person_name']} to "
                f"{self.referral['service']} to which partner?"
            )
            yield Select[str]([], prompt="No partner key trusted yet", id="partner")
            yield Static(
                "Ctrl+S sends it by the partner's route (NHS MESH, or a file in the outbox); "
                "Esc sends nothing.",
                classes="help",
            )

    def on_mount(self) -> None:
        self.query_one("#partner", Select).focus()
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        app: Any = self.app
        try:
            names = app.actions.exchange.partners(app.workspace)
        except Exception as exc:
            self.app.call_from_thread(self.app.notify, plain_error(exc), severity="error")
            return
        self.app.call_from_thread(self._fill, names)

    def _fill(self, names: list[str]) -> None:
        select = self.query_one("#partner", Select)
        select.set_options([(plain(name), name) for name in names])
        if len(names) == 1:
            select.value = names[0]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_choose(self) -> None:
        value = self.query_one("#partner", Select).value
        if not isinstance(value, str):
            self.app.notify("Choose a partner first (Enter opens the list).", severity="warning")
            return
        self.dismiss(value)

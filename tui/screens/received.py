"""A referral received at the hub, read before accepting or declining it: who sent it,
the needs shared, the reason, what the person's consent shares and their contact details
as it allows. A accepts, D declines with a reason, U any other status; each change goes
back to the sender by itself (``linkwork.actions.referrals.set_status``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input

from tui.screens.base import SubScreen
from tui.widgets.plain import Static

CONTACT = {"phone": "Phone", "email": "Email", "postcode": "Postcode"}


def _day(iso: str) -> str:
    """An ISO date (or date and time) as '07 Dec 2026'; '-' when there is none."""
    try:
        return date.fromisoformat(iso[:10]).strftime("%d %b %Y")
    except ValueError:
        return "-"


def received_text(r: dict[str, Any]) -> str:
    """The received referral in words (every line readable without colour)."""
    who = r["person"]
    sender = r["from_partner"] or r["from_ods"] or "a partner"
    ods = f" (ODS {r['from_ods']})" if r["from_ods"] and r["from_ods"] != sender else ""
    status = r["status"].upper() + (f" ({r['business_status']})" if r["business_status"] else "")
    lines = [
        f"From:      {sender}{ods}, received {_day(r['created_at'])}",
        f"Status:    {status}",
        f"Person:    {who.get('name', '-')}, born {_day(who.get('birth_date', ''))}, "
        f"NHS number {who.get('nhs_number') or 'not given'}",
        f"For:       {r.get('service_name') or r.get('hub') or '-'}",
        f"Reason:    {r['reason'] or '(none given)'}",
        "Needs shared:",
        *([f"  {n['code']} {n['display']}" for n in r["needs"]] or ["  none"]),
        f"Consent:   {r['consent_method'] or 'not recorded'}; shares "
        f"{', '.join(r['shares']) or 'nothing'}",
    ]
    if "contact" not in r["shares"]:
        lines.append("Contact:   not shared: their consent does not cover contact details")
    elif r["contact"]:
        lines += [f"Contact:   {CONTACT[k]} {v}" for k, v in r["contact"].items()]
    else:
        lines.append("Contact:   shared, but none was given")
    lines += ["", "A accepts, D declines (with a reason), U another status; Esc goes back."]
    return "\n".join(lines)


class ReceivedScreen(SubScreen):
    TITLE_TEXT = "Received referral"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("a", "accept", "Accept"),
        Binding("d", "decline", "Decline"),
        Binding("u", "update", "Other status"),
    ]

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref
        self.referral: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with VerticalScroll(id="body"):
            yield Static("Opening the referral...", id="received-text")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="received")
    def load(self) -> None:
        self.fetch(
            lambda: self.actions.partners.received_referral(self.workspace, self.ref), self._show
        )

    def _show(self, data: dict[str, Any]) -> None:
        self.referral = data
        self.query_one("#received-text", Static).update(received_text(data))

    def _allowed(self, status: str) -> bool:
        r = self.referral
        if r is None:
            return False
        if status not in r.get("allowed", [status]):
            self.notify(f"It is {r['status'].upper()} now: it cannot become {status}.")
            return False
        return True

    def action_accept(self) -> None:
        if self._allowed("accepted"):
            self.change("accepted", "")

    def action_decline(self) -> None:
        if self._allowed("rejected"):
            self.app.push_screen(DeclineScreen(), self._declined)

    def _declined(self, reason: str | None) -> None:
        if reason:
            self.change("rejected", reason)

    def action_update(self) -> None:
        from tui.screens.referrals import StatusScreen

        if self.referral is not None:
            row = {
                "id": self.referral["id"],
                "person_name": self.referral["person"].get("name", "-"),
                "service": self.referral.get("service_name") or self.referral.get("hub"),
                "status": self.referral["status"],
                "allowed": self.referral.get("allowed", []),
            }
            self.app.push_screen(StatusScreen(row), self._after_status)

    def _after_status(self, _changed: bool | None) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="received-status")
    def change(self, status: str, reason: str) -> None:
        try:
            self.actions.referrals.set_status(self.workspace, self.ref, status, reason=reason)
        except Exception as exc:
            self.fail(exc)
            return
        words = "ACCEPTED" if status == "accepted" else "DECLINED"
        self.app.call_from_thread(
            self.notify, f"Referral {words}; the sender is told by the next delivery."
        )
        self.app.call_from_thread(self.load)


class DeclineScreen(ModalScreen[str | None]):
    """The reason for declining (required): the sender reads it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    DeclineScreen { align: center middle; }
    DeclineScreen > Vertical {
        width: 72; max-width: 100%; height: auto; border: thick $accent; padding: 0 1;
        background: $panel;
    }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Decline this referral", classes="section-title")
            yield Static("Why? The referring practice reads this.", classes="help")
            yield Input(placeholder="e.g. full until April; outside our area", id="decline-reason")
            yield Static("", id="decline-error")
            yield Static("Enter declines; Esc goes back.", classes="help")

    def on_mount(self) -> None:
        self.query_one("#decline-reason", Input).focus()

    @on(Input.Submitted, "#decline-reason")
    def _done(self) -> None:
        reason = self.query_one("#decline-reason", Input).value.strip()
        if not reason:
            self.query_one("#decline-error", Static).update("! A reason is needed to decline.")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Keys and partners (Ctrl+P, "Keys and partners"): our key and its fingerprint to read
to a partner, make our key with a passphrase (N), trust a partner's key only after
comparing its fingerprint on screen (T), set a partner's route and ODS code (M: its MESH
mailbox, or files), and the quarantined messages (Q). Every step calls one action from a worker."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input

from linkwork.errors import plain_error
from tui.screens.base import SubScreen
from tui.screens.refer import Box
from tui.widgets.fit_table import FitTable
from tui.widgets.notice import Notice
from tui.widgets.plain import DataTable, Static

PARTNERS = [("Partner", 0, 10), ("ODS", 0, 6), ("Route", 0, 14),
            ("Fingerprint (first groups)", 0, 14), ("Trusted", 0, 10)]  # fmt: skip
# At 80 columns: no Trusted date (the detail line below says it), a shorter heading.
PARTNERS_NARROW = [("Partner", 0, 10), ("ODS", 0, 6), ("Route", 0, 12),
                   ("Fingerprint begins", 0, 14)]  # fmt: skip
QUARANTINE = [("Received", 0, 16), ("From", 0, 8), ("Why it was refused", None, 16)]  # fmt: skip

FORM_CSS = """
    {name} {{ align: center middle; }}
    {name} > Vertical {{
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; padding: 0 1; background: $panel;
    }}
    {name} .heading {{ text-style: bold; }}
    {name} .error {{ color: $error; text-style: bold; height: auto; }}
    {name} Input {{ margin: 0 0 1 0; }}
"""


class KeysScreen(SubScreen):
    TITLE_TEXT = "Keys and partners"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "new_key", "Make our key"),
        Binding("t", "trust", "Trust a partner"),
        Binding("m", "route", "Route and ODS"),
        Binding("q", "quarantine", "Quarantined"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.partners: list[dict[str, Any]] = []
        self.ours: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with VerticalScroll(id="body"):
            yield Static("Our key", classes="section-title")
            yield Static("Loading...", id="our-key")
            yield Static("Partners we trust", classes="section-title")
            yield FitTable(id="partner-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="partner-detail", classes="help")
            yield Notice(
                "No partner trusted yet",
                "T trusts a partner's public key file: compare its fingerprint with the "
                "partner's, group by group, before you trust it.",
                kind="empty",
                id="partner-empty",
            )
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#partner-empty").display = False
        self.query_one("#partner-table").focus()
        self.load()

    def refresh_data(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="keys")
    def load(self) -> None:
        try:
            ours = self.actions.partners.our_key_info(self.workspace)
            partners = self.actions.mesh.partner_list(self.workspace)
        except Exception as exc:
            self.fail(exc)
            return
        self.app.call_from_thread(self._show, ours, partners)

    def _show(self, ours: dict[str, Any], partners: list[dict[str, Any]]) -> None:
        self.ours, self.partners = ours, partners
        if ours["state"] == "ok":
            lock = "protected by a passphrase" if ours["protected"] else "NOT protected"
            mailbox = ours["mesh_mailbox"] or "not set up (files only)"
            text = (
                f"Fingerprint: {ours['fingerprint']}\n"
                f"Read these groups to a partner; they compare them with what their screen "
                f"shows for our public key file.\n"
                f"Public key file (send this): {ours['public']}\n"
                f"Public key: {ours['public_jwk_line']}\n"
                f"Private key: {ours['private']} ({lock}). Our MESH mailbox: {mailbox}."
            )
        else:
            text = f"No key yet: {ours['message']}. N makes ours, protected by a passphrase."
        self.query_one("#our-key", Static).update(text)
        rows = [
            (
                p["name"],
                p["ods"] or "none",
                p["route_words"].replace(" (outbox folder)", ""),
                " ".join(p["fingerprint"].split()[:3]) + " ...",
                p["added_at"][:10],
            )
            for p in partners
        ]
        narrow = [row[:4] for row in rows]
        table = self.query_one("#partner-table", FitTable)
        table.show((PARTNERS, rows), (PARTNERS_NARROW, narrow))
        self.query_one("#partner-empty").display = not partners
        self._detail()

    def selected(self) -> dict[str, Any] | None:
        if not self.partners:
            return None
        row = self.query_one("#partner-table", DataTable).cursor_row
        return self.partners[max(0, min(row, len(self.partners) - 1))]

    @on(DataTable.RowHighlighted, "#partner-table")
    def _detail(self) -> None:
        p = self.selected()
        text = ""
        if p is not None:
            text = (
                f"{p['name']} (ODS code {p['ods'] or 'not recorded'}): reached by "
                f"{p['route_words']}; key fingerprint "
                f"{p['fingerprint']}; trusted {p['added_at'][:10]} by {p['added_by']}."
            )
        self.query_one("#partner-detail", Static).update(text)

    def action_new_key(self) -> None:
        if self.ours.get("state") == "ok":
            self.notify("We have a key already: partners trust it, so it stays.")
            return
        self.app.push_screen(NewKeyScreen(self.workspace.settings.practice_ods), self._changed)

    def action_trust(self) -> None:
        self.app.push_screen(TrustScreen(), self._changed)

    def action_route(self) -> None:
        partner = self.selected()
        if partner is None:
            self.notify("No partner chosen: T trusts one first.", severity="warning")
            return
        self.app.push_screen(RouteScreen(partner), self._changed)

    def action_quarantine(self) -> None:
        self.app.push_screen(QuarantineScreen())

    def _changed(self, changed: bool | None) -> None:
        if changed:
            self.load()


class _Form(ModalScreen[bool]):
    """A small form: Ctrl+S saves, Escape cancels; one line of error in words."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    @property
    def lw(self) -> Any:
        return self.app

    def error(self, message: str) -> None:
        line = self.query_one(".error", Static)
        line.update(f"! {message}" if message else "")
        line.display = bool(message)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_worker_state_changed(self, event: Any) -> None:
        """A saving worker returns True when saved (see finished_with_true)."""
        from tui.workers import finished_with_true, report_worker_error

        if finished_with_true(event):
            self.dismiss(True)
        report_worker_error(self, event)


class NewKeyScreen(_Form):
    DEFAULT_CSS = FORM_CSS.format(name="NewKeyScreen")

    def __init__(self, name: str) -> None:
        super().__init__()
        self.default_name = name

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Make our key", classes="heading")
            yield Static(
                "Partners check what we send with our public key, and only we can open "
                "what they send us. The private key stays in the keys folder, locked by "
                "a passphrase (at least 10 characters) asked once per session.",
                classes="help",
            )
            yield Input(self.default_name, placeholder="Name, e.g. our ODS code", id="key-name")
            yield Input(placeholder="Passphrase", password=True, id="key-pass")
            yield Input(placeholder="The passphrase again", password=True, id="key-pass2")
            yield Static("", classes="error")
            yield Static("Ctrl+S makes the key; Esc cancels.", classes="help")

    def on_mount(self) -> None:
        self.error("")
        self.query_one("#key-name", Input).focus()

    @on(Input.Submitted, "#key-pass2")
    def action_save(self) -> None:
        name = self.query_one("#key-name", Input).value.strip()
        first = self.query_one("#key-pass", Input).value
        second = self.query_one("#key-pass2", Input).value
        if not name:
            self.error("Give the key a name (our ODS code is a good one).")
        elif first != second:
            self.error("The two passphrases differ: type them again.")
            self.query_one("#key-pass", Input).value = ""
            self.query_one("#key-pass2", Input).value = ""
            self.query_one("#key-pass", Input).focus()
        else:
            self.error("")
            self.make(name, first)

    @work(thread=True, exit_on_error=False, exclusive=True)
    def make(self, name: str, passphrase: str) -> bool:
        try:
            info = self.lw.actions.partners.make_our_key(self.lw.workspace, name, passphrase)
        except Exception as exc:
            self.app.call_from_thread(self.error, plain_error(exc))
            return False
        self.app.call_from_thread(
            self.app.notify, f"Our key is made. Fingerprint: {info['fingerprint']}", timeout=10
        )
        return True


class TrustScreen(_Form):
    """Trust a partner's key: its fingerprint is shown first; trusting needs the tick
    that says every group was compared with the partner's."""

    DEFAULT_CSS = FORM_CSS.format(name="TrustScreen")

    def __init__(self) -> None:
        super().__init__()
        self.read: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Trust a partner's key", classes="heading")
            yield Input(placeholder="Their public key file, e.g. /media/usb/hub.public.jwk",
                        id="trust-file")  # fmt: skip
            yield Static("Enter reads the file and shows its fingerprint.", id="trust-print")
            yield Input(placeholder="Partner's name, e.g. Northside Hub", id="trust-name")
            yield Input(placeholder="Their MESH mailbox (empty: by files)", id="trust-mailbox")
            yield Box(
                "The fingerprints match: I compared every group with the partner",
                id="trust-match",
            )
            yield Static("", classes="error")
            yield Static("Ctrl+S trusts the key; Esc cancels.", classes="help")

    def on_mount(self) -> None:
        self.error("")
        self.query_one("#trust-file", Input).focus()

    @on(Input.Submitted, "#trust-file")
    def _read(self) -> None:
        self.read = None
        self.query_one("#trust-match", Box).value = False
        self.fingerprint(self.query_one("#trust-file", Input).value.strip())

    @on(Input.Changed, "#trust-file")
    def _file_changed(self) -> None:
        self.read = None  # a fingerprint shown was for another file
        self.query_one("#trust-match", Box).value = False

    @work(thread=True, exit_on_error=False, exclusive=True)
    def fingerprint(self, file: str) -> None:
        try:
            found = self.lw.actions.partners.key_file_fingerprint(self.lw.workspace, file)
        except Exception as exc:
            self.app.call_from_thread(self._shown, None, plain_error(exc))
            return
        self.app.call_from_thread(self._shown, found, "")

    def _shown(self, found: dict[str, Any] | None, problem: str) -> None:
        self.read = found
        line = self.query_one("#trust-print", Static)
        if found is None:
            line.update("No fingerprint: the file could not be read.")
            self.error(problem)
            return
        self.error("")
        already = f" (already trusted as {found['trusted_as']})" if found["trusted_as"] else ""
        line.update(
            f"Fingerprint{already}:\n{found['fingerprint']}\n"
            "Ask the partner to read theirs aloud; tick below only if every group matches."
        )
        self.query_one("#trust-name", Input).focus()

    @on(Input.Submitted, "#trust-mailbox")
    def action_save(self) -> None:
        file = self.query_one("#trust-file", Input).value.strip()
        name = self.query_one("#trust-name", Input).value.strip()
        mailbox = self.query_one("#trust-mailbox", Input).value.strip()
        if self.read is None or self.read["file"] != file:
            self.error("Read the file first (Enter in its box) and compare the fingerprint.")
            self.query_one("#trust-file", Input).focus()
        elif not name:
            self.error("Give the partner a name.")
            self.query_one("#trust-name", Input).focus()
        elif not self.query_one("#trust-match", Box).value:
            self.error(
                "Compare the fingerprint with the partner's first, then tick that it matches."
            )
            self.query_one("#trust-match", Box).focus()
        else:
            self.error("")
            self.trust(file, name, mailbox or None)

    @work(thread=True, exit_on_error=False, exclusive=True)
    def trust(self, file: str, name: str, mailbox: str | None) -> bool:
        from pathlib import Path

        try:
            done = self.lw.actions.mesh.trust_partner(
                self.lw.workspace, Path(file), name, mesh_mailbox=mailbox
            )
        except Exception as exc:
            self.app.call_from_thread(self.error, plain_error(exc))
            return False
        how = f"MESH {done['mesh_mailbox']}" if done["route"] == "mesh" else "files"
        verb = "Trusted" if done["created"] else "Already trusted; route set for"
        self.app.call_from_thread(self.app.notify, f"{verb} {done['name']} (by {how}).")
        return True


class RouteScreen(_Form):
    DEFAULT_CSS = FORM_CSS.format(name="RouteScreen")

    def __init__(self, partner: dict[str, Any]) -> None:
        super().__init__()
        self.partner = partner

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"How to reach {self.partner['name']}", classes="heading")
            yield Static(f"Now: {self.partner['route_words']}.", classes="help")
            yield Static("MESH mailbox (empty: by files)")
            yield Input(
                self.partner["mesh_mailbox"],
                placeholder="Their MESH mailbox, e.g. X26ABC2",
                id="route-mailbox",
            )
            yield Static("ODS code (empty: not known)")
            yield Input(
                self.partner.get("ods", ""),
                placeholder="Their ODS code, e.g. Y01234 (a referral names them by it)",
                id="route-ods",
            )
            yield Static("", classes="error")
            yield Static("Ctrl+S (or Enter) saves; Esc cancels.", classes="help")

    def on_mount(self) -> None:
        self.error("")
        self.query_one("#route-mailbox", Input).focus()

    @on(Input.Submitted, "#route-mailbox")
    def _next(self) -> None:
        self.query_one("#route-ods", Input).focus()

    @on(Input.Submitted, "#route-ods")
    def action_save(self) -> None:
        self.save(
            self.query_one("#route-mailbox", Input).value.strip(),
            self.query_one("#route-ods", Input).value.strip(),
        )

    @work(thread=True, exit_on_error=False, exclusive=True)
    def save(self, mailbox: str, ods: str) -> bool:
        try:
            done = self.lw.actions.partners.set_route(
                self.lw.workspace, self.partner["name"], mailbox, ods=ods
            )
        except Exception as exc:
            self.app.call_from_thread(self.error, plain_error(exc))
            return False
        self.app.call_from_thread(self.app.notify, done["message"])
        return True


class QuarantineScreen(SubScreen):
    """Received messages refused (tampered, untrusted signer, not for us, not FHIR), each
    with its reason; kept aside, never imported."""

    TITLE_TEXT = "Quarantined messages"

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            yield Static(
                "Messages received but refused: none was imported. Tell the sender the "
                "reason; they send it again once it is put right.",
                classes="status",
            )
            yield FitTable(id="q-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="q-detail", classes="help")
            yield Notice(
                "Nothing quarantined",
                "Every message received so far passed its checks.",
                kind="empty",
                id="q-empty",
            )
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#q-empty").display = False
        self.query_one("#q-table").focus()
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True)
    def load(self) -> None:
        self.fetch(lambda: self.actions.partners.quarantined(self.workspace), self._show)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        cells = [
            (r["received_at"][:16].replace("T", " "), r["from"] or "-", r["detail"] or r["reason"])
            for r in rows
        ]
        self.query_one("#q-table", FitTable).show((QUARANTINE, cells))
        self.query_one("#q-empty").display = not rows
        self._detail()

    @on(DataTable.RowHighlighted, "#q-table")
    def _detail(self) -> None:
        text = ""
        if self.rows:
            row = self.query_one("#q-table", DataTable).cursor_row
            r = self.rows[max(0, min(row, len(self.rows) - 1))]
            text = (
                f"From {r['from'] or 'an unknown sender'} by {r['source']} (message "
                f"{r['message']}, {r['size']} bytes): {r['detail'] or r['reason']}"
            )
        self.query_one("#q-detail", Static).update(text)

"""The app locked after the idle time (setting ``idle_lock_minutes``): a plain screen over
everything, showing no record, that asks for the database passphrase (PostgreSQL: the
login's password) to go on. Thin: ``linkwork.actions.database.check_passphrase`` checks it
by opening the database afresh, in a worker. A plain SQLite file has no passphrase: Enter
goes on (the screen still hides the records from a passer-by)."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input
from textual.worker import Worker

from linkwork.errors import plain_error
from tui.screens.database_passphrase import CSS
from tui.widgets.plain import Static
from tui.workers import finished_with_true


class LockScreen(Screen[None]):
    """Dismissed once the passphrase (or password) is checked."""

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", priority=True)]
    DEFAULT_CSS = CSS

    def __init__(self, protection: str, minutes: float) -> None:
        super().__init__()
        self.protection = protection
        self.minutes = minutes
        self.busy = False

    @property
    def asks(self) -> bool:
        return self.protection in ("encrypted", "server")

    def compose(self) -> ComposeResult:
        idle = f"{self.minutes:g} minute{'s' if self.minutes != 1 else ''}"
        yield Header()
        with Vertical(classes="gate-box"):
            yield Static("linkwork is locked", classes="gate-heading")
            if self.protection == "encrypted":
                ask = "Type the database passphrase to go on."
            elif self.protection == "server":
                ask = "Type your database password to go on."
            else:
                ask = "This database is not encrypted: press Enter to go on."
            yield Static(f"Locked after {idle} without use. {ask}", classes="gate-help")
            if self.asks:
                word = "Password" if self.protection == "server" else "Passphrase"
                yield Input(placeholder=word, password=True, id="lock-pass")
            else:
                yield Button("Go on (Enter)", id="lock-go", variant="primary", compact=True)
            yield Static("", id="lock-error", classes="gate-error")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Locked"
        if self.asks:
            self.query_one("#lock-pass", Input).focus()
        else:
            self.query_one("#lock-go", Button).focus()

    @on(Button.Pressed, "#lock-go")
    def _go_on(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#lock-pass")
    def _submit(self) -> None:
        if self.busy:
            return
        text = self.query_one("#lock-pass", Input).value
        if not text:
            self._error("Type it first.")
            return
        self.busy = True
        self._error("Checking...")
        self.check(text)

    @work(thread=True, exit_on_error=False, exclusive=True, group="lock")
    def check(self, text: str) -> bool:
        app: Any = self.app
        try:
            app.actions.database.check_passphrase(app.workspace, text)
        except Exception as exc:
            message = plain_error(exc)
            if message.startswith("wrong "):
                message = f"{message.split(' for ')[0].capitalize()}: try again."
            self.app.call_from_thread(self._refused, message)
            return False
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if finished_with_true(event, "lock"):
            self.dismiss(None)

    def _refused(self, message: str) -> None:
        self.busy = False
        self._error(message)
        field = self.query_one("#lock-pass", Input)
        field.value = ""
        field.focus()

    def _error(self, message: str) -> None:
        self.query_one("#lock-error", Static).update(message)

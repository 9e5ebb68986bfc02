"""The encrypted database's passphrase, asked for before the database is opened: on first
use chosen and typed twice; afterwards typed once. Thin: the action
(``linkwork.actions.database.unlock``) checks it and opens the database, in a worker.
The passphrase is never saved; Escape leaves linkwork."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input
from textual.worker import Worker

from linkwork.errors import plain_error
from tui.widgets.plain import Static
from tui.workers import finished_with_true

CSS = """
DatabasePassphraseScreen, LockScreen { align: center middle; }
.gate-box {
    width: 76; max-width: 100%; height: auto;
    border: thick $accent; padding: 0 1; background: $panel;
}
.gate-heading { text-style: bold; }
.gate-help { margin: 1 0; height: auto; }
.gate-box Input { margin: 0 0 1 0; }
.gate-box Input:focus { border: tall $accent; }
.gate-error { color: $error; text-style: bold; height: auto; }
"""


class DatabasePassphraseScreen(Screen[bool]):
    """True once the database is open; False if the link worker left (Escape)."""

    BINDINGS = [Binding("escape", "leave", "Quit linkwork")]
    DEFAULT_CSS = CSS

    def __init__(self, kind: str, where: str) -> None:
        super().__init__()
        self.new = kind == "new"
        self.where = where
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="gate-box"):
            if self.new:
                yield Static("Choose a passphrase for the new database", classes="gate-heading")
                yield Static(
                    f"The database ({self.where}) is encrypted: names and NHS numbers in it "
                    "cannot be read without this passphrase. Use at least 8 characters. It "
                    "is not saved anywhere: if it is lost, so is the database.",
                    classes="gate-help",
                )
                yield Input(placeholder="Passphrase", password=True, id="db-pass")
                yield Input(
                    placeholder="The same passphrase again", password=True, id="db-pass-again"
                )
            else:
                yield Static("Unlock the database", classes="gate-heading")
                yield Static(
                    f"The database ({self.where}) is encrypted. Type its passphrase to open it.",
                    classes="gate-help",
                )
                yield Input(placeholder="Passphrase", password=True, id="db-pass")
            yield Static("", id="db-pass-error", classes="gate-error")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "New database" if self.new else "Unlock"
        self.query_one("#db-pass", Input).focus()

    @on(Input.Submitted, "#db-pass")
    def _first(self) -> None:
        if self.new:
            self.query_one("#db-pass-again", Input).focus()
        else:
            self._submit()

    @on(Input.Submitted, "#db-pass-again")
    def _submit(self) -> None:
        if self.busy:
            return
        text = self.query_one("#db-pass", Input).value
        again = self.query_one("#db-pass-again", Input).value if self.new else None
        if not text:
            self._error("Type the passphrase first (Escape to quit).")
            return
        self.busy = True
        self._error("Opening the database..." if not self.new else "Making the database...")
        self.unlock(text, again)

    @work(thread=True, exit_on_error=False, exclusive=True, group="db-passphrase")
    def unlock(self, text: str, again: str | None) -> bool:
        app: Any = self.app
        try:
            app.actions.database.unlock(app.workspace, text, again)
        except Exception as exc:
            message = plain_error(exc)
            if message.startswith("wrong passphrase"):
                message = "Wrong passphrase: try again."
            self.app.call_from_thread(self._refused, message)
            return False
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if finished_with_true(event, "db-passphrase"):
            self.dismiss(True)

    def _refused(self, message: str) -> None:
        self.busy = False
        self._error(message)
        for field in self.query(Input):
            field.value = ""
        self.query_one("#db-pass", Input).focus()

    def _error(self, message: str) -> None:
        self.query_one("#db-pass-error", Static).update(message)

    def action_leave(self) -> None:
        self.dismiss(False)

"""Ask for the private key's passphrase, once per app session, when signing or opening a
file first needs it. The unlocked key stays in the workspace's memory until the app ends;
the passphrase is never kept or written anywhere. A wrong passphrase says so in one line
and lets the link worker try again; Escape cancels (nothing is sent or imported)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input
from textual.worker import Worker

from linkwork.errors import plain_error
from tui.widgets.plain import Static
from tui.workers import finished_with_true


class PassphraseScreen(ModalScreen[bool]):
    """True once the key is unlocked; False if the link worker cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PassphraseScreen { align: center middle; }
    #pass-box {
        width: 72; max-width: 100%; height: auto;
        border: thick $accent; padding: 0 1; background: $panel;
    }
    .pass-heading { text-style: bold; }
    #pass-help { margin: 1 0; height: auto; }
    #passphrase { margin: 0 0 1 0; }
    #pass-error { color: $error; text-style: bold; height: auto; }
    #pass-buttons { height: 1; margin: 1 0 0 0; }
    #pass-buttons Button { margin: 0 2 0 0; }
    """

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="pass-box"):
            yield Static("Passphrase for your private key", classes="pass-heading")
            yield Static(
                f"Your private key is protected by a passphrase. Type it to {self.purpose}. "
                "The key stays unlocked until you quit linkwork; the passphrase is not saved.",
                id="pass-help",
            )
            yield Input(placeholder="Passphrase", password=True, id="passphrase")
            yield Static("", id="pass-error")
            with Horizontal(id="pass-buttons"):
                yield Button("Unlock (Enter)", id="pass-ok", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="pass-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()

    @on(Input.Submitted, "#passphrase")
    @on(Button.Pressed, "#pass-ok")
    def _submit(self) -> None:
        if self.busy:
            return
        text = self.query_one("#passphrase", Input).value
        if not text:
            self._error("Type the passphrase first (Escape to cancel).")
            return
        self.busy = True
        self._error("Checking...")
        self.unlock(text)

    @work(thread=True, exit_on_error=False, exclusive=True, group="passphrase")
    def unlock(self, text: str) -> bool:
        app: Any = self.app
        try:
            app.actions.exchange.unlock_key(app.workspace, text)
        except ValueError as exc:
            wrong = "wrong passphrase" in str(exc)
            message = "Wrong passphrase: try again." if wrong else plain_error(exc)
            self.app.call_from_thread(self._wrong, message)
            return False
        except Exception as exc:
            self.app.call_from_thread(self._wrong, plain_error(exc))
            return False
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if finished_with_true(event, "passphrase"):
            self.dismiss(True)
        from tui.workers import report_worker_error

        report_worker_error(self, event)

    def _wrong(self, message: str) -> None:
        self.busy = False
        self._error(message)
        field = self.query_one("#passphrase", Input)
        field.value = ""
        field.focus()

    def _error(self, message: str) -> None:
        self.query_one("#pass-error", Static).update(message)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#pass-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)


def unlock_then(
    screen: Any, purpose: str, then: Callable[[], object], cancelled_message: str
) -> None:
    """On the event loop: ask for the passphrase; on success run ``then``; on Escape say
    ``cancelled_message`` in a notification."""

    def done(unlocked: bool | None) -> None:
        if unlocked:
            then()
        else:
            screen.app.notify(cancelled_message, severity="warning")

    screen.app.push_screen(PassphraseScreen(purpose), done)

"""The linkwork Textual app (placeholder home screen until the app issue lands)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from linkwork.settings import Settings


class LinkworkApp(App[None]):
    TITLE = "linkwork"
    SUB_TITLE = "social prescribing"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Welcome to linkwork.", id="welcome")
        yield Footer()

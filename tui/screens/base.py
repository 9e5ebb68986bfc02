"""What every linkwork screen shares: the header, the person bar, the footer, and a
helper to run an action in a thread and show its failure as a plain notification."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header

from tui.widgets.footer import KeysFooter
from tui.widgets.plain import Static

if TYPE_CHECKING:
    from linkwork.workspace import Workspace
    from tui.app import LinkworkApp
    from tui.state import PersonRef


T = TypeVar("T")


class PersonBar(Static):
    """Who the link worker is working with now, in words (never colour alone)."""

    def on_mount(self) -> None:
        self.watch(self.app, "person", self._show)

    def _show(self, person: PersonRef | None) -> None:
        if person is None:
            self.update("Person: none chosen  (F2 People to find or add one)")
            self.remove_class("chosen")
        else:
            detail = f"  {person.detail}" if person.detail else ""
            self.update(f"Person: {person.name}{detail}")
            self.add_class("chosen")


class LinkworkScreen(Screen[Any]):
    """A main section or a pushed sub-screen with the common frame."""

    TITLE_TEXT = ""

    @property
    def lw(self) -> LinkworkApp:
        return self.app  # type: ignore[return-value]

    @property
    def workspace(self) -> Workspace:
        return self.lw.workspace

    @property
    def actions(self) -> Any:
        """The application layer (``linkwork.actions``); call it from workers only."""
        return self.lw.actions

    def compose_frame_top(self) -> ComposeResult:
        yield Header()
        yield PersonBar(id="person-bar")

    def compose_frame_bottom(self) -> ComposeResult:
        from tui.mesh_sync import MeshBar

        yield MeshBar(id="mesh-bar")  # MESH's last sync and what waits (when set up)
        yield KeysFooter()  # whole keys only; the rest in the palette

    def on_mount(self) -> None:
        if self.TITLE_TEXT:
            self.sub_title = self.TITLE_TEXT

    def on_screen_resume(self) -> None:
        if self.lw.db_ready:
            self.refresh_data()

    def refresh_data(self) -> None:
        """Reload what this screen shows (override; called from the event loop)."""

    def on_worker_state_changed(self, event: Any) -> None:
        from tui.workers import report_worker_error

        report_worker_error(self, event)

    def fail(self, exc: BaseException) -> None:
        """Show a failure from a worker thread as a plain-words notification."""
        from linkwork.errors import plain_error

        severity = "warning" if isinstance(exc, ValueError | LookupError) else "error"
        self.app.call_from_thread(self.app.notify, plain_error(exc), severity=severity)

    def fetch(self, call: Callable[[], T], show: Callable[[T], object]) -> bool:
        """From a worker thread: run a blocking action ``call``, then ``show`` its result
        on the event loop; a failure becomes a plain-words notification. True if shown."""
        try:
            result = call()
        except Exception as exc:
            self.fail(exc)
            return False
        self.app.call_from_thread(show, result)
        return True


class SubScreen(LinkworkScreen):
    """A pushed screen (a form or a detail view): Escape goes back."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def action_back(self) -> None:
        self.dismiss(None)


class AsksBeforeDiscarding:
    """What every form shares (issue 22, point 1): Escape with typed work asks first
    ("Keep editing" or "Discard"), never discards and then says so. A form says what
    counts as unsaved (``unsaved_work``) and how to leave without saving (``discard``)."""

    DISCARD_QUESTION = "Discard what you have typed? It has not been saved."

    def unsaved_work(self) -> bool:
        return False

    def discard(self) -> None:
        raise NotImplementedError

    def leave_asking(self) -> None:
        """Leave now if nothing was typed, else ask first."""
        if not self.unsaved_work():
            self.discard()
            return
        from tui.screens.screening import ChoiceModal  # the one yes/no question box

        screen: Any = self
        screen.app.push_screen(
            ChoiceModal(
                self.DISCARD_QUESTION,
                [("k", "keep", "Keep editing"), ("d", "discard", "Discard")],
                default="keep",
            ),
            self._discard_chosen,
        )

    def _discard_chosen(self, choice: str | None) -> None:
        if choice == "discard":
            self.discard()


class FormScreen(AsksBeforeDiscarding, SubScreen):
    """A pushed form: Escape asks before discarding typed work."""

    BINDINGS = [Binding("escape", "back", "Cancel")]

    def action_back(self) -> None:
        self.leave_asking()

    def discard(self) -> None:
        self.dismiss(None)

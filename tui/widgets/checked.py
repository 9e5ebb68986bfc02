"""A text field checked as it changes (issue 22, point 3): the one place every form's
field says what is wrong while the link worker is still in it.

``CheckedInput`` runs its ``check`` (the record's own rule, text -> '' or the reason in
words) on every change and shows the reason in its message line at once; while there is a
problem, Tab and Enter keep the focus in the field (saying why) instead of moving on; and a
paste that would make the field longer than ``limit`` is refused whole, at once, with the
count in words (nothing is cut silently); a paste holding Tabs fills the next fields in
turn, as typing it would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events
from textual.widgets import Input

from tui.widgets.plain import Static

HOLD_KEYS = ("enter",)  # Tab: the app's priority binding asks holds() (tui.app)


class FieldMessage(Static):
    """The line under a field that says what is wrong with it ('' hides it)."""

    _said: str | None = None  # what it shows now (None: not said yet)

    def say(self, message: str) -> None:
        if message == self._said:
            return  # already showing it: no re-render and re-layout per keystroke
        self._said = message
        self.update(f"! {message}" if message else "")
        self.display = bool(message)


class CheckedInput(Input):
    """An Input checked on every change; ``problem`` holds the reason ('' when fine)."""

    def __init__(
        self,
        *args: Any,
        check: Callable[[str], str] | None = None,
        limit: int = 0,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.check = check
        self.limit = limit
        self.message_id = message  # the FieldMessage's id, else this field's id with 'err-'
        self.problem = ""
        self._found: FieldMessage | None = None
        self._show_due = False  # a _show is waiting in this field's queue

    def _message(self) -> FieldMessage | None:
        if self._found is not None and self._found.is_attached:
            return self._found  # found once, not searched for over the screen per keystroke
        wanted = self.message_id or f"err-{self.id}"
        found = self.screen.query(f"#{wanted}").results(FieldMessage)
        self._found = next(iter(found), None)
        return self._found

    def _problem_of(self, value: str) -> str:
        if self.limit and len(value) > self.limit:
            return f"Too long ({len(value):,} characters; at most {self.limit:,})."
        return self.check(value) if self.check is not None else ""

    def _show(self) -> None:
        self._show_due = False
        self.set_class(bool(self.problem), "-invalid")  # restyles only when it changes
        message = self._message()
        if message is not None:
            message.say(self.problem)

    def recheck(self) -> str:
        """Check the value now; show and return the problem."""
        self.problem = self._problem_of(self.value)
        self._show()
        return self.problem

    def _watch_value(self, value: str) -> None:
        super()._watch_value(value)
        if self.is_mounted:
            # Checked on every change; shown once the keys already waiting in this field's
            # queue are handled: a burst of keys (a fast typist, a text expander) restyles
            # the field and lays out its message line once, not once per key.
            self.problem = self._problem_of(value)
            if not self._show_due:
                self._show_due = self.call_later(self._show)

    def _on_paste(self, event: events.Paste) -> None:
        line = event.text.splitlines()[0] if event.text else ""
        if "\t" in line:
            # Text and Tab together (a paste from a table, a text expander): each piece
            # goes to the next field in turn, as if typed there, not all into this one.
            event.stop()
            event.prevent_default()
            self._spread(line.split("\t"))
            return
        kept = len(self.value) - abs(self.selection.end - self.selection.start)
        if self.limit and kept + len(line) > self.limit:
            event.stop()
            event.prevent_default()  # Input's own paste handler does not run
            room = max(self.limit - kept, 0)
            self.notify(
                f"Not pasted: {len(line):,} characters, and this field has room for "
                f"{room:,} more (at most {self.limit:,}).",
                severity="warning",
            )
            return
        # else Input's own handler (Textual calls each class's handler in turn) pastes it

    def holds(self) -> bool:
        """True (saying why) when the field has a problem, so the focus stays in it."""
        if not self.recheck():
            return False
        self.notify(f"Please fix this first: {self.problem}", severity="warning")
        return True

    async def _on_key(self, event: events.Key) -> None:
        if event.key in HOLD_KEYS and self.holds():
            event.stop()
            event.prevent_default()

    def _spread(self, pieces: list[str]) -> None:
        chain = self.screen.focus_chain
        fields = [w for w in chain[chain.index(self) :] if isinstance(w, Input)]
        last: Input = self
        for field, piece in zip(fields, pieces, strict=False):
            limit = getattr(field, "limit", 0)
            if limit and len(piece) > limit:
                self.notify(
                    f"Not pasted into the next field: {len(piece):,} characters "
                    f"(at most {limit:,}).",
                    severity="warning",
                )
                break
            field.value = piece
            last = field
        last.focus()
        last.cursor_position = len(last.value)

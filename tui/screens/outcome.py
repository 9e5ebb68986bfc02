"""The outcome form, shown when a referral is marked completed or failed: the four ONS4
wellbeing questions again (each optional, 0 to 10, checked as you type, with the
person's earlier answers beside them), which of the referral's needs were resolved (Up
and Down move between the ticks, Space ticks; typing a letter on a tick goes to the note),
and a note of as many lines as needed. Saving (Ctrl+S) changes the status and records the
outcome in one transaction; Escape with anything typed or ticked asks before discarding."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, TextArea

from linkwork.errors import plain_error
from tui.screens.base import AsksBeforeDiscarding
from tui.widgets.body import Body
from tui.widgets.plain import Label, Static
from tui.widgets.toggles import Tick


class OutcomeScreen(AsksBeforeDiscarding, ModalScreen[bool]):
    """Record the outcome while marking a referral completed or failed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    DEFAULT_CSS = """
    OutcomeScreen { align: center middle; }
    #outcome-box {
        width: 84; max-width: 100%; height: 100%; max-height: 34;
        border: thick $accent; padding: 0 1; background: $panel;
    }
    #outcome-scroll { height: 1fr; }
    /* Tall enough to show it all: no scrolling, no empty space. */
    OutcomeScreen.-tall #outcome-box { height: auto; }
    OutcomeScreen.-tall #outcome-scroll { height: auto; }
    #outcome-ons4, #outcome-needs { height: auto; }
    .outcome-heading { text-style: bold; margin: 1 0 0 0; height: auto; }
    #outcome-title { margin: 0; }
    #outcome-box .question { width: 100%; height: auto; margin: 1 0 0 0; }
    .ons4-row { height: 1; }
    .ons4-row Input { width: 10; background: $boost; }
    .ons4-row Input:focus { background: $accent 30%; text-style: bold; }
    .ons4-row .before { width: 1fr; padding: 0 0 0 2; color: $text-muted; }
    .ons4-error { color: $error; text-style: bold; height: auto; display: none; }
    .ons4-error.shown { display: block; }
    #outcome-box Tick { border: none; height: 1; padding: 0; }
    #outcome-box Tick:focus { text-style: bold reverse; }
    #outcome-note { background: $boost; height: 4; border: none; padding: 0 1; }
    #outcome-note:focus { background: $accent 30%; }
    #outcome-error { color: $error; text-style: bold; height: auto; }
    #outcome-buttons { height: 1; }
    #outcome-buttons Button { margin: 0 2 0 0; }
    """

    def __init__(self, referral: dict[str, Any], status: str, reason: str = "") -> None:
        super().__init__()
        self.referral = referral
        self.status = status
        self.reason = reason
        self.form: dict[str, Any] = {}
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="outcome-box"):
            yield Static(
                f"Outcome of referral {str(self.referral['id'])[:8]}: "
                f"{self.referral['person_name']} to {self.referral['service']} "
                f"(marking it {self.status.upper()})",
                classes="outcome-heading",
                id="outcome-title",
            )
            with Body(id="outcome-scroll"):
                yield Static("Loading the referral's needs...", id="outcome-intro", classes="help")
                yield Vertical(id="outcome-ons4")
                yield Static(
                    "Which needs were resolved? (Up/Down to move, Space to tick)",
                    classes="outcome-heading",
                )
                yield Vertical(id="outcome-needs")
                yield Static(
                    "Outcome note, in your words (Enter for a new line, Ctrl+S saves)",
                    classes="outcome-heading",
                )
                yield TextArea(
                    id="outcome-note",
                    soft_wrap=True,
                    tab_behavior="focus",
                    placeholder="e.g. housed by the council",
                )
            yield Static("", id="outcome-error")
            with Horizontal(id="outcome-buttons"):
                yield Button("Save (Ctrl+S)", id="outcome-save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="outcome-cancel", compact=True)

    def on_mount(self) -> None:
        self.load()

    def on_worker_state_changed(self, event: Any) -> None:
        from tui.workers import report_worker_error

        report_worker_error(self, event)

    @work(thread=True, exit_on_error=False, exclusive=True, group="outcome-load")
    def load(self) -> None:
        app: Any = self.app
        try:
            form = app.actions.referrals.outcome_form(app.workspace, self.referral["id"])
        except Exception as exc:
            self.app.call_from_thread(self._error, plain_error(exc))
            return
        self.app.call_from_thread(self._show, form)

    def _show(self, form: dict[str, Any]) -> None:
        self.form = form
        when = form.get("before_when")
        self.query_one("#outcome-intro", Static).update(
            "Ask the four wellbeing questions again (ONS4: 0 not at all, 10 completely); "
            "each is optional. "
            + (
                f"Before: their answers at the screening of {when}."
                if when
                else "No earlier answers recorded to compare with."
            )
        )
        rows: list[Any] = []
        for q in form["questions"]:
            key = q["key"]
            before = q["before"]
            rows.append(Label(f"{q['label']}: {q['text']}", classes="question"))
            rows.append(
                Horizontal(
                    Input(
                        placeholder="0-10",
                        id=f"ons4-{key}",
                        compact=True,
                        max_length=2,
                    ),
                    Static(
                        f"before: {before}" if before is not None else "before: not asked",
                        classes="before",
                        id=f"ons4-before-{key}",
                    ),
                    classes="ons4-row",
                )
            )
            rows.append(Static("", id=f"ons4-error-{key}", classes="ons4-error"))
        self.query_one("#outcome-ons4", Vertical).mount_all(rows)
        needs: list[Any] = [
            Tick(f"{n['code']}  {n['display']}: resolved", id=f"need-{i}", value=False)
            for i, n in enumerate(form["needs"])
        ]
        if not needs:
            needs = [Static("This referral lists no needs.", classes="help")]
        self.query_one("#outcome-needs", Vertical).mount_all(needs)
        self.call_after_refresh(self._focus_first)

    def _focus_first(self) -> None:
        fields = self.query(".ons4-row Input")
        if fields:
            fields.first().focus()

    def _error(self, message: str) -> None:
        self.query_one("#outcome-error", Static).update(f"! {message}" if message else "")

    @on(Input.Changed, ".ons4-row Input")
    def _check(self, event: Input.Changed) -> None:
        key = (event.input.id or "").removeprefix("ons4-")
        self._field_error(key, self.check_score(event.value, self._label(key)))

    def check_score(self, text: str, label: str) -> str:
        """The problem with one ONS4 answer as typed ('' when empty or a whole number
        from 0 to 10), in the action's words (``actions.referrals.ons4_score``)."""
        app: Any = self.app
        try:
            app.actions.referrals.ons4_score(text, label)
        except ValueError as exc:
            return str(exc)
        return ""

    def _field_error(self, key: str, problem: str) -> None:
        line = self.query_one(f"#ons4-error-{key}", Static)
        line.update(f"! {problem}" if problem else "")
        line.set_class(bool(problem), "shown")

    def _label(self, key: str) -> str:
        for q in self.form.get("questions", []):
            if q["key"] == key:
                return str(q["label"])
        return key

    def values(self) -> tuple[dict[str, str], list[str], str | None]:
        """(ONS4 after as typed, ids of resolved needs, the first problem or None)."""
        scores: dict[str, str] = {}
        first_problem: str | None = None
        for q in self.form.get("questions", []):
            field = self.query_one(f"#ons4-{q['key']}", Input)
            problem = self.check_score(field.value, q["label"])
            self._field_error(q["key"], problem)
            if problem and first_problem is None:
                first_problem = problem
                field.focus()
            scores[q["key"]] = field.value
        resolved = [
            n["id"]
            for i, n in enumerate(self.form.get("needs", []))
            if self.query_one(f"#need-{i}", Tick).value
        ]
        return scores, resolved, first_problem

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def on_key(self, event: Any) -> None:
        """On a tick: Up/Down move between the ticks; a letter typed goes to the note
        (never lost, and its spaces never flip a tick)."""
        focused = self.focused
        ticks = list(self.query("#outcome-needs Tick").results(Tick))
        if isinstance(focused, TextArea) and event.key == "up" and ticks:
            if focused.cursor_location[0] == 0:  # Up from the note's first line: the ticks
                event.stop()
                event.prevent_default()
                ticks[-1].focus()
            return
        if not isinstance(focused, Tick):
            return
        at = ticks.index(focused) if focused in ticks else 0
        if event.key in ("up", "down"):
            event.stop()
            event.prevent_default()
            step = -1 if event.key == "up" else 1
            if 0 <= at + step < len(ticks):
                ticks[at + step].focus()
            elif step > 0:
                self.query_one("#outcome-note", TextArea).focus()
            else:
                self.focus_previous()
        elif event.is_printable and event.key != "space" and event.character:
            event.stop()
            event.prevent_default()
            note = self.query_one("#outcome-note", TextArea)
            note.focus()
            note.move_cursor(note.document.end)
            note.insert(event.character)

    @on(Button.Pressed, "#outcome-save")
    def action_save(self) -> None:
        if not self.form:
            self._error("Still loading the referral: try again in a moment.")
            return
        if self.saving:
            return
        scores, resolved, problem = self.values()
        if problem:
            self._error(f"Nothing saved. {problem}")
            return
        self._error("")
        self.saving = True
        self.save(scores, resolved, self.query_one("#outcome-note", TextArea).text.strip())

    @work(thread=True, exit_on_error=False, exclusive=True, group="outcome-save")
    def save(self, scores: dict[str, str], resolved: list[str], note: str) -> None:
        app: Any = self.app
        try:
            app.actions.referrals.set_status(
                app.workspace,
                self.referral["id"],
                self.status,
                reason=self.reason,
                resolved=resolved,
                ons4=scores,
                note=note,
            )
        except Exception as exc:
            self.app.call_from_thread(self._failed, plain_error(exc))
            return
        self.app.call_from_thread(self._saved)

    def _failed(self, message: str) -> None:
        self.saving = False
        self._error(f"Nothing saved: {message}")

    def _saved(self) -> None:
        self.app.notify(f"Referral now {self.status.upper()}; outcome recorded.")
        self.dismiss(True)

    DISCARD_QUESTION = "Discard this outcome? What you typed and ticked has not been saved."

    def unsaved_work(self) -> bool:
        if not self.form:
            return False
        typed = any(field.value.strip() for field in self.query(".ons4-row Input").results(Input))
        ticked = any(tick.value for tick in self.query("#outcome-needs Tick").results(Tick))
        note = self.query_one("#outcome-note", TextArea).text.strip()
        return typed or ticked or bool(note)

    def discard(self) -> None:
        self.app.notify("Outcome not recorded: nothing saved.")
        self.dismiss(False)

    def action_cancel(self) -> None:
        if self.saving:
            return
        self.leave_asking()

    @on(Button.Pressed, "#outcome-cancel")
    def _cancel(self) -> None:
        self.action_cancel()

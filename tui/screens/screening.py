"""Screening: the questionnaire one section at a time, answered by keyboard; then the
suggested needs, each shown with its code and plain-English meaning, confirmed (Y) or
rejected (N) one by one. ONS4 wellbeing questions are number fields 0-10."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, RadioSet, Static

from tui.backend import plain_error
from tui.screens.base import SubScreen
from tui.widgets.body import Body
from tui.widgets.toggles import Choice

if TYPE_CHECKING:
    from tui.app import PersonRef


class ScreeningScreen(SubScreen):
    TITLE_TEXT = "Screening"
    BINDINGS = [
        Binding("ctrl+n", "next", "Next section"),
        Binding("ctrl+b", "previous", "Previous section"),
        Binding("y", "confirm", "Confirm need", show=False),
        Binding("n", "reject", "Reject need", show=False),
        Binding("escape", "back", "Leave"),
    ]

    def __init__(self, person: PersonRef) -> None:
        super().__init__()
        self.person = person
        self.sections: list[dict[str, Any]] = []
        self.answers: dict[str, str] = {}
        self.index = 0
        self.screening_id: str | None = None
        self.suggestions: list[dict[str, Any]] = []
        self.reviewing = False
        self.finishing = False

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            yield Static("Loading the questionnaire...", id="scr-title", classes="section-title")
            yield Static("", id="scr-help", classes="help")
            yield Body(id="scr-questions")
            table: DataTable[str] = DataTable(id="scr-suggestions", cursor_type="row")
            table.add_columns("Decision", "Code", "Meaning", "Need area", "Because")
            yield table
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#scr-suggestions").display = False
        self.load()

    @work(thread=True, exit_on_error=False, group="questionnaire")
    def load(self) -> None:
        self.fetch(self.backend.questionnaire_sections, self._loaded)

    def _loaded(self, sections: list[dict[str, Any]]) -> None:
        self.sections = sections
        self.show_section(0)

    # -- one section at a time ------------------------------------------------------------
    def show_section(self, index: int) -> None:
        self.index = index
        section = self.sections[index]
        self.query_one("#scr-title", Static).update(
            f"Section {index + 1} of {len(self.sections)}: {section['title']}"
        )
        intro = f"{section['intro']} " if section.get("intro") else ""
        self.query_one("#scr-help", Static).update(
            f"{intro}Up/Down to choose an answer, Tab for the next question, "
            "Ctrl+N next section, Ctrl+B back. Unanswered questions are fine."
        )
        box = self.query_one("#scr-questions", Body)
        box.remove_children()
        widgets: list[Any] = []
        for n, q in enumerate(section["questions"]):
            q["widget"] = f"q-{index}-{n}"
            widgets.append(Label(q["text"], classes="section-title"))
            if q["kind"] == "scale":
                widgets.append(
                    Input(
                        value=self.answers.get(q["id"], ""),
                        placeholder=f"{q.get('low', 0)}-{q.get('high', 10)} (blank if not asked)",
                        type="integer",
                        id=q["widget"],
                        classes="scale",
                        compact=True,
                    )
                )
            else:
                buttons = [
                    Choice(label, value=self.answers.get(q["id"]) == code, name=code)
                    for code, label in q["options"]
                ]
                widgets.append(RadioSet(*buttons, id=q["widget"]))
        mounting = box.mount(*widgets)
        first = next((w for w in widgets if w.can_focus), None)

        async def focus_first() -> None:
            await mounting
            if first is not None:
                first.focus()

        self.run_worker(focus_first(), group="focus", exclusive=True)

    def collect(self) -> str:
        """Keep this section's answers; '' or a problem in words."""
        for q in self.sections[self.index]["questions"]:
            widget = self.query_one(f"#{q['widget']}")
            if isinstance(widget, Input):
                text = widget.value.strip()
                if not text:
                    self.answers.pop(q["id"], None)
                    continue
                low, high = q.get("low", 0), q.get("high", 10)
                if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
                    widget.focus()
                    return f"Answer {q['text']!r} with a number from {low} to {high}."
                self.answers[q["id"]] = text
            elif isinstance(widget, RadioSet) and widget.pressed_button is not None:
                self.answers[q["id"]] = str(widget.pressed_button.name)
        return ""

    def action_next(self) -> None:
        if self.reviewing or self.finishing or not self.sections:
            return
        problem = self.collect()
        if problem:
            self.notify(problem, severity="warning")
            return
        if self.index + 1 < len(self.sections):
            self.show_section(self.index + 1)
        else:
            self.finishing = True  # one screening per questionnaire, however often Ctrl+N
            self.finish()

    def action_previous(self) -> None:
        if self.reviewing or self.index == 0:
            return
        if not self.collect():
            self.show_section(self.index - 1)

    # -- suggestions ------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, exclusive=True, group="finish")
    def finish(self) -> None:
        try:
            screening_id, suggestions = self.backend.complete_screening(
                self.person.id, self.answers
            )
        except Exception as exc:
            self.finishing = False
            self.app.call_from_thread(self.notify, plain_error(exc), severity="error")
            return
        self.app.call_from_thread(self._review, screening_id, suggestions)

    def _review(self, screening_id: str, suggestions: list[dict[str, Any]]) -> None:
        self.reviewing = True
        self.screening_id = screening_id
        self.suggestions = suggestions
        self.query_one("#scr-questions").display = False
        self.query_one("#scr-title", Static).update(
            f"Suggested needs for {self.person.name}: {len(suggestions)}"
        )
        self.query_one("#scr-help", Static).update(
            "Nothing is recorded until you confirm it. Up/Down to choose, "
            "Y to confirm, N to reject, Escape when done."
        )
        self._draw()
        table = self.query_one("#scr-suggestions", DataTable)
        table.display = True
        table.focus()

    def _draw(self) -> None:
        table = self.query_one("#scr-suggestions", DataTable)
        row = table.cursor_row
        table.clear()
        for s in self.suggestions:
            decision = {"confirmed": "[x] CONFIRMED", "rejected": "[-] rejected"}.get(
                s["state"], "[ ] to decide"
            )
            table.add_row(decision, s["code"], s["display"], s["domain"], s["because"])
        if not self.suggestions:
            table.add_row("-", "", "No needs suggested by these answers.", "", "")
        if self.suggestions:
            table.move_cursor(row=max(0, min(row, len(self.suggestions) - 1)))

    def _current(self) -> dict[str, Any] | None:
        if not self.reviewing or not self.suggestions:
            return None
        row = self.query_one("#scr-suggestions", DataTable).cursor_row
        return self.suggestions[max(0, min(row, len(self.suggestions) - 1))]

    def action_confirm(self) -> None:
        s = self._current()
        if s is not None:
            self.decide(s, True)

    def action_reject(self) -> None:
        s = self._current()
        if s is not None:
            self.decide(s, False)

    @work(thread=True, exit_on_error=False, group="decide")
    def decide(self, suggestion: dict[str, Any], confirm: bool) -> None:
        try:
            self.backend.decide_suggestion(self.screening_id or "", suggestion["code"], confirm)
        except Exception as exc:
            self.fail(exc)
            return
        suggestion["state"] = "confirmed" if confirm else "rejected"
        word = "Confirmed" if confirm else "Rejected"
        self.app.call_from_thread(self._decided, f"{word} {suggestion['code']}.")

    def _decided(self, message: str) -> None:
        self.notify(message)
        table = self.query_one("#scr-suggestions", DataTable)
        row = table.cursor_row
        self._draw()
        if row + 1 < len(self.suggestions):
            table.move_cursor(row=row + 1)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

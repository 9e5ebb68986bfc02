"""Screening: the questionnaire one section at a time, answered by keyboard; then the
suggested needs, each shown with its code and plain-English meaning, confirmed (Y),
rejected (N) or confirmed as a different code (C, a code picker) one by one. ONS4
wellbeing questions are number fields 0-10.

A conversation gets interrupted: leaving mid-way (Escape) asks to save progress or
discard; switching to another screen saves progress. Opening the screening of a person
with one saved offers to resume it at the section where they stopped, answers filled."""

from __future__ import annotations

import threading
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, RadioSet
from textual.widgets.option_list import Option

from linkwork.errors import plain_error
from linkwork.words import counted
from tui.screens.base import SubScreen
from tui.widgets.body import Body
from tui.widgets.checked import CheckedInput, FieldMessage
from tui.widgets.fit_table import WHOLE, Column, FitTable
from tui.widgets.plain import DataTable, Label, Static
from tui.widgets.toggles import Choice

if TYPE_CHECKING:
    from tui.state import PersonRef


# The suggestions' columns (tui.widgets.fit_table): the decision and the code never cut,
# the meaning before the reason (said whole under the table when it is cut).
SUGGESTIONS: list[Column] = [
    ("Decision", 0, WHOLE),
    ("Code", 0, WHOLE),
    ("Meaning", 0, 14),
    ("Need area", 0, 10),
    ("Because", None, 12),
]


class ChoiceModal(ModalScreen[str]):
    """A question with a few answers, each a button and a letter key; Escape gives
    ``default``."""

    DEFAULT_CSS = """
    ChoiceModal {
        align: center middle;
    }
    #choice-box {
        width: 70;
        max-width: 100%;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    #choice-question {
        height: auto;
        margin: 0 0 1 0;
    }
    #choice-buttons {
        height: auto;
    }
    #choice-buttons Button {
        min-width: 10;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Back")]

    def __init__(self, question: str, choices: list[tuple[str, str, str]], default: str):
        super().__init__()
        self.question = question
        self.choices = choices  # (key, value, label)
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-box"):
            yield Static(self.question, id="choice-question")
            with Horizontal(id="choice-buttons"):
                for key, value, label in self.choices:
                    yield Button(f"{label} ({key.upper()})", id=f"choice-{value}")

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    def on_key(self, event: Any) -> None:
        for key, value, _label in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(value)
                return

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(self.default)


class SectionPicker(ModalScreen[int]):
    """Go to a section (Ctrl+G): every section with how far it has got, in words
    ('2 of 3 answered', 'skipped: not asked', 'not started'); the current one marked
    '(here)'. Enter goes there, Escape stays (dismisses with -1)."""

    DEFAULT_CSS = """
    SectionPicker {
        align: center middle;
    }
    #sections-box {
        width: 70;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    #sections-list {
        height: auto;
        max-height: 24;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Back")]

    def __init__(self, lines: list[str], current: int) -> None:
        super().__init__()
        self.lines = lines
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="sections-box"):
            yield Static("Go to a section: Up/Down, then Enter (Escape stays here)")
            yield OptionList(
                *(Option(Text(line), id=str(i)) for i, line in enumerate(self.lines)),
                id="sections-list",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = self.current
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(-1)


def section_state(section: dict[str, Any], answers: dict[str, str], skipped: bool) -> str:
    """How far a section has got, in words."""
    if skipped:
        return "skipped: not asked"
    total = len(section["questions"])
    done = sum(1 for q in section["questions"] if q["id"] in answers)
    if not done:
        return "not started"
    return "all answered" if done == total else f"{done} of {total} answered"


def resume_section(sections: list[dict[str, Any]], answers: dict[str, str]) -> int:
    """Where a saved screening stopped: the last section with an answer (0 if none)."""
    answered = [
        i
        for i, section in enumerate(sections)
        if any(q["id"] in answers for q in section["questions"])
    ]
    return answered[-1] if answered else 0


def scale_problem(question: dict[str, Any], text: str) -> str:
    """'' if ``text`` is a fine answer to a scale question (blank: not asked), else why not."""
    text = text.strip()
    low, high = question.get("low", 0), question.get("high", 10)
    if not text or (text.lstrip("-").isdigit() and low <= int(text) <= high):
        return ""
    return f"Answer {question['text']!r} with a number from {low} to {high}."


def suggestion_rows(suggestions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A completed screening's suggestions as the review table shows them: code,
    display, domain, the questions behind each in words, and the decision so far."""
    rows = []
    for s in suggestions:
        because = list(s.get("because", []))
        if s.get("existing_need_id"):
            because.insert(0, "(already an active need)")
        rows.append(
            {
                "code": s["code"],
                "display": s["display"],
                "domain": s["domain"],
                "because": "; ".join(because),
                "state": s.get("state", "pending"),
            }
        )
    return rows


SECTION_HELP = (
    "Up/Down moves, Enter or Space chooses, Tab next question; Ctrl+N next section, "
    "Ctrl+B back, Ctrl+G go to a section, Ctrl+O skip one not raised. Unanswered: not asked."
)


class ScreeningScreen(SubScreen):
    TITLE_TEXT = "Screening"
    BINDINGS = [
        Binding("ctrl+n", "next", "Next section"),
        Binding("ctrl+b", "previous", "Previous section"),
        Binding("ctrl+g", "go_to", "Go to section"),
        Binding("ctrl+o", "skip", "Skip section (not asked)"),
        Binding("y", "confirm", "Confirm"),
        Binding("n", "reject", "Reject"),
        Binding("c", "swap", "Other code"),
        Binding("escape", "back", "Leave"),
    ]
    QUESTION_ACTIONS = {"next", "previous", "go_to", "skip"}
    REVIEW_ACTIONS = {"confirm", "reject", "swap"}

    def __init__(self, person: PersonRef) -> None:
        super().__init__()
        self.person = person
        self.sections: list[dict[str, Any]] = []
        self.answers: dict[str, str] = {}
        self.index = 0
        self.skipped: set[int] = set()  # sections skipped: their questions not asked
        self.saved_skipped: set[str] = set()  # the saved screening's skipped sections (keys)
        self.screening_id: str | None = None
        self.suggestions: list[dict[str, Any]] = []
        self.reviewing = False
        self.finishing = False
        self.progress_id: str | None = None  # the saved, in-progress screening
        self.saved: dict[str, str] = {}  # the answers as last saved
        self.leaving = False
        self.asking = False
        self._save_lock = threading.Lock()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Questions and decisions have their own keys; only the current ones show."""
        if action in self.QUESTION_ACTIONS:
            return not self.reviewing
        if action in self.REVIEW_ACTIONS:
            return self.reviewing
        return True

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            yield Static("Loading the questionnaire...", id="scr-title", classes="section-title")
            yield Static("", id="scr-help", classes="help")
            yield Body(id="scr-questions")
            yield FitTable(id="scr-suggestions", cursor_type="row")
            yield Static("", id="scr-because", classes="help")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#scr-suggestions").display = False
        self.query_one("#scr-because").display = False
        self.load()

    @work(thread=True, exit_on_error=False, group="questionnaire")
    def load(self) -> None:
        self.fetch(
            lambda: self.actions.screening.open_screening(self.workspace, self.person.id),
            self._loaded,
        )

    def _loaded(self, form: dict[str, Any]) -> None:
        self.sections = form["sections"]
        progress = form["in_progress"]
        if progress is None:
            self.show_section(0)
            return
        self.progress_id = progress["id"]
        self.saved = dict(progress["answers"])
        self.saved_skipped = set(progress.get("skipped", []))
        where = resume_section(self.sections, self.saved)
        title = self.sections[where]["title"]
        started = progress["started_at"].strftime("%d %b %Y %H:%M")
        self.query_one("#scr-title", Static).update(f"A screening of {self.person.name} is saved")
        self.asking = True
        self.app.push_screen(
            ChoiceModal(
                f"{self.person.name} has a screening saved on {started} with "
                f"{counted(len(self.saved), 'question')} answered. Resume it at section "
                f"{where + 1} "
                f"({title}) with the answers filled, or start again (the saved answers are "
                "replaced when you save or finish)?",
                [("r", "resume", "Resume"), ("a", "again", "Start again")],
                default="resume",
            ),
            self._resume_chosen,
        )

    def _resume_chosen(self, choice: str | None) -> None:
        self.asking = False
        if choice == "again":
            self.answers = {}
            self.show_section(0)
            return
        self.answers = dict(self.saved)
        self.skipped = {
            n for n, section in enumerate(self.sections) if section["key"] in self.saved_skipped
        }
        self.show_section(resume_section(self.sections, self.answers))
        self.notify(f"Resumed the saved screening: {len(self.answers)} answers filled.")

    # -- one section at a time ------------------------------------------------------------
    def show_section(self, index: int) -> None:
        self.index = index
        section = self.sections[index]
        skipped = " (skipped: not asked)" if index in self.skipped else ""
        self.query_one("#scr-title", Static).update(
            f"Section {index + 1} of {len(self.sections)}: {section['title']}{skipped}"
        )
        intro = f"{section['intro']} " if section.get("intro") else ""
        self.query_one("#scr-help", Static).update(f"{intro}{SECTION_HELP}")
        box = self.query_one("#scr-questions", Body)
        box.remove_children()
        widgets: list[Any] = []
        for n, q in enumerate(section["questions"]):
            q["widget"] = f"q-{index}-{n}"
            widgets.append(Label(q["text"], classes="section-title"))
            if q["kind"] == "scale":
                widgets.append(
                    CheckedInput(
                        value=self.answers.get(q["id"], ""),
                        placeholder=f"{q.get('low', 0)}-{q.get('high', 10)} (blank if not asked)",
                        type="integer",
                        id=q["widget"],
                        classes="scale",
                        compact=True,
                        check=partial(scale_problem, q),
                        limit=4,
                    )
                )
                widgets.append(FieldMessage("", id=f"err-{q['widget']}", classes="form-error"))
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
                # The section starts at its top, so the first question's words show above
                # its answers (scrolling to the focused answers could hide them).
                first.focus(scroll_visible=False)
                box.scroll_home(animate=False)

        self.run_worker(focus_first(), group="focus", exclusive=True)

    def collect(self, quiet: bool = False) -> str:
        """Keep this section's answers; '' or a problem in words (``quiet``: without moving
        the focus to the field with the problem)."""
        for q in self.sections[self.index]["questions"]:
            found = self.query(f"#{q.get('widget', '-')}")
            if not found:
                continue  # the section's widgets are still being mounted
            widget = found.first()
            if isinstance(widget, Input):
                text = widget.value.strip()
                if not text:
                    self.answers.pop(q["id"], None)
                    continue
                problem = scale_problem(q, text)
                if problem:
                    if not quiet:
                        widget.focus()
                    return problem
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

    def action_go_to(self) -> None:
        """Ctrl+G: the list of sections, how far each has got; Enter goes there."""
        if self.reviewing or self.finishing or not self.sections:
            return
        problem = self.collect()
        if problem:
            self.notify(problem, severity="warning")
            return
        lines = [
            f"{i + 1}. {section['title']}: "
            f"{section_state(section, self.answers, i in self.skipped)}"
            f"{'  (here)' if i == self.index else ''}"
            for i, section in enumerate(self.sections)
        ]
        self.asking = True
        self.app.push_screen(SectionPicker(lines, self.index), self._gone_to)

    def _gone_to(self, index: int | None) -> None:
        self.asking = False
        if index is not None and 0 <= index < len(self.sections) and index != self.index:
            self.show_section(index)

    def action_skip(self) -> None:
        """Ctrl+O: the person did not raise this domain: its questions are not asked (any
        answer given here is dropped, so nothing reads as 'no need'), and on to the next."""
        if self.reviewing or self.finishing or not self.sections:
            return
        section = self.sections[self.index]
        for q in section["questions"]:
            self.answers.pop(q["id"], None)
        self.skipped.add(self.index)
        self.notify(f"Skipped {section['title']}: recorded as not asked.")
        if self.index + 1 < len(self.sections):
            self.show_section(self.index + 1)
        else:
            self.finishing = True
            self.finish()

    # -- suggestions ------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, exclusive=True, group="finish")
    def finish(self) -> None:
        try:
            with self._save_lock:
                done = self.actions.screening.complete_screening(
                    self.workspace,
                    self.person.id,
                    self.answers,
                    screening_ref=self.progress_id,
                    skipped=self.skipped_keys(),
                )
        except Exception as exc:
            self.finishing = False
            self.app.call_from_thread(self.notify, plain_error(exc), severity="error")
            return
        self.app.call_from_thread(self._review, done["id"], suggestion_rows(done["suggestions"]))

    def _review(self, screening_id: str, suggestions: list[dict[str, Any]]) -> None:
        self.reviewing = True
        self.progress_id = None
        self.refresh_bindings()
        self.screening_id = screening_id
        self.suggestions = suggestions
        self.query_one("#scr-questions").display = False
        self.query_one("#scr-title", Static).update(
            f"Suggested needs for {self.person.name}: {len(suggestions)}"
        )
        self.query_one("#scr-help", Static).update(
            "Nothing is recorded until you confirm it. Up/Down move between the suggestions; "
            "Y confirms, N rejects, C confirms a different code instead; Escape when done."
        )
        self._draw()
        table = self.query_one("#scr-suggestions", DataTable)
        table.display = True
        table.focus()

    def _draw(self) -> None:
        table = self.query_one("#scr-suggestions", FitTable)
        rows: list[tuple[str, ...]] = []
        for s in self.suggestions:
            decision = {
                "confirmed": "[x] CONFIRMED",
                "edited": f"[x] CONFIRMED as {s.get('confirmed_as', '')}",
                "rejected": "[-] rejected",
            }.get(s["state"], "[ ] to decide")
            code, display = s["code"], s["display"]
            if s["state"] == "edited":  # the row shows what was recorded, and what it replaced
                code = f"{s.get('confirmed_as', '')} (not {s['code']})"
                display = s.get("confirmed_display") or display
            # A plain table: "[x]" is shown as it is, never read as a style tag.
            rows.append(tuple(str(c) for c in (decision, code, display, s["domain"], s["because"])))
        if not self.suggestions:
            rows.append(("-", "", "No needs suggested by these answers.", "", ""))
        table.show((SUGGESTIONS, rows))  # keeps the cursor's row
        self._because()

    @on(FitTable.Fitted, "#scr-suggestions")
    @on(DataTable.RowHighlighted, "#scr-suggestions")
    def _because(self) -> None:
        """The highlighted suggestion in full while the table has to cut its text short
        (the decision and the code are never cut)."""
        table = self.query_one("#scr-suggestions", FitTable)
        line = self.query_one("#scr-because", Static)
        row = table.cursor_row
        line.display = bool(table.cut) and table.display and 0 <= row < len(self.suggestions)
        if line.display:
            s = self.suggestions[row]
            code, display = s["code"], s["display"]
            if s["state"] == "edited":  # what was recorded instead
                code = s.get("confirmed_as") or code
                display = s.get("confirmed_display") or display
            line.update(f"{code} {display} ({s['domain']}). Because: {s['because']}")

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

    def action_swap(self) -> None:
        s = self._current()
        if s is None:
            return
        if s["state"] != "pending":
            self.notify(f"{s['code']} is already decided.", severity="warning")
            return
        from tui.screens.code_picker import CodePickerScreen

        self.app.push_screen(
            CodePickerScreen(
                f"Confirm a different code instead of {s['code']} {s['display']}",
                str(s["domain"]).replace("_", " "),
            ),
            lambda match: self._swapped(s, match),
        )

    def _swapped(self, suggestion: dict[str, Any], match: dict[str, Any] | None) -> None:
        if match is not None:
            self.decide(suggestion, True, match["code"], str(match.get("display") or ""))

    @work(thread=True, exit_on_error=False, group="decide")
    def decide(
        self, suggestion: dict[str, Any], confirm: bool, use_code: str = "", shown_as: str = ""
    ) -> None:
        try:
            result = self.actions.needs.decide_suggestion(
                self.workspace,
                self.screening_id or "",
                suggestion["code"],
                confirm=confirm,
                use_code=use_code or None,
            )
        except Exception as exc:
            self.fail(exc)
            return
        decided = result["decided"] or {}
        suggestion["state"] = decided.get("state", "confirmed" if confirm else "rejected")
        what = f"{suggestion['code']} {suggestion['display']}"
        message = f"{'Confirmed' if confirm else 'Rejected'} {what} for {self.person.name}."
        if suggestion["state"] == "edited":
            need = result.get("need") or {}
            suggestion["confirmed_as"] = decided["confirmed_as"]
            suggestion["confirmed_display"] = need.get("display") or shown_as
            message = (
                f"Recorded {decided['confirmed_as']} {suggestion['confirmed_display']} for "
                f"{self.person.name} instead of the suggested {what}."
            )
        self.app.call_from_thread(self._decided, message)

    def _decided(self, message: str) -> None:
        self.notify(message)
        table = self.query_one("#scr-suggestions", DataTable)
        row = table.cursor_row
        self._draw()
        if row + 1 < len(self.suggestions):
            table.move_cursor(row=row + 1)

    # -- leaving mid-way -------------------------------------------------------------------
    def _unsaved(self, quiet: bool = True) -> tuple[bool, str]:
        """(answers differ from the saved ones, a problem in this section in words)."""
        if self.reviewing or self.finishing or not self.sections:
            return False, ""
        problem = self.collect(quiet=quiet)
        return bool(self.answers) and self.answers != self.saved, problem

    def action_back(self) -> None:
        changed, problem = self._unsaved(quiet=False)
        if not changed and not problem:
            if self.progress_id and not self.reviewing:
                self.notify("The screening stays saved: S on the person's record resumes it.")
            self._leave()
            return
        count = counted(len(self.answers), "question")
        question = f"Leave the screening of {self.person.name}? {count} answered."
        choices = [("s", "save", "Save progress"), ("d", "discard", "Discard")]
        if problem:
            question += f" Not saved as it is: {problem}"
            choices = [("d", "discard", "Discard")]
        self.asking = True
        self.app.push_screen(
            ChoiceModal(question, [*choices, ("k", "stay", "Keep screening")], default="stay"),
            self._leave_chosen,
        )

    def _leave_chosen(self, choice: str | None) -> None:
        self.asking = False
        if choice == "save":
            self.save_progress(then_leave=True)
        elif choice == "discard":
            kept = "; the screening saved before is kept" if self.progress_id else ""
            self.notify(f"Screening answers discarded{kept}.")
            self._leave()

    def _leave(self) -> None:
        self.leaving = True
        self.dismiss(None)

    def on_screen_suspend(self) -> None:
        """Switching to another screen (F1-F6, the palette) saves the answers so far."""
        if self.leaving or self.asking:
            return
        changed, problem = self._unsaved()
        if changed and not problem:
            self.save_progress(then_leave=False)

    def on_unmount(self) -> None:
        """Quitting the app mid-way (Ctrl+Q) still keeps the answers: one quick save here,
        as the app closes (no worker can outlive it)."""
        if self.leaving or self.reviewing or self.finishing or not self.sections:
            return
        with suppress(Exception):  # the section's widgets may be gone: keep what was kept
            self.collect(quiet=True)
        if not self.answers or self.answers == self.saved:
            return
        answers = dict(self.answers)
        with suppress(Exception), self._save_lock:  # the app is closing: nobody to tell
            self.progress_id = self._save(answers)
            self.saved = answers

    def skipped_keys(self) -> list[str]:
        """The sections skipped (Ctrl+O), as the record names them (their keys)."""
        return [self.sections[n]["key"] for n in sorted(self.skipped) if n < len(self.sections)]

    def _save(self, answers: dict[str, str]) -> str:
        """Save the answers so far (blocking); the in-progress screening's id."""
        saved = self.actions.screening.save_screening_progress(
            self.workspace,
            self.person.id,
            answers,
            screening_ref=self.progress_id,
            skipped=self.skipped_keys(),
        )
        return str(saved["id"])

    @work(thread=True, exit_on_error=False, group="save-progress")
    def save_progress(self, then_leave: bool) -> None:
        answers = dict(self.answers)
        try:
            with self._save_lock:  # one save at a time: the first makes the screening
                self.progress_id = self._save(answers)
        except Exception as exc:
            self.fail(exc)
            return
        self.saved = answers
        self.app.call_from_thread(self._progress_saved, len(answers), then_leave)

    def _progress_saved(self, count: int, then_leave: bool) -> None:
        self.notify(
            f"Screening progress saved ({count} answers). S on {self.person.name}'s record "
            "resumes it."
        )
        if then_leave and self.is_attached:
            self._leave()

    # -- answers kept as they are given (so nothing is lost however the app is left) --------
    def _question_of(self, widget_id: str | None) -> dict[str, Any] | None:
        if not self.sections or self.reviewing:
            return None
        for q in self.sections[self.index]["questions"]:
            if q.get("widget") == widget_id:
                return q
        return None

    @on(RadioSet.Changed)
    def _chosen(self, event: RadioSet.Changed) -> None:
        q = self._question_of(event.radio_set.id)
        if q is not None and event.pressed is not None:
            self.answers[q["id"]] = str(event.pressed.name)
            self.skipped.discard(self.index)  # answered after all: no longer skipped

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        q = self._question_of(event.input.id)
        if q is None:
            return
        text = event.value.strip()
        if not text:
            self.answers.pop(q["id"], None)
        elif text.isdigit() and q.get("low", 0) <= int(text) <= q.get("high", 10):
            self.answers[q["id"]] = text
            self.skipped.discard(self.index)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

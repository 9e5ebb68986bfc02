"""A small form for the casework actions (book a contact, add a goal, write a note, close
an episode, make the plan...): one labelled line per field, Enter moves to the next field
and saves on the last, Ctrl+S saves, Escape cancels (asking first when something was
typed). Each field is a ``CheckedInput`` (issue 22, points 1 and 3): checked by the
record's own rule as it changes (a date that does not exist is said to be one at once),
the focus kept on a wrong field, an over-long paste refused whole. The form only
collects text: the screen that opened it calls the action, and a mistake comes back in
words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from tui.screens.base import AsksBeforeDiscarding
from tui.widgets.checked import CheckedInput, FieldMessage
from tui.widgets.plain import Label, Static

# A field's check: (rule name, text, saving) -> '' or the reason in words.
Check = Callable[..., str]


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    hint: str = ""  # shown in the empty field: the format, or the choices
    value: str = ""
    rule: str = ""  # the record's rule for it (linkwork.actions.casework.FIELD_RULES)


def no_check(rule: str, text: str, *, saving: bool = False) -> str:
    return ""


class CaseworkForm(AsksBeforeDiscarding, ModalScreen[dict[str, str] | None]):
    """Returns {key: text typed} on save, None on cancel."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]
    DEFAULT_CSS = """
    CaseworkForm { align: center middle; }
    #cw-box {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; padding: 0 1; background: $panel;
    }
    #cw-box .cw-field { height: auto; margin: 0 0 1 0; }
    #cw-box .cw-row { height: 1; }
    #cw-box .cw-label { width: 20; text-style: bold; }
    #cw-box Input { width: 1fr; height: 1; border: none; padding: 0 1; background: $boost; }
    #cw-box Input:focus { background: $accent 40%; text-style: bold; }
    #cw-box Input.-invalid { text-style: bold underline; }
    #cw-box .cw-error { color: $error; text-style: bold; height: auto; margin: 0 0 0 20; }
    #cw-title { text-style: bold; margin: 0 0 1 0; }
    #cw-intro { color: $text-muted; height: auto; margin: 0 0 1 0; }
    #cw-buttons { height: 1; }
    #cw-buttons Button { height: 1; min-width: 14; border: none; margin: 0 1 0 0; }
    """

    def __init__(
        self,
        title: str,
        fields: list[Field],
        intro: str = "",
        *,
        check: Check = no_check,
        limit: Callable[[str], int] = lambda _rule: 0,
    ) -> None:
        super().__init__()
        self.form_title = title
        self.fields = fields
        self.intro = intro
        self.check = check
        self.limit = limit
        self.initial: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="cw-box"):
            yield Label(self.form_title, id="cw-title")
            if self.intro:
                yield Static(self.intro, id="cw-intro")
            for field in self.fields:
                with Vertical(classes="cw-field"):  # the field, then what is wrong with it
                    with Horizontal(classes="cw-row"):
                        yield Label(field.label, classes="cw-label")
                        yield CheckedInput(
                            value=field.value,
                            placeholder=field.hint,
                            id=f"cw-{field.key}",
                            check=partial(self.check, field.rule),
                            limit=self.limit(field.rule),
                            message=f"cw-err-{field.key}",
                        )
                    yield FieldMessage("", id=f"cw-err-{field.key}", classes="cw-error")
            with Horizontal(id="cw-buttons"):
                yield Button("Save (Ctrl+S)", id="cw-save", variant="primary")
                yield Button("Cancel (Esc)", id="cw-cancel")

    def on_mount(self) -> None:
        for message in self.query(FieldMessage).results(FieldMessage):
            message.say("")
        self.initial = self.values()
        if self.fields:
            self.field(self.fields[0].key).focus()

    def field(self, key: str) -> CheckedInput:
        return self.query_one(f"#cw-{key}", CheckedInput)

    def values(self) -> dict[str, str]:
        return {f.key: self.field(f.key).value for f in self.fields}

    def unsaved_work(self) -> bool:
        return self.values() != self.initial

    def discard(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        keys = [f"cw-{f.key}" for f in self.fields]
        at = keys.index(event.input.id) if event.input.id in keys else len(keys) - 1
        if at + 1 < len(keys):
            self.query_one(f"#{keys[at + 1]}", Input).focus()
        else:
            self.action_save()

    @on(Button.Pressed, "#cw-save")
    def action_save(self) -> None:
        """Save when every field is right; else say what is wrong and go to the first."""
        for spec in self.fields:
            box = self.field(spec.key)
            problem = box.recheck() or self.check(spec.rule, box.value, saving=True)
            if problem:
                for message in self.query(f"#cw-err-{spec.key}").results(FieldMessage):
                    message.say(problem)
                box.focus()
                self.notify(f"{spec.label}: {problem}", severity="warning")
                return
        self.dismiss(self.values())

    @on(Button.Pressed, "#cw-cancel")
    def action_cancel(self) -> None:
        self.leave_asking()

"""A small form for the casework actions (book a contact, add a goal, write a note, close
an episode, make the plan...): one labelled line per field, Enter moves to the next field
and saves on the last, Ctrl+S saves, Escape cancels. The form only collects text: the
screen that opened it calls the action, and a mistake comes back in words."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from tui.widgets.plain import Label, Static


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    hint: str = ""  # shown in the empty field: the format, or the choices
    value: str = ""


class CaseworkForm(ModalScreen[dict[str, str] | None]):
    """Returns {key: text typed} on save, None on cancel."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]
    DEFAULT_CSS = """
    CaseworkForm { align: center middle; }
    #cw-box {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; padding: 0 1; background: $panel;
    }
    #cw-box .cw-row { height: 1; margin: 0 0 1 0; }
    #cw-box .cw-label { width: 20; text-style: bold; }
    #cw-box Input { width: 1fr; height: 1; border: none; padding: 0 1; background: $boost; }
    #cw-box Input:focus { background: $accent 40%; text-style: bold; }
    #cw-title { text-style: bold; margin: 0 0 1 0; }
    #cw-intro { color: $text-muted; height: auto; margin: 0 0 1 0; }
    #cw-buttons { height: 1; }
    #cw-buttons Button { height: 1; min-width: 14; border: none; margin: 0 1 0 0; }
    """

    def __init__(self, title: str, fields: list[Field], intro: str = "") -> None:
        super().__init__()
        self.form_title = title
        self.fields = fields
        self.intro = intro

    def compose(self) -> ComposeResult:
        with Vertical(id="cw-box"):
            yield Label(self.form_title, id="cw-title")
            if self.intro:
                yield Static(self.intro, id="cw-intro")
            for field in self.fields:
                with Horizontal(classes="cw-row"):
                    yield Label(field.label, classes="cw-label")
                    yield Input(value=field.value, placeholder=field.hint, id=f"cw-{field.key}")
            with Horizontal(id="cw-buttons"):
                yield Button("Save (Ctrl+S)", id="cw-save", variant="primary")
                yield Button("Cancel (Esc)", id="cw-cancel")

    def on_mount(self) -> None:
        if self.fields:
            self.query_one(f"#cw-{self.fields[0].key}", Input).focus()

    def values(self) -> dict[str, str]:
        return {f.key: self.query_one(f"#cw-{f.key}", Input).value for f in self.fields}

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
        self.dismiss(self.values())

    @on(Button.Pressed, "#cw-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

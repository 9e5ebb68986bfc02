"""People: fuzzy find by name, NHS number or postcode; add a person, or edit one, with
inline checks (one form for both); equality questions optional and explained."""

from __future__ import annotations

from contextlib import suppress
from functools import partial
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select
from textual.worker import get_current_worker

from directory.untrusted import visible_controls
from linkwork.errors import plain_error
from linkwork.words import counted
from tui.screens.base import FormScreen, LinkworkScreen
from tui.state import PersonRef, person_ref
from tui.views import person_row
from tui.widgets.body import Body
from tui.widgets.checked import CheckedInput, FieldMessage
from tui.widgets.plain import DataTable, Label, Static
from tui.widgets.toggles import JumpSelect

# The form's field keys that are named differently on the record.
RECORD_NAMES = {"given": "given_name", "family": "family_name"}


def form_values(record: dict[str, Any]) -> dict[str, Any]:
    """A person's details (``actions.people.person_form``) as the form's field values."""
    values: dict[str, Any] = {}
    for key, name in ((k, RECORD_NAMES.get(k, k)) for k in record.keys() | RECORD_NAMES.keys()):
        if name not in record:
            continue
        value = record[name]
        if hasattr(value, "strftime"):
            value = value.strftime("%d/%m/%Y")
        values[key] = value
    return values


class PeopleScreen(LinkworkScreen):
    TITLE_TEXT = "People"
    BINDINGS = [
        Binding("ctrl+n", "app.add_person", "Add person"),
        Binding("ctrl+f", "focus_search", "Search box"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._seq = 0
        self.people: list[Any] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            yield Input(placeholder="Name, NHS number or postcode", id="people-query")
            yield Static(
                "Type to find a person. Ctrl+N adds a new one.",
                id="people-status",
                classes="status",
            )
            table: DataTable[str] = DataTable(
                id="people-results", cursor_type="row", zebra_stripes=True
            )
            table.add_columns("Name", "Born", "NHS number", "Postcode", "Practice")
            yield table
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#people-query", Input).focus()

    def refresh_data(self) -> None:
        self._seq += 1
        self.search(self.query_one("#people-query", Input).value, self._seq)

    def action_focus_search(self) -> None:
        self.query_one("#people-query", Input).focus()

    @on(Input.Changed, "#people-query")
    def _changed(self) -> None:
        self.refresh_data()

    @on(Input.Submitted, "#people-query")
    def _submitted(self) -> None:
        if self.people:
            self.query_one("#people-results", DataTable).focus()

    @work(thread=True, exit_on_error=False, exclusive=True, group="people-search")
    def search(self, text: str, seq: int) -> None:
        worker = get_current_worker()
        try:
            people = self.actions.people.find_people(self.workspace, text, limit=50)
        except Exception as exc:
            self.fail(exc)
            return
        if not worker.is_cancelled and seq == self._seq:
            self.app.call_from_thread(self._show, people, text)

    def _show(self, people: list[dict[str, Any]], text: str) -> None:
        self.people = people
        table = self.query_one("#people-results", DataTable)
        table.clear()
        for p in people:
            table.add_row(*person_row(p))
        status = self.query_one("#people-status", Static)
        if people:
            found = counted(len(people), "person")
            status.update(f"{found}. Enter (or Down) to go to the list, Enter to open.")
        elif text.strip():
            status.update("Nobody matches. Check the spelling, or Ctrl+N to add this person.")
        else:
            status.update("No people recorded yet. Ctrl+N adds the first one.")

    def on_key(self, event: Any) -> None:
        if event.key == "down" and isinstance(self.focused, Input) and self.people:
            self.query_one("#people-results", DataTable).focus()
            event.stop()

    @on(DataTable.RowSelected, "#people-results")
    def _open(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.people):
            self.lw.open_person(person_ref(self.people[event.cursor_row]))


EQUALITY_HELP = (
    "Equality questions are optional. Ask only if the person is happy to answer: they help "
    "the practice see who is and is not being reached. 'Prefer not to say' records that the "
    "person chose not to answer; 'Not asked' that the question was not asked. Never guess."
)


class PersonFormScreen(FormScreen):
    """The one person form: adds a person, or (given ``person``) edits their details,
    prefilled, with the same inline checks. Saving an edit changes only the fields that
    changed; Escape with anything typed asks before discarding it. Dismisses with the
    saved person's ``PersonRef``."""

    TITLE_TEXT = "Add a person"
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("escape", "back", "Cancel")]

    FIELDS = [
        ("given", "Given name", "e.g. Alex", True),
        ("family", "Family name", "e.g. Morgan", True),
        ("birth_date", "Date of birth", "DD/MM/YYYY", True),
        ("nhs_number", "NHS number", "10 digits (optional)", False),
        ("postcode", "Postcode", "e.g. LS1 4AP (optional)", False),
        ("phone", "Phone", "optional", False),
    ]
    # The most each field can hold (the record's own limits): a longer paste is refused.
    LIMITS = {"given": 200, "family": 200, "birth_date": 20, "nhs_number": 20,
              "postcode": 20, "phone": 40}  # fmt: skip

    def __init__(self, person: PersonRef | None = None) -> None:
        super().__init__()
        self.person = person
        self.original: dict[str, Any] | None = None  # the saved values (edit only)
        self.blank: dict[str, Any] = {}  # the empty form's values (add only)
        if person is not None:
            self.TITLE_TEXT = f"Edit {person.name}"

    @property
    def editing(self) -> bool:
        return self.person is not None

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Body(id="body"):
            what = "Edit the person's details" if self.editing else "About the person"
            yield Static(
                f"{what} (Ctrl+S to save, Escape to {'discard' if self.editing else 'cancel'})",
                id="form-title",
                classes="section-title",
            )
            for key, label, placeholder, required in self.FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(f"{label}{' *' if required else ''}", classes="form-label")
                    yield CheckedInput(
                        placeholder=placeholder,
                        id=f"p-{key}",
                        compact=True,
                        check=partial(self._error, key),
                        limit=self.LIMITS[key],
                        message=f"err-{key}",
                    )
                yield FieldMessage("", id=f"err-{key}", classes="form-error")
            yield Static("Equality questions (optional)", classes="section-title")
            yield Static(EQUALITY_HELP, classes="help")
            with Vertical(id="equality"):
                yield from self._equality_rows()
            with Horizontal(classes="form-row"):
                yield Button("Save (Ctrl+S)", id="save", variant="primary")
                yield Button("Discard (Esc)" if self.editing else "Cancel (Esc)", id="cancel")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#p-given", Input).focus()
        self.blank = self.values()
        if self.person is not None:
            self.load(self.person.id)

    @work(thread=True, exit_on_error=False, exclusive=True, group="person-form")
    def load(self, person_id: str) -> None:
        self.fetch(
            lambda: form_values(self.actions.people.person_form(self.workspace, person_id)),
            self._fill,
        )

    def _fill(self, data: dict[str, Any]) -> None:
        for key, *_ in self.FIELDS:
            # An old row may hold control characters: the field shows their escapes.
            self.query_one(f"#p-{key}", Input).value = visible_controls(str(data.get(key) or ""))
        for select in self.query("#equality Select").results(Select):
            name = (select.id or "").removeprefix("eq-")
            if data.get(name) is not None:
                with suppress(Exception):  # a code this version's list no longer has
                    select.value = data[name]
        self.original = self.values()
        self.query_one("#p-given", Input).focus()

    def _equality_rows(self) -> ComposeResult:
        """The equality questions from the record's data file (small, cached)."""
        try:
            fields = self.actions.people.equality_fields()
        except Exception:
            fields = []
        if not fields:
            yield Static(
                "Equality questions are not available in this version yet.", classes="help"
            )
            return
        for field in fields:
            with Horizontal(classes="form-row"):
                yield Label(field.label, classes="form-label")
                yield JumpSelect(
                    [(label, code) for code, label in field.values],
                    value=field.not_asked,
                    allow_blank=False,
                    id=f"eq-{field.name}",
                    compact=True,
                )

    def _error(self, key: str, value: str) -> str:
        """The record's own rule for this field, as the person types ('' while a date of
        birth is still empty: that it is needed is said on save)."""
        if key == "birth_date" and not value.strip():
            return ""
        name = RECORD_NAMES.get(key, key)
        return str(self.actions.people.check_detail(name, value, today=self.lw.today))

    def _show_error(self, key: str, message: str) -> None:
        for err in self.query(f"#err-{key}").results(FieldMessage):
            err.say(message)

    def values(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            key: self.query_one(f"#p-{key}", Input).value.strip() for key, *_ in self.FIELDS
        }
        for select in self.query("#equality Select").results(Select):
            data[(select.id or "").removeprefix("eq-")] = select.value
        return data

    def changes(self) -> dict[str, Any]:
        """The fields that differ from what was loaded (edit), or every field (add)."""
        data = self.values()
        if self.original is None:
            return data
        return {k: v for k, v in data.items() if self.original.get(k) != v}

    def action_save(self) -> None:
        if self.editing and self.original is None:
            self.notify("Still loading the person's details.", severity="warning")
            return
        data = self.values()
        problems = {}
        for key, label, _placeholder, required in self.FIELDS:
            message = self._error(key, data[key])
            if required and not data[key]:
                message = f"{label} is needed."
            elif key == "birth_date":
                message = self.actions.people.check_detail(key, data[key], today=self.lw.today)
            if message:
                problems[key] = message
            self._show_error(key, message)
        if problems:
            first = next(iter(problems))
            self.query_one(f"#p-{first}", Input).focus()
            self.notify(f"Please fix: {problems[first]}", severity="warning")
            return
        if self.editing and not self.changes():
            self.notify("Nothing changed.")
            self.dismiss(None)
            return
        self.save(self.changes() if self.editing else data)

    @work(thread=True, exit_on_error=False, exclusive=True, group="save-person")
    def save(self, data: dict[str, Any]) -> None:
        try:
            details = {RECORD_NAMES.get(k, k): v for k, v in data.items()}
            people = self.actions.people
            if self.person is not None:
                updated = people.update_person(self.workspace, self.person.id, **details)
                person, fields = person_ref(updated.person), updated.changed
            else:
                person, fields = person_ref(people.add_person(self.workspace, **details)), []
        except Exception as exc:
            self.app.call_from_thread(self.notify, plain_error(exc), severity="error")
            return
        self.app.call_from_thread(self._saved, person, fields)

    def _saved(self, person: Any, fields: list[str]) -> None:
        if not self.editing:
            self.notify(f"Added {person.name}.")
            self.dismiss(None)
            self.lw.open_person(person)
            return
        words = ", ".join(f.replace("_", " ") for f in fields) or "nothing"
        self.notify(f"Saved {person.name}: changed {words}.")
        self.lw.person = person  # the person bar shows the new details
        self.dismiss(person)

    @property
    def DISCARD_QUESTION(self) -> str:  # type: ignore[override]
        if self.editing:
            return "Discard your changes to this person's details? They have not been saved."
        return "Discard this new person? What you typed has not been saved."

    def unsaved_work(self) -> bool:
        if self.editing:
            return self.original is not None and bool(self.changes())
        return self.values() != self.blank

    def discard(self) -> None:
        if self.unsaved_work():
            self.notify("Changes discarded." if self.editing else "New person not added.")
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_back()


class AddPersonScreen(PersonFormScreen):
    """The person form, adding a new person (the name the app's Ctrl+N uses)."""

"""One person's record: details, needs, and a timeline of screenings and referrals with
their status. From here: edit details (E), screen or resume a screening (S), code a need
(C), find a service (F), refer (R)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical

from tui.screens.base import SubScreen
from tui.views import day_text, record_view
from tui.widgets.body import Body
from tui.widgets.commands import CommandList
from tui.widgets.fit_table import WHOLE, Column, FitTable
from tui.widgets.plain import DataTable, Static

if TYPE_CHECKING:
    from tui.state import PersonRef


class PersonCommands(CommandList):
    """Command palette entries for the person on screen."""

    def commands(self) -> list[tuple[str, Any, str]]:
        screen = self.screen
        if not isinstance(screen, PersonScreen):
            return []
        return [
            (
                "Edit this person's details (E)",
                screen.action_edit,
                "Name, date of birth, NHS number, postcode, phone, equality questions",
            ),
            (
                "Casework: goals, contacts, notes, the plan (W)",
                screen.lw.action_casework,
                "What matters, goals with progress, contacts, case notes",
            ),
        ]


# Columns (label, width, shrinks to; see tui.widgets.fit_table).
NEEDS: list[Column] = [
    ("Code", 0, WHOLE),
    ("Meaning", None, 20),
    ("Status", 0, WHOLE),
    ("Recorded", 11, 11),
]
# The timeline with its detail whole where there is room for every column; otherwise
# without the detail column (What takes its room; the line under the table says the
# chosen entry whole), rather than cutting both What and Detail short.
TIMELINE: list[Column] = [
    ("When", 17, 11),
    ("What", 0, 14),
    ("Status", 0, WHOLE),
    ("Detail", 0, 12),
]
TIMELINE_NARROW: list[Column] = [
    ("When", 17, 11),
    ("What", None, 20),
    ("Status", 0, WHOLE),
]


class PersonScreen(SubScreen):
    TITLE_TEXT = "Person"
    COMMANDS = {PersonCommands}
    BINDINGS = [
        Binding("s", "app.screen_person", "Screen"),
        Binding("c", "code", "Code a need"),
        Binding("f", "find", "Find service"),
        Binding("r", "app.refer", "Refer"),
        Binding("e", "edit", "Edit"),
        Binding("u", "update", "Update referral"),
        Binding("w", "app.casework", "Casework"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, person: PersonRef) -> None:
        super().__init__()
        self.person = person
        self.record: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Body(id="body"):
            yield Static(self.person.name, id="person-summary", classes="section-title")
            with Vertical(classes="panel"):
                yield Static("Needs", classes="panel-title")
                yield FitTable(id="person-needs", cursor_type="row")
                yield Static("", id="person-need-detail", classes="help")
            with Vertical(classes="panel"):
                yield Static("Timeline (newest first)", classes="panel-title")
                yield FitTable(id="person-timeline", cursor_type="row")
                yield Static("", id="person-detail", classes="help")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_data()

    def refresh_data(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="person")
    def load(self) -> None:
        self.fetch(
            lambda: record_view(
                self.actions.people.person_record(self.workspace, self.person.id, timeline=True)
            ),
            self._show,
        )

    def _show(self, record: dict[str, Any]) -> None:
        self.record = record
        self.query_one("#person-summary", Static).update(record["summary"])
        needs = [
            (n["code"], n["display"], n["status"].upper(), day_text(n["recorded_at"]))
            for n in record["needs"]
        ]
        if not needs:
            needs = [("-", "No needs recorded yet. S to screen, C to code one.", "", "")]
        self.query_one("#person-needs", FitTable).show((NEEDS, needs))
        timeline = [(i["when"], i["what"], i["status"], i["detail"]) for i in record["timeline"]]
        if not timeline:
            timeline = [("-", "Nothing yet", "", "")]
        self.query_one("#person-timeline", FitTable).show(
            (TIMELINE, timeline), (TIMELINE_NARROW, [row[:3] for row in timeline])
        )
        self._detail()

    @on(FitTable.Fitted, "#person-needs")
    @on(DataTable.RowHighlighted, "#person-needs")
    def _need_detail(self) -> None:
        """The chosen need in full, shown only while the table has to cut a meaning short
        (the code and status are never cut)."""
        table = self.query_one("#person-needs", FitTable)
        needs = self.record.get("needs", [])
        row = table.cursor_row
        detail = self.query_one("#person-need-detail", Static)
        detail.display = bool(table.cut) and 0 <= row < len(needs)
        if detail.display:
            need = needs[row]
            words = f' (in their words: "{need["words"]}")' if need.get("words") else ""
            detail.update(f"{need['code']}  {need['display']}{words}")

    @on(DataTable.RowHighlighted, "#person-timeline")
    def _detail(self) -> None:
        """The chosen timeline entry in full (its detail may be cut short in the table)."""
        items = self.record.get("timeline", [])
        row = self.query_one("#person-timeline", FitTable).cursor_row
        text = ""
        if 0 <= row < len(items):
            item = items[row]
            text = f"{item['when']}  {item['what']}: {item['status']}"
            text += f". {item['detail']}" if item["detail"] else ""
        self.query_one("#person-detail", Static).update(text)

    def action_edit(self) -> None:
        from tui.screens.people import PersonFormScreen

        self.app.push_screen(PersonFormScreen(self.person), self._edited)

    def _edited(self, person: PersonRef | None) -> None:
        if person is not None:
            self.person = person
        self.refresh_data()

    def action_code(self) -> None:
        self.lw.switch_mode("codes")

    def action_find(self) -> None:
        self.lw.switch_mode("services")

    def action_update(self) -> None:
        referrals = self.record.get("referrals", [])
        if not referrals:
            self.notify("This person has no referrals to update.", severity="warning")
            return
        table = self.query_one("#person-timeline", DataTable)
        chosen = referrals[0]
        items = self.record.get("timeline", [])
        if 0 <= table.cursor_row < len(items) and items[table.cursor_row].get("referral_id"):
            rid = items[table.cursor_row]["referral_id"]
            chosen = next((r for r in referrals if r["id"] == rid), chosen)
        from tui.screens.referrals import StatusScreen

        self.app.push_screen(StatusScreen(chosen), lambda _: self.refresh_data())

    @on(DataTable.RowSelected, "#person-timeline")
    def _selected(self) -> None:
        self.action_update()

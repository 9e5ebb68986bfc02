"""One person's record: details, needs, and a timeline of screenings and referrals with
their status. From here: edit details (E), screen or resume a screening (S), code a need
(C), find a service (F), refer (R)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.screens.base import SubScreen
from tui.widgets.body import Body

if TYPE_CHECKING:
    from tui.app import PersonRef


class PersonCommands(Provider):
    """Command palette entries for the person on screen."""

    def _commands(self) -> list[tuple[str, Any, str]]:
        screen = self.screen
        if not isinstance(screen, PersonScreen):
            return []
        return [
            (
                "Edit this person's details (E)",
                screen.action_edit,
                "Name, date of birth, NHS number, postcode, phone, equality questions",
            ),
        ]

    async def discover(self) -> Hits:
        for text, command, help_ in self._commands():
            yield DiscoveryHit(text, command, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_ in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=help_)


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
                needs: DataTable[str] = DataTable(id="person-needs", cursor_type="row")
                needs.add_columns("Code", "Meaning", "Status", "Recorded")
                yield needs
            with Vertical(classes="panel"):
                yield Static("Timeline (newest first)", classes="panel-title")
                timeline: DataTable[str] = DataTable(id="person-timeline", cursor_type="row")
                timeline.add_columns("When", "What", "Status", "Detail")
                yield timeline
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_data()

    def refresh_data(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="person")
    def load(self) -> None:
        self.fetch(lambda: self.backend.person_record(self.person.id), self._show)

    def _show(self, record: dict[str, Any]) -> None:
        self.record = record
        self.query_one("#person-summary", Static).update(record["summary"])
        needs = self.query_one("#person-needs", DataTable)
        needs.clear()
        for need in record["needs"]:
            needs.add_row(need["code"], need["display"], need["status"], need["recorded"])
        if not record["needs"]:
            needs.add_row("-", "No needs recorded yet. S to screen, C to code one.", "", "")
        timeline = self.query_one("#person-timeline", DataTable)
        timeline.clear()
        for item in record["timeline"]:
            timeline.add_row(item["when"], item["what"], item["status"], item["detail"])
        if not record["timeline"]:
            timeline.add_row("-", "Nothing yet", "", "")

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

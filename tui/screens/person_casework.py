"""One person's casework (issue 20): their episode and what matters to them, goals with
progress, contacts (book the next one; did-not-attend in two keys: D then Y), the ONS4
trend, and case notes (add, correct). From here also close the episode with the summary
for the GP, and make the printable plan. Every change calls one action
(``linkwork.actions.casework`` / ``careplan``) from a thread worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.worker import get_current_worker

from tui.screens.base import SubScreen
from tui.screens.casework_form import CaseworkForm, Field
from tui.widgets.body import Body
from tui.widgets.commands import CommandList
from tui.widgets.fit_table import WHOLE, Column, FitTable
from tui.widgets.plain import Static

if TYPE_CHECKING:
    from tui.state import PersonRef

GOALS: list[Column] = [("Goal", None, 16), ("Need", 0, WHOLE), ("Progress", 0, 8), ("By", 9, 9)]
CONTACTS: list[Column] = [
    ("When", 15, 12),
    ("How", 0, 5),
    ("Status", 0, WHOLE),
    ("ONS4", 0, 4),
    ("Note", None, 8),
]
NOTES: list[Column] = [("Written", 15, 9), ("By", 0, 6), ("Note", None, 16)]
STATUS_WORDS = {
    "booked": "BOOKED",
    "attended": "ATTENDED",
    "did-not-attend": "DID NOT ATTEND",
    "cancelled": "CANCELLED",
    "no-answer": "NO ANSWER",
}
SOURCES = {"gp": "referred by the GP practice", "self": "self-referral", "other": "other referrer"}


def when_text(iso: str | None, with_time: bool = True) -> str:
    """An ISO time from an action, in local time: '05 Mar 26 10:30'."""
    if not iso:
        return "-"
    at = datetime.fromisoformat(iso).astimezone()
    return at.strftime("%d %b %y %H:%M" if with_time else "%d %b %Y")


def ons4_text(ons4: dict[str, Any] | None) -> str:
    if not ons4:
        return "-"
    return ",".join("-" if ons4[k] is None else str(ons4[k]) for k in ONS4_ORDER)


ONS4_ORDER = ("satisfied", "worthwhile", "happy", "anxious")
PROGRESS_HINT = "not-started, some, mostly, achieved, no-longer-wanted"
KIND_HINT = "face-to-face, phone, video, home-visit, group"
STATUS_HINT = "attended, did-not-attend, no-answer, cancelled"
ONS4_HINT = "optional: satisfied,worthwhile,happy,anxious 0-10"
REASON_HINT = "goals-met, moved-away, declined, no-contact, other"


def contact_status(contact: dict[str, Any]) -> str:
    if contact.get("needs_outcome"):
        return "NO OUTCOME YET"
    return STATUS_WORDS.get(contact["status"], contact["status"].upper())


class CaseworkCommands(CommandList):
    def commands(self) -> list[tuple[str, Any, str]]:
        screen = self.screen
        if not isinstance(screen, PersonCaseworkScreen):
            return []
        return [
            ("Start an episode (S)", screen.action_start, "Referral to social prescribing"),
            ("What matters to them (W)", screen.action_what_matters, "In their words"),
            ("Add a goal (G)", screen.action_goal, "Linked to one of their needs"),
            ("Goal progress (P)", screen.action_progress, "The highlighted goal"),
            ("Book the next contact (B)", screen.action_book, "Date, time and how"),
            ("Record a contact (C)", screen.action_contact, "What happened, ONS4 if asked"),
            ("Attended (A)", screen.action_attended, "The highlighted booked contact"),
            ("Did not attend (D, then Y)", screen.action_dna, "The highlighted booked contact"),
            ("Add a case note (N)", screen.action_note, "Never shared outside"),
            ("Correct a note (K)", screen.action_correct, "The highlighted note"),
            ("Close the episode (X)", screen.action_close, "With the summary for the GP"),
            ("Make the plan (L)", screen.action_plan, "A printable PDF for the person"),
        ]


HINT = "L: plan to print. X: close with the GP summary. Ctrl+P: all actions."


class PersonCaseworkScreen(SubScreen):
    TITLE_TEXT = "Casework"
    DEFAULT_CSS = "#cw-prompt { text-style: bold; }"
    COMMANDS = {CaseworkCommands}
    BINDINGS = [
        Binding("s", "start", "Start", show=False),
        Binding("w", "what_matters", "What matters"),
        Binding("g", "goal", "Goal"),
        Binding("p", "progress", "Progress"),
        Binding("b", "book", "Book"),
        Binding("c", "contact", "Contact", show=False),
        Binding("a", "attended", "Attended", show=False),
        Binding("d", "dna", "DNA"),
        Binding("y", "confirm", "Confirm", show=False),
        Binding("n", "note", "Note"),
        Binding("k", "correct", "Correct", show=False),
        Binding("x", "close", "Close"),
        Binding("l", "plan", "Plan"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, person: PersonRef) -> None:
        super().__init__()
        self.person = person
        self.record: dict[str, Any] = {}
        self.pending: str | None = None  # a booked contact awaiting Y for did-not-attend

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Body(id="body"):
            yield Static("Loading...", id="cw-episode", classes="section-title")
            yield Static("", id="cw-matters", classes="help")
            yield Static(HINT, id="cw-prompt", classes="status")
            with Vertical(classes="panel"):
                yield Static("Goals (G add, P progress)", classes="panel-title")
                yield FitTable(id="cw-goals", cursor_type="row")
            with Vertical(classes="panel"):
                yield Static(
                    "Contacts (B book, C record, A attended, D did not attend)",
                    classes="panel-title",
                )
                yield FitTable(id="cw-contacts", cursor_type="row")
                yield Static("", id="cw-trend", classes="help")
            with Vertical(classes="panel"):
                yield Static("Case notes, newest first (N add, K correct)", classes="panel-title")
                yield FitTable(id="cw-notes", cursor_type="row")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_data()

    def refresh_data(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="casework")
    def load(self) -> None:
        self.fetch(
            lambda: self.actions.casework.casework_record(
                self.workspace, self.person.id, now=self.app_now()
            ),
            self._fresh(self._show),
        )

    @staticmethod
    def _fresh(show: Callable[[Any], None]) -> Callable[[Any], None]:
        """``show`` for this worker's result, unless a newer load replaced the worker (a
        thread cannot be stopped: its late, older result must not overwrite the newer)."""
        worker = get_current_worker()
        return lambda result: None if worker.is_cancelled else show(result)

    def app_now(self) -> datetime | None:
        """The app's clock when it has a fixed one (its tests and screenshots)."""
        fixed = self.lw.fixed_today
        return datetime.combine(fixed, time(12, 0), tzinfo=UTC) if fixed else None

    # -- showing ----------------------------------------------------------------------
    def _show(self, record: dict[str, Any]) -> None:
        self.record = record
        episode = record.get("episode")
        if episode is None:
            head = "No social prescribing episode yet: S to start one."
            matters = ""
        else:
            source = SOURCES.get(episode["source"], episode["source"])
            since = when_text(episode["started_at"], with_time=False)
            if episode["status"] == "open":
                head = f"Episode OPEN since {since} ({source})"
            else:
                ended = when_text(episode["ended_at"], with_time=False)
                reason = episode["end_reason"].replace("-", " ")
                head = f"Episode {episode['status'].upper()} {ended} ({reason}); S starts a new one"
            matters = f"What matters: {episode['what_matters'] or 'not written yet (W)'}"
        self.query_one("#cw-episode", Static).update(head)
        self.query_one("#cw-matters", Static).update(matters)
        goals = [
            (
                g["text"],
                (g.get("need") or {}).get("code", "-"),
                g["progress"].replace("-", " ").upper(),
                date.fromisoformat(g["target"]).strftime("%d %b %y") if g["target"] else "-",
            )
            for g in record["goals"]
        ] or [("No goals yet: G to add one.", "", "", "")]
        self.query_one("#cw-goals", FitTable).show((GOALS, goals))
        contacts = [
            (
                when_text(c["at"]),
                c["kind"],
                contact_status(c),
                ons4_text(c["ons4"]),
                c["note"] or "",
            )
            for c in record["contacts"]
        ] or [("-", "No contacts yet: B to book one.", "", "", "")]
        self.query_one("#cw-contacts", FitTable).show((CONTACTS, contacts))
        trend = record.get("ons4_trend") or []
        self.query_one("#cw-trend", Static).update(
            "ONS4 (satisfied, worthwhile, happy, anxious): "
            + "  ".join(f"{t['when']} {when_text(t['at'], False)} {ons4_text(t)}" for t in trend)
            if trend
            else "ONS4: not asked yet (at the first contact and at reviews)."
        )
        notes = [
            (
                when_text(n["written_at"]),
                n["written_by"],
                n["text"] if n["current"] else f"[corrected] {n['text']}",
            )
            for n in record["notes"]
        ] or [("-", "", "No case notes yet: N to add one. Notes stay in the practice.")]
        self.query_one("#cw-notes", FitTable).show((NOTES, notes))

    def prompt(self, text: str) -> None:
        self.query_one("#cw-prompt", Static).update(text)

    # -- the chosen rows ----------------------------------------------------------------
    def _chosen(self, table: str, items: list[dict[str, Any]]) -> dict[str, Any] | None:
        row = self.query_one(f"#{table}", FitTable).cursor_row
        return items[row] if 0 <= row < len(items) else None

    def _booked(self) -> dict[str, Any] | None:
        """The highlighted contact if booked, else the first booked one."""
        contacts = self.record.get("contacts", [])
        chosen = self._chosen("cw-contacts", contacts)
        if chosen and chosen["status"] == "booked":
            return chosen
        return next((c for c in contacts if c["status"] == "booked"), None)

    # -- running an action --------------------------------------------------------------
    def change(self, call: Callable[[], Any], done: Callable[[Any], str]) -> None:
        self._run(call, done)

    @work(thread=True, exit_on_error=False, group="casework-change")
    def _run(self, call: Callable[[], Any], done: Callable[[Any], str]) -> None:
        if self.fetch(call, lambda result: self.notify(done(result))):
            self.app.call_from_thread(self.refresh_data)

    def ask(
        self,
        title: str,
        fields: list[Field],
        then: Callable[[dict[str, str]], None],
        intro: str = "",
    ) -> None:
        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                then(values)

        rules = self.actions.casework  # the record's own rules, checked as typed
        form = CaseworkForm(title, fields, intro, check=rules.check_field, limit=rules.field_limit)
        self.app.push_screen(form, answered)

    # -- the keys -----------------------------------------------------------------------
    def action_start(self) -> None:
        ws, act, pid = self.workspace, self.actions, self.person.id

        def then(v: dict[str, str]) -> None:
            source = v["source"].strip() or "gp"
            self.change(
                lambda: act.casework.start_episode(ws, pid, source=source),
                lambda e: f"Episode started (SNOMED CT {e['code']}).",
            )

        self.ask(
            "Start a social prescribing episode",
            [Field("source", "Referred by", "gp, self or other", "gp", "source")],
            then,
        )

    def action_what_matters(self) -> None:
        ws, act, pid = self.workspace, self.actions, self.person.id
        current = (self.record.get("episode") or {}).get("what_matters", "")

        def then(v: dict[str, str]) -> None:
            self.change(
                lambda: act.casework.set_what_matters(ws, pid, v["text"]),
                lambda _: "What matters to them: saved.",
            )

        self.ask(
            "What matters to them, in their words",
            [Field("text", "What matters", "their words", current, "what_matters")],
            then,
        )

    def action_goal(self) -> None:
        ws, act, pid = self.workspace, self.actions, self.person.id

        def then(v: dict[str, str]) -> None:
            need, by = v["need"].strip() or None, v["by"].strip() or None
            self.change(
                lambda: act.casework.add_goal(ws, pid, v["text"], need=need, by=by),
                lambda g: f"Goal added: {g['text']}",
            )

        self.ask(
            "Add a goal",
            [
                Field("text", "Goal", "in their words", rule="goal"),
                Field("need", "For need (code)", "optional, e.g. Z59.0", rule="need"),
                Field("by", "Aim to reach by", "optional, DD/MM/YYYY", rule="by"),
            ],
            then,
        )

    def action_progress(self) -> None:
        goal = self._chosen("cw-goals", self.record.get("goals", []))
        if goal is None:
            self.notify("No goal chosen: G adds one.", severity="warning")
            return
        ws, act = self.workspace, self.actions

        def then(v: dict[str, str]) -> None:
            on = v["on"].strip() or None
            self.change(
                lambda: act.casework.goal_progress(ws, goal["id"], v["progress"], on=on),
                lambda g: f"Progress: {g['progress'].replace('-', ' ')}.",
            )

        self.ask(
            f"Progress on: {goal['text']}",
            [
                Field("progress", "Progress", PROGRESS_HINT, rule="progress"),
                Field("on", "As it was on", "optional: today", rule="on"),
            ],
            then,
        )

    def action_book(self) -> None:
        ws, act, pid = self.workspace, self.actions, self.person.id

        def then(v: dict[str, str]) -> None:
            kind = v["kind"].strip() or "phone"
            self.change(
                lambda: act.casework.add_contact(ws, pid, at=v["when"], kind=kind, status="booked"),
                lambda c: f"Booked: {c['kind']} on {when_text(c['at'])}.",
            )

        self.ask(
            "Book the next contact",
            [
                Field("when", "When", "DD/MM/YYYY HH:MM", rule="when"),
                Field("kind", "How", KIND_HINT, "phone", "kind"),
            ],
            then,
        )

    def action_contact(self) -> None:
        ws, act, pid = self.workspace, self.actions, self.person.id

        def then(v: dict[str, str]) -> None:
            minutes = int(v["minutes"]) if v["minutes"].strip().isdigit() else None
            self.change(
                lambda: act.casework.add_contact(
                    ws,
                    pid,
                    at=v["when"],
                    kind=v["kind"].strip() or "phone",
                    status=v["status"].strip() or None,
                    minutes=minutes,
                    note=v["note"],
                    ons4=v["ons4"].strip() or None,
                ),
                lambda c: f"Recorded: {c['kind']} {c['status'].replace('-', ' ')}.",
            )

        self.ask(
            "Record a contact",
            [
                Field("when", "When", "DD/MM/YYYY HH:MM", rule="when"),
                Field("kind", "How", KIND_HINT, "phone", "kind"),
                Field("status", "What happened", STATUS_HINT, rule="status"),
                Field("minutes", "Minutes", "optional", rule="minutes"),
                Field("ons4", "ONS4", ONS4_HINT, rule="ons4"),
                Field("note", "Note", "optional", rule="contact_note"),
            ],
            then,
        )

    def action_attended(self) -> None:
        contact = self._booked()
        if contact is None:
            self.notify("No booked contact: B books one.", severity="warning")
            return
        ws, act = self.workspace, self.actions

        def then(v: dict[str, str]) -> None:
            minutes = int(v["minutes"]) if v["minutes"].strip().isdigit() else None
            self.change(
                lambda: act.casework.set_contact_status(
                    ws,
                    contact["id"],
                    "attended",
                    minutes=minutes,
                    note=v["note"],
                    ons4=v["ons4"].strip() or None,
                ),
                lambda _: "Attended: recorded.",
            )

        self.ask(
            f"Attended: {contact['kind']} on {when_text(contact['at'])}",
            [
                Field("minutes", "Minutes", "optional", rule="minutes"),
                Field("ons4", "ONS4", ONS4_HINT, rule="ons4"),
                Field("note", "Note", "optional", rule="contact_note"),
            ],
            then,
        )

    def action_dna(self) -> None:
        contact = self._booked()
        if contact is None:
            self.notify("No booked contact to mark as did not attend.", severity="warning")
            return
        self.pending = contact["id"]
        self.prompt(
            f"Did not attend: {contact['kind']} on {when_text(contact['at'])}? "
            "Y to confirm, any other key to leave it."
        )

    def action_confirm(self) -> None:
        contact_id, self.pending = self.pending, None
        self.prompt(HINT)
        if contact_id is None:
            return
        ws, act = self.workspace, self.actions
        self.change(
            lambda: act.casework.set_contact_status(ws, contact_id, "did-not-attend"),
            lambda _: "Did not attend: recorded.",
        )

    def on_key(self, event: Any) -> None:
        if self.pending is not None and event.key not in ("y", "d"):
            self.pending = None
            self.prompt(HINT)

    def action_note(self) -> None:
        ws, act, pid = self.workspace, self.actions, self.person.id

        def then(v: dict[str, str]) -> None:
            self.change(
                lambda: act.casework.add_note(ws, pid, v["text"]),
                lambda _: "Case note added.",
            )

        self.ask(
            "Add a case note",
            [Field("text", "Note", "stays in the practice", rule="case_note")],
            then,
        )

    def action_correct(self) -> None:
        notes = [n for n in self.record.get("notes", [])]
        note = self._chosen("cw-notes", notes)
        if note is None or not note["current"]:
            self.notify("Choose a current note to correct.", severity="warning")
            return
        ws, act = self.workspace, self.actions

        def then(v: dict[str, str]) -> None:
            self.change(
                lambda: act.casework.correct_note(ws, note["id"], v["text"]),
                lambda _: "Note corrected (the old one is kept, marked corrected).",
            )

        self.ask(
            "Correct a case note",
            [Field("text", "Corrected note", "", note["text"], "case_note")],
            then,
        )

    def _file(self, stem: str, suffix: str) -> str:
        folder = self.workspace.settings.home / "documents"
        name = self.person.name.lower().replace(" ", "-")
        return str(folder / f"{stem}-{name}-{self.lw.today.isoformat()}{suffix}")

    def action_close(self) -> None:
        ws, act, pid = self.workspace, self.actions, self.person.id

        def then(v: dict[str, str]) -> None:
            out = v["file"].strip() or None
            if out:
                Path(out).expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.change(
                lambda: act.casework.close_episode(
                    ws, pid, reason=v["reason"], note=v["note"], gp_summary=out
                ),
                lambda e: (
                    "Episode closed"
                    + (
                        f"; GP summary written to {e['gp_summary']['file']}"
                        if e["gp_summary"]
                        else ""
                    )
                    + "."
                ),
            )

        self.ask(
            "Close the episode",
            [
                Field("reason", "Reason", REASON_HINT, rule="reason"),
                Field("note", "Note", "optional", rule="end_note"),
                Field("file", "GP summary file", "empty: none", self._file("gp-summary", ".json")),
            ],
            then,
        )

    def action_plan(self) -> None:
        ws, act, pid = self.workspace, self.actions, self.person.id

        def then(v: dict[str, str]) -> None:
            out = v["file"].strip()
            large = v["large"].strip().lower().startswith("y")
            nhs = v["nhs"].strip().lower().startswith("y")
            if out:
                Path(out).expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.change(
                lambda: act.careplan.care_plan(
                    ws, pid, out, large_print=large, with_nhs_number=nhs
                ),
                lambda p: f"Plan written to {p['file']} ({p['pages']} pages).",
            )

        self.ask(
            "Make the care and support plan (PDF)",
            [
                Field("file", "File", "where to write the PDF", self._file("plan", ".pdf")),
                Field("large", "Large print?", "y or n", "n", "yes_no"),
                Field("nhs", "NHS number on it?", "y or n", "n", "yes_no"),
            ],
            then,
        )

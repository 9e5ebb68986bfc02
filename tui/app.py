"""The linkwork Textual app: a link worker's whole day, by keyboard.

The app is a thin shell: screens (``tui/screens``) call the application layer
(``linkwork.actions``, reached through ``LinkworkApp.actions``) from thread workers only, so
the interface never waits on the database, the search index, crypto or files. Start-up
paints the home screen first and opens the database (and, on an empty one, loads the
bundled sample directory) afterwards. The home fills from the embedded database read with
its driver alone when it can be (``linkwork.actions.today``): SQLAlchemy, the models,
MESH and the service search load after that (``warm_up``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterable
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen

from directory.untrusted import visible_controls
from linkwork.atrest import protection
from linkwork.errors import plain_error
from tui.mesh_sync import MeshSync
from tui.search_process import ServiceSearch
from tui.state import PersonRef
from tui.stylesheet import SharedStylesheet
from tui.widgets.commands import CommandList, ScreenKeyCommands

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from linkwork.settings import Settings

# (mode name, title, key, help) for every main screen: bindings, footer and palette.
SECTIONS: list[tuple[str, str, str, str]] = [
    ("home", "Home", "f1", "Today: follow-ups due, referrals waiting, recent people"),
    ("people", "People", "f2", "Find a person by name, NHS number or postcode, or add one"),
    ("codes", "Code a need", "f3", "Type lay words and pick the matching code"),
    ("services", "Find a service", "f4", "Search the local directory as you type"),
    ("referrals", "Referrals", "f5", "All referrals by status; update a status; import replies"),
    ("counts", "Counts", "f6", "Need counts for data leads, with disclosure control"),
]

# Shorter words for the footer, so more keys fit whole (the palette has the full titles).
FOOTER_WORDS = {"services": "Services"}

DARK, LIGHT = "textual-dark", "textual-light"
# A notification's kind in words (its colour alone would not say it).
SEVERITY_TITLES = {"warning": "Warning", "error": "Problem"}


def _home() -> Screen[Any]:
    from tui.screens.home import HomeScreen

    return HomeScreen()


def _people() -> Screen[Any]:
    from tui.screens.people import PeopleScreen

    return PeopleScreen()


def _codes() -> Screen[Any]:
    from tui.screens.codes import CodesScreen

    return CodesScreen()


def _services() -> Screen[Any]:
    from tui.screens.services import ServicesScreen

    return ServicesScreen()


def _referrals() -> Screen[Any]:
    from tui.screens.referrals import ReferralsScreen

    return ReferralsScreen()


def _counts() -> Screen[Any]:
    from tui.screens.counts import CountsScreen

    return CountsScreen()


class SectionCommands(CommandList):
    """Command palette entries for every screen and the theme."""

    def commands(self) -> list[tuple[str, Any, str]]:
        app = self.app
        assert isinstance(app, LinkworkApp)
        items: list[tuple[str, Any, str]] = [
            (f"Go to {title} ({key.upper()})", partial(app.action_section, mode), help_)
            for mode, title, key, help_ in SECTIONS
        ]
        items += [
            ("Add a person", app.action_add_person, "Open the form to add a person"),
            ("Screen the current person", app.action_screen_person, "Start the questionnaire"),
            ("Refer the current person", app.action_refer, "Consent, reason, review, send"),
            ("Toggle light/dark theme (Ctrl+T)", app.action_toggle_theme, "Switch themes"),
            ("Load the sample directory", app.action_load_sample, "400 synthetic services"),
            ("Sync with MESH now (F9)", app.action_sync_mesh, "Send what waits, receive replies"),
            ("Keys and partners", app.action_keys, "Our key, partners' keys and routes"),
            ("Quarantined messages", app.action_quarantine, "Received messages refused"),
            ("My caseload", app.action_caseload, "Open episodes: last and next contact"),
            ("Week diary", app.action_diary, "Every contact this week; DNA in two keys"),
            ("Casework of the current person", app.action_casework, "Goals, contacts, notes"),
        ]
        return items


class LinkworkApp(App[None]):
    TITLE = "linkwork"
    SUB_TITLE = "social prescribing"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {SectionCommands, ScreenKeyCommands}
    DEFAULT_MODE = "home"
    MODES = {
        "home": _home,
        "people": _people,
        "codes": _codes,
        "services": _services,
        "referrals": _referrals,
        "counts": _counts,
    }
    BINDINGS = [
        *[
            Binding(key, f"section('{mode}')", FOOTER_WORDS.get(mode, title), priority=True)
            for mode, title, key, _ in SECTIONS
        ],
        Binding("ctrl+t", "toggle_theme", "Theme", priority=True),
        Binding("f9", "sync_mesh", "Sync MESH", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Tab moves the focus as the key arrives (priority: before the next key is routed),
        # so letters typed straight after it go to the new field, never the one it left.
        Binding("tab", "next_field", "Next field", show=False, priority=True),
        Binding("shift+tab", "next_field(True)", "Previous field", show=False, priority=True),
    ]

    person: reactive[PersonRef | None] = reactive(None)
    db_ready: reactive[bool] = reactive(False)
    directory_size: reactive[int] = reactive(-1)
    index_ready: reactive[bool] = reactive(False)
    mesh_line: reactive[str] = reactive("")  # the MESH status line (tui.mesh_sync)

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        autoload_sample: bool = False,
        today: date | None = None,
        build_index: bool = True,
        timing_file: str | None = None,
        exit_on_database_error: bool = False,
    ) -> None:
        super().__init__()
        # Parsed rules shared across re-parses (tui.stylesheet): a section's first visit
        # re-applies the CSS rather than parsing all of it again.
        self.stylesheet = SharedStylesheet(variables=self.get_css_variables())
        self.settings = settings
        from linkwork.workspace import Workspace

        self.workspace = Workspace(settings, engine)
        self.service_search = ServiceSearch(self.workspace)
        self.mesh = MeshSync(self)
        self.autoload_sample = autoload_sample
        self.fixed_today = today
        self.build_index = build_index
        self.startup_error: str = ""
        self.timing_file = timing_file
        self.exit_on_database_error = exit_on_database_error
        self.timings: dict[str, float] = {}
        # The rest of start-up waits for the home screen to be filled (``warm_up``).
        self.home_painted = threading.Event()
        self.leaving = False
        self.warming = False
        self.warmed = False
        # Locked: the passphrase screen at start or the idle lock is showing; nothing but
        # quitting works until it is dismissed (``check_action``).
        self.locked = False
        self.last_activity = time.monotonic()
        self.protection = protection(self.workspace.database_url())
        if self.protection == "not encrypted":
            self.title = f"{self.TITLE} (not encrypted)"

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification (a screen's ``notify`` comes here too, asking for markup): the
        words as they are, never read as markup (a notice quoting a stored name holding
        ``[/]`` or ``[@click=...]``), control characters shown (``tui/widgets/plain.py``).
        The app writes no markup of its own, so ``markup`` is ignored. A warning or an error
        says so in its title, not only by its colour (issue 22, point 2)."""
        title = title or SEVERITY_TITLES.get(severity, "")
        super().notify(
            visible_controls(message),
            title=visible_controls(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    @property
    def actions(self) -> Any:
        """``linkwork.actions``: the one place the app reaches the application layer. Each
        area (``actions.people``, ...) is imported, with SQLAlchemy and the domain, the first
        time a worker uses it, after the first paint."""
        import linkwork.actions as actions

        return actions

    @property
    def today(self) -> date:
        return self.fixed_today or date.today()

    def on_worker_state_changed(self, event: Any) -> None:
        from tui.workers import report_worker_error

        report_worker_error(self, event)

    def on_unmount(self) -> None:
        self.service_search.close()

    def on_mount(self) -> None:
        if self.theme != DARK:
            self.theme = DARK
        self.call_after_refresh(self._first_paint)

    def _first_paint(self) -> None:
        self.timings["first_paint"] = time.time()
        self.timings["first_paint_cpu"] = time.process_time()  # every thread's, from start
        minutes = self.settings.idle_lock_minutes
        if minutes > 0:
            self.set_interval(min(15.0, max(0.05, minutes * 15)), self._check_idle)
        kind = self.workspace.needs_passphrase()
        if kind is None:
            self._open_database()
            return
        # Asked before the database is opened (and before SQLAlchemy is imported).
        from linkwork.atrest import sqlite_path
        from tui.screens.database_passphrase import DatabasePassphraseScreen

        self.locked = True
        where = str(sqlite_path(self.workspace.database_url()))
        self.push_screen(DatabasePassphraseScreen(kind, where), self._passphrase_given)

    def _passphrase_given(self, opened: bool | None) -> None:
        self.locked = False
        self.last_activity = time.monotonic()
        if opened:
            self._open_database()
        else:
            self.exit(message="linkwork: the database was not opened")

    # -- the idle lock --------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollDown
                      | events.MouseScrollUp | events.Paste):  # fmt: skip
            self.last_activity = time.monotonic()
        await super().on_event(event)

    def _check_idle(self) -> None:
        minutes = self.settings.idle_lock_minutes
        if self.locked or not self.db_ready or minutes <= 0:
            return
        if time.monotonic() - self.last_activity >= minutes * 60:
            self.lock()

    def lock(self) -> None:
        """Hide everything behind the lock screen until the passphrase is typed again."""
        from tui.screens.lock import LockScreen

        self.locked = True
        self.clear_notifications()  # a notice may name a person
        self.push_screen(
            LockScreen(self.protection, self.settings.idle_lock_minutes), self._unlocked
        )

    def _unlocked(self, _result: object) -> None:
        self.locked = False
        self.last_activity = time.monotonic()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.locked and action != "quit":
            return False  # no section, palette or form reachable past the lock
        return super().check_action(action, parameters)

    def home_filled(self) -> None:
        """Called by the home screen once it shows the database's contents (painted): the
        rest of start-up (``warm_up``) may begin."""
        if "home_filled" in self.timings:
            return
        self.timings["home_filled"] = time.time()
        self.timings["home_filled_cpu"] = time.process_time()
        if self.timing_file:
            Path(self.timing_file).write_text(json.dumps(self.timings), encoding="utf-8")
            self.leaving = True  # measured: leave now, nothing more to start
            self.exit()
        self.home_painted.set()

    # -- start-up work (after the first paint) --------------------------------------------
    @work(thread=True, exit_on_error=False, exclusive=True, group="startup")
    def _open_database(self) -> None:
        try:
            # read without SQLAlchemy when it can be; otherwise opened (made, migrated) here
            size = self.actions.today.directory_size(self.workspace)
            if size == 0 and self.autoload_sample:
                self.call_from_thread(
                    self.notify, "Empty database: loading the bundled sample directory..."
                )
                try:
                    self.actions.directory.load_sample(self.workspace)
                    size = self.actions.today.directory_size(self.workspace)
                    self.call_from_thread(
                        self.notify, f"Loaded the sample directory: {size} services."
                    )
                except (ValueError, LookupError, OSError) as exc:
                    self.call_from_thread(
                        self.notify,
                        f"The sample directory could not be loaded: {plain_error(exc)}",
                        severity="warning",
                    )
        except Exception as exc:
            self.startup_error = plain_error(exc)
            if self.exit_on_database_error:
                # Nothing works without the database: leave with one plain line, exit 2.
                self.call_from_thread(
                    self.exit, return_code=2, message=f"linkwork: {self.startup_error}"
                )
                return
            self.call_from_thread(
                self.notify, f"Cannot open the database: {self.startup_error}", severity="error"
            )
            return
        self.call_from_thread(self._database_opened, size)

    def _database_opened(self, size: int) -> None:
        self.timings.setdefault("database_open", time.time())
        self.last_activity = time.monotonic()  # the idle time counts from here
        self.directory_size = size
        self.db_ready = True
        self.refresh_screen()
        if self.warmed:
            self._start_services()
        elif not self.warming:
            self.warming = True
            if self.current_mode != "home" or "home_filled" in self.timings:
                self.home_painted.set()
            self.warm_up()

    @work(thread=True, exit_on_error=False, exclusive=True, group="warm")
    def warm_up(self) -> None:
        """Once the home screen is filled from the database (read without SQLAlchemy when
        it can be: ``linkwork.actions.today``), start building the service search and open
        the database as every other action does, loading the models and the people actions
        (``actions.today.warm``), then start MESH: none of it competes with the home
        screen, and the next screen need not load it itself. The worker runs from the
        moment the database is opened (so a test waiting for every worker waits for this
        one too) and waits for the home screen first (at most 2 s: a home that failed to
        load, or another screen)."""
        self.home_painted.wait(2.0)
        if self.leaving:
            return  # the bench's timing run ends at the home screen
        # the index is built in a process of its own (tui.search_process): on another core
        self.call_from_thread(self._start_index)
        try:
            self.actions.today.warm(self.workspace)
        except Exception as exc:
            self.call_from_thread(
                self.notify, f"Cannot open the database: {plain_error(exc)}", severity="error"
            )
        self.call_from_thread(self._warmed_up)

    def _warmed_up(self) -> None:
        self.warmed = True
        self.mesh.start()

    def _start_services(self) -> None:
        self.mesh.start()
        self._start_index()

    def _start_index(self) -> None:
        if self.build_index and self.directory_size > 0:
            self._warm_if_needed()

    def _warm_if_needed(self) -> None:
        if not self.index_ready and not self.service_search.built:
            self.warm_index()

    @work(thread=True, exit_on_error=False, exclusive=True, group="index")
    def warm_index(self) -> None:
        """Build the service search index in the background so the first search is quick."""
        self.call_from_thread(setattr, self, "index_ready", False)
        try:
            self.service_search.build()
        except Exception as exc:
            self.call_from_thread(
                self.notify, f"Service search could not start: {plain_error(exc)}", severity="error"
            )
            return
        self.call_from_thread(setattr, self, "index_ready", True)

    def refresh_screen(self) -> None:
        refresh = getattr(self.screen, "refresh_data", None)
        if callable(refresh):
            refresh()

    # -- actions --------------------------------------------------------------------------
    def action_section(self, mode: str) -> None:
        # Close pushed screens (forms, modals) of this mode's stack before switching.
        self.switch_mode(mode)

    async def action_next_field(self, back: bool = False) -> None:
        """Tab / Shift+Tab. Textual's own Tab binding waits its turn behind the focused
        widget, so the keys that arrived with it were routed to the field it was leaving
        (a burst: a paste by keystrokes, a text expander, a loaded terminal). This one
        runs as the Tab is routed: it lets the focused widget handle the keys already
        sent to it (the app routes nothing meanwhile), then moves the focus on from
        wherever they left it, so the keys after the Tab go to the new field; a field
        that says what is wrong keeps the focus on Tab (CheckedInput.holds), not on
        Shift+Tab."""
        from tui.widgets.checked import CheckedInput

        focused = self.focused
        if focused is not None:
            handled = asyncio.Event()
            focused.call_later(handled.set)  # after the keys already in its queue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(handled.wait(), timeout=1.0)
            focused = self.focused  # those keys may have moved it themselves
        # Tab stays in a field that says what is wrong; Shift+Tab always goes back, so no
        # field traps the keyboard (the person may mend an earlier field first)
        if not back and isinstance(focused, CheckedInput) and focused.holds():
            return
        if back:
            self.screen.focus_previous()
        else:
            self.screen.focus_next()

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK
        self.notify(f"{'Light' if self.theme == LIGHT else 'Dark'} theme")

    def action_load_sample(self) -> None:
        self._load_sample()

    @work(thread=True, exit_on_error=False, exclusive=True, group="startup")
    def _load_sample(self) -> None:
        self.call_from_thread(self.notify, "Loading the bundled sample directory...")
        try:
            self.actions.directory.load_sample(self.workspace)
            self.service_search.invalidate()
            size = self.actions.today.directory_size(self.workspace)
        except Exception as exc:
            self.call_from_thread(self.notify, plain_error(exc), severity="error")
            return
        self.call_from_thread(self.notify, f"Sample directory loaded: {size} services.")
        self.call_from_thread(self._database_opened, size)

    def action_add_person(self) -> None:
        from tui.screens.people import AddPersonScreen

        self.switch_mode("people")
        self.push_screen(AddPersonScreen())

    def require_person(self) -> PersonRef | None:
        if self.person is None:
            self.notify("Choose a person first (F2 People).", severity="warning")
        return self.person

    def action_screen_person(self) -> None:
        person = self.require_person()
        if person is None:
            return
        from tui.screens.screening import ScreeningScreen

        self.push_screen(ScreeningScreen(person))

    def action_refer(
        self, service_id: Any = None, service_name: str = "", found_for: tuple[str, ...] = ()
    ) -> None:
        person = self.require_person()
        if person is None:
            return
        from tui.screens.refer import ReferScreen

        self.push_screen(
            ReferScreen(
                person, service_id=service_id, service_name=service_name, found_for=found_for
            )
        )

    def action_sync_mesh(self) -> None:
        self.mesh.sync_now()

    def action_keys(self) -> None:
        from tui.screens.keys import KeysScreen

        self.push_screen(KeysScreen())

    def action_quarantine(self) -> None:
        from tui.screens.keys import QuarantineScreen

        self.push_screen(QuarantineScreen())

    def action_caseload(self) -> None:
        from tui.screens.caseload import CaseloadScreen

        self.push_screen(CaseloadScreen())

    def action_diary(self) -> None:
        from tui.screens.caseload import DiaryScreen

        self.push_screen(DiaryScreen())

    def action_casework(self) -> None:
        person = self.require_person()
        if person is None:
            return
        from tui.screens.person_casework import PersonCaseworkScreen

        self.push_screen(PersonCaseworkScreen(person))

    def open_person(self, person: PersonRef) -> None:
        """Make ``person`` the current person and show their record in People (F2)."""
        from tui.screens.person import PersonScreen

        self.person = person
        if self.current_mode != "people":
            self.switch_mode("people")
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(PersonScreen(person))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title.lower().startswith("theme"):
                continue  # our own toggle covers it, with the binding shown
            yield command


def css_files() -> list[Path]:
    here = Path(__file__).parent
    return [here / "app.tcss", *sorted((here / "screens").glob("*.tcss"))]

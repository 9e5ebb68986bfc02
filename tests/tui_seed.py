"""A fixed, realistic practice database for the app's snapshot tests and the docs
screenshots: the bundled sample directory and a few synthetic people with screenings,
needs, consent and referrals at fixed dates, made through the domain functions.

``TODAY`` is the app's fixed clock for these, so every screen renders the same."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime

TODAY = date(2026, 3, 2)
ACTOR = "sam.linkworker"


def at(day: int, month: int = 2, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 30, tzinfo=UTC)


def pid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def referral_id(n: int) -> str:
    return f"{n:x}" * 8 + f"-0000-4000-9000-{n:012d}"


PEOPLE = [
    # id, given, family, born, NHS number (999 test range), postcode
    (pid(1), "Robin", "Ashworth", date(1961, 7, 3), "9990000018", "ZZ1 1AA"),
    (pid(2), "Priya", "Chaudhry", date(1988, 1, 22), "9990000026", "ZZ2 4BD"),
    (pid(3), "Tomasz", "Nowak", date(1975, 11, 9), "9990000034", "ZZ3 7QT"),
]


def seed(db_url: str) -> None:
    from sqlmodel import select

    from directory.models import Service
    from linkwork.db import open_engine, session_scope
    from linkwork.sample import load_sample_directory
    from screening.consent import record_consent
    from screening.needs import add_need
    from screening.people import create_person
    from screening.referrals import create_referral, set_status

    engine = open_engine(db_url)
    with session_scope(engine) as session:
        load_sample_directory(session)
        services = {s.name: s.id for s in session.exec(select(Service).order_by(Service.id)).all()}

        def service_named(words: str) -> int:
            for name, sid in services.items():
                if words.lower() in name.lower():
                    assert sid is not None
                    return sid
            raise LookupError(words)

        people = {}
        for pid, given, family, born, nhs, postcode in PEOPLE:
            people[given] = create_person(
                session,
                id=pid,
                given_name=given,
                family_name=family,
                birth_date=born,
                nhs_number=nhs,
                postcode=postcode,
                actor=ACTOR,
            )
        robin, priya, tomasz = people["Robin"], people["Priya"], people["Tomasz"]
        housing = add_need(
            session, robin, "Z59.0", actor=ACTOR, words="sofa surfing", recorded_at=at(3)
        )
        food = add_need(
            session, robin, "Z59.4", actor=ACTOR, words="skipping meals", recorded_at=at(3)
        )
        debt = add_need(
            session, priya, "Z59.6", actor=ACTOR, words="behind on rent", recorded_at=at(9)
        )
        lonely = add_need(session, tomasz, "Z60.2", actor=ACTOR, words="lonely", recorded_at=at(12))

        made = iter(range(1, 10))  # fixed ids: 11111111-..., 22222222-..., shown on the board

        def refer(person, needs, words, reason, when, followup=14):  # type: ignore[no-untyped-def]
            sid = service_named(words)
            record_consent(
                session, person, actor=ACTOR, service_id=sid, shares=["needs", "contact"],
                given_at=when,
            )  # fmt: skip
            return create_referral(
                session, person, needs, actor=ACTOR, service_id=sid, reason=reason, at=when,
                followup_days=followup, id=referral_id(next(made)),
            )  # fmt: skip

        r1 = refer(robin, [housing], "Housing Options", "Sofa surfing since March", at(3))
        refer(robin, [food], "food", "Skipping meals to pay the gas", at(10), followup=21)
        r3 = refer(priya, [debt], "Advice", "Rent arrears, wants debt advice", at(9))
        r4 = refer(tomasz, [lonely], "Befriending", "Lonely since his wife died", at(12))
        set_status(session, r1, "accepted", actor="hub.worker", at=at(5))
        set_status(session, r3, "accepted", actor="hub.worker", at=at(11))
        set_status(session, r3, "in-progress", actor="hub.worker", at=at(16))
        set_status(
            session, r4, "rejected", actor="hub.worker", reason="Full until April", at=at(14)
        )
    engine.dispose()


# The main screens and the keys that reach each from start-up (with the current person,
# when a screen needs one chosen beforehand): used by the snapshot tests and
# docs/make_screenshots.py.
SCREEN_KEYS: dict[str, tuple[tuple[str, ...], int | None]] = {
    "home": ((), None),
    "people": (("f2", *"ash"), None),
    "person": (("f2", *"ash", "enter", "enter"), None),
    "screening": (("f2", *"ash", "enter", "enter", "s"), None),
    "codes": (("f3", *"cant aford food"), None),
    "services": (("f4", *"homeles shelter"), None),
    "services-near": (("f4", *"food bank", "tab", "tab", *"ZZ1 1AA", "ctrl+o"), None),
    "person-edit": (("f2", *"ash", "enter", "enter", "e"), None),
    "refer": (("f4", *"homeles shelter", "ctrl+r"), 1),
    "referrals": (("f5",), None),
    "counts": (("f6",), None),
}


# Screens whose snapshot shows search results: only these build the service index.
SEARCHING = {"services", "services-near", "refer"}


def make_app(db_url: str, screen: str | None = None):  # type: ignore[no-untyped-def]
    from linkwork.settings import load_settings
    from tui.app import LinkworkApp

    build = screen is None or screen in SEARCHING
    app = LinkworkApp(load_settings(database_url=db_url), today=TODAY, build_index=build)
    # The sample's index built in this process (tui.search_process.ServiceSearch, in_process):
    # the same index and the same NearSearch answers as the app's search process, without
    # starting a second interpreter per app (~1.2 s CPU each). The process itself is tested
    # where it is the subject (test_tui_services, test_search_process_start, test_tui.py).
    app.service_search.in_process = True
    return app


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Once per step: wait until the database is open (and the search index built, when
    the app builds one), then until no worker is running and every message is handled."""
    from textual.widgets import Input
    from textual.worker import WorkerCancelled, WorkerState

    app = pilot.app
    for _ in range(1500):
        opened = app.db_ready or app.startup_error
        indexed = not app.build_index or app.index_ready or app.directory_size == 0
        if opened and indexed:
            break
        await pilot.pause(0.02)
    for _ in range(50):
        # an exclusive worker replaced by a newer one (a key typed on) is cancelled: wait again
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
        busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if not busy:
            break
    for field in app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor would make snapshots flaky
    await pilot.wait_for_scheduled_animations()


def steps(screen: str, *, typed: bool = False):  # type: ignore[no-untyped-def]
    """The keys that reach ``screen``, settling once per step: letters typed together are
    one step (a word typed into a search box), every other key is a step of its own.

    The letters of a step go key by key (``pilot.press``), each waited for; ``typed=True``
    sends them together (``press``: the same keys through the same handlers, waited for
    once). test_tui_snapshots types: every main screen's picture is the same either way
    (an earlier app drew the codes table's scroll bar a cell apart, no longer)."""
    keys, person = SCREEN_KEYS[screen]
    groups: list[list[str]] = []
    for key in keys:
        if len(key) == 1 and groups and len(groups[-1][-1]) == 1:
            groups[-1].append(key)
        else:
            groups.append([key])

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        if person is not None:
            from tui.state import PersonRef

            given, family = PEOPLE[person - 1][1:3]
            pilot.app.person = PersonRef(pid(person), f"{given} {family}")
        for group in groups:
            if typed:
                await press(pilot, *group)
            else:
                await pilot.press(*group)
            await settle(pilot)

    return run


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``text`` into what has the focus: one key press per character, each going the
    way a real key goes (the app's priority bindings, then the focused widget's key
    handler: an Input inserts it at the cursor, a CheckedInput checks the new value), but
    sent together and waited for once. ``Pilot.press`` waits for the process to go idle
    twice after every key (>= 40 ms of sleeping each: ~0.8 s for a 20-letter field), which
    was most of a typing test's time.

    For text only: a key that moves the focus or changes the screen (Tab, Enter, Escape, a
    binding) goes through ``pilot.press`` so the keys after it reach the right widget.
    Returns once every key is handled; settle afterwards as after any step. ``press`` below
    chooses between the two for a mixed list of keys."""
    from textual import events
    from textual.keys import _character_to_key

    app = pilot.app
    for char in text:
        key = char if char.isalnum() else _character_to_key(char)
        event = events.Key(key, char)
        event.set_sender(app)
        app.post_message(event)  # the app's queue, in order, as the driver would
    # The app hands each key to the focused widget's queue; then that widget handles them.
    await pilot._wait_for_screen()
    await pilot._wait_for_screen()


async def press(pilot, *keys: str) -> None:  # type: ignore[no-untyped-def]
    """``pilot.press(*keys)``, but a run of characters typed into a text field (an Input or
    a TextArea has the focus) is typed together (``type_text``): every other key, and
    characters pressed where there is no text field (bindings), go one by one through
    ``pilot.press`` as before, so each lands where it would have."""
    from textual.widgets import Input, TextArea

    run: list[str] = []

    async def flush() -> None:
        if not run:
            return
        await pilot._wait_for_screen()  # a focus() asked for just before has happened
        if isinstance(pilot.app.focused, (Input, TextArea)):
            await type_text(pilot, "".join(run))
        else:
            await pilot.press(*run)
        run.clear()

    for key in keys:
        if len(key) == 1:
            run.append(key)
            continue
        await flush()
        await pilot.press(key)
    await flush()


# --- waiting on the app's events rather than on the process clock ---------------------------
#
# Textual's Pilot waits after every key (twice) and in every ``pause()`` with
# ``textual._wait.wait_for_idle``: it sleeps 20 ms at a time until a 20 ms slice passes with
# under 1 ms of the process's CPU used, for up to 1 s. So every key costs at least 40 ms of
# sleeping, and much more while anything in the process runs (the app rendering, a worker
# thread, the garbage collector, another process's load slowing this one): test_tui_people's
# resume test spent 7.5 s of its 14 s (load ~3) in the 66 waits of its 33 keys, and the app
# test modules' main thread slept 15-40% of their time. ``wait_on_events`` puts in its place
# a wait for what the next step needs: every message queued in the app and its widgets
# handled (and the handlers' own messages), the screen's layout and repaint done (forced, as
# ``Pilot.pause`` does after its wait), the callbacks waiting on that refresh run, and the
# app's workers finished, for at most the same second. Timers are not waited for (the clock
# wait did not wait for them either): a test that needs one to fire pauses for its time.


def _screen_due(screen) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        screen._layout_required
        or screen._scroll_required
        or screen._repaint_required
        or screen._dirty_widgets
        or screen._recompose_required
        or screen._callbacks
    )


def _busy_pumps(app) -> list:  # type: ignore[no-untyped-def,type-arg]
    """The app and widgets with messages queued or one being handled (or, if they have
    just been mounted, not started yet), and those with callbacks due when idle."""
    busy = []
    for node in (app, *app._registry):
        if node._closed or node._closing:
            continue
        queue = node.__dict__.get("_message_queue")  # made on first use
        # A pump with nothing to do waits on its queue's event; one handling a message
        # does not.
        if node._next_callbacks or (
            queue is not None and (queue.values or not queue.ready_event._waiters)
        ):
            busy.append(node)
    return busy


async def _handled(pumps: list, timeout: float) -> None:  # type: ignore[type-arg]
    """Wait until each of ``pumps`` has handled what it had queued (a callback put at the
    end of each queue has run): no spinning, which would hold the GIL from the workers."""
    import asyncio

    left = 0
    done = asyncio.Event()

    def one_more() -> None:
        nonlocal left
        left -= 1
        if left == 0:
            done.set()

    for pump in pumps:
        if pump.call_later(one_more):
            left += 1
    if left:
        await asyncio.wait_for(done.wait(), timeout)
    else:
        await asyncio.sleep(0)


async def wait_until_quiet(app, max_wait: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    """Return once ``app`` has nothing left to do for what was sent to it (see above), or
    after ``max_wait`` seconds (as the clock wait gave up after 1 s)."""
    import asyncio
    import time

    from textual.worker import WorkerState

    deadline = time.monotonic() + max_wait
    await asyncio.sleep(0)  # what was just sent starts
    while (left := deadline - time.monotonic()) > 0:
        pumps = _busy_pumps(app)
        if pumps:
            with contextlib.suppress(TimeoutError):
                await _handled(pumps, left)
            continue
        screen = app.screen
        if _screen_due(screen) and screen.is_current and not app._batch_count:
            screen._on_timer_update()  # the refresh the update timer would make next
            continue
        busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if not busy:
            await asyncio.sleep(0)  # anything handed over from another thread lands
            if not _busy_pumps(app):
                return
            continue
        tasks = [w._task for w in busy if w._task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=min(left, 0.05), return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(0.001)  # a worker not started yet


def wait_on_events(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """For one test: the Pilot's waits (after each key, in ``pause()``, in
    ``wait_for_scheduled_animations``) wait on the app's events (``wait_until_quiet``)
    instead of polling the process clock. ``wait_until_quiet`` reads Textual's internals
    (message queues, the screen's pending layout): a release without one of them falls back
    to Textual's own clock wait, slower but the same test."""
    import textual.app
    import textual.pilot
    from textual._context import active_app

    clock_wait = textual.app.wait_for_idle

    async def wait_for_idle(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
        try:
            await wait_until_quiet(active_app.get(), max_wait=max_sleep)
        except AttributeError:
            await clock_wait(min_sleep, max_sleep)

    monkeypatch.setattr(textual.app, "wait_for_idle", wait_for_idle)
    monkeypatch.setattr(textual.pilot, "wait_for_idle", wait_for_idle)

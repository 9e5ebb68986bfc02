"""The fixed practice of tests/tui_seed.py with casework at fixed dates (the app's clock
is ``tui_seed.TODAY``, Monday 2 March 2026): for the casework screens' snapshots and the
docs screenshots (docs/make_casework_screenshots.py). No tests here.

Robin: an episode since 3 Feb, what matters, two goals, contacts (attended with ONS4 at
the start, did not attend, attended with ONS4 at a review, a home visit booked this week),
a case note. Priya: an episode since 9 Feb, a booked call whose time passed without an
outcome, a group session booked this week. Tomasz: an episode since 12 Feb, no contact."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import tui_seed
from tui_seed import ACTOR, TODAY, at, pid

NOW = datetime.combine(TODAY, time(12, 0), tzinfo=UTC)

# (screen name, keys from home, person chosen first); settled once per step.
SCREEN_KEYS: dict[str, tuple[tuple[str, ...], int | None]] = {
    "caseload": (("k",), None),
    "casework": (("f2", *"ash", "enter", "enter", "w"), None),
    "diary": (("v",), None),
}


def seed(db_url: str) -> None:
    from linkwork.db import open_engine, session_scope
    from screening.casework import contacts, episodes, goals, notes
    from screening.people import get_person

    tui_seed.seed(db_url)
    engine = open_engine(db_url)
    with session_scope(engine) as session:
        robin, priya, tomasz = (get_person(session, pid(n)) for n in (1, 2, 3))

        def contact(person: Any, when: datetime, kind: str, status: str, **extra: Any) -> None:
            contacts.add_contact(session, person, actor=ACTOR, at=when, kind=kind,
                                 status=status, now=NOW, **extra)  # fmt: skip

        episodes.start_episode(session, robin, actor=ACTOR, at=at(3), now=NOW)
        episodes.set_what_matters(
            session, robin, "A safe place to live, and getting back to the allotment",
            actor=ACTOR, now=at(5),
        )  # fmt: skip
        home = goals.add_goal(session, robin, "Somewhere safe to live by the summer",
                              actor=ACTOR, need="Z59.0", by="2026-06-30", now=at(5))  # fmt: skip
        goals.add_goal(session, robin, "Eat three meals a day", actor=ACTOR, need="Z59.4",
                       now=at(5))  # fmt: skip
        goals.set_progress(session, home, "some", actor=ACTOR, on="2026-02-19", now=NOW)
        contact(robin, at(5), "face-to-face", "attended", minutes=45,
                note="First talk: what matters", ons4={"ons4_satisfied": 4, "ons4_worthwhile": 5,
                "ons4_happy": 4, "ons4_anxious": 7})  # fmt: skip
        contact(robin, at(12), "phone", "did-not-attend")
        contact(robin, at(19), "video", "attended", minutes=30, note="Review",
                ons4={"ons4_satisfied": 6, "ons4_worthwhile": 7, "ons4_happy": 6,
                "ons4_anxious": 4})  # fmt: skip
        contact(robin, at(4, month=3, hour=14), "home-visit", "booked")
        notes.add_note(
            session,
            robin,
            "Sister's sofa until the end of March.",
            actor=ACTOR,
            now=at(19, hour=11),
        )

        episodes.start_episode(session, priya, actor=ACTOR, at=at(9), now=NOW)
        contact(priya, at(10), "phone", "attended", minutes=20)
        contact(priya, at(26), "phone", "booked")
        contact(priya, at(3, month=3), "group", "booked")

        episodes.start_episode(session, tomasz, actor=ACTOR, at=at(12), now=NOW)
    engine.dispose()


def steps(screen: str):  # type: ignore[no-untyped-def]
    keys, person = SCREEN_KEYS[screen]
    saved = tui_seed.SCREEN_KEYS.get(screen)
    tui_seed.SCREEN_KEYS[screen] = (keys, person)
    try:
        return tui_seed.steps(screen)
    finally:
        if saved is None:
            del tui_seed.SCREEN_KEYS[screen]
        else:
            tui_seed.SCREEN_KEYS[screen] = saved

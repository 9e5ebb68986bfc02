"""Minimum necessary sharing, in the app (issue 17, point 6): a person with three needs is
referred to a food bank found by searching "food bank". Only the food need starts ticked;
every tick reads [x] or [ ]; the review lists in words exactly what the hub will receive
(and what stays behind); the hub, receiving the file through the real exchange, gets only
that need; the person's timeline says what was shared with whom."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import tui_seed
from sqlmodel import select
from textual.widgets import Checkbox, DataTable, Static

from linkwork.db import open_engine, session_scope
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from tui.app import LinkworkApp

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

NEEDS = {"Z59.0": "sofa surfing", "Z59.4": "skipping meals", "Z60.2": "lonely since March"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sides(isolated_home: Path, tmp_path: Path) -> dict[str, Any]:
    """The practice (the app's database: sample directory, a person with three needs and
    a phone number, our key, the hub trusted by files) and the hub (its own database and
    key, trusting the practice)."""
    from linkwork.sample import load_sample_directory
    from screening.exchange.keys import load_public_key, trust_key, write_key_pair
    from screening.needs import add_need
    from screening.people import create_person

    settings = load_settings()
    practice_keys = write_key_pair(settings.dir_or_default("keys_dir"), "practice")
    hub_keys = write_key_pair(tmp_path / "hub-keys", "hub")
    engine = open_engine(settings.resolved_database_url())
    with session_scope(engine) as session:
        load_sample_directory(session)
        trust_key(session, load_public_key(hub_keys.public), "Northside Hub", "test.worker")
        person = create_person(
            session,
            given_name="Dana",
            family_name="Okafor",
            birth_date=date(1979, 4, 2),
            nhs_number="9434765919",
            postcode="ZZ1 1AA",
            phone="07700 900123",
            ethnic_category="A",
            actor="test.worker",
        )
        for code, words in NEEDS.items():
            add_need(session, person, code, actor="test.worker", words=words)
        person_id = person.id
    engine.dispose()
    hub_settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'hub.db'}", keys_dir=str(tmp_path / "hub-keys")
    )
    hub_engine = open_engine(hub_settings.resolved_database_url())
    with session_scope(hub_engine) as session:
        trust_key(session, load_public_key(practice_keys.public), "Practice", "hub.worker")
    hub_engine.dispose()
    return {"settings": settings, "hub": hub_settings, "person": person_id}


async def settle(pilot: Any, app: LinkworkApp) -> None:
    """Once per step: until every worker is done (a search superseded by a newer
    keystroke's is cancelled, which is not a failure)."""
    from textual.worker import WorkerCancelled

    for _ in range(3):
        await pilot.pause()
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
    await pilot.pause()


def ticks(app: LinkworkApp) -> dict[str, str]:
    """Each need's tick as the screen draws it ('[x]' or '[ ]'), by need code."""
    out = {}
    for box in app.screen.query(Checkbox):
        if (box.id or "").startswith("need-"):
            text = str(box.render())
            out[text.split("]", 1)[1].split()[0]] = text[:3]
    return out


async def test_only_the_need_searched_for_is_ticked_shown_and_shared(
    sides: dict[str, Any],
) -> None:
    from tui.state import PersonRef

    settings = sides["settings"]
    app = LinkworkApp(settings, today=date.today())
    app.service_search.in_process = True  # the sample searched in this process (tui_seed.make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.person = PersonRef(sides["person"], "Dana Okafor")
        await tui_seed.press(pilot, "f4", *"food bank")
        await settle(pilot, app)
        service_name = app.screen.matches[0].name  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReferScreen"
        # Consent: ticks read [x] / [ ] (equality answers are not shared unless ticked).
        share = {k: str(app.screen.query_one(f"#share-{k}").render())[:3] for k in
                 ("needs", "contact", "equality")}  # fmt: skip
        assert share == {"needs": "[x]", "contact": "[x]", "equality": "[ ]"}
        app.screen.query_one("#consent-given").focus()
        await pilot.press("space", "ctrl+n")
        await settle(pilot, app)

        # Needs: only the food need (what the service was found for) starts ticked.
        assert ticks(app) == {"Z59.0": "[ ]", "Z59.4": "[x]", "Z60.2": "[ ]"}
        summary = str(app.screen.query_one("#refer-needs-summary", Static).render())
        assert summary.startswith("Ticked 1 of 3: Z59.4.")
        app.screen.query_one("#refer-reason").focus()
        await tui_seed.press(pilot, *"skipping meals to pay the gas", "enter")
        await settle(pilot, app)

        # Review: exactly what Northside Hub will receive, in words, and what stays.
        assert app.screen.step == 2  # type: ignore[attr-defined]
        review = str(app.screen.query_one("#refer-review", Static).render())
        received = review.split("will receive", 1)[1].split("Not shared", 1)[0]
        assert "as an encrypted file in the outbox folder" in received
        assert "Z59.4" in received and "Z59.0" not in received and "Z60.2" not in received
        assert "[x] Contact details: phone number, postcode" in received
        assert "[x] The reason, in your words" in received
        assert "[ ] Equality answers: none" in received
        kept_back = review.split("Not shared (stays with the practice):", 1)[1]
        assert "[ ] Z59.0" in kept_back and "[ ] Z60.2" in kept_back
        assert "Z59.4" not in kept_back
        await pilot.press("ctrl+s")
        await settle(pilot, app)

        # The timeline: what was shared with whom.
        assert type(app.screen).__name__ == "PersonScreen"
        timeline = app.screen.query_one("#person-timeline", DataTable)
        assert "SHARED" in " ".join(str(c) for c in timeline.get_row_at(0))
        newest = str(app.screen.query_one("#person-detail", Static).render())
        assert re.search(  # the referral by its short id, as the CLI asks for it
            rf"Shared with Northside Hub \(referral [0-9a-f]{{8}} to {re.escape(service_name)}\)",
            newest,
        ), newest
        assert "needs Z59.4 " in newest and "Z59.0" not in newest and "Z60.2" not in newest

    # The hub receives the file through the exchange: only the food need, no equality data.
    files = list(settings.dir_or_default("outbox").glob("referral-*.jwe"))
    assert len(files) == 1
    from linkwork.actions import exchange

    got = exchange.receive_file(Workspace(sides["hub"]), files[0])
    assert got["status"] == "created"
    from screening.models import Person, Referral
    from screening.referrals import referral_needs

    engine = open_engine(sides["hub"].resolved_database_url())
    with session_scope(engine) as session:
        referral = session.exec(select(Referral)).one()
        assert [n.code for n in referral_needs(session, referral)] == ["Z59.4"]
        person = session.get(Person, referral.person_id)
        assert person is not None
        assert (person.phone, person.postcode) == ("07700 900123", "ZZ1 1AA")
        assert person.ethnic_category in ("", "99", None)  # not shared
    engine.dispose()

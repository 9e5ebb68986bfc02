"""Issue 22, point 4: every message a person reads names the person, need, service or
referral in words, never by a raw id ("already recorded for person da076475-..."); a
referral, need, consent or screening is named by the short id (its first 8 characters)
that the CLI asks for. One place does the naming: screening/naming.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session

from screening import consent, needs, people, referrals
from screening import questionnaire as qn

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HUB = "Northside Hub"


def _person(session: Session, given: str = "Test", family: str = "Person", **extra: Any) -> Any:
    return people.create_person(
        session, actor="worker.a", given_name=given, family_name=family,
        birth_date="1970-05-06", **extra,
    )  # fmt: skip


def _refused(call: Callable[[], Any]) -> str:
    """What the refusal says (any refusal in words: a ValueError or a LookupError)."""
    try:
        call()
    except (ValueError, LookupError) as exc:
        return str(exc)
    raise AssertionError("not refused")


def test_every_refusal_names_its_records_in_words(session: Session) -> None:
    person = _person(session, nhs_number="943 476 5919")
    other = _person(session, "Ann", "Other")
    housing = needs.add_need(session, person, "Z59.0", actor="worker.a")
    theirs = needs.add_need(session, other, "Z60.2", actor="worker.a")
    given = consent.record_consent(session, person, actor="worker.a", hub=HUB)
    referral = referrals.create_referral(session, person, [housing], actor="worker.a", hub=HUB)
    short = referral.id[:8]

    said = {
        "duplicate need": _refused(
            lambda: needs.add_need(session, person, "Z59.0", actor="worker.a")
        ),
        "NHS number": _refused(
            lambda: _person(session, "Someone", "Else", nhs_number="9434765919")
        ),
        "someone else's need": _refused(
            lambda: referrals.create_referral(session, person, [theirs], actor="worker.a", hub=HUB)
        ),
        "same status": _refused(
            lambda: referrals.set_status(session, referral, "requested", actor="worker.a")
        ),
        "outcome too soon": _refused(
            lambda: referrals.record_outcome(session, referral, actor="worker.a")
        ),
    }
    consent.withdraw_consent(session, given, actor="worker.a")
    said["withdrawn twice"] = _refused(
        lambda: consent.withdraw_consent(session, given, actor="worker.a")
    )
    needs.resolve_need(session, housing, actor="worker.a")
    said["resolved twice"] = _refused(
        lambda: needs.resolve_need(session, housing, actor="worker.a")
    )

    with_ids = {what: text for what, text in said.items() if UUID.search(text)}
    assert with_ids == {}
    assert said["duplicate need"] == (
        "Homelessness (Z59.0) is already an active need of Test Person"
    )
    assert said["NHS number"] == "NHS number 9434765919 is already recorded for Test Person"
    assert (
        "Living alone (Z60.2) is a need of Ann Other, not of Test Person"
        in said["someone else's need"]
    )
    assert said["same status"] == (f"referral {short} (Test Person to {HUB}) is already requested")
    assert said["outcome too soon"].startswith(f"referral {short} (Test Person to {HUB}) is")
    assert said["withdrawn twice"] == (
        f"consent {given.id[:8]} (Test Person, to share with {HUB}) was already withdrawn"
    )
    assert said["resolved twice"] == (
        "the need Homelessness (Z59.0) of Test Person is already resolved"
    )


def test_a_screening_in_progress_is_named_by_person_and_date(session: Session) -> None:
    person = _person(session)
    qn.save_screening_progress(session, person, {"housing.situation": "settled"}, actor="w")
    text = _refused(
        lambda: qn.save_screening_progress(
            session, person, {"housing.situation": "settled"}, actor="w"
        )
    )
    assert not UUID.search(text)
    assert text.startswith("Test Person already has a screening in progress, started ")


def test_the_cli_shows_a_referrals_short_id_never_the_whole(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    made = cli(
        "person", "add", "--given", "Test", "--family", "Person", "--birth-date", "06/05/1970",
        "--json", db=db_url,
    )  # fmt: skip
    pid = made.json()["id"]
    added = cli("need", "add", pid[:8], "--code", "Z59.0", db=db_url)
    assert added.code == 0 and not UUID.search(added.out), added.out
    cli("consent", "record", pid[:8], "--hub", HUB, "--shares", "needs", db=db_url)
    refer = cli("refer", pid[:8], "--need", "Z59.0", "--hub", HUB, db=db_url)
    assert refer.code == 0, refer.err
    assert not UUID.search(refer.out), refer.out
    listed = cli("referral", "list", "--json", db=db_url).json()
    short = listed[0]["id"][:8]
    assert f"referral: {short}" in refer.out
    moved = cli("referral", "status", short, "accepted", db=db_url)
    assert moved.out.strip() == f"referral {short} is now accepted"
    again = cli("referral", "status", short, "accepted", db=db_url)
    assert again.code == 2
    assert again.err.strip() == (
        f"linkwork: referral {short} (Test Person to {HUB}) is already accepted"
    )
    shown = cli("person", "show", pid[:8], db=db_url)
    assert short in shown.out and not UUID.search(shown.out), shown.out

    # The app's timeline of the person names the referral by the same short id.
    from linkwork.actions.people import person_record
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    record = person_record(Workspace(load_settings(database_url=db_url)), pid, timeline=True)
    whats = [item["what"] for item in record["timeline"]]
    assert f"Referral {short} to {HUB}" in whats, whats


@pytest.mark.anyio
async def test_the_apps_status_box_names_the_referral_by_its_short_id() -> None:
    from textual.app import App
    from textual.widgets import Label

    from tui.screens.referrals import StatusScreen

    referral = {
        "id": "1a2b3c4d-0000-4000-9000-000000000001",
        "short_id": "1a2b3c4d",
        "person_name": "Test Person",
        "service": HUB,
        "status": "accepted",
        "allowed": ["in-progress", "completed"],
    }
    app: App[None] = App()
    async with app.run_test() as pilot:
        await app.push_screen(StatusScreen(referral))
        await pilot.pause()
        said = [str(label.render()) for label in app.screen.query(Label)]
        assert f"Referral 1a2b3c4d for Test Person to {HUB}" in said


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

"""Issue 19, receiving: the whole status history reaches the practice's timeline (in order,
with the hub's times, whether the updates arrive together, out of order, or as one), and
files already in the field (the format before issue 19, tests/data/exchange_v1, made by
a2dd1c3) are still received."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fhir_support import World, build_world, receive
from joserfc.jwk import ECKey
from test_exchange_support import session_for

from linkwork import db as lwdb
from linkwork.actions.people import person_record
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.models import as_utc

V1 = Path(__file__).parent / "data" / "exchange_v1"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> World:
    return build_world(tmp_path_factory.mktemp("fhir-receiving"), sqlite_template)


def _timeline(url: str, person_id: str) -> list[dict[str, Any]]:
    ws = Workspace(load_settings(database_url=url), lwdb.open_engine(url))
    try:
        return person_record(ws, person_id, timeline=True)["timeline"]
    finally:
        ws.engine.dispose()


def _referral_entries(timeline: list[dict[str, Any]], referral_id: str) -> list[tuple[str, Any]]:
    rows = [t for t in timeline if t["referral_id"] == referral_id and t["what"].startswith("Ref")]
    return sorted((t["status"], t["at"]) for t in rows)


@pytest.mark.parametrize(
    "order",
    [
        ("update-accepted", "update-in-progress", "update-completed"),
        ("update-completed", "update-accepted", "update-in-progress"),  # one sync, any order
        ("update-completed",),  # one message carrying the whole history
    ],
)
def test_the_practice_timeline_shows_every_status_with_the_hubs_times(
    world: World, order: tuple[str, ...]
) -> None:
    url = world.practice_copy(f"timeline-{len(order)}-{order[0]}")
    made = world.made["service"]
    results = [receive(url, world.tokens[name], world.practice_key) for name in order]
    # In order, each update moves the referral on; once the completed one (carrying the
    # whole history) is in, the earlier ones change nothing.
    late = order[0] == "update-completed"
    assert [r["status"] for r in results] == (
        ["updated"] + ["ignored"] * (len(order) - 1) if late else ["updated"] * len(order)
    )
    entries = _referral_entries(_timeline(url, made.person_id), made.referral_id)
    hub = {s: as_utc(datetime.fromisoformat(t)) for s, t in world.hub_times.items()}
    later = [(status, at) for status, at in entries if status != "REQUESTED"]
    assert sorted(later, key=lambda e: e[1]) == [
        ("ACCEPTED", hub["accepted"]),
        ("IN-PROGRESS", hub["in-progress"]),
        ("COMPLETED", hub["completed"]),
    ]
    from screening.referrals import get_outcome, get_referral

    with session_for(url) as session:
        referral = get_referral(session, made.referral_id)
        outcome = get_outcome(session, referral)
        assert outcome is not None
        assert (outcome.note, outcome.ons4_satisfied, outcome.ons4_anxious) == (
            "Joined the Tuesday food club",
            6,
            4,
        )
        from screening.models import Need

        resolved = {session.get(Need, n).status for n in made.need_ids[:1]}  # type: ignore[union-attr]
        assert resolved == {"resolved"}


def test_the_hub_keeps_the_task_authored_on(world: World) -> None:
    from screening.referrals import get_referral

    (sent,) = [
        e["resource"]
        for e in world.bundles["referral-service"]["entry"]
        if e["resource"]["resourceType"] == "Task"
    ]
    with session_for(world.hub_url) as session:
        referral = get_referral(session, world.made["service"].referral_id)
        assert as_utc(referral.created_at) == _instant(sent["authoredOn"])


# -- files in the field: the format before issue 19 ------------------------------------------


def _seal(path: Path, signer: ECKey, recipient: ECKey) -> str:
    from screening.exchange.jose import seal

    return seal(path.read_bytes(), signer, recipient)


def _resources(path: Path, kind: str) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def test_old_format_referrals_are_still_received_at_the_hub(world: World) -> None:

    from screening.models import Consent
    from screening.referrals import get_referral, referral_needs

    url = world.copy(world.hub_url, "old-hub")
    expected = {"referral-service.json": ["Z59.0", "Z59.4"], "referral-hub.json": ["digital"]}
    for name, codes in expected.items():
        assert json.loads((V1 / name).read_text())["type"] == "collection"
        token = _seal(V1 / name, world.practice_key, world.hub_key)
        result = receive(url, token, world.hub_key)
        assert result["status"] == "created", result
        again = receive(url, token, world.hub_key)
        assert again["status"] == "duplicate"
        (request,) = _resources(V1 / name, "ServiceRequest")
        (consent,) = _resources(V1 / name, "Consent")
        (task,) = _resources(V1 / name, "Task")
        with session_for(url) as session:
            referral = get_referral(session, request["id"])
            assert referral.direction == "incoming"
            assert sorted(n.code for n in referral_needs(session, referral)) == codes
            stored = session.get(Consent, consent["id"])
            assert stored is not None and stored.method == "verbal"
            assert stored.shares == consent_shares(consent)
            assert as_utc(referral.created_at) == _instant(task["authoredOn"])


def consent_shares(consent: dict[str, Any]) -> list[str]:
    return [c["code"] for c in consent["provision"]["class"]]


def _old_referral_at_the_practice(url: str) -> tuple[str, list[str]]:
    """The practice's own record of the referral the old update files answer (the ids the
    files carry), as sent to partner 'hub'."""
    from screening.exchange.models import ExchangeMessage
    from screening.models import utcnow
    from screening.needs import add_need
    from screening.people import create_person
    from screening.referrals import create_referral

    (patient,) = _resources(V1 / "referral-service.json", "Patient")
    (request,) = _resources(V1 / "referral-service.json", "ServiceRequest")
    conditions = _resources(V1 / "referral-service.json", "Condition")
    with session_for(url) as session:
        person = create_person(
            session, id=patient["id"], given_name="Ada", family_name="Testperson",
            birth_date="1984-03-02", actor="practice.worker", practice_ods="Y99901",
        )  # fmt: skip
        needs = [
            add_need(
                session,
                person,
                c["code"]["coding"][0]["code"],
                actor="practice.worker",
                id=c["id"],
            )
            for c in conditions
        ]
        from screening.consent import record_consent

        record_consent(session, person, actor="practice.worker", hub="Old Hub", shares=["needs"])
        create_referral(
            session, person, needs, actor="practice.worker", hub="Old Hub", id=request["id"],
            at=datetime.fromisoformat(request["authoredOn"]),
        )  # fmt: skip
        session.add(
            ExchangeMessage(
                message_id="old-referral", direction="out", kind="referral",
                referral_id=request["id"], partner="hub", created_at=utcnow(),
            )
        )  # fmt: skip
        session.commit()
    return request["id"], [c["id"] for c in conditions]


def test_old_format_updates_are_still_received_at_the_practice(world: World) -> None:
    from screening.models import Need
    from screening.referrals import get_outcome, get_referral, referral_events

    url = world.practice_copy("old-practice")
    referral_id, need_ids = _old_referral_at_the_practice(url)
    for step in ("accepted", "in-progress", "completed"):
        assert json.loads((V1 / f"update-{step}.json").read_text())["type"] == "collection"
        token = _seal(V1 / f"update-{step}.json", world.hub_key, world.practice_key)
        result = receive(url, token, world.practice_key)
        assert (result["status"], result["to_status"]) == ("updated", step), result
    with session_for(url) as session:
        referral = get_referral(session, referral_id)
        assert [e.to_status for e in referral_events(session, referral)] == [
            "requested", "accepted", "in-progress", "completed",
        ]  # fmt: skip
        outcome = get_outcome(session, referral)
        assert outcome is not None
        assert outcome.note == "Joined the Tuesday food club"
        assert (outcome.ons4_satisfied, outcome.ons4_worthwhile) == (6, 7)
        assert (outcome.ons4_happy, outcome.ons4_anxious) == (5, 4)
        statuses = sorted(session.get(Need, n).status for n in need_ids)  # type: ignore[union-attr]
        assert statuses == ["active", "resolved"]


def test_a_message_with_another_bars_event_is_refused(world: World) -> None:
    from screening.exchange import errors as E
    from screening.exchange.fhir import check_bundle

    bundle = json.loads(json.dumps(world.bundles["referral-service"]))
    assert check_bundle(bundle)["type"] == "message"
    bundle["entry"][0]["resource"]["eventCoding"]["code"] = "booking-request"
    with pytest.raises(E.ExchangeRefused, match="message event 'booking-request'"):
        check_bundle(bundle)
    header = bundle["entry"].pop(0)
    bundle["entry"].append(header)
    with pytest.raises(E.ExchangeRefused, match="first entry must be its MessageHeader"):
        check_bundle(bundle)

"""Referrals a hub received (direction incoming) are counted for the hub's data lead:
received, accepted, completed, declined; referrals the same database sent stay apart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from screening.counts import ALL, referrals_report
from screening.models import Person
from screening.needs import add_need
from screening.people import create_person
from screening.referrals import create_referral, set_status

ACTOR = "hub.worker"
AT = datetime(2025, 9, 10, 12, tzinfo=UTC)


def _person(session: Session, name: str, sex: str, practice: str) -> Person:
    return create_person(
        session,
        given_name=name,
        family_name="Hub",
        birth_date="1970-01-01",
        actor=ACTOR,
        sex=sex,
        practice_ods=practice,
        ethnic_category="A",
    )


def _received(session: Session, person: Person, code: str, path: list[str]) -> None:
    need = add_need(session, person, code, actor=ACTOR, recorded_at=AT)
    referral = create_referral(
        session,
        person,
        [need],
        actor=ACTOR,
        hub="Town hub",
        send=True,
        at=AT,
        direction="incoming",
        origin="Y00001",
        require_consent=False,
    )
    for status in path:
        reason = "outside our area" if status in ("rejected", "failed") else ""
        set_status(session, referral, status, actor=ACTOR, reason=reason)


def _make_hub(session: Session) -> None:
    ann = _person(session, "Ann", "female", "Y00001")
    bob = _person(session, "Bob", "male", "Y00002")
    cat = _person(session, "Cat", "female", "Y00001")
    _received(session, ann, "Z59.0", [])  # waiting
    _received(session, ann, "Z59.4", ["accepted", "in-progress", "completed"])
    _received(session, bob, "Z59.0", ["accepted", "in-progress"])
    _received(session, bob, "Z60.2", ["rejected"])
    _received(session, cat, "Z59.0", ["accepted", "in-progress", "failed"])
    # one referral the hub itself sent onwards: not a received one
    need = add_need(session, cat, "Z59.6", actor=ACTOR, recorded_at=AT)
    from screening.consent import record_consent

    record_consent(session, cat, actor=ACTOR, hub="Money advice", shares=["needs"])
    create_referral(session, cat, [need], actor=ACTOR, hub="Money advice", at=AT)
    session.commit()


@pytest.fixture
def hub(session: Session) -> Session:
    _make_hub(session)
    return session


def test_received_referrals_are_counted_apart_from_sent_ones(hub: Session) -> None:
    report = referrals_report(hub, "sex", rule=None, direction="received")
    got = {r.keys: r.values for r in report.rows}
    assert got[(ALL,)] == {"received": 5, "accepted": 3, "completed": 1, "declined": 1}
    assert got[("male",)] == {"received": 2, "accepted": 1, "completed": 0, "declined": 1}
    assert got[("female",)] == {"received": 3, "accepted": 2, "completed": 1, "declined": 0}
    sent = {r.keys: r.values for r in referrals_report(hub, "sex", rule=None).rows}
    assert sent[(ALL,)] == {"made": 1, "accepted": 0, "completed": 0, "declined": 0}
    by_practice = {
        r.keys: r.values["received"]
        for r in referrals_report(hub, "practice", rule=None, direction="received").rows
    }
    assert by_practice == {("Y00001",): 3, ("Y00002",): 2, (ALL,): 5}
    report = referrals_report(hub, "need", rule=None, direction="received")
    assert [m.key for m in report.measures] == ["received", "accepted", "completed", "declined"]
    assert "received" in report.title
    # published: small numbers hidden as always
    safe = referrals_report(hub, "sex", direction="received")
    assert all(v is None or v == 0 for r in safe.rows for v in r.values.values())
    with pytest.raises(ValueError, match="direction"):
        referrals_report(hub, "sex", direction="sideways")


def test_report_referrals_direction_received_on_the_command_line(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from linkwork import db as lwdb

    engine = lwdb.open_engine(db_url)
    with Session(engine) as session:
        _make_hub(session)
    engine.dispose()
    result = cli(
        "report",
        "referrals",
        "--by",
        "sex",
        "--direction",
        "received",
        "--no-suppression",
        "--format",
        "json",
        db=db_url,
    )
    assert result.code == 0, result.err
    data = result.json()
    assert data["report"] == "referrals-received"
    total = next(r for r in data["rows"] if r["sex"] is None)
    assert total["received"] == 5 and total["declined"] == 1
    bad = cli("report", "referrals", "--by", "sex", "--direction", "both", db=db_url)
    assert bad.code == 2 and bad.err.count("\n") <= 1

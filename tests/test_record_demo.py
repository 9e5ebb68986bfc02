"""``linkwork demo`` makes plausible synthetic data: several practices, every need domain,
every ethnic category near England's shares, referrals in every status following the
workflow, consent behind every sent referral, outcomes only for completed ones."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from linkwork.demo import make_demo
from screening import audit
from screening.nhs import is_valid_nhs_number
from screening.referrals import REASON_REQUIRED, STATUSES, TRANSITIONS

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 1500
# England and Wales 2021 census shares mapped to the 2001 categories (percent), with the
# band each sample share must fall in. Written here, not read from equality.yaml.
ETHNIC_BANDS = {
    "A": (66, 81),  # White British ~74%
    "C": (4, 9),  # any other White ~6%
    "H": (1.8, 4.5),  # Indian ~3%
    "J": (1.5, 4),  # Pakistani ~2.7%
    "N": (1.2, 3.8),  # African ~2.5%
}
ETHNIC_CODES = set("ABCDEFGHJKLMNPRSZ") | {"99"}


def _rows(session: Session, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    return [tuple(r) for r in session.execute(sa.text(sql)).all()]


def test_demo_data_are_plausible(session: Session) -> None:
    summary = make_demo(session, people=PEOPLE, seed=11, actor="demo.test")
    session.commit()
    assert summary.people == PEOPLE

    people = _rows(
        session, "SELECT nhs_number, practice_ods, postcode, ethnic_category, birth_date, sex "
        "FROM person"
    )  # fmt: skip
    assert len(people) == PEOPLE
    numbers = [p[0] for p in people if p[0]]
    assert len(numbers) > 0.9 * PEOPLE and len(set(numbers)) == len(numbers)
    assert all(n.startswith("999") and is_valid_nhs_number(n) for n in numbers)
    practices = Counter(p[1] for p in people)
    assert len(practices) >= 5 and all(p.startswith("Y0") and len(p) == 6 for p in practices)
    assert max(practices.values()) < 0.5 * PEOPLE
    assert all(p[2][:3] in {"ZZ1", "ZZ2", "ZZ3", "ZZ4", "ZZ5"} for p in people)

    ethnic = Counter(p[3] for p in people)
    assert set(ethnic) == ETHNIC_CODES
    for code, (low, high) in ETHNIC_BANDS.items():
        share = 100 * ethnic[code] / PEOPLE
        assert low <= share <= high, (code, share)

    today = date.today()
    ages = []
    for p in people:
        born = p[4] if isinstance(p[4], date) else date.fromisoformat(str(p[4]))
        ages.append((today - born).days // 365)
    assert min(ages) >= 16 and max(ages) <= 100
    assert 40 <= sorted(ages)[len(ages) // 2] <= 60
    sexes = Counter(p[5] for p in people)
    assert 0.5 < sexes["female"] / PEOPLE < 0.65 and 0.33 < sexes["male"] / PEOPLE < 0.47

    with (ROOT / "codes" / "domains.csv").open(encoding="utf-8") as handle:
        domains = {row["key"] for row in csv.DictReader(handle)}
    need_domains = Counter(r[0] for r in _rows(session, "SELECT domain FROM need"))
    assert set(need_domains) == domains
    assert all(n >= 10 for n in need_domains.values()), need_domains
    # Needs are spread over the last 18 months.
    times = [r[0] for r in _rows(session, "SELECT recorded_at FROM need")]
    parsed = [t if isinstance(t, datetime) else datetime.fromisoformat(str(t)) for t in times]
    parsed = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in parsed]
    now = datetime.now(UTC)
    assert min(parsed) > now - timedelta(days=560) and max(parsed) <= now
    assert min(parsed) < now - timedelta(days=480) and max(parsed) > now - timedelta(days=60)
    months = {(t.year, t.month) for t in parsed}
    assert len(months) >= 18


def test_demo_referrals_follow_the_workflow(session: Session) -> None:
    make_demo(session, people=600, seed=5, actor="demo.test")
    session.commit()
    referrals = _rows(
        session, "SELECT id, status, status_reason, consent_id, service_id, hub FROM referral"
    )
    statuses = Counter(r[1] for r in referrals)
    assert set(statuses) == set(STATUSES)
    for rid, status, reason, consent_id, service_id, hub in referrals:
        if status in REASON_REQUIRED:
            assert reason, rid
        if status != "draft":
            assert consent_id, rid
        assert (service_id is None) != (not hub)
    assert sum(1 for r in referrals if r[4] is not None) > 0.5 * len(referrals)
    events: dict[str, list[tuple]] = {}  # type: ignore[type-arg]
    for referral_id, from_status, to_status in _rows(
        session, "SELECT referral_id, from_status, to_status FROM referral_event ORDER BY id"
    ):
        events.setdefault(referral_id, []).append((from_status, to_status))
    final = {r[0]: r[1] for r in referrals}
    for referral_id, steps in events.items():
        assert steps[0][0] is None
        for from_status, to_status in steps[1:]:
            assert to_status in TRANSITIONS[from_status], (from_status, to_status)
        assert steps[-1][1] == final[referral_id]
    outcome_status = Counter(
        r[0]
        for r in _rows(
            session, "SELECT r.status FROM outcome o JOIN referral r ON r.id = o.referral_id"
        )
    )
    assert set(outcome_status) == {"completed"}
    assert outcome_status["completed"] == statuses["completed"]
    # Consent covers the referral's own target.
    mismatched = _rows(
        session,
        "SELECT r.id FROM referral r JOIN consent c ON c.id = r.consent_id "
        "WHERE c.person_id <> r.person_id OR COALESCE(c.service_id, -1) <> "
        "COALESCE(r.service_id, -1) OR c.hub <> r.hub",
    )
    assert mismatched == []
    assert audit.verify_chain(session).ok


def test_demo_cli_prints_ids_and_counts(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--people", "40", "--seed", "2", "--json", db=db_url)
    assert result.code == 0, result.err
    data = result.json()
    assert data["people"] == 40 and data["needs"] > 40
    listed = cli("person", "list", "--limit", "100", "--json", db=db_url)
    assert len(listed.json()) == 40
    assert cli("demo", "--people", "0", db=db_url).code == 2


def test_demo_for_a_given_day_ends_that_day(session: Session) -> None:
    """``today`` anchors the 18 months: nothing recorded after that day, the earliest
    about 18 months before it, and follow-ups counted from it."""
    from datetime import date, datetime

    day = date(2026, 3, 2)
    make_demo(session, people=60, seed=4, actor="demo.test", today=day)
    session.commit()

    def as_day(value: object) -> date:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.date()

    recorded = [as_day(r[0]) for r in _rows(session, "SELECT recorded_at FROM need")]
    created = [as_day(r[0]) for r in _rows(session, "SELECT created_at FROM referral")]
    assert recorded and created
    assert max(recorded + created) <= day
    assert (day - min(recorded)).days <= 560 and (day - min(recorded)).days >= 300

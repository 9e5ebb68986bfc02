"""Counts in SQL on SQLite and PostgreSQL: exact raw numbers on hand-made records, periods
(financial quarters and years), age at recording, ethnic groups, deprivation, filters,
referrals and outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from screening import counts
from screening.counts import ALL, Filters, needs_report, outcomes_report, referrals_report
from screening.models import (
    Need,
    Outcome,
    OutcomeNeed,
    Person,
    Referral,
    ReferralEvent,
    ReferralNeed,
    Screening,
)


def _at(y: int, m: int, d: int, h: int = 12) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=UTC)


def _person(session: Session, name: str, **kw) -> Person:  # type: ignore[no-untyped-def]
    defaults = {
        "given_name": name,
        "family_name": "Test",
        "birth_date": date(1980, 6, 15),
        "practice_ods": "Y00001",
        "ethnic_category": "A",
        "sex": "female",
        "disability": "no",
        "postcode": "ZZ1 1AA",
    }
    defaults.update(kw)
    person = Person(**defaults)
    session.add(person)
    session.flush()
    return person


def _need(session: Session, person: Person, code: str, domain: str, when: datetime) -> Need:
    need = Need(
        person_id=person.id,
        code=code,
        system="http://hl7.org/fhir/sid/icd-10",
        display=code,
        domain=domain,
        recorded_at=when,
    )
    session.add(need)
    session.flush()
    return need


@pytest.fixture
def records(session: Session) -> Session:
    """Five people, hand-made, with needs across financial-year boundaries."""
    ann = _person(session, "Ann", birth_date=date(2000, 4, 10))  # 24 until 10 Apr 2025
    bob = _person(session, "Bob", sex="male", ethnic_category="N", practice_ods="Y00002")
    cat = _person(session, "Cat", ethnic_category="H", disability="yes")
    dan = _person(session, "Dan", sex="male", ethnic_category="Z", postcode="ZZ2 2BB")
    eve = _person(session, "Eve", ethnic_category="99", birth_date=date(1940, 1, 1))
    # Ann: housing twice (two codes) in March 2025 (FY 2024-25 Q4) and April 2025 (2025-26 Q1)
    _need(session, ann, "Z59.0", "housing", _at(2025, 3, 31))
    _need(session, ann, "Z59.1", "housing", _at(2025, 4, 11))
    # Bob: food and money in the same month
    _need(session, bob, "Z59.4", "food", _at(2025, 4, 2))
    _need(session, bob, "Z59.6", "money", _at(2025, 4, 20))
    # Cat: housing, Oct 2025 (Q3)
    _need(session, cat, "Z59.0", "housing", _at(2025, 10, 1))
    # Dan: isolation, Jan 2026 (2025-26 Q4)
    _need(session, dan, "Z60.2", "isolation", _at(2026, 1, 15))
    # Eve: isolation, Jan 2026 and again Feb 2026 (same code)
    _need(session, eve, "Z60.2", "isolation", _at(2026, 1, 3))
    _need(session, eve, "Z60.2", "isolation", _at(2026, 2, 3))
    session.commit()
    return session


def _raw(report: counts.Report) -> dict[tuple, int | float | None]:
    return {row.keys: row.values[report.measures[0].key] for row in report.rows}


def test_people_are_counted_once_per_cell(records: Session) -> None:
    got = _raw(needs_report(records, "domain", rule=None))
    assert got[("housing",)] == 2  # Ann (twice) and Cat
    assert got[("isolation",)] == 2  # Dan and Eve (Eve twice)
    assert got[("food",)] == 1
    assert got[("transport",)] == 0  # closed list: every domain is shown
    assert got[(ALL,)] == 5  # five people, not eight needs


def test_financial_quarters_and_years(records: Session) -> None:
    quarters = _raw(needs_report(records, "quarter", rule=None))
    assert quarters == {
        (20244,): 1,  # Ann, 31 March 2025
        (20251,): 2,  # Ann and Bob, April 2025
        (20253,): 1,  # Cat, October 2025
        (20254,): 2,  # Dan, Eve in January-February 2026
        (ALL,): 5,
    }
    years = _raw(needs_report(records, "year", rule=None))
    assert years == {(2024,): 1, (2025,): 5, (ALL,): 5}
    assert counts.key_text("quarter", 20244) == "2024-25 Q4"
    assert counts.key_text("year", 2025) == "2025-26"
    assert counts.key_text("month", "2026-01") == "2026-01"
    months = _raw(needs_report(records, "month", rule=None))
    assert months[("2025-04",)] == 2 and months[("2026-01",)] == 2 and months[("2026-02",)] == 1


def test_age_band_is_the_age_when_the_need_was_recorded(records: Session) -> None:
    got = _raw(needs_report(records, "age_band", rule=None))
    # Ann: 24 on 31 March 2025, 25 on 11 April 2025: in both bands, once in the total
    assert got[("18-24",)] == 1
    assert got[("25-34",)] == 1
    # born 15 June 1980: Bob is 44 in April 2025; Cat and Dan are 45 from October 2025
    assert got[("35-44",)] == 1
    assert got[("45-54",)] == 2
    assert got[("85+",)] == 1  # Eve, 86
    assert got[(ALL,)] == 5


def test_ethnic_groups_and_two_way_tables(records: Session) -> None:
    got = _raw(needs_report(records, "domain,ethnic_group", rule=None))
    assert got[("housing", "white")] == 1
    assert got[("housing", "asian")] == 1
    assert got[("isolation", "not_stated")] == 1
    assert got[("isolation", "not_known")] == 1
    assert got[("food", "black")] == 1
    assert got[("housing", ALL)] == 2
    assert got[(ALL, "black")] == 1  # Bob once although two domains
    assert got[(ALL, ALL)] == 5


def test_filters_by_date_and_practice(session: Session, records: Session) -> None:
    april = Filters(start=date(2025, 4, 1), end=date(2025, 4, 30))
    assert _raw(needs_report(records, "sex", april, rule=None))[(ALL,)] == 2
    # the last day is included whole
    one_day = Filters(start=date(2025, 3, 31), end=date(2025, 3, 31))
    assert _raw(needs_report(records, "sex", one_day, rule=None))[(ALL,)] == 1
    practice = Filters(practice="Y00002")
    assert _raw(needs_report(records, "need", practice, rule=None)) == {
        ("Z59.4",): 1,
        ("Z59.6",): 1,
        (ALL,): 1,
    }
    with pytest.raises(LookupError, match="no practice"):
        needs_report(records, "need", Filters(practice="Y99999"))
    with pytest.raises(ValueError, match="after"):
        Filters(start=date(2025, 5, 1), end=date(2025, 4, 1))
    with pytest.raises(ValueError, match="unknown dimension"):
        needs_report(records, "colour")
    empty = needs_report(records, "sex", Filters(start=date(2020, 1, 1), end=date(2020, 2, 1)))
    assert empty.is_empty


def test_deprivation_from_a_loaded_lookup(records: Session, tmp_path: Path) -> None:
    lookup = tmp_path / "imd.csv"
    lookup.write_text("postcode,decile\nzz11aa,2\nZZ2 2BB,9\n", encoding="utf-8")
    assert counts.load_deprivation(records, lookup) == 2
    records.commit()
    got = _raw(needs_report(records, "deprivation", rule=None))
    assert got == {(2,): 4, (9,): 1, (ALL,): 5}
    assert counts.key_text("deprivation", 0) == "not_known"
    bad = tmp_path / "bad.csv"
    bad.write_text("postcode,decile\nZZ1 1AA,11\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        counts.load_deprivation(records, bad)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("pc,imd\nZZ1 1AA,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="postcode,decile"):
        counts.load_deprivation(records, wrong)


def test_three_dimensions_make_one_table_per_value_of_the_first(records: Session) -> None:
    got = _raw(needs_report(records, "domain,month,sex", rule=None))
    assert got[("housing", "2025-03", "female")] == 1
    assert got[("housing", ALL, "female")] == 2
    assert got[("isolation", "2026-01", "male")] == 1
    assert got[("isolation", ALL, ALL)] == 2


def test_suppressed_report_of_small_numbers_hides_them(records: Session) -> None:
    report = needs_report(records, "domain")
    values = [v for v in _raw(report).values()]
    assert set(values) <= {0, None}
    assert report.tables and all(counts_ok(t) for t in report.tables)


def counts_ok(table) -> bool:  # type: ignore[no-untyped-def]
    from screening.disclosure import recoverable_cells

    return recoverable_cells(table) == []


def test_referrals_and_outcomes(records: Session) -> None:
    session = records
    ann, bob = (
        session.execute(sa.select(Person).where(Person.given_name == n)).scalar_one()
        for n in ("Ann", "Bob")
    )
    needs = {n.code: n for n in session.execute(sa.select(Need)).scalars()}
    screening = Screening(
        person_id=bob.id,
        questionnaire_id="q",
        ons4_satisfied=3,
        ons4_worthwhile=4,
        ons4_happy=2,
        ons4_anxious=8,
    )
    session.add(screening)
    session.flush()

    def referral(person: Person, status: str, path: list[str], codes: list[str]) -> Referral:
        r = Referral(
            person_id=person.id,
            hub="Hub",
            status=status,
            created_at=_at(2025, 5, 1),
            screening_id=screening.id,
        )
        session.add(r)
        session.flush()
        prev = None
        for step in path:
            session.add(ReferralEvent(referral_id=r.id, from_status=prev, to_status=step))
            prev = step
        for code in codes:
            session.add(ReferralNeed(referral_id=r.id, need_id=needs[code].id))
        return r

    referral(ann, "draft", ["draft"], ["Z59.1"])
    referral(ann, "rejected", ["draft", "requested", "rejected"], ["Z59.1"])
    done = referral(
        bob, "completed", ["draft", "requested", "accepted", "completed"], ["Z59.4", "Z59.6"]
    )
    referral(bob, "failed", ["draft", "requested", "accepted", "in-progress", "failed"], ["Z59.6"])
    session.flush()
    outcome = Outcome(
        referral_id=done.id,
        person_id=bob.id,
        recorded_at=_at(2025, 6, 1),
        ons4_satisfied=6,
        ons4_worthwhile=6,
        ons4_happy=5,
        ons4_anxious=4,
    )
    session.add(outcome)
    session.flush()
    session.add(OutcomeNeed(outcome_id=outcome.id, need_id=needs["Z59.4"].id, resolved=True))
    session.add(OutcomeNeed(outcome_id=outcome.id, need_id=needs["Z59.6"].id, resolved=False))
    session.commit()

    rep = referrals_report(session, "sex", rule=None)
    by_key = {row.keys: row.values for row in rep.rows}
    assert by_key[(ALL,)] == {"made": 3, "accepted": 2, "completed": 1, "declined": 1}
    assert by_key[("female",)] == {"made": 1, "accepted": 0, "completed": 0, "declined": 1}
    by_domain = {r.keys: r.values for r in referrals_report(session, "domain", rule=None).rows}
    assert by_domain[("money",)]["made"] == 2
    assert by_domain[(ALL,)]["made"] == 3  # a referral with two needs counted once

    out = {r.keys: r.values for r in outcomes_report(session, "sex", rule=None).rows}
    assert out[(ALL,)]["needs"] == 2
    assert out[(ALL,)]["resolved"] == 1
    assert out[(ALL,)]["share_resolved"] == pytest.approx(0.5)
    assert out[(ALL,)]["ons4_people"] == 1
    assert out[(ALL,)]["ons4_satisfied_change"] == pytest.approx(3.0)
    assert out[(ALL,)]["ons4_anxious_change"] == pytest.approx(-4.0)
    safe = {r.keys: r.values for r in outcomes_report(session, "sex").rows}
    assert safe[(ALL,)]["share_resolved"] is None  # 1 of 2: both counts hidden
    assert safe[(ALL,)]["ons4_satisfied_change"] is None
    # by up to two dimensions (issue 21), not three
    assert outcomes_report(session, "sex,need", rule=None).rows
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        outcomes_report(session, "sex,need,month")


def test_counting_copies_lost_are_made_again_with_the_same_numbers(records: Session) -> None:
    before = _raw(needs_report(records, "domain,ethnic_group", rule=None))
    records.execute(sa.text("DELETE FROM count_need"))
    records.execute(sa.text("DELETE FROM count_person"))
    records.commit()
    assert _raw(needs_report(records, "domain,ethnic_group", rule=None)) == before

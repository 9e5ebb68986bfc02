"""Casework counts (issue 20 point 7): ``linkwork report contacts`` counts episodes started,
their contacts, contacts per episode, the did-not-attend rate and the mean ONS4 change
from start to latest review, by practice and by equality group, disclosure-controlled like
every count (rounded, small cells hidden, nothing recoverable); and a withdrawn (or
corrected) need is not counted, even after a report re-syncs the counting copies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from demo_support import built_copy

from linkwork import db as lwdb
from screening.counts.casework import casework_report
from screening.counts.dimensions import ALL
from screening.counts.reports import leaks
from screening.disclosure import recoverable_cells

ACTOR = "sam.worker"
NOW = datetime.now(UTC).replace(microsecond=0)
# (practice, ethnic category, people): A is White, H Asian, M Black.
GROUPS = [("Y02101", "A", 12), ("Y02102", "H", 9), ("Y02102", "M", 3)]


def build(url: str) -> None:
    """Each person: an episode started 30 days ago, a contact attended with ONS4 (4,5,4,7),
    one did not attend, one attended with ONS4 at review; in practice Y02101 only the
    review's life satisfaction is 7 (+3), elsewhere 6 (+2); the Black group's people have
    a fourth contact, no answer."""
    from screening.casework import contacts, episodes
    from screening.people import create_person

    engine = lwdb.open_engine(url)
    n = 0
    with lwdb.session_scope(engine) as session:
        for practice, ethnic, people in GROUPS:
            for _ in range(people):
                n += 1
                person = create_person(
                    session, given_name="P", family_name=f"Person{n}", birth_date=date(1970, 1, 1),
                    actor=ACTOR, practice_ods=practice, ethnic_category=ethnic,
                )  # fmt: skip
                start = NOW - timedelta(days=30)
                episodes.start_episode(session, person, actor=ACTOR, at=start, now=NOW)

                def add(
                    days: int, status: str, ons4: dict[str, int] | None = None,
                    person: Any = person, start: datetime = start,
                ) -> None:  # fmt: skip
                    contacts.add_contact(
                        session, person, actor=ACTOR, at=start + timedelta(days=days),
                        kind="phone", status=status, ons4=ons4 or {}, now=NOW,
                    )  # fmt: skip

                add(1, "attended", {"ons4_satisfied": 4, "ons4_worthwhile": 5, "ons4_happy": 4,
                                    "ons4_anxious": 7})  # fmt: skip
                add(8, "did-not-attend")
                review = 7 if practice == "Y02101" else 6
                add(15, "attended", {"ons4_satisfied": review, "ons4_worthwhile": 5,
                                     "ons4_happy": 5, "ons4_anxious": 5})  # fmt: skip
                if ethnic == "M":
                    add(20, "no-answer")
    engine.dispose()


@pytest.fixture
def counted(request: pytest.FixtureRequest, db_url: str) -> str:
    built_copy(request, db_url, build)  # built once per process and backend, then copied
    return db_url


def report(url: str, by: str, rule: Any = "default") -> Any:
    from screening.disclosure import DEFAULT_RULE

    engine = lwdb.open_engine(url)
    try:
        with lwdb.session_scope(engine) as session:
            return casework_report(session, by, rule=DEFAULT_RULE if rule == "default" else rule)
    finally:
        engine.dispose()


def by_key(rep: Any) -> dict[Any, dict[str, Any]]:
    return {row.keys[0]: row.values for row in rep.rows}


def test_raw_counts_by_practice_are_the_records(counted: str) -> None:
    rows = by_key(report(counted, "practice", rule=None))
    a, b = rows["Y02101"], rows["Y02102"]
    assert (a["episodes"], a["contacts"], a["dna"]) == (12, 36, 12)
    assert (b["episodes"], b["contacts"], b["dna"]) == (12, 39, 12)  # 9*3 + 3*4
    assert a["contacts_per_episode"] == 3.0 and b["contacts_per_episode"] == 3.25
    assert a["dna_rate"] == round(12 / 36, 3) and b["dna_rate"] == round(12 / 39, 3)
    assert a["ons4_episodes"] == 12 and a["ons4_satisfied_change"] == 3.0
    assert b["ons4_satisfied_change"] == 2.0 and b["ons4_anxious_change"] == -2.0
    assert rows[ALL]["episodes"] == 24


def test_published_by_practice_and_by_ethnic_group(counted: str) -> None:
    rep = report(counted, "practice")
    rows = by_key(rep)
    a = rows["Y02101"]
    # 12 -> 10, 36 -> 35, 12 -> 10 (nearest 5); ratios from the published counts.
    assert (a["episodes"], a["contacts"], a["dna"]) == (10, 35, 10)
    assert a["contacts_per_episode"] == round(35 / 10, 3)
    assert a["dna_rate"] == round(10 / 35, 3)
    assert a["ons4_satisfied_change"] == 3.0
    assert leaks(rep) == []

    groups = by_key(report(counted, "ethnic_group"))
    # The Black group has 3 episodes: hidden (1-7), and so is every measure of its row.
    black = groups["black"]
    assert black["episodes"] is None and black["contacts_per_episode"] is None
    assert black["dna_rate"] is None and black["ons4_satisfied_change"] is None
    # ... and so one more in the column (secondary suppression): the smaller, Asian (9).
    assert groups["white"]["episodes"] == 10 and groups["asian"]["episodes"] is None
    # Nothing hidden can be worked out from the published table and its totals.
    rep2 = report(counted, "ethnic_group")
    assert leaks(rep2) == []
    assert all(not recoverable_cells(t, published=True) for t in rep2.tables)


def test_by_practice_and_equality_group_together(counted: str) -> None:
    rep = report(counted, "practice,ethnic_group")
    cells = {row.keys: row.values for row in rep.rows}
    assert cells[("Y02101", "white")]["episodes"] == 10
    assert cells[("Y02102", "black")]["episodes"] is None
    assert leaks(rep) == []


def test_the_report_by_cli_and_need_is_refused(cli, counted: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "contacts", "--by", "practice", "--format", "csv", db=counted)
    assert result.code == 0, result.err
    lines = [line for line in result.out.splitlines() if "Y02101" in line]
    assert any("contacts_per_episode" in line and ",3.5," in line for line in lines), result.out
    refused = cli("report", "contacts", "--by", "need", db=counted)
    assert refused.code == 2 and "an episode has no one need" in refused.err


def test_a_withdrawn_or_corrected_need_is_not_counted(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    made = cli("person", "add", "--given", "Ann", "--family", "Example", "--birth-date",
               "06/05/1970", "--practice", "Y02101", "--json", db=db_url).json()  # fmt: skip
    pid = made["id"]
    needs = {}
    for code in ("Z59.0", "Z59.4", "Z60.2"):
        needs[code] = cli("need", "add", pid, "--code", code, "--json", db=db_url).json()["id"]
    assert cli("need", "withdraw", needs["Z59.4"], "--reason", "not theirs", db=db_url).code == 0
    assert cli("need", "correct", needs["Z60.2"], "Z60.4", db=db_url).code == 0

    def copies() -> list[str]:
        engine = lwdb.open_engine(db_url)
        try:
            with engine.connect() as conn:
                found = conn.execute(sa.text("SELECT code FROM count_need ORDER BY code")).all()
                return [c for (c,) in found]
        finally:
            engine.dispose()

    assert copies() == ["Z59.0", "Z60.4"]
    # A report re-syncs missing copies first: the withdrawn and corrected ones stay out.
    out = cli("report", "needs", "--by", "need", "--no-suppression", "--format", "json", db=db_url)
    assert out.code == 0, out.err
    assert copies() == ["Z59.0", "Z60.4"]

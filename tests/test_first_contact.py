"""Days to first contact (issue 21, point 3): beside the referrals' days to acceptance and
to completion, ``report timeliness`` counts the casework episodes started, how many have
had an attended contact, and the median and quartiles of the whole days from the
episode's start (the referral to the link worker) to its first *attended* contact, by the
same dimensions and under the same disclosure control (counts decided once, as in
``report contacts``; quartiles only beside a published count of 20 or more).

Every expected value below is worked out by hand from the records built here."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from linkwork import db as lwdb
from screening.counts import ALL, leaks
from screening.counts.casework import casework_report
from screening.counts.timeliness import timeliness_report
from screening.disclosure import recoverable_cells

ACTOR = "sam.worker"
START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # every episode starts here
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# first attended contact, in whole days after the start, of each group's episodes
FIRST = {
    ("Y02101", "A"): list(range(1, 25)),  # White: 1, 2, ... 24
    ("Y02102", "H"): [2, 2, 2, 4, 4, 4, 30, 30, 30],  # Asian
    ("Y02102", "M"): [10, 10, 10],  # Black
}
NOT_CONTACTED = 2  # two more White episodes: a did-not-attend only
MIXED = 12  # people of a Mixed group: one referral each (sent), no episode
Q = ("q1", "median", "q3")


def build(url: str) -> None:
    from screening.casework import contacts, episodes
    from screening.models import Referral
    from screening.people import create_person

    engine = lwdb.open_engine(url)
    n = 0

    def person(session: Any, practice: str, ethnic: str) -> Any:
        nonlocal n
        n += 1
        return create_person(
            session, given_name="P", family_name=f"Person{n}", birth_date=date(1970, 1, 1),
            actor=ACTOR, practice_ods=practice, ethnic_category=ethnic,
        )  # fmt: skip

    def contact(session: Any, who: Any, at: datetime, status: str) -> None:
        contacts.add_contact(
            session, who, actor=ACTOR, at=at, kind="phone", status=status, now=NOW
        )  # fmt: skip

    with lwdb.session_scope(engine) as session:
        for (practice, ethnic), days in FIRST.items():
            for d in days:
                who = person(session, practice, ethnic)
                episodes.start_episode(session, who, actor=ACTOR, at=START, now=NOW)
                # a did-not-attend before it and an attended one after: neither is first
                contact(session, who, START + timedelta(hours=2), "did-not-attend")
                contact(session, who, START + timedelta(days=d, hours=3), "attended")
                contact(session, who, START + timedelta(days=d + 7), "attended")
        for _ in range(NOT_CONTACTED):
            who = person(session, "Y02101", "A")
            episodes.start_episode(session, who, actor=ACTOR, at=START, now=NOW)
            contact(session, who, START + timedelta(days=3), "did-not-attend")
        for _ in range(MIXED):
            who = person(session, "Y02101", "D")
            session.add(
                Referral(
                    person_id=who.id, hub="A hub", status="requested", direction="outgoing",
                    created_at=datetime(2026, 10, 5, 10, 0, tzinfo=UTC), created_by=ACTOR,
                )
            )  # fmt: skip
    engine.dispose()


@pytest.fixture
def counted(db_url: str) -> str:
    build(db_url)
    return db_url


def run(url: str, build_report: Any, by: str, **kw: Any) -> Any:
    engine = lwdb.open_engine(url)
    try:
        with lwdb.session_scope(engine) as session:
            return build_report(session, by, **kw)
    finally:
        engine.dispose()


def rows(report: Any) -> dict[Any, Any]:
    return {row.keys[0]: row for row in report.rows}


def quarts(row: Any) -> tuple[Any, ...]:
    return tuple(row.values[f"days_to_contact_{q}"] for q in Q)


def test_days_to_first_contact_by_hand(counted: str) -> None:
    raw = rows(run(counted, timeliness_report, "ethnic_group", rule=None))
    white, asian, black, mixed, total = (
        raw[k].values for k in ("white", "asian", "black", "mixed", ALL)
    )
    assert (white["episodes"], white["contacted"]) == (26, 24)
    # 24 first contacts 1..24: nearest ranks 6, 12, 18 (the next attended ones not first,
    # the did-not-attend before them not attended)
    assert quarts(raw["white"]) == (6, 12, 18)
    assert white["contacted_rate"] == round(24 / 26, 3)
    # 9 of 2, 2, 2, 4, 4, 4, 30, 30, 30: ranks 3, 5, 7
    assert (asian["episodes"], asian["contacted"]) == (9, 9) and quarts(raw["asian"]) == (2, 4, 30)
    assert quarts(raw["black"]) == (10, 10, 10) and black["contacted"] == 3
    # the Mixed group has referrals and no episode: a row, with none of them
    assert (mixed["made"], mixed["episodes"], mixed["contacted"]) == (MIXED, 0, 0)
    assert quarts(raw["mixed"]) == (None, None, None)
    # all 36: days 1, 2 x4, 3, 4 x4, 5-9, 10 x4, 11-24, 30 x3; ranks 9, 18, 27 -> 4, 10, 18
    assert (total["episodes"], total["contacted"], total["made"]) == (38, 36, MIXED)
    assert quarts(raw[ALL]) == (4, 10, 18)


def test_published_like_every_count(counted: str) -> None:
    report = run(counted, timeliness_report, "ethnic_group")
    got = rows(report)
    total, white = got[ALL].values, got["white"].values
    # 38 -> 40, 36 -> 35 (nearest 5); 35 >= 20: the quartiles are shown, whole days
    assert (total["episodes"], total["contacted"]) == (40, 35)
    assert quarts(got[ALL]) == (4, 10, 18)
    # White: 26 -> 25 and 24 -> 25; the share from the published counts, not 24/26
    assert (white["episodes"], white["contacted"]) == (25, 25)
    assert white["contacted_rate"] == 1.0
    assert quarts(got["white"]) == (6, 12, 18)
    # Black (3) hidden, and so are its days; Asian's 9 is fewer than 20: no days
    assert got["black"].values["episodes"] is None and quarts(got["black"]) == (None,) * 3
    assert quarts(got["asian"]) == (None,) * 3
    # every ethnic group is a row whatever was counted: Mixed has no episode (0, as in
    # report contacts), White no referral
    assert got["mixed"].values["episodes"] == 0 and got["white"].values["made"] == 0
    assert leaks(report) == []
    for table in report.tables:
        assert recoverable_cells(table, published=True) == []
    # each episode count exactly as report contacts publishes it (decided once)
    contacts = rows(run(counted, casework_report, "ethnic_group"))
    for key in ("white", "asian", "black", ALL):
        assert got[key].values["episodes"] == contacts[key].values["episodes"], key
        assert ("episodes" in got[key].withheld) == ("episodes" in contacts[key].withheld)


def test_a_month_of_referrals_only_beside_a_month_of_episodes_only(counted: str) -> None:
    # the episodes all started in September 2026, the referrals were made in October
    raw = rows(run(counted, timeliness_report, "month", rule=None))
    assert (raw["2026-09"].values["episodes"], raw["2026-09"].values["made"]) == (38, 0)
    assert (raw["2026-10"].values["episodes"], raw["2026-10"].values["made"]) == (0, MIXED)
    report = run(counted, timeliness_report, "month")
    got = rows(report)
    september, october = got["2026-09"], got["2026-10"]
    assert (september.values["episodes"], september.values["contacted"]) == (40, 35)
    assert quarts(september) == (4, 10, 18)
    # a month not among a kind of record's months: withheld there (*), never a 0 that
    # its own tables did not decide
    assert september.values["made"] is None and "made" in september.withheld
    assert october.values["made"] == 10  # 12 -> 10
    assert october.values["episodes"] is None and "episodes" in october.withheld
    assert (got[ALL].values["episodes"], got[ALL].values["made"]) == (40, 10)  # 38, 12
    assert report.period == (date(2026, 9, 1), date(2026, 10, 31))
    assert leaks(report) == []


def test_not_by_service_and_not_without_casework(counted: str) -> None:
    by_service = run(counted, timeliness_report, "service", rule=None)
    keys = {m.key for m in by_service.measures}
    assert "made" in keys and "episodes" not in keys and "days_to_contact_median" not in keys
    # a window with no episode started: the referral measures only
    from screening.counts import Filters

    october = Filters(start=date(2026, 10, 1), end=date(2026, 10, 31))
    report = run(counted, timeliness_report, "sex", filters=october, rule=None)
    assert "episodes" not in {m.key for m in report.measures}
    assert rows(report)[ALL].values["made"] == MIXED


def test_in_the_csv_and_json(cli: Any, counted: str) -> None:
    out = cli("report", "timeliness", "--by", "ethnic_group", "--format", "json", db=counted)
    assert out.code == 0, out.err
    found = {
        (r["ethnic_group"], k): v
        for r in json.loads(out.out)["rows"]
        for k, v in r.items()
        if k.startswith(("days_to_contact", "episodes", "contacted"))
    }
    assert [found[("white", f"days_to_contact_{q}")] for q in Q] == [6, 12, 18]
    assert found[(None, "days_to_contact_median")] == 10
    assert found[("black", "episodes")] is None
    out = cli("report", "timeliness", "--by", "ethnic_group", "--format", "csv", db=counted)
    assert out.code == 0, out.err
    lines = list(csv.DictReader(io.StringIO(out.out.split("\n", 1)[1])))
    median = {
        line["ethnic_group"]: (line["value"], line["suppressed"])
        for line in lines
        if line["measure"] == "days_to_contact_median"
    }
    assert median["white"] == ("12", "0") and median["black"] == ("", "1")
    # the table (terminal and file) has the columns, by their words
    from screening.counts import table_rows

    columns, cells, _ = table_rows(run(counted, timeliness_report, "ethnic_group"))
    at = columns.index("Days to first contact: median")
    assert [c[at] for c in cells if c[0] == "White"] == ["12"]

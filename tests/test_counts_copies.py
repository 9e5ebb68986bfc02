"""The counting copies of needs (``count_need``, migration cnt_0002): written with the need,
kept in step with the person's record in the same transaction, made for needs written some
other way, and filled by the migration from a database at the old heads; the counts they
give equal counts worked out here in Python from the records themselves."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from demo_support import built_copy
from sqlmodel import Session

from linkwork import db as lwdb
from screening import counts
from screening.counts import ALL, Filters, needs_report
from screening.equality import AGE_BANDS, load_equality
from screening.models import Need, Person
from screening.needs import add_need
from screening.people import create_person, update_person

ACTOR = "test.worker"


def _copies(session: Session) -> dict[str, dict[str, Any]]:
    rows = session.execute(sa.select(counts.CountNeed.__table__)).mappings()  # type: ignore[attr-defined]
    return {r["need_id"]: dict(r) for r in rows}


def _person(session: Session, name: str, **kw: Any) -> Person:
    fields: dict[str, Any] = {
        "given_name": name,
        "family_name": "Test",
        "birth_date": "1980-06-15",
        "practice_ods": "Y00001",
        "postcode": "ZZ1 1AA",
        "ethnic_category": "A",
        "sex": "female",
        "disability": "no",
    }
    fields.update(kw)
    return create_person(session, actor=ACTOR, **fields)


def test_a_need_is_copied_for_counting_when_it_is_recorded(session: Session) -> None:
    ann = _person(session, "Ann", birth_date="2000-04-10", ethnic_category="H", sex="male")
    # 23:30 on 9 April 2025 in London is 22:30 UTC: the UTC day counts; Ann is 24
    need = add_need(
        session, ann, "Z59.0", actor=ACTOR, recorded_at=datetime(2025, 4, 9, 22, 30, tzinfo=UTC)
    )
    later = add_need(
        session, ann, "Z59.4", actor=ACTOR, recorded_at=datetime(2025, 4, 10, 0, 5, tzinfo=UTC)
    )
    copies = _copies(session)  # no report has run: add_need wrote them
    assert set(copies) == {need.id, later.id}
    first = copies[need.id]
    assert (first["code"], first["domain"], first["day"], first["month"]) == (
        "Z59.0",
        "housing",
        20250409,
        202504,
    )
    assert (first["ethnic_category"], first["sex"], first["disability"]) == ("H", "male", "no")
    assert (first["practice_ods"], first["decile"]) == ("Y00001", 0)
    assert first["age"] == 24 and copies[later.id]["age"] == 25  # her birthday
    assert first["person_key"] == copies[later.id]["person_key"]
    bob = _person(session, "Bob")
    other = add_need(session, bob, "Z59.0", actor=ACTOR)
    assert _copies(session)[other.id]["person_key"] != first["person_key"]
    # nothing in the copy identifies anyone
    columns = set(first)
    assert not columns & {"given_name", "family_name", "nhs_number", "birth_date", "postcode"}


def test_editing_a_person_updates_their_copies_in_the_same_transaction(
    session: Session, tmp_path: Path
) -> None:
    lookup = tmp_path / "imd.csv"
    lookup.write_text("postcode,decile\nZZ1 1AA,3\nZZ9 9ZZ,8\n", encoding="utf-8")
    counts.load_deprivation(session, lookup)
    ann = _person(session, "Ann")
    bob = _person(session, "Bob", ethnic_category="N")
    a1 = add_need(session, ann, "Z59.0", actor=ACTOR, recorded_at=datetime(2025, 6, 14, tzinfo=UTC))
    a2 = add_need(session, ann, "Z59.4", actor=ACTOR, recorded_at=datetime(2025, 6, 15, tzinfo=UTC))
    b1 = add_need(session, bob, "Z59.0", actor=ACTOR)
    session.commit()
    assert _copies(session)[a1.id]["decile"] == 3
    before_bob = _copies(session)[b1.id]

    update_person(
        session,
        ann,
        actor=ACTOR,
        ethnic_category="M",
        sex="male",
        disability="yes",
        practice_ods="Y00002",
        postcode="ZZ9 9ZZ",
        birth_date="1990-06-15",
    )
    copies = _copies(session)  # same transaction, before any commit
    for nid in (a1.id, a2.id):
        row = copies[nid]
        assert (row["ethnic_category"], row["sex"], row["disability"]) == ("M", "male", "yes")
        assert (row["practice_ods"], row["decile"]) == ("Y00002", 8)
    assert copies[a1.id]["age"] == 34 and copies[a2.id]["age"] == 35  # birthday 15 June
    assert copies[b1.id] == before_bob
    raw = needs_report(session, "ethnicity", rule=None).rows
    assert {r.keys: r.values["people"] for r in raw}[("M",)] == 1

    session.rollback()  # the edit and its copies go together
    session.expire_all()
    assert _copies(session)[a1.id]["ethnic_category"] == "A"
    assert session.get(Person, ann.id).ethnic_category == "A"  # type: ignore[union-attr]

    # a new lookup recomputes every copy's decile
    lookup.write_text("postcode,decile\nZZ1 1AA,9\n", encoding="utf-8")
    counts.load_deprivation(session, lookup)
    assert {r["decile"] for r in _copies(session).values()} == {9}


def test_needs_written_without_add_need_are_copied_before_counting(session: Session) -> None:
    ann = _person(session, "Ann")
    session.add(
        Need(
            person_id=ann.id,
            code="Z59.0",
            system="http://hl7.org/fhir/sid/icd-10",
            display="Homelessness",
            domain="housing",
            recorded_at=datetime(2025, 5, 1, 9, tzinfo=UTC),
        )
    )
    session.flush()
    assert _copies(session) == {}
    got = {r.keys: r.values["people"] for r in needs_report(session, "month", rule=None).rows}
    assert got[("2025-05",)] == 1
    assert len(_copies(session)) == 1


# --------------------------------------------- the counts equal counts worked out in Python


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _band(age: int) -> str:
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return "not_known"


def _python_counts(
    session: Session, dims: tuple[str, ...], filters: Filters
) -> dict[tuple[Any, ...], int]:
    """Distinct people per finest cell and per margin, from Person and Need rows."""
    groups = dict(load_equality()["ethnic_category"].groups)
    people = {p.id: p for p in session.execute(sa.select(Person)).scalars()}
    cells: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for need in session.execute(sa.select(Need)).scalars():
        person = people[need.person_id]
        when = need.recorded_at
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        day = when.date()
        if (filters.start and day < filters.start) or (filters.end and day > filters.end):
            continue
        if filters.practice and person.practice_ods != filters.practice:
            continue
        fy = day.year - (day.month < 4)
        values = {
            "need": need.code,
            "domain": need.domain,
            "month": f"{day.year:04d}-{day.month:02d}",
            "quarter": fy * 10 + ((day.month + 8) % 12) // 3 + 1,
            "year": fy,
            "practice": person.practice_ods,
            "ethnicity": person.ethnic_category,
            "ethnic_group": groups.get(person.ethnic_category, "not_known"),
            "age_band": _band(_age(person.birth_date, day)),
            "sex": person.sex,
            "disability": person.disability,
        }
        key = tuple(values[d] for d in dims)
        for mask in range(2 ** len(dims)):  # every margin: ALL where the bit is set
            cells[tuple(ALL if mask >> i & 1 else k for i, k in enumerate(key))].add(person.id)
    return {k: len(v) for k, v in cells.items()}


def _build_demo(url: str) -> None:
    from linkwork.demo import make_demo

    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=250, seed=7)
        session.commit()
    engine.dispose()


@pytest.fixture
def demo(request: pytest.FixtureRequest, db_url: str) -> Iterator[Session]:
    """A session on the demo, built once per process and backend, copied
    (tests/demo_support.py)."""
    engine = lwdb.open_engine(built_copy(request, db_url, _build_demo))
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.mark.parametrize(
    ("by", "filters"),
    [
        ("need,month,ethnicity", Filters()),
        ("domain,age_band", Filters()),
        ("quarter,sex", Filters(start=date.today() - timedelta(days=200))),
        ("year,ethnic_group,disability", Filters(end=date.today() - timedelta(days=30))),
        ("practice", Filters()),
    ],
)
def test_counts_from_the_copies_equal_counts_from_the_records(
    demo: Session, by: str, filters: Filters
) -> None:
    dims = counts.parse_dimensions(by)
    expected = _python_counts(demo, dims, filters)
    got = {
        r.keys: r.values["people"]
        for r in needs_report(demo, dims, filters, rule=None).rows
        if r.values["people"]
    }
    assert got  # something was counted
    for key, value in got.items():
        assert expected.get(key, 0) == value, key
    # and every non-zero count of a published level is there
    published_levels = {tuple(k is ALL for k in key) for key in got}
    for key, value in expected.items():
        if tuple(k is ALL for k in key) in published_levels:
            assert got.get(key) == value, key


def test_one_statement_for_all_levels_equals_one_query_each(demo: Session) -> None:
    """GROUPING SETS (PostgreSQL) or UNION ALL (SQLite) give the same as separate queries."""
    for by in ("need,month,ethnicity", "domain,month", "month,age_band", "sex"):
        dims = counts.parse_dimensions(by)
        one = counts.needs_raw(demo, dims, Filters(), combine=True)
        each = counts.needs_raw(demo, dims, Filters(), combine=False)
        assert one.by_level == each.by_level, by
        queried, summed = counts.plan_levels(dims, "people")
        assert len(queried) >= 1 and set(queried) | set(summed) == set(one.by_level)


# ------------------------------------------------------------------- migration cnt_0002


def _old_style_records(session: Session, seed: int) -> None:
    """People and needs as a build before cnt_0002 wrote them (no counting copies)."""
    rng = random.Random(seed)
    # the tables as that build had them (the models have moved on: scr_0003's org)
    person_t, need_t = (
        sa.Table(t.name, sa.MetaData(), *(c._copy() for c in t.columns if c.name != "org"))
        for t in (Person.__table__, Need.__table__)  # type: ignore[attr-defined]
    )
    now = datetime(2026, 3, 1, tzinfo=UTC)
    people = []
    for i in range(40):
        people.append(
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "given_name": "Old",
                "family_name": f"Record{i}",
                "birth_date": date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 60)),
                "postcode": rng.choice(["ZZ1 1AA", "zz2 2bb", ""]),
                "practice_ods": rng.choice(["Y00001", "Y00002"]),
                "ethnic_category": rng.choice(["A", "H", "N", "99"]),
                "sex": rng.choice(["female", "male"]),
                "disability": rng.choice(["yes", "no", "not-asked"]),
                "created_at": now,
                "updated_at": now,
            }
        )
    session.execute(sa.insert(person_t), people)
    session.execute(
        sa.text("INSERT INTO postcode_deprivation (postcode, decile) VALUES ('ZZ22BB', 2)")
    )
    needs = []
    for i in range(300):
        needs.append(
            {
                "id": f"10000000-0000-4000-8000-{i:012d}",
                "person_id": rng.choice(people)["id"],
                "code": rng.choice(["Z59.0", "Z59.4", "Z60.2"]),
                "system": "http://hl7.org/fhir/sid/icd-10",
                "display": "x",
                "domain": rng.choice(["housing", "food"]),
                # around midnight UTC, across a financial year boundary
                "recorded_at": datetime(2025, 3, 30, tzinfo=UTC)
                + timedelta(hours=rng.randrange(-30, 30), minutes=rng.randrange(60)),
            }
        )
    session.execute(sa.insert(need_t), needs)
    session.commit()


def test_migration_fills_the_copies_of_an_existing_database_and_downgrades(
    engine: sa.Engine,
) -> None:
    cfg = lwdb._alembic_config(engine)
    command.downgrade(cfg, "cnt_0001")  # the database as the previous release left it
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("need")}
    assert "count_need" not in tables and "count_person" not in tables
    assert "ix_need_counts" in indexes  # cnt_0001's index is back
    with Session(engine) as session:
        _old_style_records(session, seed=3)

    command.upgrade(cfg, "heads")
    assert lwdb.schema_status(engine)["state"] == "current"
    with Session(engine) as session:
        copies = _copies(session)
        people = {p.id: p for p in session.execute(sa.select(Person)).scalars()}
        needs = list(session.execute(sa.select(Need)).scalars())
        assert len(copies) == len(needs) == 300
        keys: dict[str, int] = {}
        for need in needs:
            row, person = copies[need.id], people[need.person_id]
            when = need.recorded_at
            day = (when.replace(tzinfo=UTC) if when.tzinfo is None else when).astimezone(UTC)
            assert row["day"] == int(day.strftime("%Y%m%d")), need.id
            assert row["month"] == row["day"] // 100
            assert row["age"] == _age(person.birth_date, day.date())
            assert row["decile"] == (2 if person.postcode.upper() == "ZZ2 2BB" else 0)
            assert (row["code"], row["domain"]) == (need.code, need.domain)
            assert (row["practice_ods"], row["ethnic_category"], row["sex"]) == (
                person.practice_ods,
                person.ethnic_category,
                person.sex,
            )
            assert keys.setdefault(need.person_id, row["person_key"]) == row["person_key"]
        assert len(set(keys.values())) == len(keys)  # one key per person
        # and counting works on the upgraded database, equal to counting in Python
        dims = ("need", "month", "ethnicity")
        expected = _python_counts(session, dims, Filters())
        for r in needs_report(session, dims, rule=None).rows:
            assert r.values["people"] == expected.get(r.keys, 0), r.keys
        # a need recorded after the upgrade gets the next person key, no clash
        newcomer = _person(session, "New")
        need = add_need(session, newcomer, "Z59.0", actor=ACTOR)
        assert _copies(session)[need.id]["person_key"] not in set(keys.values())
        session.commit()

    command.downgrade(cfg, "cnt_0001")  # with data in it
    with engine.connect() as conn:
        assert "count_need" not in set(sa.inspect(conn).get_table_names())
        assert conn.execute(sa.text("SELECT COUNT(*) FROM need")).scalar_one() == 301
    command.upgrade(cfg, "heads")
    with Session(engine) as session:
        assert len(_copies(session)) == 301


def test_two_first_needs_of_one_person_at_once_share_one_counting_number(
    engine: sa.Engine,
) -> None:
    """PostgreSQL: the second writer waits for the first's new counting number and uses it
    (no unique-key error). SQLite lets one writer in at a time, so there is no race."""
    import threading
    import time as clock

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: no two first needs can be written at once")
    with Session(engine) as setup:
        pid = _person(setup, "Ann").id
        setup.commit()
    first = Session(engine)
    add_need(first, first.get(Person, pid), "Z59.0", actor=ACTOR)  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with Session(engine) as other:
                add_need(other, other.get(Person, pid), "Z59.4", actor=ACTOR)  # type: ignore[arg-type]
                other.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    clock.sleep(0.5)  # the second is now waiting for the first's uncommitted rows
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert errors == []
    with Session(engine) as check:
        keys = {row["person_key"] for row in _copies(check).values()}
        people = check.execute(sa.text("SELECT COUNT(*) FROM count_person")).scalar_one()
    assert len(keys) == 1 and people == 1


def test_practice_and_month_indexes_come_and_go_with_cnt_0003(db_url: str) -> None:
    """cnt_0003's indexes (a practice's row; month x ethnic category) are there at the head,
    gone one revision down, and back on the way up, on both databases."""
    from alembic import command

    wanted = {
        "ix_count_need_practice_cells",
        "ix_count_need_practice_people",
        "ix_count_need_month_ethnic",
    }

    def indexes(engine: sa.Engine) -> set[str]:
        return {ix["name"] for ix in sa.inspect(engine).get_indexes("count_need")}

    engine = lwdb.open_engine(db_url)
    try:
        assert wanted <= indexes(engine)
        cfg = lwdb._alembic_config(engine)
        command.downgrade(cfg, "cnt_0002")
        engine.dispose()
        assert not wanted & indexes(engine)
        command.upgrade(cfg, "heads")
        engine.dispose()
        assert wanted <= indexes(engine)
    finally:
        engine.dispose()

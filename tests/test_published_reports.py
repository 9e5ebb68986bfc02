"""Data leads see counts and nothing else (issue 16, point 3): a report is published by an
admin (``linkwork report publish``) and kept whole, already disclosure-controlled; a data
lead's ``linkwork report ...`` reads the published one and shows exactly what the admin's
report shows, while PostgreSQL refuses it every record table, the counting copies included.

The first part runs on both databases (no logins there): what is published reads back as
the same report in every output. The second needs PostgreSQL's logins and roles."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from demo_support import built_copy
from sqlmodel import Session, select
from test_access_pg import A, B, Site, _psql, site  # noqa: F401  (the fixture)

from linkwork import db as lwdb
from linkwork.demo import make_demo
from screening.counts import (
    Filters,
    needs_report,
    outcomes_report,
    referrals_report,
    split_table,
    table_rows,
    to_csv,
    to_json,
    to_measure_report,
    to_svg,
)
from screening.counts.extracts import (
    ExtractProblem,
    PublishedReport,
    report_data,
    report_from_data,
)
from screening.disclosure import Rule
from screening.models import AuditEvent
from screening.organisations import fill_missing_orgs

TODAY = date(2026, 11, 24)
GENERATED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _build_demo(url: str) -> None:
    engine = lwdb.open_engine(url)
    with lwdb.session_scope(engine) as session:
        make_demo(session, people=120, seed=5, today=TODAY)
    engine.dispose()


@pytest.fixture
def demo_engine(request: pytest.FixtureRequest, db_url: str) -> Any:
    """The demo, built once per process and backend, copied (tests/demo_support.py)."""
    engine = lwdb.open_engine(built_copy(request, db_url, _build_demo))
    yield engine
    engine.dispose()


def _outputs(report: Any) -> dict[str, Any]:
    columns, rows, totals = table_rows(report)
    return {
        "table": (columns, rows, totals),
        "csv": to_csv(report),
        "json": to_json(report),
        "fhir": to_measure_report(report, generated=GENERATED),
        "svg": to_svg(report),
        "split": split_table(report, report.measures[0].key),
    }


REPORTS = [
    ("needs", ("need", "sex"), Filters()),
    ("needs", ("month",), Filters(start=date(2026, 1, 1), end=date(2026, 6, 30))),
    ("referrals", ("ethnic_group", "age_band"), Filters()),
    ("outcomes", ("domain",), Filters()),
]


@pytest.mark.parametrize(("name", "dims", "filters"), REPORTS)
def test_a_published_report_reads_back_the_same_in_every_output(
    demo_engine: Any, name: str, dims: tuple[str, ...], filters: Filters
) -> None:
    build = {"needs": needs_report, "referrals": referrals_report, "outcomes": outcomes_report}
    with Session(demo_engine) as session:
        report = build[name](session, dims, filters, Rule())
    assert not report.is_empty
    stored = json.loads(json.dumps(report_data(report)))  # as the database gives it back
    again = report_from_data(stored)
    assert _outputs(again) == _outputs(report)
    # and nothing in the extract is a raw count: every published count is a multiple of 5
    counts = [
        v
        for row in stored["rows"]
        for m in stored["measures"]
        if m["kind"] == "count"
        for v in [row["values"].get(m["key"])]
        if v is not None
    ]
    assert counts and all(v % 5 == 0 for v in counts)


def test_a_report_without_disclosure_control_cannot_be_published(demo_engine: Any) -> None:
    with Session(demo_engine) as session:
        raw = needs_report(session, ("need",), Filters(), None)
    with pytest.raises(ValueError, match="only a report with disclosure control"):
        report_data(raw)


BAD_BODIES = [
    ("not a dict", []),
    ("another version", {"version": 99}),
    ("unknown dimension", {"dims": ["postcode"]}),
    ("key count wrong", {"rows": [{"keys": [], "values": {}, "withheld": []}]}),
    ("value not a number", {"rows": [{"keys": ["x", "y"], "values": {"people": "7"}}]}),
    ("unknown measure", {"rows": [{"keys": ["x", "y"], "values": {"nhs_number": 1}}]}),
    ("bad date", {"period": ["2026-02-31", "2026-03-01"]}),
    ("huge", {"title": "x" * 9_000_000}),
]


@pytest.mark.parametrize(("what", "change"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_a_stored_extract_is_read_as_untrusted(demo_engine: Any, what: str, change: Any) -> None:
    with Session(demo_engine) as session:
        good = report_data(needs_report(session, ("need", "sex"), Filters(), Rule()))
    if isinstance(change, dict):
        body = dict(good)
        for key, value in change.items():
            if key == "rows":
                body["rows"] = [{"withheld": [], **value[0]}]
            else:
                body[key] = value
    else:
        body = change
    with pytest.raises(ExtractProblem, match="published report"):
        report_from_data(body)


def test_publishing_again_replaces_the_answer_and_is_audited(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    engine = lwdb.open_engine(db_url)
    with lwdb.session_scope(engine) as session:
        make_demo(session, people=60, seed=2, today=TODAY)
    first = cli("report", "publish", "needs", "--by", "domain", "--json", db=db_url)
    assert first.code == 0, first.err
    again = cli("report", "publish", "needs", "--by", "domain", "--json", db=db_url)
    other = cli("report", "publish", "referrals", "--by", "sex", "--json", db=db_url)
    assert again.code == 0 and other.code == 0, again.err + other.err
    listed = cli("report", "published", "--json", db=db_url).json()
    assert sorted(item["name"] for item in listed) == ["needs", "referrals"]
    with Session(engine) as session:
        assert len(session.exec(select(PublishedReport)).all()) == 2
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "publish")  # type: ignore[arg-type]
        ).all()
    assert [e.entity_id for e in events] == ["needs", "needs", "referrals"]
    assert all(e.detail["suppression"] == "on" for e in events)
    engine.dispose()


# ----------------------------------------------------------- PostgreSQL: the data lead


def _seed_practices(owner_url: str) -> None:
    """A demo whose people are registered at (and held by) practice A or B."""
    engine = lwdb.open_engine(owner_url)
    with lwdb.session_scope(engine) as session:
        make_demo(session, people=160, seed=11, today=TODAY)
        first = ("Y02101", "Y02102", "Y02203")
        for table in ("person", "count_need"):
            session.execute(
                sa.text(
                    f"UPDATE {table} SET practice_ods = CASE WHEN practice_ods IN :first "
                    "THEN :a ELSE :b END"
                ).bindparams(sa.bindparam("first", expanding=True), first=first, a=A, b=B)
            )
        tables = session.execute(
            sa.text(
                "SELECT table_name FROM information_schema.columns WHERE column_name = 'org' "
                "AND table_schema = current_schema() AND table_name NOT IN "
                "('published_report', 'audit_event')"
            )
        ).scalars()
        for table in tables:
            session.execute(sa.text(f"UPDATE \"{table}\" SET org = ''"))
        session.execute(sa.text("UPDATE person SET org = practice_ods"))
        fill_missing_orgs(session)
    engine.dispose()


def test_the_data_lead_gets_exactly_the_admins_published_report_and_no_records(
    cli,  # type: ignore[no-untyped-def]
    site: Site,  # noqa: F811
) -> None:
    _seed_practices(site.owner_url)
    admin, lead = site.logins["admin"], site.logins["lead"]
    asked = ["needs", "--by", "need,sex", "--practice", A]

    missing = cli("report", *asked, "--json", db=lead.url)
    assert missing.code != 0
    assert "has not been published" in missing.err
    assert f"linkwork report publish needs --by need,sex --practice {A}" in missing.err

    published = cli("report", "publish", *asked, db=admin.url)
    assert published.code == 0, published.err

    for fmt in ("json", "csv"):
        theirs = cli("report", *asked, "--format", fmt, db=admin.url)
        mine = cli("report", *asked, "--format", fmt, db=lead.url)
        assert theirs.code == 0 and mine.code == 0, theirs.err + mine.err
        assert mine.out == theirs.out
        assert "published" in mine.err and admin.name in mine.err
    shown = json.loads(mine.out) if fmt == "json" else None
    assert shown is None or shown["disclosure"]["applied"] is True

    # the counts exist (not every cell hidden), and none is a raw count
    data = json.loads(cli("report", *asked, "--json", db=lead.url).out)
    values = [r["people"] for r in data["rows"] if r["people"] is not None]
    assert values and all(v % 5 == 0 for v in values)

    # PostgreSQL itself refuses the data lead every record table and the counting copies
    for table in ("person", "need", "count_need", "count_person", "referral"):
        refused = _psql(lead, f"SELECT count(*) FROM {table}")
        assert refused.returncode != 0
        assert "permission denied" in refused.stderr
    # ...but not the published extract, which holds no identifier
    seen = _psql(lead, "SELECT count(*) FROM published_report")
    assert seen.returncode == 0 and seen.stdout.strip() == "1"
    # and it cannot publish (or rewrite) one itself
    forged = _psql(lead, "UPDATE published_report SET body = '{}'")
    assert forged.returncode != 0 and "permission denied" in forged.stderr


def test_raw_numbers_and_publishing_are_for_admins_and_refusals_are_audited(
    cli,  # type: ignore[no-untyped-def]
    site: Site,  # noqa: F811
) -> None:
    _seed_practices(site.owner_url)
    admin, lead, worker = site.logins["admin"], site.logins["lead"], site.logins["worker_a"]

    raw = cli("report", "needs", "--by", "need", "--no-suppression", db=lead.url)
    assert raw.code == 2
    assert raw.err.strip().endswith("(admin only)")
    assert raw.err.count("\n") == 1
    by_worker = cli("report", "needs", "--by", "need", "--no-suppression", db=worker.url)
    assert by_worker.code == 2 and "admin only" in by_worker.err
    as_admin = cli("report", "needs", "--by", "need", "--no-suppression", db=admin.url)
    assert as_admin.code == 0, as_admin.err

    publish = cli("report", "publish", "needs", "--by", "need", "--practice", A, db=worker.url)
    assert publish.code == 2 and "admin only" in publish.err
    # an admin of some organisations cannot publish a report over every practice
    everyone = cli("report", "publish", "needs", "--by", "need", db=admin.url)
    assert everyone.code == 2 and "--practice" in everyone.err

    engine = lwdb.open_engine(site.owner_url)
    with Session(engine) as session:
        refusals = session.exec(
            select(AuditEvent).where(AuditEvent.action == "refused")  # type: ignore[arg-type]
        ).all()
        assert {(e.actor, e.entity) for e in refusals} >= {
            (lead.name, "report"),
            (worker.name, "report"),
            (admin.name, "report"),
        }
        assert session.exec(select(PublishedReport)).all() == []
    engine.dispose()


def test_a_data_lead_reads_only_what_covers_its_organisations(
    cli,  # type: ignore[no-untyped-def]
    site: Site,  # noqa: F811
) -> None:
    _seed_practices(site.owner_url)
    admin, worker_a = site.logins["admin"], site.logins["worker_a"]
    for practice in (A, B):
        done = cli(
            "report", "publish", "needs", "--by", "sex", "--practice", practice, db=admin.url
        )
        assert done.code == 0, done.err
    both = cli("report", "published", "--json", db=site.logins["lead"].url).json()
    assert sorted(item["org"] for item in both) == [A, B]
    only_a = cli("report", "published", "--json", db=worker_a.url).json()
    assert [item["org"] for item in only_a] == [A]
    hidden = _psql(worker_a, f"SELECT count(*) FROM published_report WHERE org = '{B}'")
    assert hidden.returncode == 0 and hidden.stdout.strip() == "0"

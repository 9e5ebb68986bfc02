"""Timeliness and services (issue 21, point 3): days to acceptance and to completion from the
status history with its times, by group, service and provider, disclosure-controlled."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import Session, select

from linkwork import db as lwdb
from linkwork.demo import make_demo
from screening.counts import ALL, leaks, needs_report, referrals_report
from screening.counts.timeliness import QUARTILE_MIN, quartiles, timeliness_report
from screening.models import Referral, ReferralEvent, as_utc

TODAY = date(2026, 11, 24)


def test_quartiles_by_nearest_rank() -> None:
    assert quartiles({1: 1, 2: 1, 3: 1, 4: 1}) == (1, 2, 3)
    assert quartiles({d: 1 for d in range(1, 8)}) == (2, 4, 6)  # ranks 2, 4, 6 of 7
    assert quartiles({5: 10}) == (5, 5, 5)
    assert quartiles({0: 3, 10: 1}) == (0, 0, 0)  # ranks 1, 2, 3 of 4
    assert quartiles({}) is None


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("timeliness") / "demo.db"
    url = f"sqlite:///{path}"
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=700, seed=4, today=TODAY)
        session.commit()
    engine.dispose()
    yield url


def _days_by_hand(url: str) -> list[int]:
    """Days from sending to acceptance of every referral made here, from the history."""
    engine = lwdb.open_engine(url)
    out = []
    with Session(engine) as session:
        for referral in session.exec(
            select(Referral).where(Referral.direction == "outgoing")
        ).all():
            events = session.exec(
                select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
            ).all()
            sent = [as_utc(e.at) for e in events if e.to_status == "requested"]
            accepted = [as_utc(e.at) for e in events if e.to_status == "accepted"]
            if accepted:
                start = min(sent) if sent else as_utc(referral.created_at)
                out.append(int((min(accepted) - start).total_seconds() // 86400))
    engine.dispose()
    return sorted(out)


def test_days_to_acceptance_agree_with_the_history(demo_url: str) -> None:
    days = _days_by_hand(demo_url)
    n = len(days)
    expected = tuple(days[-(-n * q // 4) - 1] for q in (1, 2, 3))
    engine = lwdb.open_engine(demo_url)
    with Session(engine) as session:
        raw = timeliness_report(session, "sex", rule=None)
        made = referrals_report(session, "sex", rule=None)
        published = timeliness_report(session, "ethnic_group")
        assert leaks(published) == []
    engine.dispose()
    total = next(r for r in raw.rows if r.keys == (ALL,))
    assert total.values["accepted"] == n
    got = tuple(total.values[f"days_to_accept_{q}"] for q in ("q1", "median", "q3"))
    assert got == expected
    # the same referrals as the referrals report
    assert {r.keys: r.values["made"] for r in raw.rows} == {
        r.keys: r.values["made"] for r in made.rows
    }
    for row in published.rows:
        shown = row.values["accepted"]
        if not (isinstance(shown, int) and shown >= QUARTILE_MIN):
            assert row.values["days_to_accept_median"] is None
    assert any(r.values["days_to_accept_median"] is not None for r in published.rows)


def test_by_provider_and_service_only_here(cli, demo_url: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "timeliness", "--by", "provider", "--format", "csv", db=demo_url)
    assert result.code == 0, result.err
    lines = list(csv.DictReader(io.StringIO(result.out.split("\n", 1)[1])))
    providers = {line["provider"] for line in lines}
    assert len(providers) > 3 and "all" in providers
    assert not any(p.startswith(("=", "+", "@")) for p in providers)
    engine = lwdb.open_engine(demo_url)
    with Session(engine) as session:
        with pytest.raises(
            ValueError, match="service is a dimension of reports timeliness and outcomes"
        ):
            needs_report(session, "service")
        with pytest.raises(ValueError, match="timeliness is counted by referral: not by need"):
            timeliness_report(session, "need")
    engine.dispose()
    bad = cli("report", "needs", "--by", "provider", db=demo_url)
    assert bad.code == 2 and "timeliness and outcomes only" in bad.err and bad.err.count("\n") == 1


def _everything(url: str) -> dict[str, object]:
    """Every issue-21 report on a small demo, raw and published (checked for leaks)."""
    from screening.counts import funnel_report, outcomes_report

    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=300, seed=11, today=TODAY)
        session.commit()
        out: dict[str, object] = {}
        for name, build, by in (
            ("funnel", funnel_report, "ethnic_group,sex"),
            ("outcomes", outcomes_report, "sex,ethnic_group"),
            ("timeliness-provider", timeliness_report, "provider"),
            ("timeliness-month", timeliness_report, "month"),
        ):
            for rule in ("raw", "published"):
                report = build(session, by, rule=None) if rule == "raw" else build(session, by)
                assert leaks(report) == []
                out[f"{name}-{rule}"] = [(r.keys, r.values) for r in report.rows]
    engine.dispose()
    return out


def test_the_same_answers_on_sqlite_and_postgresql(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    found = _everything(db_url)
    if db_url.startswith("sqlite"):
        assert found["timeliness-provider-raw"]
        return
    other = _everything(f"sqlite:///{tmp_path / 'other.db'}")
    # the demo draws services from the directory in the database's order, so providers may
    # differ between the two; everything else is the same data
    same = [k for k in found if not k.startswith("timeliness-") or "month" in k]
    assert {k: other[k] for k in same} == {k: found[k] for k in same}

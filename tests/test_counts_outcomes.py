"""Outcomes properly (issue 21, point 4): by up to two dimensions, with each ONS4 item's
baseline mean, the number of pairs, the number missing, and intervals; the spread's rounding
checked against values worked by hand."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from linkwork import db as lwdb
from linkwork.demo import make_demo
from screening.counts import ALL, leaks, outcomes_report
from screening.counts.outcomes import mean_interval, publish_sd, sd_contributors
from screening.models import Outcome, Person, Referral, Screening

TODAY = date(2026, 11, 24)


def test_the_spread_is_rounded_to_a_half() -> None:
    # 1, 2, 3, 4: mean 2.5, variance (1.5^2 + 0.5^2 + 0.5^2 + 1.5^2) / 3 = 5/3, sd 1.291
    assert publish_sd(10, 30, 4, 5) == 1.5
    assert publish_sd(10, 30, 4, None) is None  # its count hidden
    assert publish_sd(3, 9, 1, 5) is None  # one value has no spread
    # 100 pairs, mean 1.4, sd 1.0: 1.96 / 10 = 0.196 either side
    assert mean_interval(1.4, 1.0, 100) == (1.2, 1.6)
    assert mean_interval(None, 1.0, 100) == (None, None)


def test_a_mean_and_spread_that_only_some_counts_could_give_are_caught() -> None:
    # mean shown 0.2 (0.1 to 0.3) with no spread at all: every value the same whole number,
    # so the mean would be whole: no count could give it
    assert sd_contributors(0.2, 0.0, range(8, 13)) == []
    # mean 0, no spread: all zeros, any count
    assert sd_contributors(0.0, 0.0, range(8, 13)) == list(range(8, 13))
    # mean 1.0, spread 0.5 with 8 values: 1,1,1,1,1,1,0,2 (sum 8, sd 0.53) fits
    assert 8 in sd_contributors(1.0, 0.5, range(8, 13))


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("outcomes") / "demo.db"
    url = f"sqlite:///{path}"
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=900, seed=8, today=TODAY)
        session.flush()
        # some outcomes lack an answer after
        session.execute(
            sa.text(
                "update outcome set ons4_anxious = null where id in "
                "(select id from outcome order by id limit 25)"
            )
        )
        session.commit()
    engine.dispose()
    yield url


def _by_hand(url: str) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Pairs and missing outcomes by (sex, 'all'), straight from the records."""
    engine = lwdb.open_engine(url)
    found: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with Session(engine) as session:
        for outcome, person in session.exec(
            select(Outcome, Person).where(Outcome.person_id == Person.id)
        ).all():
            referral = session.get(Referral, outcome.referral_id) if outcome.referral_id else None
            screening = (
                session.get(Screening, referral.screening_id)
                if referral and referral.screening_id
                else None
            )
            items = ("satisfied", "worthwhile", "happy", "anxious")
            after = [getattr(outcome, f"ons4_{k}") for k in items]
            before = [getattr(screening, f"ons4_{k}") if screening else None for k in items]
            for key in ((person.sex, "x"), ("all", "x")):
                if None in after or None in before:
                    found[key]["missing"].append(1)
                else:
                    found[key]["before"].append(before[0])
                    found[key]["change"].append(after[0] - before[0])
    engine.dispose()
    return found


def test_pairs_missing_and_baseline_agree_with_the_records(demo_url: str) -> None:
    truth = _by_hand(demo_url)
    engine = lwdb.open_engine(demo_url)
    with Session(engine) as session:
        raw = outcomes_report(session, "sex", rule=None)
        published = outcomes_report(session, "sex,ethnic_group")
        assert leaks(published) == []
        with pytest.raises(ValueError, match="outcomes can be counted by at most 2 dimensions"):
            outcomes_report(session, "sex,ethnic_group,month")
    engine.dispose()
    for row in raw.rows:
        key = ("all" if row.keys[0] is ALL else str(row.keys[0]), "x")
        if key not in truth:
            continue
        hand = truth[key]
        assert row.values["ons4_people"] == len(hand["change"])
        assert row.values["ons4_missing"] == len(hand["missing"])
        if hand["change"]:
            n = len(hand["change"])
            assert row.values["ons4_satisfied_before"] == round(sum(hand["before"]) / n, 1)
            assert row.values["ons4_satisfied_change"] == round(sum(hand["change"]) / n, 1)
    assert any(r.values["ons4_missing"] for r in raw.rows)
    # crossed by two dimensions: every published mean beside a published count, with its
    # interval around it
    shown = 0
    for row in published.rows:
        mean = row.values["ons4_satisfied_change"]
        if mean is None:
            continue
        assert row.values["ons4_people"] is not None
        low, high = (
            row.values["ons4_satisfied_change_low"],
            row.values["ons4_satisfied_change_high"],
        )
        assert low is not None and high is not None and low <= mean <= high
        shown += 1
    assert shown > 3 and any(r.keys[0] is not ALL and r.keys[1] is not ALL for r in published.rows)

"""One stale rule (``directory.stale``): the app's results list (the search index's
``stale``), its detail pane (``render_service``) and ``directory show`` agree on every
boundary day, including month ends (the detail pane used to count calendar months and
called a service STALE that the list and the CLI called current)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session

from directory.models import Service
from directory.search import ServiceIndex
from directory.service import describe_service
from directory.stale import months_ago, months_before
from tui.screens.services import checked_cell
from tui.widgets.service_detail import render_service

# (today, stale_months, last verified, stale?) written out, not computed by the rule.
CASES = [
    (date(2026, 3, 31), 1, date(2026, 2, 28), False),  # cut-off clamped to 28 Feb
    (date(2026, 3, 31), 1, date(2026, 2, 27), True),
    (date(2024, 2, 29), 12, date(2023, 2, 28), False),  # leap day: 28 Feb a year before
    (date(2024, 2, 29), 12, date(2023, 2, 27), True),
    (date(2026, 1, 15), 12, date(2025, 1, 31), False),  # 12 calendar months, not 12 months old
    (date(2026, 1, 15), 12, date(2025, 1, 15), False),  # verified on the cut-off day itself
    (date(2026, 1, 15), 12, date(2025, 1, 14), True),
    (date(2026, 1, 15), 12, date(2026, 1, 15), False),  # today
    (date(2026, 1, 15), 12, None, False),  # never verified: not known, not stale
]


def _service(session: Session, n: int, verified: date | None) -> int:
    row = Service(
        source="stale-test",
        source_id=f"svc-{n}",
        name=f"Boundary Food Bank {n}",
        description="food parcels and a warm meal",
        last_verified=verified,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


@pytest.mark.parametrize("months", [1, 12])
def test_list_detail_and_show_agree_on_every_boundary(session: Session, months: int) -> None:
    cases = [c for c in CASES if c[1] == months]
    ids = [_service(session, n, verified) for n, (_, _, verified, _) in enumerate(cases)]
    session.commit()
    index = ServiceIndex.build(session, stale_months=months)
    for service_id, (today, _, verified, expected) in zip(ids, cases, strict=True):
        found = index.search("food", include_stale=True, today=today, limit=50)
        match = next(m for m in found if m.service_id == service_id)
        row = session.get(Service, service_id)
        assert row is not None
        shown = describe_service(session, row, today=today, stale_months=months)
        detail = render_service(match, row, today=today, stale_months=months).plain
        said = (verified, today)
        assert match.stale is expected, said
        assert (checked_cell(match) != "ok") is expected, said  # the app's list
        assert shown["stale"] is expected, said  # directory show
        assert ("STALE" in detail) is expected, said  # the detail pane
        current = index.search("food", today=today, limit=50, current_only=True)
        assert (service_id not in {m.service_id for m in current}) is expected, said


def test_detail_says_how_old_by_the_same_rule() -> None:
    assert months_ago(date(2025, 1, 31), date(2026, 1, 15)) == 11
    assert months_ago(date(2025, 1, 15), date(2026, 1, 15)) == 12
    assert months_ago(date(2026, 2, 28), date(2026, 3, 27)) == 0
    assert months_ago(date(2026, 2, 28), date(2026, 3, 31)) == 1
    assert months_ago(date(2026, 5, 1), date(2026, 3, 1)) == 0  # a date in the future
    match = type("M", (), {"name": "Old Lane", "last_verified": date(2025, 1, 31), "stale": True})
    text = render_service(match(), None, today=date(2026, 1, 15), stale_months=12).plain
    # the index's flag is not a second rule: the date decides
    assert "Last verified: 31 Jan 2025 (11 months ago)" in text and "STALE" not in text
    never = type("M", (), {"name": "New Lane", "last_verified": None, "stale": False})
    text = render_service(never(), None, today=date(2026, 1, 15), stale_months=12).plain
    assert "Last verified: not known" in text and "STALE" not in text
    one = type("M", (), {"name": "Lane", "last_verified": date(2025, 12, 15), "stale": False})
    assert "(1 month ago)" in render_service(one(), None, today=date(2026, 1, 15)).plain


def test_cli_show_and_the_app_agree_today(cli, db_url: str, session: Session) -> None:  # type: ignore[no-untyped-def]
    """Through the real ``directory show`` (which uses today's date) on both sides of
    today's cut-off."""
    today = date.today()
    cutoff = months_before(today, 12)
    ids = {
        _service(session, 0, cutoff): False,
        _service(session, 1, cutoff - timedelta(days=1)): True,
    }
    session.commit()
    index = ServiceIndex.build(session, stale_months=12)
    for service_id, expected in ids.items():
        shown = cli("directory", "show", str(service_id), "--json", db=db_url)
        assert shown.code == 0, shown.err
        assert shown.json()["stale"] is expected
        words = cli("directory", "show", str(service_id), db=db_url).out
        assert ("not verified recently" in words) is expected
        found = cli("directory", "search", "food", "--json", "--limit", "50", db=db_url).json()
        assert next(r for r in found if r["service_id"] == service_id)["stale"] is expected
        match = next(
            m for m in index.search("food", include_stale=True) if m.service_id == service_id
        )
        assert match.stale is expected
        row = session.get(Service, service_id)
        detail = render_service(match, row, today=today, stale_months=12).plain
        assert ("STALE" in detail) is expected

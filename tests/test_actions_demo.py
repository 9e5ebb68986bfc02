"""``linkwork demo`` and ``linkwork.actions.audit.make_demo`` (the app's call) are one
action: the same seed on fresh databases gives the same summary and the same audit row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from test_exchange_support import second_db

from linkwork import db as lwdb
from linkwork.actions import audit as act
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.models import AuditEvent, Person


@pytest.fixture
def other_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_db(request, db_url, tmp_path)


def _workspace(url: str) -> Workspace:
    return Workspace(load_settings(database_url=url), lwdb.open_engine(url))


def _audit(url: str) -> list[tuple[str, str, Any, str]]:
    with Session(lwdb.open_engine(url)) as session:
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
        return [(e.action, e.entity, e.detail, e.actor) for e in rows]


def _without_time(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "seconds"}


def test_demo_same_through_cli_and_action(cli, db_url: str, other_url: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--people", "30", "--seed", "4", "--json", db=db_url)
    assert result.code == 0, result.err
    from_cli = result.json()

    from_action = act.make_demo(_workspace(other_url), people=30, seed=4)

    assert _without_time(from_cli) == _without_time(from_action)
    assert from_action["people"] == 30 and from_action["directory_loaded"] is True
    assert _audit(db_url) == _audit(other_url)
    assert _audit(other_url)[-1] == (
        "demo",
        "database",
        {
            "people": 30,
            "needs": from_action["needs"],
            "referrals": from_action["referrals"],
            "seed": 4,
        },
        "test.worker",
    )


def test_demo_action_is_anchored_at_today(db_url: str) -> None:
    day = date(2025, 3, 31)
    summary = act.make_demo(_workspace(db_url), people=20, seed=2, today=day)
    assert summary["people"] == 20
    with Session(lwdb.open_engine(db_url)) as session:
        created = [p.created_at.date() for p in session.exec(select(Person)).all()]
    assert max(created) <= day


def test_demo_refuses_too_many_people_the_same_way(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--people", "1000001", db=db_url)
    assert result.code != 0
    assert "at most 1,000,000" in result.err
    with pytest.raises(ValueError, match="at most 1,000,000"):
        act.make_demo(_workspace(db_url), people=1_000_001)
    assert _audit(db_url) == []

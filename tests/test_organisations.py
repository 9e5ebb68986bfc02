"""Which organisation holds each row (``org``, migration scr_0003): a new person is held by
the workspace's organisation, every row about them by the person's, and the migration
fills an existing database the same way."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from linkwork import db as lwdb
from linkwork.actions import needs as needs_act
from linkwork.actions import people as people_act
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.organisations import ORG_TABLES, PARENTS

WHEN = datetime(2026, 1, 2, tzinfo=UTC)
PERSON_DATA_TABLES = {
    "person",
    "screening",
    "answer",
    "need",
    "consent",
    "referral",
    "referral_need",
    "referral_event",
    "outcome",
    "outcome_need",
    "audit_event",
    "exchange_message",
    "count_person",
    "count_need",
    "episode",
    "contact",
    "case_note",
    "goal",
    "goal_progress",
}


def _orgs(engine: sa.Engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(f"SELECT org FROM {table} ORDER BY 1"))]


def test_every_table_holding_a_persons_data_has_an_indexed_org(engine: sa.Engine) -> None:
    assert set(ORG_TABLES) == PERSON_DATA_TABLES
    inspector = sa.inspect(engine)
    for table in PERSON_DATA_TABLES:
        column = {c["name"]: c for c in inspector.get_columns(table)}["org"]
        assert column["nullable"] is False, table
        assert any(ix["column_names"] == ["org"] for ix in inspector.get_indexes(table)), table


def test_a_new_person_and_their_needs_are_held_by_the_workspaces_organisation(
    db_url: str,
) -> None:
    ws = Workspace(load_settings(database_url=db_url, practice_ods="Y02405"))
    person = people_act.add_person(
        ws, given_name="Ann", family_name="Held", birth_date="1970-05-06", practice_ods="Y11111"
    )
    needs_act.add_need(ws, person["id"], code="Z59.0")
    engine = ws.engine
    assert _orgs(engine, "person") == ["Y02405"]  # the holder, not the registered practice
    assert _orgs(engine, "need") == ["Y02405"]
    assert _orgs(engine, "count_person") == ["Y02405"]
    assert _orgs(engine, "count_need") == ["Y02405"]
    # another workspace (another organisation) adding a need to the same person: the need
    # is held where the person is
    other = Workspace(load_settings(database_url=db_url, practice_ods="Y99999"))
    needs_act.add_need(other, person["id"], code="Z59.4")
    assert _orgs(engine, "need") == ["Y02405", "Y02405"]
    other.engine.dispose()
    engine.dispose()


def _without_org(table: sa.Table) -> sa.Table:
    return sa.Table(
        table.name, sa.MetaData(), *(c._copy() for c in table.columns if c.name != "org")
    )


def test_the_migration_fills_org_from_each_rows_person(engine: sa.Engine) -> None:
    from sqlmodel import SQLModel

    import linkwork.models  # noqa: F401  (every table registered)

    cfg = lwdb._alembic_config(engine)
    command.downgrade(cfg, "scr_0002")
    tables = {n: _without_org(SQLModel.metadata.tables[n]) for n in PERSON_DATA_TABLES}
    with Session(engine) as session:
        for pid, ods in (("p1", "Y00001"), ("p2", "Y00002")):
            session.execute(
                sa.insert(tables["person"]).values(
                    id=pid,
                    given_name="A",
                    family_name="B",
                    birth_date=date(1970, 1, 1),
                    practice_ods=ods,
                    created_at=WHEN,
                    updated_at=WHEN,
                )
            )
            session.execute(
                sa.insert(tables["need"]).values(
                    id=f"n-{pid}",
                    person_id=pid,
                    code="Z59.0",
                    system="s",
                    display="d",
                    domain="housing",
                    recorded_at=WHEN,
                )
            )
        session.execute(
            sa.insert(tables["referral"]).values(
                id="r1",
                person_id="p2",
                created_at=WHEN,
                updated_at=WHEN,
                status_at=WHEN,
            )
        )
        session.execute(sa.insert(tables["referral_need"]).values(referral_id="r1", need_id="n-p2"))
        session.execute(
            sa.insert(tables["referral_event"]).values(
                referral_id="r1", to_status="requested", at=WHEN, recorded_at=WHEN
            )
        )
        for seq, person_id in ((1, "p1"), (2, None)):
            session.execute(
                sa.insert(tables["audit_event"]).values(
                    seq=seq,
                    at=WHEN,
                    actor="x",
                    action="create",
                    entity="person",
                    person_id=person_id,
                    detail={},
                    prev_hash="0" * 64,
                    hash=f"{seq:064d}",
                )
            )
        session.commit()
    command.upgrade(cfg, "heads")
    assert _orgs(engine, "person") == ["Y00001", "Y00002"]
    assert _orgs(engine, "need") == ["Y00001", "Y00002"]
    assert _orgs(engine, "referral") == ["Y00002"]
    assert _orgs(engine, "referral_need") == ["Y00002"]
    assert _orgs(engine, "referral_event") == ["Y00002"]
    # an audit row about nobody: two practices, so no single organisation to give it
    assert _orgs(engine, "audit_event") == ["", "Y00001"]
    # with one practice only, the row about nobody is that practice's
    command.downgrade(cfg, "scr_0002")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE person SET practice_ods = 'Y00001'"))
    command.upgrade(cfg, "heads")
    assert _orgs(engine, "audit_event") == ["Y00001", "Y00001"]


def test_parents_are_known_for_every_child_table() -> None:
    assert set(PARENTS) == PERSON_DATA_TABLES - {"person", "audit_event"}

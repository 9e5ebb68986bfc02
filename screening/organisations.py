"""Which organisation holds each row: ``org`` on every table holding a person's data.

``org`` is the ODS code of the organisation holding the row (the practice, or the hub that
received the referral), not the person's registered practice (``person.practice_ods``).
Row-level security on a shared PostgreSQL deployment lets a login see only the rows of its
organisations (linkwork/migrations scr_0003 and later).

A person's org is set by whoever creates the person (the action, from the workspace's
organisation: ``session.info["org"]``); every other row takes its parent's org
automatically, here, just before the session writes it (``before_flush``), so no domain
function has to pass it along. Audit rows are left to ``screening.audit.record_event``
(their org is part of their hash). Rows written with Core statements (bulk loads) are
filled afterwards with :func:`fill_missing_orgs`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import Session as OrmSession

SESSION_KEY = "org"
ORG_LENGTH = 10
# The organisation code granting every organisation (an ICB-wide login on a shared
# deployment), and the org of a published extract covering every practice.
ALL_ORGS = "*"

# Each table holding a person's data but the person's own: (its parent table, the column
# holding the parent's id). Parents come before their children (fill_missing_orgs).
PARENTS: dict[str, tuple[str, str]] = {
    "screening": ("person", "person_id"),
    "answer": ("screening", "screening_id"),
    "need": ("person", "person_id"),
    "consent": ("person", "person_id"),
    "referral": ("person", "person_id"),
    "referral_need": ("referral", "referral_id"),
    "referral_event": ("referral", "referral_id"),
    "outcome": ("person", "person_id"),
    "outcome_need": ("outcome", "outcome_id"),
    "count_person": ("person", "person_id"),
    "count_need": ("need", "need_id"),
    "exchange_message": ("referral", "referral_id"),
    # casework (issue 20: screening/casework/models.py)
    "episode": ("person", "person_id"),
    "contact": ("person", "person_id"),
    "case_note": ("person", "person_id"),
    "goal": ("person", "person_id"),
    "goal_progress": ("goal", "goal_id"),
}
# Every table holding a person's data (audit_event's org is set by record_event).
ORG_TABLES = ("person", *PARENTS, "audit_event")


def org_field() -> Any:
    """``org``: the ODS code of the organisation holding the row (the practice, or the hub
    that received the referral); not the person's registered practice. Indexed: row-level
    security on PostgreSQL filters by it."""
    from sqlmodel import Field

    return Field(
        default="", max_length=ORG_LENGTH, index=True, sa_column_kwargs={"server_default": ""}
    )


def session_orgs(session: OrmSession) -> tuple[str, ...]:
    """Every organisation this session's login works for (PostgreSQL staff; else none)."""
    return tuple(session.info.get("orgs") or ())


def session_org(session: OrmSession) -> str:
    """The organisation this session acts for ('' if none was given)."""
    return str(session.info.get(SESSION_KEY) or "")


def _table(obj: Any) -> str:
    return str(getattr(getattr(type(obj), "__table__", None), "name", ""))


@cache
def _mapper_of(registry: Any, table: str) -> Mapper[Any] | None:
    for mapper in registry.mappers:
        if mapper.local_table is not None and mapper.local_table.name == table:
            return mapper
    return None


def _stored_org(session: OrmSession, child: Any, table: str, key: Any) -> str | None:
    """The org of row ``key`` of ``table``: from the session if it is loaded there, else
    read (without flushing)."""
    mapper = _mapper_of(sa.inspect(child).mapper.registry, table)
    if mapper is not None:
        loaded = session.identity_map.get(mapper.identity_key_from_primary_key((key,)))
        if loaded is not None:
            return str(getattr(loaded, "org", "") or "")
    t = sa.table(table, sa.column("id"), sa.column("org"))
    found = session.connection().execute(sa.select(t.c.org).where(t.c.id == key)).scalar()
    return None if found is None else str(found)


def _before_flush(session: OrmSession, _context: Any, _instances: Any) -> None:
    new = [obj for obj in session.new if _table(obj) == "person" or _table(obj) in PARENTS]
    if not new:
        return
    default = session_org(session)
    # Rows added in this flush, by (table, id): a person and its screening added together
    # both get the person's org, whatever order the session lists them in.
    added = {(_table(obj), getattr(obj, "id", None)): obj for obj in new}
    settled: set[int] = set()

    def settle(obj: Any, depth: int = 0) -> str:
        if id(obj) in settled or obj.org or depth > len(PARENTS):
            settled.add(id(obj))
            return str(obj.org or "")
        table = _table(obj)
        org: str | None = None
        if table in PARENTS:
            parent, column = PARENTS[table]
            key = getattr(obj, column, None)
            if key is not None:
                if (parent, key) in added:
                    org = settle(added[(parent, key)], depth + 1)
                else:
                    org = _stored_org(session, obj, parent, key)
        if table == "person" and getattr(obj, "practice_ods", "") in session_orgs(session):
            org = obj.practice_ods  # a PCN worker's person: held by their practice
        obj.org = org if org else default
        settled.add(id(obj))
        return str(obj.org)

    for obj in new:
        settle(obj)


def install_org_filling(session_class: type = OrmSession) -> None:
    """Fill ``org`` on every flush of ``session_class`` (idempotent)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)


def fill_missing_orgs(session: OrmSession) -> None:
    """Rows written with Core statements (bulk loads): each row with no org takes its
    parent's, and a person with none the session's organisation."""
    default = session_org(session)
    if default:
        session.execute(
            sa.text("UPDATE person SET org = :org WHERE org = ''").bindparams(org=default)
        )
    for table, (parent, key) in PARENTS.items():
        session.execute(
            sa.text(
                f"UPDATE {table} SET org = COALESCE((SELECT p.org FROM {parent} p "
                f"WHERE p.id = {table}.{key}), '') WHERE org = ''"
            )
        )

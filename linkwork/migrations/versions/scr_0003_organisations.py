"""organisations: every table holding a person's data says which organisation holds the row

``org`` (the ODS code of the practice, or of the hub that received the referral, that holds
the row; not ``person.practice_ods``, the person's registered practice) on every table
holding a person's data, NOT NULL, default '' and indexed (row-level security on PostgreSQL
filters by it). Filled from what is already there: a person from its registered practice,
each other row from its person (answers from their screening, a referral's needs and events
from the referral, an outcome's needs from the outcome, the counting copies from their
person and need); audit rows and exchange messages from their person (a message through its
referral), else the single organisation if the database holds exactly one practice, else ''.

Revision ID: scr_0003
Revises: scr_0002
Create Date: 2026-12-07 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scr_0003"
down_revision: str | Sequence[str] | None = "scr_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("cnt_0003", "xch_0001")

# Every table holding a person's data, in the order they are filled (a parent before its
# children), each with how its org is found: (parent table, this table's key to it).
TABLES: dict[str, tuple[str, str] | None] = {
    "person": None,  # from practice_ods
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
    "audit_event": ("person", "person_id"),
    "exchange_message": ("referral", "referral_id"),
}
# Rows that may have no parent take the database's only organisation, if it has just one.
ORPHANS_TAKE_THE_ONLY_ORG = ("audit_event", "exchange_message")


def index_name(table: str) -> str:
    return f"ix_{table}_org"


def _backfill() -> None:
    bind = op.get_bind()
    for table, parent in TABLES.items():
        if parent is None:
            op.execute(sa.text(f"UPDATE {table} SET org = COALESCE(practice_ods, '')"))
            continue
        parent_table, key = parent
        op.execute(
            sa.text(
                f"UPDATE {table} SET org = COALESCE((SELECT p.org FROM {parent_table} p "
                f"WHERE p.id = {table}.{key}), '')"
            )
        )
    practices = [
        row[0]
        for row in bind.execute(
            sa.text("SELECT DISTINCT practice_ods FROM person WHERE practice_ods <> ''")
        )
    ]
    if len(practices) == 1:
        for table in ORPHANS_TAKE_THE_ONLY_ORG:
            op.execute(
                sa.text(f"UPDATE {table} SET org = :org WHERE org = ''").bindparams(
                    org=practices[0]
                )
            )


def upgrade() -> None:
    for table in TABLES:
        # A NOT NULL column with a default: a plain ALTER TABLE ADD COLUMN on both databases.
        op.add_column(
            table,
            sa.Column("org", sa.String(length=10), nullable=False, server_default=""),
        )
    _backfill()
    for table in TABLES:
        op.create_index(index_name(table), table, ["org"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_index(index_name(table), table_name=table)
        # SQLite 3.35+ drops a column in place (no table copy, foreign keys untouched).
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN org"))

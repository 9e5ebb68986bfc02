"""audit chains: each organisation's audit rows form a hash chain of their own

``chain_seq`` (the row's place in its organisation's chain: 1, 2, ...) with a unique index
on (org, chain_seq), so two writers can never give one organisation's chain the same place
twice. ``seq`` stays the primary key over the whole table; on PostgreSQL it comes from the
sequence ``audit_event_seq`` (started after the last row), so appends to different
organisations' chains need not wait for each other. Rows already there keep their hashes
and ``chain_seq`` NULL: they stay one chain in ``seq`` order, checked as before (and
against the checkpoints signed before the upgrade); nothing is rehashed, so the upgrade
cannot hide an earlier edit.

Revision ID: scr_0004
Revises: scr_0003
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scr_0004"
down_revision: str | Sequence[str] | None = "scr_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCE = "audit_event_seq"


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.create_index("ix_audit_event_chain", ["org", "chain_seq"], unique=True)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        last = bind.execute(sa.text("SELECT coalesce(max(seq), 0) FROM audit_event")).scalar()
        op.execute(f"CREATE SEQUENCE {SEQUENCE} START WITH {int(last or 0) + 1}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_chain")
        batch_op.drop_column("chain_seq")

"""staff and roles: who may see what, enforced by PostgreSQL

The ``staff`` table: each member of staff's login, role (worker, datalead, admin) and the
organisations it works for (ODS codes; ``*`` for all), with who added it and when, and who
removed it and when (a removed row stays: history stays attributed). On PostgreSQL also the
group roles, the owner role, grants, row-level security and the actor check
(``linkwork.access_sql``, applied again after every upgrade by ``migrations/env.py``). On
SQLite only the table (one person's laptop: no logins).

Revision ID: acc_0001
Revises:
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "acc_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("access",)
depends_on: str | Sequence[str] | None = "scr_0003"


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(63), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("orgs", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_login", "staff", ["login"], unique=False)
    from linkwork.access_sql import apply

    apply(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from linkwork.access_sql import remove

        remove(bind)
    op.drop_index("ix_staff_login", table_name="staff")
    op.drop_table("staff")

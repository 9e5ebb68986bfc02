"""skipped sections: which sections of a screening were not asked (issue 22, point 7)

A section the person did not raise (the app's Ctrl+O, the CLI's ``screen --skip``) was
stored only as no answers, so the record could not tell "not asked" from an unanswered
question. ``screening.skipped`` lists the skipped sections' domains (JSON, ``[]`` for
every screening before this), read back as "skipped: Housing, Food". A new column on an
existing table: the PostgreSQL grants (``linkwork.access_sql``, table-wide) cover it.

Revision ID: scr_0006
Revises: scr_0005
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scr_0006"
down_revision: str | Sequence[str] | None = "scr_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("screening") as batch:
        batch.add_column(
            sa.Column("skipped", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("screening") as batch:
        batch.drop_column("skipped")

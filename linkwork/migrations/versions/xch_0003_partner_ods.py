"""partner ODS code: exchange_partner.ods

A partner's ODS organisation code ('' when not known), so that a referral to a hub partner
names the hub Organization by its ODS identifier (issue 19). The table's grants and
policies are unchanged (a new column, no new table).

Revision ID: xch_0003
Revises: xch_0002
Create Date: 2026-12-07 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "xch_0003"
down_revision: str | Sequence[str] | None = "xch_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_partner") as batch:
        batch.add_column(sa.Column("ods", sa.String(10), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("exchange_partner") as batch:
        batch.drop_column("ods")

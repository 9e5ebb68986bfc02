"""service.raw_hash: the digest of a service's bytes as its feed sent them

A re-import finds a service whose bytes (and the code that reads them) are the same as at
the last import without reading it again (issue 18, import speed). "" for rows written
before, and for a service whose reading left a note: those are read every time. The
table's grants and policies are unchanged (a new column, no new table).

Revision ID: dir_0002
Revises: dir_0001
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dir_0002"
down_revision: str | Sequence[str] | None = "dir_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("raw_hash", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("raw_hash")

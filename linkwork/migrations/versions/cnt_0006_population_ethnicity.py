"""practice list sizes by ethnic category: registered patients by practice and ethnicity

The user's own figures (no national file gives them): ``linkwork population import`` of a
file with an ``ETHNIC_CATEGORY`` column (``screening.counts.population``), the denominators
of rates per 1,000 registered patients by ethnic group. Aggregates, not a person's data: no
``org``.

Revision ID: cnt_0006
Revises: cnt_0005
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cnt_0006"
down_revision: str | Sequence[str] | None = "cnt_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practice_population_ethnicity",
        sa.Column("practice_ods", sa.String(length=10), primary_key=True),
        sa.Column("ethnic_category", sa.String(length=4), primary_key=True),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("extract_date", sa.String(length=20), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("practice_population_ethnicity")

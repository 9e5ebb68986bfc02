"""practice list sizes: registered patients by practice, sex and age group

The public "Patients Registered at a GP Practice" figures (``linkwork population import``,
``screening.counts.population``), the denominators of rates per 1,000 registered
patients. Aggregate public figures, not a person's data: no ``org``.

Revision ID: cnt_0005
Revises: cnt_0004
Create Date: 2026-12-07 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cnt_0005"
down_revision: str | Sequence[str] | None = "cnt_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practice_population",
        sa.Column("practice_ods", sa.String(length=10), primary_key=True),
        sa.Column("sex", sa.String(length=6), primary_key=True),
        sa.Column("age_low", sa.Integer(), primary_key=True),
        sa.Column("age_high", sa.Integer(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("extract_date", sa.String(length=20), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("practice_population")

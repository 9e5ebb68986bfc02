"""published reports: disclosure-controlled extracts a data lead reads instead of records

A data lead's login has no privilege on any table holding a person's data (the counting
copies included); it reads the reports someone allowed to see the records has published
(``screening.counts.extracts``): the question, the rows already rounded and suppressed,
when and by whom. ``org`` is the practice of a one-practice report, else ``*`` (every
organisation), so row-level security lets a data lead read only what covers its own.

Revision ID: cnt_0004
Revises: cnt_0003
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cnt_0004"
down_revision: str | Sequence[str] | None = "cnt_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_report",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("spec_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("org", sa.String(length=10), nullable=False, server_default="*"),
        sa.UniqueConstraint("spec_key", name="uq_published_report_spec"),
    )
    op.create_index("ix_published_report_org", "published_report", ["org"])


def downgrade() -> None:
    op.drop_index("ix_published_report_org", table_name="published_report")
    op.drop_table("published_report")

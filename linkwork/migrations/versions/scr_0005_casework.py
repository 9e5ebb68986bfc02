"""casework: episodes, contacts, case notes, goals and their progress (issue 20)

A person's social prescribing episode (open, closed with a reason, or declined; the SNOMED
CT concept recorded for it), the contacts with them (booked or what happened, ONS4 at the
first and at reviews), case notes (corrected by a new note, never deleted), and the goals
of their plan with every change of progress. Each table carries ``org`` (the organisation
contract); on PostgreSQL the grants and row-level security follow from it
(``linkwork.access_sql``, applied after every migration).

Revision ID: scr_0005
Revises: scr_0004
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scr_0005"
down_revision: str | Sequence[str] | None = "scr_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def _org() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("org", sa.String(10), nullable=False, server_default="")


def _indexes(table: str, *columns: str) -> None:
    for column in (*columns, "org"):
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "episode",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("what_matters", sa.String(), nullable=False),
        sa.Column("what_matters_at", TZ, nullable=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("code_display", sa.String(200), nullable=False),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("ended_by", sa.String(200), nullable=False),
        sa.Column("end_reason", sa.String(40), nullable=False),
        sa.Column("end_note", sa.String(), nullable=False),
        _org(),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _indexes("episode", "person_id", "status")
    op.create_table(
        "contact",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("episode_id", sa.String(36), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("ons4_satisfied", sa.Integer(), nullable=True),
        sa.Column("ons4_worthwhile", sa.Integer(), nullable=True),
        sa.Column("ons4_happy", sa.Integer(), nullable=True),
        sa.Column("ons4_anxious", sa.Integer(), nullable=True),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("status_at", TZ, nullable=False),
        _org(),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _indexes("contact", "person_id", "episode_id", "at")
    op.create_table(
        "case_note",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("episode_id", sa.String(36), nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("written_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("corrects", sa.String(36), nullable=True),
        sa.Column("corrected_by", sa.String(36), nullable=True),
        _org(),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _indexes("case_note", "person_id", "written_at")
    op.create_table(
        "goal",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("episode_id", sa.String(36), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("need_id", sa.String(36), nullable=True),
        sa.Column("target", sa.Date(), nullable=True),
        sa.Column("progress", sa.String(20), nullable=False),
        sa.Column("progress_on", sa.Date(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _org(),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"]),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _indexes("goal", "person_id", "episode_id")
    op.create_table(
        "goal_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.String(36), nullable=False),
        sa.Column("progress", sa.String(20), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        _org(),
        sa.ForeignKeyConstraint(["goal_id"], ["goal.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _indexes("goal_progress", "goal_id")


def downgrade() -> None:
    for table in ("goal_progress", "goal", "case_note", "contact", "episode"):
        op.drop_table(table)

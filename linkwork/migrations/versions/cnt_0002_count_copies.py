"""counting copies of needs (count_person, count_need), filled from the existing records

The needs counts read one narrow table (``count_need``: one row per need with what the
counts group by, copied from the need and its person) through covering indexes, instead
of joining need to person: one index for the cells of need x month x ethnic category, one
for its margin over months (people in order, so they are told apart without sorting).
``count_person`` gives each person a small whole number so that people are told apart
cheaply. The covering indexes of cnt_0001 on ``need`` and ``person`` are no longer read and
are dropped (the downgrade makes them again).

Revision ID: cnt_0002
Revises: cnt_0001
Create Date: 2026-11-24 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "cnt_0002"
down_revision: str | Sequence[str] | None = "cnt_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables as this revision knows them (never the application's models, which move on).
need = sa.table(
    "need",
    sa.column("id", sa.String),
    sa.column("person_id", sa.String),
    sa.column("code", sa.String),
    sa.column("domain", sa.String),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
)
person = sa.table(
    "person",
    sa.column("id", sa.String),
    sa.column("birth_date", sa.Date),
    sa.column("postcode", sa.String),
    sa.column("practice_ods", sa.String),
    sa.column("ethnic_category", sa.String),
    sa.column("sex", sa.String),
    sa.column("disability", sa.String),
)
deprivation = sa.table("postcode_deprivation", sa.column("postcode"), sa.column("decile"))
count_person = sa.table("count_person", sa.column("person_key"), sa.column("person_id"))
COUNT_NEED_COLUMNS = [
    "need_id",
    "person_key",
    "code",
    "domain",
    "day",
    "month",
    "practice_ods",
    "ethnic_category",
    "sex",
    "disability",
    "age",
    "decile",
]
count_need = sa.table("count_need", *[sa.column(name) for name in COUNT_NEED_COLUMNS])


def _date_number(value: sa.ColumnElement, dialect: str, timestamp: bool) -> sa.ColumnElement:
    """YYYYMMDD as a whole number: SQLite keeps ISO text (timestamps in UTC); PostgreSQL
    timestamps are taken in UTC."""
    if dialect == "sqlite":
        return sa.cast(sa.func.replace(sa.func.substr(value, 1, 10), "-", ""), sa.Integer)
    if timestamp:
        value = sa.func.timezone("UTC", value)
    return sa.cast(sa.func.to_char(value, "YYYYMMDD"), sa.Integer)


def _backfill() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(
        sa.insert(count_person).from_select(
            ["person_id"],
            sa.select(person.c.id)
            .where(sa.exists().where(need.c.person_id == person.c.id))
            .order_by(person.c.id),
        )
    )
    day = _date_number(need.c.recorded_at, dialect, True)
    born = _date_number(person.c.birth_date, dialect, False)
    compact_postcode = sa.func.upper(sa.func.replace(person.c.postcode, " ", ""))
    source = sa.select(
        need.c.id,
        count_person.c.person_key,
        need.c.code,
        need.c.domain,
        day,
        day // 100,
        person.c.practice_ods,
        person.c.ethnic_category,
        person.c.sex,
        person.c.disability,
        (day - born) // 10000,
        sa.func.coalesce(deprivation.c.decile, 0),
    ).select_from(
        need.join(person, person.c.id == need.c.person_id)
        .join(count_person, count_person.c.person_id == person.c.id)
        .outerjoin(deprivation, deprivation.c.postcode == compact_postcode)
    )
    op.execute(sa.insert(count_need).from_select(COUNT_NEED_COLUMNS, source))


def upgrade() -> None:
    op.create_table(
        "count_person",
        sa.Column("person_key", sa.Integer(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("person_key"),
        sa.UniqueConstraint("person_id"),
    )
    op.create_table(
        "count_need",
        sa.Column("need_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("person_key", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("practice_ods", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("ethnic_category", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("sex", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("disability", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("decile", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"]),
        sa.ForeignKeyConstraint(["person_key"], ["count_person.person_key"]),
        sa.PrimaryKeyConstraint("need_id"),
    )
    _backfill()
    # indexes after the bulk fill (quicker than keeping them up to date row by row)
    op.create_index(
        "ix_count_need_cells",
        "count_need",
        ["code", "ethnic_category", "month", "person_key", "day", "practice_ods"],
        unique=False,
    )
    op.create_index(
        "ix_count_need_people",
        "count_need",
        ["code", "ethnic_category", "person_key", "month", "day", "practice_ods"],
        unique=False,
    )
    op.create_index("ix_count_need_person_key", "count_need", ["person_key"], unique=False)
    op.drop_index("ix_need_counts", table_name="need", if_exists=True)
    op.drop_index("ix_person_counts", table_name="person", if_exists=True)


def downgrade() -> None:
    op.create_index(
        "ix_person_counts",
        "person",
        ["id", "ethnic_category", "practice_ods", "sex", "disability", "birth_date", "postcode"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        "ix_need_counts",
        "need",
        ["code", "domain", "recorded_at", "person_id"],
        unique=False,
        if_not_exists=True,
    )
    op.drop_index("ix_count_need_person_key", table_name="count_need")
    op.drop_index("ix_count_need_people", table_name="count_need")
    op.drop_index("ix_count_need_cells", table_name="count_need")
    op.drop_table("count_need")
    op.drop_table("count_person")

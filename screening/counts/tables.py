"""The counts' own tables: the postcode -> IMD decile lookup and the counting copy of
needs (``count_person``, ``count_need``), made by migrations ``cnt_0001``/``cnt_0002``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from screening.organisations import org_field

CELLS_INDEX = "ix_count_need_cells"  # made by migration cnt_0002
PEOPLE_INDEX = "ix_count_need_people"


class PostcodeDeprivation(SQLModel, table=True):
    """Index of Multiple Deprivation decile by postcode (``linkwork report load-deprivation``).
    Postcodes are stored upper case without spaces."""

    __tablename__ = "postcode_deprivation"

    postcode: str = Field(primary_key=True, max_length=8)
    decile: int


class CountPerson(SQLModel, table=True):
    """A small whole number per person, so that counts tell people apart cheaply
    (``COUNT(DISTINCT person_key)``). Made when the person's first need is counted."""

    __tablename__ = "count_person"

    person_key: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="person.id", unique=True, max_length=36)
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class CountNeed(SQLModel, table=True):
    """The counting copy of a recorded need: what the needs counts group by, taken from the
    need and its person, so that a count is one scan of one table (no join). Written in the
    same transaction as the need (``screening.needs.add_need``) and kept in step when the
    person's record changes (``screening.people.update_person``) or the deprivation lookup
    is reloaded. No identifier is copied: the age in whole years when the need was recorded
    stands for the date of birth, the IMD decile for the postcode."""

    __tablename__ = "count_need"
    __table_args__ = (
        # Read in index order, without sorting: need x month x ethnic category (in any
        # order) from the first; need x ethnic category, people told apart across months
        # (the margin of that table), from the second, whose people come in order. Day and
        # practice make both cover the filters.
        sa.Index(
            CELLS_INDEX, "code", "ethnic_category", "month", "person_key", "day", "practice_ods"
        ),
        sa.Index(
            PEOPLE_INDEX, "code", "ethnic_category", "person_key", "month", "day", "practice_ods"
        ),
        # A practice's row of the by-practice tables, and month x ethnic category beside a
        # three-way table (counts decided once per table: screening.counts.publish; cnt_0003).
        sa.Index("ix_count_need_practice_cells", "practice_ods", "code", "person_key"),
        sa.Index("ix_count_need_practice_people", "practice_ods", "person_key"),
        sa.Index("ix_count_need_month_ethnic", "month", "ethnic_category", "person_key"),
    )

    need_id: str = Field(foreign_key="need.id", primary_key=True, max_length=36)
    person_key: int = Field(foreign_key="count_person.person_key", index=True)
    code: str = Field(max_length=40)
    domain: str = Field(max_length=40)
    day: int  # the UTC date the need was recorded, as YYYYMMDD
    month: int  # YYYYMM
    practice_ods: str = Field(default="", max_length=10)
    ethnic_category: str = Field(default="99", max_length=2)
    sex: str = Field(max_length=20)
    disability: str = Field(max_length=20)
    age: int  # whole years on the day recorded (negative: a data error, "not known")
    decile: int = 0  # IMD decile of the postcode; 0 = not known
    org: str = org_field()  # the organisation holding the row (screening.organisations)

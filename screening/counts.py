"""Counts for data leads: people with a need, referrals and outcomes, by need, period,
practice and equality group, counted in the database (GROUP BY) and published only through
disclosure control (``screening.disclosure``).

Only aggregates are ever selected: no query here returns a name, NHS number, date of birth
or postcode. Periods: ``month`` is the calendar month (UTC); ``quarter`` and ``year`` are
**financial** (April to March: ``2025-26 Q1`` is April-June 2025, ``2025-26`` is April 2025
to March 2026). ``age_band`` is the age when the need was recorded (for referrals: when the
referral was made). ``deprivation`` is the IMD decile of the person's postcode from a
lookup loaded with ``load_deprivation`` (1 = most deprived 10%); "not known" otherwise.

People are counted once per cell (``COUNT(DISTINCT person)``); a person with needs in two
months appears in both months but once in the total, so such lines do not add up and the
disclosure checker is told so (``Dimension.partitions``).

Needs are counted from their counting copy (``CountNeed``, table ``count_need``): one row
per need with what the counts group by, taken from the need and its person (a small whole
number per person instead of the person's id, the age when recorded instead of the date of
birth, the IMD decile instead of the postcode). ``screening.needs.add_need`` writes it in
the same transaction as the need, ``screening.people.update_person`` and
``load_deprivation`` keep it in step, and a report first copies any need written some
other way (``ensure_copies``). A count is then one scan of one covering index with no
join. The levels of a table that must be counted (a margin over months: people told apart
again) go in one statement: ``GROUPING SETS`` on PostgreSQL (one pass), ``UNION ALL`` on
SQLite (no grouping sets there); margins over dimensions that place each person once are
summed from finer cells instead. Referrals and outcomes are counted from the records.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from screening.disclosure import (
    DEFAULT_RULE,
    Rule,
    Table,
    protect_one_way,
    protect_two_way,
    publish_count,
    publish_mean,
    publish_rate,
)
from screening.equality import AGE_BANDS, ethnic_group_labels, load_equality
from screening.models import (
    Need,
    Outcome,
    OutcomeNeed,
    Person,
    Referral,
    ReferralEvent,
    ReferralNeed,
    Screening,
    as_utc,
)

NAMESPACE = "https://linkwork.example.org/fhir"
MAX_DIMENSIONS = 3
ALL = None  # the key of a total ("all values of this dimension")
ALL_LABEL = "All"
NOT_KNOWN = "not_known"
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


# ------------------------------------------------------------------------ dimensions


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    description: str
    # True when every counted unit (person or referral) has exactly one value of this
    # dimension, so the cells of a line add up to its total.
    partitions: bool
    # For referrals: does a referral have exactly one value? (need/domain: no)
    referral_partitions: bool = True


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("need", "Need", "coded need (ICD-10 or SNOMED CT)", False, False),
        Dimension("domain", "Need domain", "need domain (housing, food, ...)", False, False),
        Dimension("month", "Month", "calendar month the need was recorded", False),
        Dimension("quarter", "Quarter", "financial quarter (Q1 = April-June)", False),
        Dimension("year", "Financial year", "financial year (April-March)", False),
        Dimension("practice", "Practice", "registered practice (ODS code)", True),
        Dimension("ethnicity", "Ethnic category", "NHS ethnic category (A-S, Z, 99)", True),
        Dimension("ethnic_group", "Ethnic group", "high-level ethnic group", True),
        Dimension("age_band", "Age band", "age when the need was recorded", False),
        Dimension("sex", "Sex", "sex", True),
        Dimension("disability", "Disability", "disability (Equality Act 2010)", True),
        Dimension("deprivation", "IMD decile", "deprivation decile of the postcode", True),
    )
}


def parse_dimensions(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"need,ethnic_group"`` -> ``("need", "ethnic_group")``; ValueError if unknown."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    names = [p.strip().lower().replace("-", "_") for p in parts if p.strip()]
    if not names:
        raise ValueError("give at least one dimension with --by")
    for name in names:
        if name not in DIMENSIONS:
            raise ValueError(f"unknown dimension {name!r}: use one of {', '.join(DIMENSIONS)}")
    if len(set(names)) != len(names):
        raise ValueError("a dimension is repeated in --by")
    if len(names) > MAX_DIMENSIONS:
        raise ValueError(f"at most {MAX_DIMENSIONS} dimensions can be crossed")
    return tuple(names)


def parse_date(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"bad {what} {text!r}: use YYYY-MM-DD") from None


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None  # inclusive
    practice: str | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"--from {self.start} is after --to {self.end}")

    def as_dict(self) -> dict[str, str | None]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "practice": self.practice,
        }


# --------------------------------------------------------------- SQL expressions

need_t = Need.__table__  # type: ignore[attr-defined]
person_t = Person.__table__  # type: ignore[attr-defined]
referral_t = Referral.__table__  # type: ignore[attr-defined]
dep_t = PostcodeDeprivation.__table__  # type: ignore[attr-defined]
cp_t = CountPerson.__table__  # type: ignore[attr-defined]
cn_t = CountNeed.__table__  # type: ignore[attr-defined]


def _utc(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.timezone("UTC", column)
    return column


def _year(value: Any, dialect: str) -> Any:
    """The year of a UTC timestamp or a date, as an integer. On SQLite values are stored as
    ISO text (``YYYY-MM-DD HH:MM:SS``, UTC), and slicing text is much faster than parsing."""
    if dialect == "sqlite":
        return sa.cast(sa.func.substr(value, 1, 4), sa.Integer)
    return sa.cast(sa.extract("year", _utc(value, dialect)), sa.Integer)


def _month(value: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return sa.cast(sa.func.substr(value, 6, 2), sa.Integer)
    return sa.cast(sa.extract("month", _utc(value, dialect)), sa.Integer)


def _month_day(value: Any, dialect: str) -> Any:
    """``MM-DD`` text, which sorts like the day of the year."""
    if dialect == "sqlite":
        return sa.func.substr(value, 6, 5)
    return sa.func.to_char(_utc(value, dialect), "MM-DD")


def _fy_quarter(year: Any, month: Any, name: str) -> Any:
    """Financial year (2025 = April 2025 to March 2026) or quarter (20251 = its Q1)."""
    fy = year - sa.case((month < 4, 1), else_=0)
    if name == "quarter":
        return fy * 10 + ((month + 8) % 12) // 3 + 1
    return fy


def _period(name: str, when: Any, dialect: str) -> Any:
    """Key of a period of a timestamp: month ``"2025-04"``, quarter 20251 (FY 2025-26 Q1),
    year 2025 (FY 2025-26)."""
    if name == "month":
        if dialect == "sqlite":
            return sa.func.substr(when, 1, 7)
        return sa.func.to_char(_utc(when, dialect), "YYYY-MM")
    return _fy_quarter(_year(when, dialect), _month(when, dialect), name)


def _age_band_of(age: Any) -> Any:
    whens = []
    for label, low, high in AGE_BANDS:
        cond = age >= low if high is None else sa.and_(age >= low, age <= high)
        whens.append((cond, label))
    return sa.case(*whens, else_=NOT_KNOWN)


def _age_band(when: Any, dialect: str) -> Any:
    born = person_t.c.birth_date
    age = (
        _year(when, dialect)
        - _year(born, dialect)
        - sa.case((_month_day(when, dialect) < _month_day(born, dialect), 1), else_=0)
    )
    return _age_band_of(age)


def _ethnic_group(column: Any) -> Any:
    groups: dict[str, list[str]] = {}
    for code, group in load_equality()["ethnic_category"].groups:
        groups.setdefault(group, []).append(code)
    return sa.case(
        *[(column.in_(codes), group) for group, codes in groups.items()],
        else_=NOT_KNOWN,
    )


def _norm_postcode(column: Any) -> Any:
    return sa.func.upper(sa.func.replace(column, " ", ""))


def _dimension_expr(name: str, dialect: str, when: Any) -> Any:
    """A dimension of a referral or an outcome (read through the person and the need)."""
    if name == "need":
        return need_t.c.code
    if name == "domain":
        return need_t.c.domain
    if name in ("month", "quarter", "year"):
        return _period(name, when, dialect)
    if name == "practice":
        return person_t.c.practice_ods
    if name == "ethnicity":
        return person_t.c.ethnic_category
    if name == "ethnic_group":
        return _ethnic_group(person_t.c.ethnic_category)
    if name == "age_band":
        return _age_band(when, dialect)
    if name == "sex":
        return person_t.c.sex
    if name == "disability":
        return person_t.c.disability
    if name == "deprivation":
        return sa.func.coalesce(dep_t.c.decile, 0)
    raise ValueError(f"unknown dimension {name!r}")  # pragma: no cover


def _count_expr(name: str) -> Any:
    """A dimension of a counted need, from its counting copy (``count_need``): plain
    columns and whole-number arithmetic, the same SQL on SQLite and PostgreSQL."""
    c = cn_t.c
    if name == "need":
        return c.code
    if name == "domain":
        return c.domain
    if name == "month":
        return c.month  # YYYYMM, written as YYYY-MM by _month_key
    if name in ("quarter", "year"):
        return _fy_quarter(c.month // 100, c.month % 100, name)
    if name == "practice":
        return c.practice_ods
    if name == "ethnicity":
        return c.ethnic_category
    if name == "ethnic_group":
        return _ethnic_group(c.ethnic_category)
    if name == "age_band":
        return _age_band_of(c.age)
    if name == "sex":
        return c.sex
    if name == "disability":
        return c.disability
    if name == "deprivation":
        return c.decile
    raise ValueError(f"unknown dimension {name!r}")  # pragma: no cover


def _month_key(value: Any) -> str:
    number = int(value)
    return f"{number // 100:04d}-{number % 100:02d}"


def _between(column: Any, filters: Filters) -> list[Any]:
    conds = []
    if filters.start:
        conds.append(column >= datetime.combine(filters.start, time.min, UTC))
    if filters.end:
        conds.append(column < datetime.combine(filters.end + timedelta(days=1), time.min, UTC))
    return conds


def check_practice(session: Session, practice: str | None) -> None:
    """LookupError when no person in the records belongs to ``practice``."""
    if practice is None:
        return
    found = session.execute(
        sa.select(person_t.c.id).where(person_t.c.practice_ods == practice).limit(1)
    ).first()
    if found is None:
        raise LookupError(f"no practice {practice!r} in the records")


# ------------------------------------------------- the counting copy (count_need)


def day_number(value: date | datetime) -> int:
    """``YYYYMMDD`` as a whole number (a timestamp is taken in UTC)."""
    day = as_utc(value).date() if isinstance(value, datetime) else value
    return day.year * 10000 + day.month * 100 + day.day


def age_between(day: int, born: int) -> int:
    """Whole years from ``born`` to ``day`` (both ``YYYYMMDD``), truncated like SQL's
    integer division so that Python and the database agree."""
    return int((day - born) / 10000)


def _person_key(session: Session, person_id: str) -> int:
    """The person's counting number, made on first use. Two sessions recording a first
    need for the same person at once both get the one number (the insert does nothing
    when the other's is already there)."""
    find = sa.select(cp_t.c.person_key).where(cp_t.c.person_id == person_id)
    key = session.execute(find).scalar()
    if key is None:
        dialect = session.get_bind().dialect.name
        if dialect in ("postgresql", "sqlite"):
            from sqlalchemy.dialects import postgresql, sqlite

            upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(cp_t)
            session.execute(
                upsert.values(person_id=person_id).on_conflict_do_nothing(
                    index_elements=["person_id"]
                )
            )
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            session.execute(sa.insert(cp_t).values(person_id=person_id))
        key = session.execute(find).scalar_one()
    return int(key)


def _decile_of(session: Session, postcode: str) -> int:
    compact = str(postcode or "").upper().replace(" ", "")
    if not compact:
        return 0
    found = session.execute(sa.select(dep_t.c.decile).where(dep_t.c.postcode == compact)).scalar()
    return int(found or 0)


def count_new_need(session: Session, need: Need, person: Person) -> None:
    """Write the counting copy of a need just recorded (same transaction)."""
    day = day_number(need.recorded_at)
    session.execute(
        sa.insert(cn_t).values(
            need_id=need.id,
            person_key=_person_key(session, person.id),
            code=need.code,
            domain=need.domain,
            day=day,
            month=day // 100,
            practice_ods=person.practice_ods,
            ethnic_category=person.ethnic_category,
            sex=person.sex,
            disability=person.disability,
            age=age_between(day, day_number(person.birth_date)),
            decile=_decile_of(session, person.postcode),
        )
    )


COUNTED_PERSON_FIELDS = frozenset(
    {"practice_ods", "ethnic_category", "sex", "disability", "birth_date", "postcode"}
)


def recount_person(session: Session, person: Person) -> int:
    """Copy a person's edited record onto the counting copies of their needs (same
    transaction as the edit). Returns how many were updated."""
    key = session.execute(
        sa.select(cp_t.c.person_key).where(cp_t.c.person_id == person.id)
    ).scalar()
    if key is None:
        return 0
    born = day_number(person.birth_date)
    result = session.execute(
        sa.update(cn_t)
        .where(cn_t.c.person_key == key)
        .values(
            practice_ods=person.practice_ods,
            ethnic_category=person.ethnic_category,
            sex=person.sex,
            disability=person.disability,
            # integer division in SQL on both databases (truncated, like age_between)
            age=(cn_t.c.day - born) // 10000,
            decile=_decile_of(session, person.postcode),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _recount_deciles(session: Session) -> None:
    """After the deprivation lookup changed: every counting copy's decile again."""
    decile = (
        sa.select(dep_t.c.decile)
        .select_from(
            cp_t.join(person_t, person_t.c.id == cp_t.c.person_id).join(
                dep_t, dep_t.c.postcode == _norm_postcode(person_t.c.postcode)
            )
        )
        .where(cp_t.c.person_key == cn_t.c.person_key)
        .scalar_subquery()
    )
    session.execute(sa.update(cn_t).values(decile=sa.func.coalesce(decile, 0)))


def _date_number(value: Any, dialect: str, timestamp: bool) -> Any:
    """``YYYYMMDD`` of a stored timestamp (UTC) or date, in SQL."""
    if dialect == "sqlite":
        return sa.cast(sa.func.replace(sa.func.substr(value, 1, 10), "-", ""), sa.Integer)
    return sa.cast(
        sa.func.to_char(_utc(value, dialect) if timestamp else value, "YYYYMMDD"), sa.Integer
    )


def sync_counts(session: Session) -> int:
    """Write the counting copy of every need that has none (needs bulk-inserted without
    ``add_need``, as ``make_demo`` and the benchmark do). One INSERT ... SELECT; returns
    how many needs were added."""
    dialect = session.get_bind().dialect.name
    session.execute(
        sa.insert(cp_t).from_select(
            ["person_id"],
            sa.select(person_t.c.id)
            .where(
                sa.exists().where(need_t.c.person_id == person_t.c.id),
                ~sa.exists().where(cp_t.c.person_id == person_t.c.id),
            )
            .order_by(person_t.c.id),
        )
    )
    day = _date_number(need_t.c.recorded_at, dialect, True)
    born = _date_number(person_t.c.birth_date, dialect, False)
    source = (
        sa.select(
            need_t.c.id,
            cp_t.c.person_key,
            need_t.c.code,
            need_t.c.domain,
            day,
            day // 100,
            person_t.c.practice_ods,
            person_t.c.ethnic_category,
            person_t.c.sex,
            person_t.c.disability,
            (day - born) // 10000,
            sa.func.coalesce(dep_t.c.decile, 0),
        )
        .select_from(
            need_t.join(person_t, person_t.c.id == need_t.c.person_id)
            .join(cp_t, cp_t.c.person_id == person_t.c.id)
            .outerjoin(dep_t, dep_t.c.postcode == _norm_postcode(person_t.c.postcode))
        )
        .where(~sa.exists().where(cn_t.c.need_id == need_t.c.id))
    )
    columns = [
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
    result = session.execute(sa.insert(cn_t).from_select(columns, source))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------ raw counts


@dataclass
class RawCounts:
    """Unrounded counts for every subset of the dimensions that a table publishes:
    ``by_level[kept]`` maps a tuple of the kept dimensions' keys to a count, where ``kept``
    is a tuple of dimension indexes (``()`` for the grand total)."""

    dims: tuple[str, ...]
    by_level: dict[tuple[int, ...], dict[tuple[Any, ...], int]] = field(default_factory=dict)

    def get(self, kept: tuple[int, ...], key: tuple[Any, ...]) -> int:
        return self.by_level.get(kept, {}).get(key, 0)

    @property
    def empty(self) -> bool:
        return not any(v for level in self.by_level.values() for v in level.values())


def _levels(n: int) -> list[tuple[int, ...]]:
    if n == 1:
        return [(0,), ()]
    if n == 2:
        return [(0, 1), (0,), (1,), ()]
    return [(0, 1, 2), (0, 1), (0, 2), (0,)]  # one two-way table per value of the first


def plan_levels(
    dims: tuple[str, ...], unit: str | None
) -> tuple[list[tuple[int, ...]], dict[tuple[int, ...], tuple[int, ...]]]:
    """Which levels of a table are counted in SQL and which are summed from a finer one.
    A level is summed when every dimension summed away places each counted ``unit`` in
    exactly one category (then a sum of distinct counts is the distinct count); a margin
    over a dimension that does not (a person with needs in two months) is counted."""
    parts = [unit is not None and _partitions(d, unit) for d in dims]
    queried: list[tuple[int, ...]] = []
    summed: dict[tuple[int, ...], tuple[int, ...]] = {}
    for kept in _levels(len(dims)):
        finer = next(
            (
                level
                for level in [*queried, *summed]
                if set(kept) < set(level) and all(parts[i] for i in set(level) - set(kept))
            ),
            None,
        )
        if finer is None:
            queried.append(kept)
        else:
            summed[kept] = finer
    return queried, summed


_INDEX_COLUMNS = ("code", "ethnic_category", "month", "person_key")


def _index_order(exprs: list[Any]) -> list[Any]:
    """GROUP BY terms in the order of the counting copy's indexes (the same groups in any
    order; PostgreSQL, unlike SQLite, reads an index in order only when the GROUP BY
    follows it)."""

    def rank(expr: Any) -> int:
        name = getattr(expr, "name", None)
        table = getattr(expr, "table", None)
        if table is cn_t and name in _INDEX_COLUMNS:
            return _INDEX_COLUMNS.index(name)
        return len(_INDEX_COLUMNS)

    return sorted(exprs, key=rank)


def _levels_statement(
    dialect: str,
    levels: list[tuple[int, ...]],
    exprs: list[Any],
    measure: Any,
    from_clause: Any,
    where: list[Any],
) -> Any:
    """One statement for several levels. PostgreSQL: ``GROUP BY GROUPING SETS`` (one
    pass; ``GROUPING()`` tells the levels apart). SQLite has no grouping sets: a ``UNION
    ALL`` of one GROUP BY per level, each read in index order where an index allows. The
    last two columns are the level number and the count."""
    if dialect == "postgresql":
        used = sorted({i for kept in levels for i in kept})
        sets = [sa.tuple_(*_index_order([exprs[i] for i in kept])) for kept in levels]
        flags = sa.func.grouping(*[exprs[i] for i in used])
        cols = [exprs[i].label(f"d{i}") if i in used else sa.null() for i in range(len(exprs))]
        return (
            sa.select(*cols, flags.label("lvl"), measure.label("n"))
            .select_from(from_clause)
            .where(*where)
            .group_by(sa.func.grouping_sets(*sets))
        )
    parts = []
    for number, kept in enumerate(levels):
        cols = [
            exprs[i].label(f"d{i}") if i in kept else sa.null().label(f"d{i}")
            for i in range(len(exprs))
        ]
        query = (
            sa.select(*cols, sa.literal(number).label("lvl"), measure.label("n"))
            .select_from(from_clause)
            .where(*where)
        )
        if kept:
            query = query.group_by(*_index_order([exprs[i] for i in kept]))
        parts.append(query)
    return sa.union_all(*parts)


def _grouping_flags(levels: list[tuple[int, ...]]) -> dict[int, int]:
    """PostgreSQL's GROUPING(e0, e1, ...) value of each level -> the level's number (a bit
    per argument, the first argument highest, set when that expression is not grouped)."""
    used = sorted({i for kept in levels for i in kept})
    flags = {}
    for number, kept in enumerate(levels):
        value = 0
        for i in used:
            value = value * 2 + (0 if i in kept else 1)
        flags[value] = number
    return flags


def _run_levels(
    session: Session,
    dims: tuple[str, ...],
    exprs: list[Any],
    measure: Any,
    from_clause: Any,
    where: list[Any],
    unit: str | None = None,
    keys: dict[int, Callable[[Any], Any]] | None = None,
    combine: bool = True,
) -> RawCounts:
    """Counts at every level a table publishes: the levels that must be counted in SQL in
    one statement (``combine``; else one query each), the others summed from a finer
    level. ``keys`` turns a dimension's raw value into its key (e.g. month numbers)."""
    raw = RawCounts(dims)
    queried, summed = plan_levels(dims, unit)
    dialect = session.get_bind().dialect.name
    keys = keys or {}

    # a key's raw values are cleaned once per distinct value (months, decimals from
    # PostgreSQL arithmetic), not once per row
    cleaned: list[dict[Any, Any]] = [{} for _ in dims]

    def clean(i: int, value: Any) -> Any:
        known = cleaned[i]
        if value not in known:
            convert = keys.get(i)
            known[value] = "" if value is None else convert(value) if convert else _clean_key(value)
        return known[value]

    def add(kept: tuple[int, ...], row: Sequence[Any]) -> None:
        level = raw.by_level[kept]
        key = tuple([clean(i, row[i]) for i in kept])
        level[key] = level.get(key, 0) + int(row[-1] or 0)

    for kept in queried:
        raw.by_level[kept] = {}
    if combine and len(queried) > 1 and dialect in ("postgresql", "sqlite"):
        statement = _levels_statement(dialect, queried, exprs, measure, from_clause, where)
        flags = _grouping_flags(queried) if dialect == "postgresql" else None
        for row in session.execute(statement):
            number = int(row[-2])
            add(queried[flags[number] if flags is not None else number], row)
    else:
        for kept in queried:
            cols = [
                exprs[i].label(f"d{i}") if i in kept else sa.null().label(f"d{i}")
                for i in range(len(exprs))
            ]
            query = sa.select(*cols, measure.label("n")).select_from(from_clause).where(*where)
            if kept:
                query = query.group_by(*_index_order([exprs[i] for i in kept]))
            for row in session.execute(query):
                add(kept, row)
    for kept, finer in summed.items():  # finest first, so ``finer`` is always there
        total: dict[tuple[Any, ...], int] = {}
        where_in = [finer.index(i) for i in kept]
        for key, n in raw.by_level[finer].items():
            short = tuple([key[p] for p in where_in])
            total[short] = total.get(short, 0) + n
        raw.by_level[kept] = total
    return raw


def _clean_key(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        return int(value)
    return "" if value is None else value


def _person_join(base: Any, dims: Sequence[str], person_fk: Any) -> Any:
    joined = base.join(person_t, person_fk == person_t.c.id)
    if "deprivation" in dims:
        joined = joined.outerjoin(dep_t, dep_t.c.postcode == _norm_postcode(person_t.c.postcode))
    return joined


def _needs_query(dims: tuple[str, ...], filters: Filters) -> tuple[list[Any], Any, Any, list[Any]]:
    """The pieces of the needs count: dimension expressions, measure, FROM and WHERE, all
    over the counting copy (one table, no join; the same SQL on both databases)."""
    c = cn_t.c
    exprs = [_count_expr(d) for d in dims]
    where = []
    if filters.start:
        where.append(c.day >= day_number(filters.start))
    if filters.end:
        where.append(c.day <= day_number(filters.end))
    if filters.practice:
        where.append(c.practice_ods == filters.practice)
    return exprs, sa.func.count(sa.distinct(c.person_key)), cn_t, where


def _month_keys(dims: tuple[str, ...]) -> dict[int, Callable[[Any], Any]]:
    return {i: _month_key for i, d in enumerate(dims) if d == "month"}


def cells_query(session: Session, by: str | Sequence[str], filters: Filters | None = None) -> Any:
    """The single GROUP BY of the finest cells of a needs table (for the benchmark)."""
    dims = parse_dimensions(by)
    exprs, measure, base, where = _needs_query(dims, filters or Filters())
    grouped = _index_order(exprs)
    return sa.select(*exprs, measure).select_from(base).where(*where).group_by(*grouped)


def ensure_copies(session: Session) -> int:
    """Make sure every need has its counting copy: a need written some other way than
    ``add_need`` (a bulk load, an older build) is copied now. Two ``COUNT(*)`` over
    narrow indexes when nothing is missing. Returns how many were added."""
    missing = session.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(need_t).scalar_subquery()
            - sa.select(sa.func.count()).select_from(cn_t).scalar_subquery()
        )
    ).scalar_one()
    return sync_counts(session) if missing else 0


def needs_raw(
    session: Session, dims: tuple[str, ...], filters: Filters, combine: bool = True
) -> RawCounts:
    """Unrounded people-with-a-need counts at every level of the table (``combine=False``
    runs one query per counted level instead of one statement: for the benchmark)."""
    ensure_copies(session)
    exprs, measure, base, where = _needs_query(dims, filters)
    tune_for_counting(session)
    return _run_levels(
        session, dims, exprs, measure, base, where, "people", _month_keys(dims), combine
    )


def tune_for_counting(session: Session) -> None:
    """SQLite: sort in memory and keep up to 64 MB of pages in the cache for this
    connection (a scan of a million index entries otherwise re-reads pages from the OS)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("PRAGMA temp_store=MEMORY"))
        session.execute(sa.text("PRAGMA cache_size=-65536"))


# ------------------------------------------------------------------------ labels


@cache
def _catalogue_labels() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    try:
        from codes.catalogue import load_catalogue

        cat = load_catalogue()
    except Exception:  # the counts still work without the catalogue's wording
        return {}, {}, {}
    codes = {c.code: c.display for c in cat.all()}
    systems = {c.code: c.system for c in cat.all()}
    domains = {d.key: d.label for d in cat.domains()}
    return codes, domains, systems


def _fy_label(fy: int) -> str:
    return f"{fy}-{(fy + 1) % 100:02d}"


def key_text(dim: str, key: Any) -> str:
    """The key as written in outputs (codes as stored, periods as text)."""
    if key is ALL:
        return "all"
    if dim == "month":
        return str(key)
    if dim == "quarter":
        return f"{_fy_label(int(key) // 10)} Q{int(key) % 10}"
    if dim == "year":
        return _fy_label(int(key))
    if dim == "deprivation":
        return NOT_KNOWN if int(key) == 0 else str(int(key))
    return str(key)


def key_label(dim: str, key: Any) -> str:
    if key is ALL:
        return ALL_LABEL
    codes, domains, _ = _catalogue_labels()
    if dim == "need":
        if str(key) in codes:
            return codes[str(key)]
        if str(key) in domains:  # a need recorded by its domain alone
            return f"{domains[str(key)]} (domain only)"
        return str(key)
    if dim == "domain":
        return domains.get(str(key), str(key))
    if dim == "ethnic_group":
        return ethnic_group_labels().get(str(key), "Not known")
    if dim in ("ethnicity", "sex", "disability"):
        spec = load_equality()["ethnic_category" if dim == "ethnicity" else dim]
        try:
            return spec.label_of(str(key))
        except LookupError:
            return str(key)
    if dim == "age_band":
        return "Not known" if key == NOT_KNOWN else str(key)
    if dim == "deprivation":
        if int(key) == 0:
            return "Not known"
        extra = " (most deprived)" if int(key) == 1 else " (least deprived)" if key == 10 else ""
        return f"Decile {int(key)}{extra}"
    if dim == "quarter":
        return key_text(dim, key) + {1: " (Apr-Jun)", 2: " (Jul-Sep)", 3: " (Oct-Dec)"}.get(
            int(key) % 10, " (Jan-Mar)"
        )
    return key_text(dim, key)


def _fixed_values(dim: str) -> list[Any] | None:
    """Every value of a dimension with a closed list (shown even when 0)."""
    _, domains, _ = _catalogue_labels()
    if dim == "domain" and domains:
        return list(domains)
    if dim == "ethnicity":
        return load_equality()["ethnic_category"].codes()
    if dim == "ethnic_group":
        return list(ethnic_group_labels())
    if dim == "age_band":
        return [label for label, _, _ in AGE_BANDS]
    if dim in ("sex", "disability"):
        return load_equality()[dim].codes()
    return None


def _ordered_values(dim: str, seen: Iterable[Any]) -> list[Any]:
    seen = set(seen)
    fixed = _fixed_values(dim)
    if fixed is not None:
        return fixed + sorted((v for v in seen if v not in fixed), key=str)
    return sorted(seen, key=lambda v: (isinstance(v, str), v))


# ------------------------------------------------------------------------ reports


@dataclass
class Row:
    keys: tuple[Any, ...]  # None = all values of that dimension (a total)
    values: dict[str, int | float | None]  # measure -> published value (None = suppressed)

    @property
    def is_total(self) -> bool:
        return any(k is ALL for k in self.keys)


@dataclass
class Measure:
    key: str
    label: str
    kind: str = "count"  # count | rate | mean
    # rate: the count measures it divides; mean: the count it is the mean over (denominator)
    numerator: str | None = None
    denominator: str | None = None


@dataclass
class Report:
    name: str  # needs | referrals | outcomes
    title: str
    unit: str
    dims: tuple[str, ...]
    measures: list[Measure]
    rows: list[Row]
    filters: Filters
    rule: Rule | None  # None = --no-suppression (raw numbers)
    period: tuple[date, date] | None = None
    tables: list[Table] = field(default_factory=list)  # the protected count tables
    is_empty: bool = False  # nothing at all was counted

    @property
    def suppressed(self) -> bool:
        return self.rule is not None

    def grand_total(self, measure: str | None = None) -> int | float | None:
        key = measure or self.measures[0].key
        for row in self.rows:
            if all(k is ALL for k in row.keys):
                return row.values.get(key)
        return None


def _value_lists(raw: RawCounts) -> list[list[Any]]:
    seen: list[set[Any]] = [set() for _ in raw.dims]
    for kept, level in raw.by_level.items():
        for key in level:
            for pos, value in zip(kept, key, strict=True):
                seen[pos].add(value)
    return [_ordered_values(d, s) for d, s in zip(raw.dims, seen, strict=True)]


def _partitions(dim: str, unit: str) -> bool:
    spec = DIMENSIONS[dim]
    return spec.referral_partitions if unit == "referrals" else spec.partitions


def _publish_counts(
    raw: RawCounts,
    values: list[list[Any]],
    rule: Rule | None,
    unit: str,
) -> tuple[dict[tuple[Any, ...], int | None], list[Table]]:
    """Published value of every row key (dimension keys with ALL for totals)."""
    dims = raw.dims
    out: dict[tuple[Any, ...], int | None] = {}
    tables: list[Table] = []

    def pub(v: int) -> int | None:
        return v if rule is None else publish_count(v, rule)

    if len(dims) == 1:
        line = [raw.get((0,), (v,)) for v in values[0]]
        total = raw.get((), ())
        if rule is None:
            published = [pub(c) for c in line]
            ptotal: int | None = total
        else:
            table = protect_one_way(line, total, partition=_partitions(dims[0], unit), rule=rule)
            tables.append(table)
            published, ptotal = list(table.cells[0]), table.total
        for v, p in zip(values[0], published, strict=True):
            out[(v,)] = p
        out[(ALL,)] = ptotal
        return out, tables

    # two-way (or one two-way table per value of the first dimension)
    slices: list[tuple[Any, ...]] = [()] if len(dims) == 2 else [(v,) for v in values[0]]
    rows_vals, cols_vals = values[-2], values[-1]
    offset = len(dims) - 2
    for prefix in slices:
        cell_level = (0, 1) if not prefix else (0, 1, 2)
        row_level = (0,) if not prefix else (0, 1)
        col_level = (1,) if not prefix else (0, 2)
        tot_level: tuple[int, ...] = () if not prefix else (0,)
        cells = [[raw.get(cell_level, (*prefix, r, c)) for c in cols_vals] for r in rows_vals]
        row_tot = [raw.get(row_level, (*prefix, r)) for r in rows_vals]
        col_tot = [raw.get(col_level, (*prefix, c)) for c in cols_vals]
        total = raw.get(tot_level, prefix)
        if prefix and total == 0:
            continue
        if rule is None:
            pcells: list[list[int | None]] = [list(r) for r in cells]
            prow: list[int | None] = list(row_tot)
            pcol: list[int | None] = list(col_tot)
            ptot: int | None = total
        else:
            table = protect_two_way(
                cells,
                row_tot,
                col_tot,
                total,
                rows_partition=_partitions(dims[offset], unit),
                cols_partition=_partitions(dims[offset + 1], unit),
                rule=rule,
            )
            tables.append(table)
            pcells = [list(r) for r in table.cells]
            prow = list(table.row_totals or ())
            pcol = list(table.col_totals or ())
            ptot = table.total
        for i, r in enumerate(rows_vals):
            for j, c in enumerate(cols_vals):
                out[(*prefix, r, c)] = pcells[i][j]
            out[(*prefix, r, ALL)] = prow[i]
        for j, c in enumerate(cols_vals):
            out[(*prefix, ALL, c)] = pcol[j]
        out[(*prefix, ALL, ALL)] = ptot
    return out, tables


def _period_of(session: Session, column: Any, filters: Filters) -> tuple[date, date] | None:
    """The reporting period: the filters, else whole months around the data."""
    if filters.start and filters.end:
        return filters.start, filters.end
    first, last = session.execute(
        sa.select(sa.func.min(column), sa.func.max(column)).where(*_between(column, filters))
    ).one()
    if first is None:
        return None
    first_d = first.date() if isinstance(first, datetime) else date.fromisoformat(str(first)[:10])
    last_d = last.date() if isinstance(last, datetime) else date.fromisoformat(str(last)[:10])
    start = filters.start or first_d.replace(day=1)
    if filters.end:
        end = filters.end
    else:
        nxt = (last_d.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = nxt - timedelta(days=1)
    return start, end


def needs_report(
    session: Session,
    by: str | Sequence[str],
    filters: Filters | None = None,
    rule: Rule | None = DEFAULT_RULE,
) -> Report:
    """People with a recorded need (each person once per cell), by ``by``.

    ``rule=None`` gives raw numbers (the practice's own internal view only; the CLI makes
    that loud and audited)."""
    dims = parse_dimensions(by)
    filters = filters or Filters()
    check_practice(session, filters.practice)
    raw = needs_raw(session, dims, filters)
    values = _value_lists(raw)
    published, tables = _publish_counts(raw, values, rule, "people")
    rows = [Row(key, {"people": value}) for key, value in _row_order(dims, values, published)]
    return Report(
        name="needs",
        title="People with a recorded social need",
        unit="people",
        dims=dims,
        measures=[Measure("people", "People")],
        rows=rows,
        filters=filters,
        rule=rule,
        period=_period_of(session, need_t.c.recorded_at, filters),
        tables=tables,
        is_empty=raw.empty,
    )


def _row_order(
    dims: tuple[str, ...], values: list[list[Any]], published: dict[tuple[Any, ...], Any]
) -> list[tuple[tuple[Any, ...], Any]]:
    """Rows in reading order: each cell, each line's total after the line, totals last."""
    ordered: list[tuple[tuple[Any, ...], Any]] = []
    extended = [[*v, ALL] for v in values]
    if len(dims) == 1:
        keys: list[tuple[Any, ...]] = [(v,) for v in extended[0]]
    elif len(dims) == 2:
        keys = [(r, c) for r in extended[0] for c in extended[1]]
    else:
        keys = [(a, r, c) for a in values[0] for r in extended[1] for c in extended[2]]
    for key in keys:
        if key in published:
            ordered.append((key, published[key]))
    return ordered


# ------------------------------------------------------------------- referrals


REFERRAL_MEASURES = [
    Measure("made", "Referrals made"),
    Measure("accepted", "Accepted"),
    Measure("completed", "Completed"),
    Measure("declined", "Declined"),
]
RECEIVED_MEASURES = [
    Measure("received", "Referrals received"),
    Measure("accepted", "Accepted"),
    Measure("completed", "Completed"),
    Measure("declined", "Declined"),
]
# --direction: referrals this database sent (a practice) or received (a hub)
DIRECTIONS = {"sent": "outgoing", "received": "incoming"}
_SENT = ("requested", "accepted", "rejected", "in-progress", "on-hold", "completed", "failed")
_ACCEPTED = ("accepted", "in-progress", "on-hold", "completed", "failed")


def referrals_report(
    session: Session,
    by: str | Sequence[str],
    filters: Filters | None = None,
    rule: Rule | None = DEFAULT_RULE,
    direction: str = "sent",
) -> Report:
    """Referrals by the month etc. they were made (sent) or received, with how many were
    accepted (ever), completed and declined (rejected by the receiver).

    ``direction="sent"`` (a practice's view): referrals this database made, i.e. every
    status but draft and cancelled before sending. ``direction="received"`` (a hub's
    view): referrals that came in from elsewhere, each counted as received whatever its
    status now. ``need``/``domain`` count a referral under each of its needs."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} is not one of: {', '.join(DIRECTIONS)}")
    received = direction == "received"
    dims = parse_dimensions(by)
    filters = filters or Filters()
    check_practice(session, filters.practice)
    dialect = session.get_bind().dialect.name
    when = referral_t.c.created_at
    uses_need = any(d in ("need", "domain") for d in dims)
    base = referral_t
    if uses_need:
        rn = ReferralNeed.__table__  # type: ignore[attr-defined]
        base = base.join(rn, rn.c.referral_id == referral_t.c.id).join(
            need_t, need_t.c.id == rn.c.need_id
        )
    base = _person_join(base, dims, referral_t.c.person_id)
    exprs = [_dimension_expr(d, dialect, when) for d in dims]
    ev = ReferralEvent.__table__  # type: ignore[attr-defined]
    ever_accepted = sa.exists(
        sa.select(ev.c.id).where(ev.c.referral_id == referral_t.c.id, ev.c.to_status == "accepted")
    )
    sent_cond = sa.or_(
        referral_t.c.status.in_(_SENT),
        sa.exists(
            sa.select(ev.c.id).where(
                ev.c.referral_id == referral_t.c.id, ev.c.to_status == "requested"
            )
        ),
    )
    conditions = {
        "received" if received else "made": sa.true() if received else sent_cond,
        "accepted": sa.or_(referral_t.c.status.in_(_ACCEPTED), ever_accepted),
        "completed": referral_t.c.status == "completed",
        "declined": referral_t.c.status == "rejected",
    }
    where = _between(when, filters)
    if filters.practice:
        where.append(person_t.c.practice_ods == filters.practice)
    where.append(referral_t.c.direction == DIRECTIONS[direction])
    raws = {
        key: _run_levels(
            session,
            dims,
            exprs,
            sa.func.count(sa.distinct(sa.case((cond, referral_t.c.id), else_=None))),
            base,
            where,
            "referrals",
        )
        for key, cond in conditions.items()
    }
    first = "received" if received else "made"
    values = _value_lists(raws[first])
    published: dict[str, dict[tuple[Any, ...], int | None]] = {}
    tables: list[Table] = []
    for key, raw in raws.items():
        published[key], t = _publish_counts(raw, values, rule, "referrals")
        tables += t
    rows = [
        Row(key, {m: published[m].get(key) for m in conditions})
        for key, _ in _row_order(dims, values, published[first])
    ]
    return Report(
        name="referrals-received" if received else "referrals",
        title=f"Referrals {first}, accepted, completed and declined",
        unit="referrals",
        dims=dims,
        measures=list(RECEIVED_MEASURES if received else REFERRAL_MEASURES),
        rows=rows,
        filters=filters,
        rule=rule,
        period=_period_of(session, when, filters),
        tables=tables,
        is_empty=raws[first].empty,
    )


# --------------------------------------------------------------------- outcomes

ONS4 = ("satisfied", "worthwhile", "happy", "anxious")


def outcomes_report(
    session: Session,
    by: str | Sequence[str],
    filters: Filters | None = None,
    rule: Rule | None = DEFAULT_RULE,
) -> Report:
    """Needs with a recorded outcome, how many were resolved and the share resolved; people
    with ONS4 at screening and at outcome, and the mean change of each ONS4 item (outcome
    minus the screening linked to the referral; for ``anxious`` lower is better). Rates and
    means come from unrounded numbers and are hidden where their counts are. One-way only
    beyond the first dimension: several measures per row."""
    dims = parse_dimensions(by)
    if len(dims) > 1:
        raise ValueError("outcomes can be counted by one dimension at a time")
    filters = filters or Filters()
    check_practice(session, filters.practice)
    dialect = session.get_bind().dialect.name
    out_t = Outcome.__table__  # type: ignore[attr-defined]
    on_t = OutcomeNeed.__table__  # type: ignore[attr-defined]
    scr_t = Screening.__table__  # type: ignore[attr-defined]
    when = out_t.c.recorded_at
    where = _between(when, filters)
    if filters.practice:
        where.append(person_t.c.practice_ods == filters.practice)

    # needs with an outcome, resolved (unit: needs; a need is in one cell of every dimension)
    base_needs = on_t.join(out_t, out_t.c.id == on_t.c.outcome_id).join(
        need_t, need_t.c.id == on_t.c.need_id
    )
    base_needs = _person_join(base_needs, dims, out_t.c.person_id)
    exprs = [_dimension_expr(d, dialect, when) for d in dims]
    n_needs = _run_levels(
        session,
        dims,
        exprs,
        sa.func.count(sa.distinct(on_t.c.need_id)),
        base_needs,
        where,
    )
    n_resolved = _run_levels(
        session,
        dims,
        exprs,
        sa.func.count(sa.distinct(sa.case((on_t.c.resolved.is_(True), on_t.c.need_id)))),
        base_needs,
        where,
    )

    # ONS4 change per outcome with a linked screening that has both values
    base_ons = out_t.join(referral_t, referral_t.c.id == out_t.c.referral_id).join(
        scr_t, scr_t.c.id == referral_t.c.screening_id
    )
    if dims[0] in ("need", "domain"):
        base_ons = base_ons.join(on_t, on_t.c.outcome_id == out_t.c.id).join(
            need_t, need_t.c.id == on_t.c.need_id
        )
    base_ons = _person_join(base_ons, dims, out_t.c.person_id)
    has_all = sa.and_(
        *[getattr(out_t.c, f"ons4_{k}").is_not(None) for k in ONS4],
        *[getattr(scr_t.c, f"ons4_{k}").is_not(None) for k in ONS4],
    )
    ons_where = [*where, has_all]
    ons_n = _run_levels(
        session, dims, exprs, sa.func.count(sa.distinct(out_t.c.id)), base_ons, ons_where
    )
    ons_sums = {
        k: _run_levels(
            session,
            dims,
            exprs,
            sa.func.sum(getattr(out_t.c, f"ons4_{k}") - getattr(scr_t.c, f"ons4_{k}")),
            base_ons,
            ons_where,
        )
        for k in ONS4
    }
    # need/domain: an outcome with two needs counts in two cells (sums count it twice,
    # which stays consistent with n counted per need below)
    if dims[0] in ("need", "domain"):
        ons_n = _run_levels(
            session, dims, exprs, sa.func.count(on_t.c.need_id), base_ons, ons_where
        )

    values = _value_lists(n_needs)
    pub_needs, t1 = _publish_counts(n_needs, values, rule, "needs")
    pub_res, t2 = _publish_counts(n_resolved, values, rule, "needs")
    pub_ons, t3 = _publish_counts(ons_n, values, rule, "needs")
    rows: list[Row] = []
    for key, _ in _row_order(dims, values, pub_needs):
        kept: tuple[int, ...] = () if key[0] is ALL else (0,)
        rk = () if key[0] is ALL else key
        nn, nr = n_needs.get(kept, rk), n_resolved.get(kept, rk)
        on = ons_n.get(kept, rk)
        pn = pub_ons.get(key)
        row: dict[str, int | float | None] = {
            "needs": pub_needs.get(key),
            "resolved": pub_res.get(key),
            "share_resolved": publish_rate(nr, nn, pub_res.get(key), pub_needs.get(key))
            if rule is not None
            else (round(nr / nn, 3) if nn else None),
            "ons4_people": pn,
        }
        for k in ONS4:
            total = ons_sums[k].get(kept, rk)
            row[f"ons4_{k}_change"] = (
                publish_mean(total, on, pn)
                if rule is not None
                else (round(total / on, 1) if on else None)
            )
        rows.append(Row(key, row))
    measures = [
        Measure("needs", "Needs with an outcome"),
        Measure("resolved", "Resolved"),
        Measure("share_resolved", "Share resolved", "rate", "resolved", "needs"),
        Measure("ons4_people", "With ONS4 before and after"),
        *[
            Measure(f"ons4_{k}_change", f"Mean change: {k}", "mean", None, "ons4_people")
            for k in ONS4
        ],
    ]
    return Report(
        name="outcomes",
        title="Outcomes: needs resolved and change in personal wellbeing (ONS4)",
        unit="needs",
        dims=dims,
        measures=measures,
        rows=rows,
        filters=filters,
        rule=rule,
        period=_period_of(session, when, filters),
        tables=t1 + t2 + t3,
        is_empty=n_needs.empty,
    )


# ------------------------------------------------------------------ deprivation


_POSTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")


def load_deprivation(session: Session, path: Path | str) -> int:
    """Load (replace) the postcode -> IMD decile lookup from a CSV with columns
    ``postcode,decile``. All or nothing: ValueError names the first bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"no such file {path}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a UTF-8 CSV file") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "postcode" not in header or "decile" not in header:
        raise ValueError(f"{path}: the header must have the columns postcode,decile")
    rows: dict[str, int] = {}
    for number, record in enumerate(reader, start=2):
        rec = {k.strip().lower(): (v or "").strip() for k, v in record.items() if k}
        postcode = rec["postcode"].upper().replace(" ", "")
        if not _POSTCODE_RE.match(postcode):
            raise ValueError(f"{path} line {number}: {rec['postcode']!r} is not a full postcode")
        try:
            decile = int(rec["decile"])
        except ValueError:
            decile = 0
        if not 1 <= decile <= 10:
            raise ValueError(f"{path} line {number}: decile must be a whole number from 1 to 10")
        rows[postcode] = decile
    if not rows:
        raise ValueError(f"{path} has no postcodes")
    session.execute(sa.delete(dep_t))
    session.execute(sa.insert(dep_t), [{"postcode": p, "decile": d} for p, d in rows.items()])
    _recount_deciles(session)
    return len(rows)


# ---------------------------------------------------------------------- outputs


def _fmt(value: int | float | None) -> str:
    if value is None:
        return "*"
    return str(value)


def header(report: Report) -> list[str]:
    cols: list[str] = []
    for d in report.dims:
        cols += [d, f"{d}_label"]
    return cols + [m.key for m in report.measures]


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header(report))
    for row in report.rows:
        line: list[str] = []
        for d, k in zip(report.dims, row.keys, strict=True):
            line += [key_text(d, k), key_label(d, k)]
        writer.writerow(line + [_fmt(row.values.get(m.key)) for m in report.measures])
    return buffer.getvalue()


def disclosure_note(report: Report) -> str:
    if report.rule is None:
        return "NOT SUPPRESSED: raw numbers for the practice's internal use only; do not publish"
    return (
        f"Counts of 1 to {report.rule.threshold} are hidden (*) and all others rounded to the "
        f"nearest {report.rule.base}; some other counts are hidden (*) so that a hidden one "
        "cannot be worked out from the totals. Totals, rates and means come from unrounded "
        "numbers."
    )


def to_json(report: Report) -> dict[str, Any]:
    rows = []
    for row in report.rows:
        item: dict[str, Any] = {}
        for d, k in zip(report.dims, row.keys, strict=True):
            item[d] = None if k is ALL else key_text(d, k)
            item[f"{d}_label"] = key_label(d, k)
        for m in report.measures:
            item[m.key] = row.values.get(m.key)
        rows.append(item)
    return {
        "report": report.name,
        "title": report.title,
        "unit": report.unit,
        "by": list(report.dims),
        "filters": report.filters.as_dict(),
        "period": None
        if report.period is None
        else {"start": report.period[0].isoformat(), "end": report.period[1].isoformat()},
        "disclosure": {
            "applied": report.suppressed,
            "threshold": report.rule.threshold if report.rule else None,
            "rounded_to": report.rule.base if report.rule else None,
            "note": disclosure_note(report),
            "suppressed_value": None,
        },
        "periods": "quarter and year are financial (April to March)",
        "measures": [{"key": m.key, "label": m.label, "kind": m.kind} for m in report.measures],
        "rows": rows,
    }


# -- FHIR R4 MeasureReport


POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


def _masked() -> dict[str, Any]:
    return {"extension": [{"url": DATA_ABSENT, "valueCode": "masked"}]}


def _population(code: str, value: int | float | None, display: str) -> dict[str, Any]:
    pop: dict[str, Any] = {
        "code": {"coding": [{"system": POPULATION_SYSTEM, "code": code, "display": display}]}
    }
    if value is None:
        pop["_count"] = _masked()
    else:
        pop["count"] = int(value)
    return pop


def _concept(dim: str, key: Any) -> dict[str, Any]:
    if key is ALL:
        return {"text": ALL_LABEL}
    _, domains, systems = _catalogue_labels()
    if dim == "need" and str(key) in systems:
        system = systems[str(key)]
    elif dim == "need" and str(key) in domains:
        system = f"{NAMESPACE}/CodeSystem/domain"
    else:
        system = f"{NAMESPACE}/CodeSystem/{dim.replace('_', '-')}"
    return {
        "coding": [{"system": system, "code": key_text(dim, key), "display": key_label(dim, key)}],
        "text": key_label(dim, key),
    }


def _dimension_concept(dim: str) -> dict[str, Any]:
    return {
        "coding": [{"system": f"{NAMESPACE}/CodeSystem/dimension", "code": dim}],
        "text": DIMENSIONS[dim].label,
    }


def _measure_concept(measure: Measure) -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": f"{NAMESPACE}/CodeSystem/measure",
                "code": measure.key,
                "display": measure.label,
            }
        ],
        "text": measure.label,
    }


def _score(value: int | float | None) -> dict[str, Any]:
    return _masked() if value is None else {"value": value}


def to_measure_report(report: Report, generated: datetime | None = None) -> dict[str, Any]:
    """A FHIR R4 MeasureReport (type summary) carrying every measure of the report.

    One measure (needs): one group per need (or domain) when that is a dimension (per value
    of the first dimension for three), else one group. Several measures (referrals,
    outcomes): one group per measure, every dimension a stratifier. Within a group, one
    stratifier per other dimension and one per cross of them (as components). A count is
    the ``initial-population``; a rate has ``numerator`` and ``denominator`` populations
    and its value as ``measureScore``; a mean has the ``measure-population`` it is taken
    over and its value as ``measureScore``. Hidden values carry no value but the
    data-absent-reason extension with ``masked``. Validated with fhir.resources R4B (raises
    if it does not)."""
    from itertools import combinations

    from fhir.resources.R4B.measurereport import MeasureReport

    dims = report.dims
    measures = {m.key: m for m in report.measures}
    by_key = {row.keys: row for row in report.rows}

    def value(key: tuple[Any, ...], measure: str) -> int | float | None:
        row = by_key.get(key)
        return None if row is None else row.values.get(measure)

    def scored(key: tuple[Any, ...], measure: Measure) -> dict[str, Any]:
        """population (and measureScore) of one measure for one row."""
        if measure.kind == "rate":
            num, den = measures[str(measure.numerator)], measures[str(measure.denominator)]
            return {
                "population": [
                    _population("numerator", value(key, num.key), num.label),
                    _population("denominator", value(key, den.key), den.label),
                ],
                "measureScore": _score(value(key, measure.key)),
            }
        if measure.kind == "mean":
            over = measures[str(measure.denominator)]
            return {
                "population": [_population("measure-population", value(key, over.key), over.label)],
                "measureScore": _score(value(key, measure.key)),
            }
        return {
            "population": [
                _population("initial-population", value(key, measure.key), measure.label)
            ]
        }

    group_dim: int | None = None
    if len(report.measures) == 1:
        if len(dims) == MAX_DIMENSIONS:
            group_dim = 0
        else:
            group_dim = next((i for i, d in enumerate(dims) if d in ("need", "domain")), None)
    strat_dims = [i for i in range(len(dims)) if i != group_dim]
    subsets = [c for n in range(1, len(strat_dims) + 1) for c in combinations(strat_dims, n)]

    def group(measure: Measure, in_group: list[Row], code: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"code": code}
        top = next(
            (r for r in in_group if all(k is ALL for i, k in enumerate(r.keys) if i != group_dim)),
            None,
        )
        if top is not None:
            out.update(scored(top.keys, measure))
        stratifiers = []
        for subset in subsets:
            strata = []
            for row in in_group:
                if not all((row.keys[i] is not ALL) == (i in subset) for i in strat_dims):
                    continue
                stratum: dict[str, Any] = {}
                if len(subset) == 1:
                    stratum["value"] = _concept(dims[subset[0]], row.keys[subset[0]])
                else:
                    stratum["component"] = [
                        {
                            "code": _dimension_concept(dims[i]),
                            "value": _concept(dims[i], row.keys[i]),
                        }
                        for i in subset
                    ]
                stratum.update(scored(row.keys, measure))
                strata.append(stratum)
            if strata:
                code_ = {
                    "text": " x ".join(DIMENSIONS[dims[i]].label for i in subset),
                    "coding": [
                        {
                            "system": f"{NAMESPACE}/CodeSystem/dimension",
                            "code": "+".join(dims[i] for i in subset),
                        }
                    ],
                }
                stratifiers.append({"code": [code_], "stratum": strata})
        if stratifiers:
            out["stratifier"] = stratifiers
        return out

    groups = []
    if group_dim is None:
        for measure in report.measures:
            code = (
                {"text": report.title} if len(report.measures) == 1 else _measure_concept(measure)
            )
            groups.append(group(measure, report.rows, code))
    else:
        main = report.measures[0]
        values = [k for k in dict.fromkeys(r.keys[group_dim] for r in report.rows) if k is not ALL]
        for gv in values:
            in_group = [r for r in report.rows if r.keys[group_dim] == gv]
            groups.append(group(main, in_group, _concept(dims[group_dim], gv)))
    start, end = report.period or (date.today(), date.today())
    now = (generated or datetime.now(UTC)).replace(microsecond=0)
    resource: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": f"{NAMESPACE}/Measure/{report.name}-{report.unit}",
        "date": now.isoformat(),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "extension": [
            {
                "url": f"{NAMESPACE}/StructureDefinition/disclosure-control",
                "valueString": disclosure_note(report),
            }
        ],
        "group": groups,
    }
    if report.filters.practice:
        resource["reporter"] = {
            "identifier": {
                "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                "value": report.filters.practice,
            }
        }
    MeasureReport.model_validate(resource)  # raises if it does not validate
    return resource


# -- SVG bar chart


def chart_series(report: Report) -> list[tuple[str, int | float | None]]:
    """The bars: the first measure by the first dimension (its totals in a crossed table)."""
    main = report.measures[0].key
    series = []
    for row in report.rows:
        first, rest = row.keys[0], row.keys[1:]
        if first is ALL or any(k is not ALL for k in rest):
            continue
        series.append((key_label(report.dims[0], first), row.values.get(main)))
    return series


def to_svg(report: Report) -> str:
    """A small hand-written SVG horizontal bar chart; hidden counts are marked ``*``."""
    series = chart_series(report)
    bar_h, gap, label_w, chart_w, top = 18, 6, 260, 420, 50
    height = top + len(series) * (bar_h + gap) + 40
    width = label_w + chart_w + 80
    peak = max([v for _, v in series if isinstance(v, int | float)] + [1])
    title = f"{report.title} by {DIMENSIONS[report.dims[0]].label.lower()}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (label, value) in enumerate(series):
        y = top + n * (bar_h + gap)
        text = label if len(label) <= 40 else label[:39] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end">{escape(text)}</text>'
        )
        if value is None:
            parts.append(f'<text x="{label_w + 4}" y="{y + bar_h - 5}" fill="#555555">*</text>')
            continue
        w = round(chart_w * float(value) / peak, 1)
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="#005eb8"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + bar_h - 5}">{value}</text>')
    note = disclosure_note(report)
    parts.append(
        f'<text x="10" y="{height - 14}" font-size="10" fill="#555555">{escape(note[:160])}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

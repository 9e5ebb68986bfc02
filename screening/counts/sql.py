"""Database-specific SQL for the counts: a dimension of a referral or an outcome read
through the person and the need, a dimension of a counted need from its counting copy,
periods and ages on SQLite (ISO text) and PostgreSQL (timestamps), and the date filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.counts.dimensions import NOT_KNOWN, Filters
from screening.counts.tables import CountNeed, CountPerson, PostcodeDeprivation
from screening.equality import AGE_BANDS, load_equality
from screening.models import Need, Person, Referral

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


def period(name: str, when: Any, dialect: str) -> Any:
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


def norm_postcode(column: Any) -> Any:
    return sa.func.upper(sa.func.replace(column, " ", ""))


def dimension_expr(name: str, dialect: str, when: Any) -> Any:
    """A dimension of a referral or an outcome (read through the person and the need)."""
    if name == "need":
        return need_t.c.code
    if name == "domain":
        return need_t.c.domain
    if name in ("month", "quarter", "year"):
        return period(name, when, dialect)
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


def count_expr(name: str) -> Any:
    """A dimension of a counted need, from its counting copy (``count_need``): plain
    columns and whole-number arithmetic, the same SQL on SQLite and PostgreSQL."""
    c = cn_t.c
    if name == "need":
        return c.code
    if name == "domain":
        return c.domain
    if name == "month":
        return c.month  # YYYYMM, written as YYYY-MM by month_key
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


def month_key(value: Any) -> str:
    number = int(value)
    return f"{number // 100:04d}-{number % 100:02d}"


def between(column: Any, filters: Filters) -> list[Any]:
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


def practice_population(session: Session) -> dict[str, int]:
    """How many people each practice has in the records (one GROUP BY over the
    practice's index)."""
    rows = session.execute(
        sa.select(person_t.c.practice_ods, sa.func.count()).group_by(person_t.c.practice_ods)
    )
    return {str(ods): int(n) for ods, n in rows}


def person_join(base: Any, dims: Sequence[str], person_fk: Any) -> Any:
    joined = base.join(person_t, person_fk == person_t.c.id)
    if "deprivation" in dims:
        joined = joined.outerjoin(dep_t, dep_t.c.postcode == norm_postcode(person_t.c.postcode))
    return joined


def date_number(value: Any, dialect: str, timestamp: bool) -> Any:
    """``YYYYMMDD`` of a stored timestamp (UTC) or date, in SQL."""
    if dialect == "sqlite":
        return sa.cast(sa.func.replace(sa.func.substr(value, 1, 10), "-", ""), sa.Integer)
    return sa.cast(
        sa.func.to_char(_utc(value, dialect) if timestamp else value, "YYYYMMDD"), sa.Integer
    )

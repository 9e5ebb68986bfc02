"""The counting copy of needs (``count_need``): written with each need, kept in step
when a person's record or the deprivation lookup changes, and made in bulk for needs
written some other way."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from directory.text import parse_postcode
from directory.untrusted import shown
from screening.counts.sql import (
    cn_t,
    cp_t,
    date_number,
    dep_t,
    need_t,
    norm_postcode,
    person_t,
)
from screening.models import Need, Person, as_utc


def day_number(value: date | datetime) -> int:
    """``YYYYMMDD`` as a whole number (a timestamp is taken in UTC)."""
    day = as_utc(value).date() if isinstance(value, datetime) else value
    return day.year * 10000 + day.month * 100 + day.day


def age_between(day: int, born: int) -> int:
    """Whole years from ``born`` to ``day`` (both ``YYYYMMDD``), truncated like SQL's
    integer division so that Python and the database agree."""
    return int((day - born) / 10000)


def _person_key(session: Session, person_id: str, org: str = "") -> int:
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
                upsert.values(person_id=person_id, org=org).on_conflict_do_nothing(
                    index_elements=["person_id"]
                )
            )
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            session.execute(sa.insert(cp_t).values(person_id=person_id, org=org))
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
            person_key=_person_key(session, person.id, person.org),
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
            org=need.org or person.org,
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
                dep_t, dep_t.c.postcode == norm_postcode(person_t.c.postcode)
            )
        )
        .where(cp_t.c.person_key == cn_t.c.person_key)
        .scalar_subquery()
    )
    session.execute(sa.update(cn_t).values(decile=sa.func.coalesce(decile, 0)))


# The needs counted: a withdrawn need was never the person's, a corrected one is counted
# under the need that corrects it (its copy moved there): neither has a counting copy.
COUNTED = ("active", "resolved")


def sync_counts(session: Session) -> int:
    """Write the counting copy of every need that has none (needs bulk-inserted without
    ``add_need``, as ``make_demo`` and the benchmark do). One INSERT ... SELECT; returns
    how many needs were added."""
    dialect = session.get_bind().dialect.name
    session.execute(
        sa.insert(cp_t).from_select(
            ["person_id", "org"],
            sa.select(person_t.c.id, person_t.c.org)
            .where(
                sa.exists().where(need_t.c.person_id == person_t.c.id),
                ~sa.exists().where(cp_t.c.person_id == person_t.c.id),
            )
            .order_by(person_t.c.id),
        )
    )
    day = date_number(need_t.c.recorded_at, dialect, True)
    born = date_number(person_t.c.birth_date, dialect, False)
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
            need_t.c.org,
        )
        .select_from(
            need_t.join(person_t, person_t.c.id == need_t.c.person_id)
            .join(cp_t, cp_t.c.person_id == person_t.c.id)
            .outerjoin(dep_t, dep_t.c.postcode == norm_postcode(person_t.c.postcode))
        )
        .where(need_t.c.status.in_(COUNTED), ~sa.exists().where(cn_t.c.need_id == need_t.c.id))
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
        "org",
    ]
    result = session.execute(sa.insert(cn_t).from_select(columns, source))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def ensure_copies(session: Session) -> int:
    """Make sure every need has its counting copy: a need written some other way than
    ``add_need`` (a bulk load, an older build) is copied now. Two ``COUNT(*)`` over
    narrow indexes when nothing is missing. Returns how many were added."""
    counted = sa.select(sa.func.count()).select_from(need_t).where(need_t.c.status.in_(COUNTED))
    missing = session.execute(
        sa.select(
            counted.scalar_subquery()
            - sa.select(sa.func.count()).select_from(cn_t).scalar_subquery()
        )
    ).scalar_one()
    return sync_counts(session) if missing else 0


# ------------------------------------------------------------------ deprivation


MAX_LOOKUP_BYTES = 64 * 1024 * 1024  # a postcode,decile file or the national LSOA file
MAX_POSTCODES_BYTES = 2 * 1024 * 1024 * 1024  # the national postcode lookup (about 1 GB)
MAX_LINE_CHARS = 4_000
_LSOA_COLUMNS = ("lsoa code (2021)", "lsoa code (2011)")
_DECILE_PREFIX = "index of multiple deprivation (imd) decile"
_PC_COLUMNS = ("pcds", "pcd", "postcode")
_PC_LSOA = ("lsoa21", "lsoa21cd", "lsoa11", "lsoa11cd")


def _bounded_lines(path: Path, limit: int) -> Iterator[str]:
    """A file's lines (UTF-8, BOM dropped), its size and each line bounded."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ValueError(f"no such file {path}") from None
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a CSV file")
    if size > limit:
        raise ValueError(f"{path} is larger than {limit // (1024 * 1024)} MB")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for number, line in enumerate(fh, start=1):
                if len(line) > MAX_LINE_CHARS:
                    raise ValueError(
                        f"{path} line {number} is longer than {MAX_LINE_CHARS} characters"
                    )
                yield line
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a UTF-8 CSV file") from None


def _decile(text: str, where: str) -> int:
    try:
        decile = int(text.strip())
    except ValueError:
        decile = 0
    if not 1 <= decile <= 10:
        raise ValueError(f"{where}: decile must be a whole number from 1 to 10")
    return decile


def _by_lsoa(path: Path, reader: Any, header: list[str]) -> dict[str, int]:
    """LSOA code -> IMD decile from the national file (English indices of deprivation:
    ``LSOA code (2011)`` or ``(2021)``, ``Index of Multiple Deprivation (IMD) Decile ...``)."""
    code_at = next(header.index(c) for c in _LSOA_COLUMNS if c in header)
    decile_at = next(i for i, h in enumerate(header) if h.startswith(_DECILE_PREFIX))
    out: dict[str, int] = {}
    for number, record in enumerate(reader, start=2):
        if not record:
            continue
        if len(record) != len(header):
            raise ValueError(f"{path} line {number}: {len(record)} fields, not {len(header)}")
        code = record[code_at].strip().upper()
        if not (code.isascii() and code.isalnum() and len(code) == 9):
            raise ValueError(f"{path} line {number}: {shown(code)} is not an LSOA code")
        out[code] = _decile(record[decile_at], f"{path} line {number}")
    return out


def _postcodes_by_lsoa(session: Session, path: Path, deciles: dict[str, int]) -> dict[str, int]:
    """Postcode -> decile through the national postcode lookup (ONS NSPL/ONSPD: ``pcds``
    and ``lsoa21`` or ``lsoa11``), for the postcodes of people in the records only."""
    wanted = {
        str(pc).upper().replace(" ", "")
        for (pc,) in session.execute(sa.select(person_t.c.postcode).distinct())
        if pc
    }
    reader = csv.reader(_bounded_lines(path, MAX_POSTCODES_BYTES))
    header = [h.strip().lower() for h in next(reader, [])]
    pc_col = next((c for c in _PC_COLUMNS if c in header), None)
    lsoa_col = next((c for c in _PC_LSOA if c in header), None)
    if pc_col is None or lsoa_col is None:
        raise ValueError(
            f"{path} is not a postcode lookup: it needs a postcode column (pcds) and an LSOA "
            "column (lsoa21 or lsoa11)"
        )
    pc_at, lsoa_at = header.index(pc_col), header.index(lsoa_col)
    out: dict[str, int] = {}
    for number, record in enumerate(reader, start=2):
        if len(record) <= max(pc_at, lsoa_at):
            if record:
                raise ValueError(f"{path} line {number}: too few fields")
            continue
        postcode = record[pc_at].strip().upper().replace(" ", "")
        if postcode in wanted:
            decile = deciles.get(record[lsoa_at].strip().upper())
            if decile is not None:
                out[postcode] = decile
    return out


def load_deprivation(
    session: Session, path: Path | str, postcodes: Path | str | None = None
) -> int:
    """Load (replace) the postcode -> IMD decile lookup. ``path`` is either a CSV with
    columns ``postcode,decile``, or the national English indices of deprivation file by
    LSOA (``LSOA code (2011)``/``(2021)`` and ``Index of Multiple Deprivation (IMD) Decile
    ...``) with ``postcodes``, the national postcode lookup (NSPL/ONSPD: ``pcds`` and
    ``lsoa21``/``lsoa11``), of which only the postcodes of people in the records are kept.
    Bounded reads; all or nothing: ValueError names the first bad line."""
    path = Path(path)
    reader = csv.reader(_bounded_lines(path, MAX_LOOKUP_BYTES))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if any(c in header for c in _LSOA_COLUMNS) and any(
            h.startswith(_DECILE_PREFIX) for h in header
        ):
            if postcodes is None:
                raise ValueError(
                    f"{path} gives deciles by LSOA: give the postcode lookup too (--postcodes "
                    "NSPL.csv, with columns pcds and lsoa21 or lsoa11)"
                )
            by_lsoa = _by_lsoa(path, reader, header)
            rows = _postcodes_by_lsoa(session, Path(postcodes), by_lsoa)
            if not rows:
                raise ValueError(f"{postcodes} has none of the postcodes in the records")
        else:
            rows = _by_postcode(path, reader, header)
    except csv.Error as exc:
        raise ValueError(f"{path} is not a CSV file: {exc}") from None
    session.execute(sa.delete(dep_t))
    session.execute(sa.insert(dep_t), [{"postcode": p, "decile": d} for p, d in rows.items()])
    _recount_deciles(session)
    return len(rows)


def _by_postcode(path: Path, reader: Any, header: list[str]) -> dict[str, int]:
    if "postcode" not in header or "decile" not in header:
        raise ValueError(
            f"{path}: the header must have the columns postcode,decile (or be the national "
            "file by LSOA)"
        )
    pc_at, decile_at = header.index("postcode"), header.index("decile")
    rows: dict[str, int] = {}
    for number, record in enumerate(reader, start=2):
        if not record:
            continue
        if len(record) != len(header):
            raise ValueError(f"{path} line {number}: {len(record)} fields, not {len(header)}")
        try:  # the one postcode rule: ASCII only (a full-width ＺＺ１ is named, not matched)
            full = parse_postcode(record[pc_at].strip())
        except ValueError as exc:
            raise ValueError(f"{path} line {number}: {exc}") from None
        if full is None:
            raise ValueError(
                f"{path} line {number}: {shown(record[pc_at].strip())} is not a full postcode"
            )
        rows[full.replace(" ", "")] = _decile(record[decile_at], f"{path} line {number}")
    if not rows:
        raise ValueError(f"{path} has no postcodes")
    return rows

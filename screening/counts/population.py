"""Population denominators: practice list sizes by sex and age from NHS England's public
"Patients Registered at a GP Practice" files, so that counts become rates per 1,000
registered patients and a practice's need can be set beside its population (issue 21,
point 2).

The file (published monthly; https://digital.nhs.uk/data-and-information/publications/
statistical/patients-registered-at-a-gp-practice) comes in two practice-level layouts,
both read here, one line per practice, sex and age group:

* ``gp-reg-pat-prac-quin-age.csv`` (five-year age groups): ``PUBLICATION, EXTRACT_DATE,
  ORG_TYPE, ORG_CODE, ONS_CODE, POSTCODE, SEX, AGE_GROUP_5, NUMBER_OF_PATIENTS``, with
  ``AGE_GROUP_5`` ``0_4``, ``5_9``, ... ``90_94``, ``95+`` or ``ALL``;
* ``gp-reg-pat-prac-sing-age-female.csv`` / ``-male.csv`` (single years): ``PUBLICATION,
  EXTRACT_DATE, TYPE, ..., ORG_CODE, POSTCODE, SEX, AGE, NUMBER_OF_PATIENTS``, with ``AGE``
  ``0`` ... ``94``, ``95+`` or ``ALL``.

``SEX`` is ``MALE``, ``FEMALE`` or ``ALL``; only lines whose ``ORG_TYPE`` (``TYPE``) is ``GP``
are practices; other columns are ignored. Lines for practices with nobody in the records are
skipped (the national file covers every practice in England). Reading is bounded (file
size, line length, number of lines) and all or nothing: a bad line is named and nothing is
changed. The list sizes are public aggregate figures, not a person's data, so the table
carries no ``org``.

linkwork's age bands (``0-17``, ``18-24``, ...) cut a five-year group (15-19) in two: its
patients are shared by years (three fifths to 0-17), an estimate the single-year file does
not need.

**By ethnicity** (where the user has it: no national file gives practice populations by
ethnicity; a practice can count its list from its clinical system, an ICB from its
warehouse). A third layout, told apart by its ``ETHNIC_CATEGORY`` column::

    ORG_CODE,ETHNIC_CATEGORY,NUMBER_OF_PATIENTS,EXTRACT_DATE
    Y02101,A,5120,2026-11-01
    Y02101,H,830,2026-11-01

one line per practice and ethnic category: ``ORG_CODE`` the practice's ODS code,
``ETHNIC_CATEGORY`` the NHS Data Dictionary ethnic category code (the codes of UK Core's
``EthnicCategoryEngland``: ``A`` to ``S``, ``Z`` not stated) or ``99`` not known, the codes
linkwork records; ONS 2021 census categories are not read (map them to these codes
first). ``NUMBER_OF_PATIENTS`` a whole number; ``EXTRACT_DATE`` optional; other columns are
ignored. A category a practice's lines leave out has no patients. The same bounds and the
same all-or-nothing rule; a practice's lines replace its earlier ones. Rates by ethnic
group (``screening.counts.funnel``) sum the categories of each high-level group; the
groups need not add up to the list size of the age and sex file (a different count, on
another day). Registered patients by ethnic group are the user's own figures, not public
ones: in a published report they are shown like a count (1 to 7 hidden, others to the
nearest 5) and the rates per 1,000 come from those rounded figures.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from directory.untrusted import shown
from screening.counts.dimensions import ALL, SMALL_PRACTICES
from screening.counts.sql import person_t
from screening.equality import AGE_BANDS

MAX_FILE_BYTES = 256 * 1024 * 1024  # the national single-age file is about 60 MB
MAX_LINE_CHARS = 2_000
MAX_LINES = 3_000_000
OPEN_END = 200  # the upper age of an open group (95+)
POPULATION_DIMS = frozenset({"practice", "sex", "age_band"})
_SEXES = {"ALL": "all", "FEMALE": "female", "MALE": "male"}


class PracticePopulation(SQLModel, table=True):
    """Registered patients of a practice by sex and age group, as published (migration
    ``cnt_0005``). ``sex`` is ``all``, ``female`` or ``male``; ``age_low``/``age_high`` the
    group's years (-1/-1: every age; ``age_high`` 200 for an open group such as 95+)."""

    __tablename__ = "practice_population"

    practice_ods: str = Field(primary_key=True, max_length=10)
    sex: str = Field(primary_key=True, max_length=6)
    age_low: int = Field(primary_key=True)
    age_high: int
    patients: int
    extract_date: str = Field(default="", max_length=20)


pop_t = PracticePopulation.__table__  # type: ignore[attr-defined]


class PracticeEthnicity(SQLModel, table=True):
    """Registered patients of a practice by ethnic category (NHS Data Dictionary code, or
    ``99`` not known), as the user's file gave them (migration ``cnt_0006``)."""

    __tablename__ = "practice_population_ethnicity"

    practice_ods: str = Field(primary_key=True, max_length=10)
    ethnic_category: str = Field(primary_key=True, max_length=4)
    patients: int
    extract_date: str = Field(default="", max_length=20)


eth_t = PracticeEthnicity.__table__  # type: ignore[attr-defined]
ETHNIC_COLUMNS = ("ORG_CODE", "ETHNIC_CATEGORY", "NUMBER_OF_PATIENTS")


@dataclass
class PopulationImport:
    practices: int  # practices whose list sizes were loaded
    lines: int  # lines read for them
    skipped: int  # practices in the file with nobody in the records
    extract_date: str
    layout: str = "sex and age"  # or "ethnic category" (the file by ethnicity)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _lines(path: Path) -> Iterator[str]:
    """The file's lines, each bounded; ValueError names the first too long."""
    with path.open(encoding="utf-8-sig", errors="strict", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if number > MAX_LINES:
                raise ValueError(f"{path} has more than {MAX_LINES:,} lines")
            if len(line) > MAX_LINE_CHARS:
                raise ValueError(f"{path} line {number} is longer than {MAX_LINE_CHARS} characters")
            yield line


def _checked(path: Path | str) -> Path:
    """A file there, not a folder, within the size bound."""
    path = Path(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise ValueError(f"no such file {path}") from None
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a CSV file")
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return path


def is_ethnicity_file(path: Path | str) -> bool:
    """Whether the file's first line names an ``ETHNIC_CATEGORY`` column (the layout by
    ethnicity); False for anything else, which the age and sex reader then judges."""
    try:
        with Path(path).open(encoding="utf-8-sig", errors="strict", newline="") as fh:
            first = fh.readline(MAX_LINE_CHARS + 1)
    except (OSError, UnicodeDecodeError):
        return False
    try:
        header = next(csv.reader([first]), [])
    except csv.Error:
        return False
    return "ETHNIC_CATEGORY" in {h.strip().upper() for h in header}


def _age_group(text: str) -> tuple[int, int] | None:
    """``0_4`` -> (0, 4); ``37`` -> (37, 37); ``95+`` -> (95, 200); ``ALL`` -> (-1, -1)."""
    value = text.strip().upper()
    if value == "ALL":
        return -1, -1
    if value.endswith("+") and value[:-1].isdigit():
        return int(value[:-1]), OPEN_END
    if value.isdigit():
        return int(value), int(value)
    low, sep, high = value.partition("_")
    if sep and low.isdigit() and high.isdigit() and int(low) <= int(high):
        return int(low), int(high)
    return None


def read_population(
    path: Path | str, keep: set[str]
) -> tuple[dict[tuple[str, str, int], Any], int]:
    """The list sizes in ``path`` for the practices in ``keep``: (practice, sex, age_low)
    -> (age_high, patients, extract date), and how many other practices were skipped."""
    path = _checked(path)
    out: dict[tuple[str, str, int], Any] = {}
    skipped: set[str] = set()
    try:
        reader = csv.reader(_lines(path))
        header = [h.strip().upper() for h in next(reader, [])]
        if "ETHNIC_CATEGORY" in header:
            raise ValueError(
                f"{path} gives patients by ethnic category: read it with read_ethnicity"
            )
        kind = "ORG_TYPE" if "ORG_TYPE" in header else "TYPE"
        age = "AGE_GROUP_5" if "AGE_GROUP_5" in header else "AGE"
        wanted = (kind, "ORG_CODE", "SEX", age, "NUMBER_OF_PATIENTS", "EXTRACT_DATE")
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ValueError(
                f"{path} is not a 'Patients Registered at a GP Practice' file: no column "
                f"{', '.join(missing)}"
            )
        at = {c: header.index(c) for c in wanted}
        for number, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                raise ValueError(f"{path} line {number}: {len(record)} fields, not {len(header)}")
            if record[at[kind]].strip().upper() != "GP":
                continue
            ods = record[at["ORG_CODE"]].strip().upper()
            if not (ods.isascii() and ods.isalnum() and 3 <= len(ods) <= 10):
                raise ValueError(f"{path} line {number}: {shown(ods)} is not an ODS code")
            if ods not in keep:
                skipped.add(ods)
                continue
            sex = _SEXES.get(record[at["SEX"]].strip().upper())
            if sex is None:
                raise ValueError(
                    f"{path} line {number}: sex {shown(record[at['SEX']])} is not MALE, "
                    "FEMALE or ALL"
                )
            group = _age_group(record[at[age]])
            if group is None:
                raise ValueError(
                    f"{path} line {number}: age group {shown(record[at[age]])} is not one "
                    "the file uses (0_4, 37, 95+, ALL)"
                )
            text = record[at["NUMBER_OF_PATIENTS"]].strip()
            if not (text.isascii() and text.isdigit()) or int(text) > 10_000_000:
                raise ValueError(
                    f"{path} line {number}: number of patients {shown(text)} is not a whole number"
                )
            key = (ods, sex, group[0])
            if key in out:
                raise ValueError(f"{path} line {number}: {ods} {sex} {group} is given twice")
            out[key] = (group[1], int(text), record[at["EXTRACT_DATE"]].strip()[:20])
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise ValueError(f"{path} is not a CSV file: {exc}") from None
    return out, len(skipped)


def _known_practices(session: Session) -> set[str]:
    return {
        str(ods) for (ods,) in session.execute(sa.select(person_t.c.practice_ods).distinct()) if ods
    }


def read_ethnicity(
    path: Path | str, keep: set[str]
) -> tuple[dict[tuple[str, str], tuple[int, str]], int]:
    """The registered patients by ethnic category in ``path`` (the layout by ethnicity) for
    the practices in ``keep``: (practice, category) -> (patients, extract date), and how
    many other practices were skipped."""
    from screening.equality import load_equality

    codes = {code for code, _ in load_equality()["ethnic_category"].values}
    path = _checked(path)
    out: dict[tuple[str, str], tuple[int, str]] = {}
    skipped: set[str] = set()
    try:
        reader = csv.reader(_lines(path))
        header = [h.strip().upper() for h in next(reader, [])]
        missing = [c for c in ETHNIC_COLUMNS if c not in header]
        if missing:
            raise ValueError(
                f"{path} is not a list of registered patients by ethnic category: no column "
                f"{', '.join(missing)}"
            )
        at = {c: header.index(c) for c in (*ETHNIC_COLUMNS, "EXTRACT_DATE") if c in header}
        for number, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                raise ValueError(f"{path} line {number}: {len(record)} fields, not {len(header)}")
            ods = record[at["ORG_CODE"]].strip().upper()
            if not (ods.isascii() and ods.isalnum() and 3 <= len(ods) <= 10):
                raise ValueError(f"{path} line {number}: {shown(ods)} is not an ODS code")
            code = record[at["ETHNIC_CATEGORY"]].strip().upper()
            if code not in codes:
                raise ValueError(
                    f"{path} line {number}: ethnic category {shown(code)} is not an NHS "
                    "ethnic category code (A to S, Z not stated, 99 not known)"
                )
            text = record[at["NUMBER_OF_PATIENTS"]].strip()
            if not (text.isascii() and text.isdigit()) or int(text) > 10_000_000:
                raise ValueError(
                    f"{path} line {number}: number of patients {shown(text)} is not a whole number"
                )
            if ods not in keep:
                skipped.add(ods)
                continue
            if (ods, code) in out:
                raise ValueError(f"{path} line {number}: {ods} {code} is given twice")
            when = record[at["EXTRACT_DATE"]].strip()[:20] if "EXTRACT_DATE" in at else ""
            out[(ods, code)] = (int(text), when)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise ValueError(f"{path} is not a CSV file: {exc}") from None
    return out, len(skipped)


def load_ethnicity(session: Session, path: Path | str) -> PopulationImport:
    """Load (replace) the practices' registered patients by ethnic category from ``path``
    (the layout by ethnicity); all or nothing."""
    rows, skipped = read_ethnicity(path, _known_practices(session))
    if not rows:
        raise ValueError(
            f"{path} has no patients by ethnic category for the practices in the records"
        )
    practices = sorted({ods for ods, _ in rows})
    dates = {when for _, when in rows.values() if when}
    session.execute(sa.delete(eth_t).where(eth_t.c.practice_ods.in_(practices)))
    session.execute(
        sa.insert(eth_t),
        [
            {"practice_ods": ods, "ethnic_category": code, "patients": n, "extract_date": when}
            for (ods, code), (n, when) in sorted(rows.items())
        ],
    )
    return PopulationImport(
        len(practices), len(rows), skipped, ", ".join(sorted(dates)), "ethnic category"
    )


def load_population(session: Session, path: Path | str) -> PopulationImport:
    """Load (replace) the list sizes of the practices in the records from ``path``; all or
    nothing (ValueError in one line names the first bad line). A file with an
    ``ETHNIC_CATEGORY`` column is the layout by ethnicity (:func:`load_ethnicity`)."""
    if is_ethnicity_file(path):
        return load_ethnicity(session, path)
    keep = _known_practices(session)
    rows, skipped = read_population(path, keep)
    if not rows:
        raise ValueError(f"{path} has no list sizes for the practices in the records")
    practices = {ods for ods, _, _ in rows}
    for ods in sorted(practices):
        if (ods, "all", -1) not in rows:
            raise ValueError(f"{path} has no total (SEX ALL, age ALL) for practice {ods}")
    dates = {value[2] for value in rows.values()}
    session.execute(sa.delete(pop_t).where(pop_t.c.practice_ods.in_(sorted(practices))))
    session.execute(
        sa.insert(pop_t),
        [
            {
                "practice_ods": ods,
                "sex": sex,
                "age_low": low,
                "age_high": high,
                "patients": n,
                "extract_date": when,
            }
            for (ods, sex, low), (high, n, when) in sorted(rows.items())
        ],
    )
    return PopulationImport(len(practices), len(rows), skipped, ", ".join(sorted(dates)))


# ------------------------------------------------------------------ denominators


class Populations:
    """The loaded list sizes, to look up the registered patients of a report's cell."""

    def __init__(self, session: Session) -> None:
        self.rows: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
        for ods, sex, low, high, n in session.execute(
            sa.select(
                pop_t.c.practice_ods,
                pop_t.c.sex,
                pop_t.c.age_low,
                pop_t.c.age_high,
                pop_t.c.patients,
            )
        ):
            self.rows.setdefault((str(ods), str(sex)), []).append((int(low), int(high), int(n)))
        self.practices = {ods for ods, _ in self.rows}
        # practice -> high-level ethnic group -> registered patients (the file by ethnicity)
        self.ethnic: dict[str, dict[str, int]] = {}
        from screening.equality import ethnic_group

        for ods, code, n in session.execute(
            sa.select(eth_t.c.practice_ods, eth_t.c.ethnic_category, eth_t.c.patients)
        ):
            groups = self.ethnic.setdefault(str(ods), {})
            group = ethnic_group(str(code))
            groups[group] = groups.get(group, 0) + int(n)

    def __bool__(self) -> bool:
        return bool(self.rows) or bool(self.ethnic)

    def covers(self, dims: Sequence[str]) -> bool:
        """Whether rates per 1,000 can be given by ``dims``: practice, sex and age band
        from the age and sex file, and ethnic group where the file by ethnicity is loaded."""
        allowed = POPULATION_DIMS | ({"ethnic_group"} if self.ethnic else set())
        return bool(self) and set(dims) <= allowed

    def _one(self, ods: str, sex: str, band: str | None) -> float | None:
        if sex == "all" and band is not None:  # the file gives ages by sex only
            parts = [self._one(ods, s, band) for s in ("female", "male")]
            return None if None in parts else sum(p or 0.0 for p in parts)
        groups = self.rows.get((ods, sex))
        if not groups:
            return None
        if band is None:
            return next((float(n) for low, _, n in groups if low == -1), None)
        spans = {label: (low, OPEN_END if high is None else high) for label, low, high in AGE_BANDS}
        if band not in spans:
            return None
        lo, hi = spans[band]
        total = 0.0
        for low, high, n in groups:
            if low == -1:
                continue
            overlap = min(high, hi) - max(low, lo) + 1
            if overlap > 0:
                total += n * overlap / (high - low + 1)
        return total

    @staticmethod
    def _chosen(values: dict[str, Any], practices: Sequence[str], small: set[str]) -> set[str]:
        where = values.get("practice", ALL)
        if where is ALL:
            return set(practices)
        if where == SMALL_PRACTICES:
            return set(small)
        return {str(where)}

    def by_ethnicity(
        self, dims: Sequence[str], key: Sequence[Any], practices: Sequence[str], small: set[str]
    ) -> bool:
        """Whether the cell's registered patients come from the file by ethnicity (the
        user's own figures): an ethnic group, or practices with no age and sex list."""
        values = dict(zip(dims, key, strict=True))
        chosen = self._chosen(values, practices, small)
        return values.get("ethnic_group", ALL) is not ALL or not chosen <= self.practices

    def registered(
        self, dims: Sequence[str], key: Sequence[Any], practices: Sequence[str], small: set[str]
    ) -> int | None:
        """Registered patients of the cell ``key`` of ``dims`` (a subset of practice, sex,
        age band and ethnic group), or None when not every practice it covers has its list
        size (or the sex is one the file does not count; or an ethnic group with a sex or
        an age band, which no file gives). ``practices``: every practice counted."""
        values = dict(zip(dims, key, strict=True))
        chosen = self._chosen(values, practices, small)
        if not chosen:
            return None
        group = values.get("ethnic_group", ALL)
        sex, band = values.get("sex", ALL), values.get("age_band", ALL)
        if self.by_ethnicity(dims, key, practices, small):
            # the file by ethnicity: by ethnic group alone (it has no sex or age)
            if sex is not ALL or band is not ALL or not chosen <= set(self.ethnic):
                return None
            return sum(
                n
                for ods in chosen
                for g, n in self.ethnic[ods].items()
                if group is ALL or g == group
            )
        sex = values.get("sex", ALL)
        if sex is not ALL and sex not in ("female", "male"):
            return None
        band = values.get("age_band", ALL)
        total = 0.0
        for ods in chosen:
            found = self._one(
                ods, "all" if sex is ALL else str(sex), None if band is ALL else str(band)
            )
            if found is None:
                return None
            total += found
        return round(total)


def per_thousand(count: int | float | None, registered: int | float | None) -> float | None:
    """A published count per 1,000 registered patients, to one decimal place; None where
    the count is hidden or the population unknown."""
    if count is None or not registered:
        return None
    return round(1000 * count / registered, 1)

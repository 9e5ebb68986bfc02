"""Reading the flat CSV feed (one service a row) into plain records, row by row.

The file is never held whole: ``read_csv`` takes its lines as they are read
(``directory.bounded.read_lines``) and gives back one row at a time. Each cell is read
through ``directory.fields.Fields``, as ORUK values are (length, characters, numbers).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

from directory.feeds import (
    HoursRow,
    ages_from_text,
    id_and_name,
    is_free,
    read_coordinates,
    read_date,
    read_postcode,
    read_time,
    slug_id,
    weekday_text,
    weekly_hours,
)
from directory.fields import LONG_CHARS, URL_CHARS, Fields
from directory.records import LocationRecord, OrganisationRecord, RecordError, ServiceRecord
from directory.untrusted import shown

CSV_COLUMNS = (
    "id",
    "name",
    "organisation",
    "description",
    "categories",
    "postcode",
    "town",
    "latitude",
    "longitude",
    "phone",
    "email",
    "website",
    "eligibility",
    "languages",
    "cost",
    "opening_hours",
    "last_verified",
)
_CSV_ALIASES = {"organization": "organisation", "url": "website", "assured_date": "last_verified"}
_HOURS = re.compile(r"^\s*([A-Za-z]+)\s+(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")


def _broken(label: str, line: int, exc: csv.Error) -> ValueError:
    message = str(exc)
    if "field larger than field limit" in message:
        return ValueError(
            f"{label}, line {line:,}: a field longer than {csv.field_size_limit():,} characters"
        )
    if "NUL" in message:
        return ValueError(f"{label}, line {line:,}: a NUL character (not a text file?)")
    return ValueError(f"{label}, line {line:,}: broken CSV quoting ({message})")


def read_csv(lines: str | Iterable[str], label: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Rows of the flat CSV as dicts keyed by the standard column names, with their line.

    ``lines`` is the file's text or its lines as they are read. ValueError (naming the file
    and line) for an unknown column, a missing id or name column, or broken quoting.
    """
    source = io.StringIO(lines, newline="") if isinstance(lines, str) else lines
    reader = csv.reader(source, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _broken(label, 1, exc) from None
    if not header:
        raise ValueError(f"{label}: empty CSV file")
    columns = []
    for raw in header:
        key = raw.strip().lstrip("\ufeff").lower().replace(" ", "_")
        key = _CSV_ALIASES.get(key, key)
        if key not in CSV_COLUMNS:
            raise ValueError(
                f"{label}: unknown CSV column {shown(raw.strip())} (expected some of: "
                f"{', '.join(CSV_COLUMNS)})"
            )
        if key in columns:
            raise ValueError(f"{label}: column {shown(raw.strip())} appears twice")
        columns.append(key)
    for needed in ("id", "name"):
        if needed not in columns:
            raise ValueError(f"{label}: the CSV has no {needed!r} column")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _broken(label, reader.line_num, exc) from None
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise ValueError(
                f"{label}, line {reader.line_num:,}: {len(row)} fields where the header has "
                f"{len(columns)} (broken quoting?)"
            )
        yield f"line {reader.line_num}", dict(zip(columns, row, strict=True))


def _hours(f: Fields, value: Any) -> list[dict[str, Any]]:
    """``Mon 09:00-17:00; Tue 10:00-12:00``; a part that cannot be read is left out (under
    ``--strict``, a reject)."""
    text = f.text(value, "opening_hours", limit=LONG_CHARS)
    rows: list[HoursRow] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        match = _HOURS.match(part)
        day = weekday_text(match.group(1).lower()) if match else None
        opens = read_time(f, match.group(2), "opening_hours") if match else ""
        closes = read_time(f, match.group(3), "opening_hours") if match else ""
        if day and opens and closes:
            rows.append((opens, closes, (day,)))
        else:
            f.doubtful("opening_hours", part.strip())
    return weekly_hours(rows)


def service_from_csv(
    row: dict[str, str], strict: bool = False, notes: list[str] | None = None
) -> ServiceRecord:
    """One CSV row as a record; RecordError with the reason if unusable (``notes`` gets what
    was left out)."""
    if not isinstance(row, dict):
        raise RecordError(f"not a CSV row (a {type(row).__name__})")
    f = Fields(strict, notes)
    sid, name = id_and_name(f, row)
    org_name = f.text(row.get("organisation"), "organisation")
    organisation = OrganisationRecord(slug_id("org-", org_name), org_name) if org_name else None
    postcode = read_postcode(f, row.get("postcode"), "postcode")
    lat, lon = read_coordinates(f, row, "")
    town = f.text(row.get("town"), "town")
    locations = []
    if postcode or lat is not None or town:
        basis = f"{postcode}|{lat}|{lon}|{town}"
        locations.append(
            LocationRecord(
                source_id="loc-" + hashlib.sha1(basis.encode()).hexdigest()[:16],
                town=town,
                postcode=postcode,
                latitude=lat,
                longitude=lon,
            )
        )
    eligibility = f.text(row.get("eligibility"), "eligibility", limit=LONG_CHARS, html=True)
    min_age, max_age = ages_from_text(eligibility)
    fees = f.text(row.get("cost"), "cost", limit=LONG_CHARS)
    return ServiceRecord(
        source_id=sid,
        name=name,
        description=f.text(row.get("description"), "description", limit=LONG_CHARS, html=True),
        url=f.text(row.get("website"), "website", limit=URL_CHARS),
        email=f.text(row.get("email"), "email"),
        phone=f.text(row.get("phone"), "phone"),
        fees=fees,
        is_free=is_free(fees, []),
        min_age=min_age,
        max_age=max_age,
        eligibility=eligibility,
        service_area=town,
        languages=f.split_words(row.get("languages"), "languages"),
        taxonomy_terms=f.split_words(row.get("categories"), "categories"),
        opening_hours=_hours(f, row.get("opening_hours")),
        last_verified=read_date(f, row.get("last_verified"), "last_verified"),
        organisation=organisation,
        locations=locations,
    )

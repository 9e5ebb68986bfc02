"""identifiers that are not ASCII: found and reported, never changed

NHS numbers, postcodes and ODS codes are ASCII by definition. Before linkwork refused
them, ``isdigit()`` let a full-width (``９``) or Arabic-Indic (``٩``) NHS number in, and one
patient could be recorded twice. This revision changes no schema and no row: it finds every
such value (people's NHS number, postcode and practice code; directory locations' postcodes)
and reports each one

- as a warning on the ``linkwork.migrations`` logger,
- in ``config.attributes["identifier_findings"]`` (``linkwork db upgrade`` prints them),
- as a ``review`` event in the audit trail (field names and code points only, not the value;
  with the person whose ASCII number is the same, a possible duplicate),

so that a person decides what to do with each record (``linkwork person update``). Nothing
is merged or rewritten.

Revision ID: scr_0002
Revises: scr_0001
Create Date: 2027-01-18 10:00:00.000000
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "scr_0002"
down_revision: str | Sequence[str] | None = "scr_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "linkwork upgrade (scr_0002)"
GENESIS = "0" * 64
_PG_LOCK_KEY = 0x6C6B_6175_6469_74  # the audit trail's advisory lock (screening.audit)
log = logging.getLogger("linkwork.migrations")

# The tables as this revision knows them (never the application's models, which move on).
person = sa.table(
    "person",
    sa.column("id", sa.String),
    sa.column("nhs_number", sa.String),
    sa.column("postcode", sa.String),
    sa.column("practice_ods", sa.String),
)
location = sa.table("location", sa.column("id", sa.Integer), sa.column("postcode", sa.String))
audit_event = sa.table(
    "audit_event",
    sa.column("seq", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("person_id", sa.String),
    sa.column("detail", sa.JSON),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
FIELDS = {"nhs_number": "NHS number", "postcode": "postcode", "practice_ods": "practice code"}


def _characters(value: str) -> list[str]:
    seen: list[str] = []
    for ch in value:
        if not ch.isascii():
            name = f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed').lower()}"
            if name not in seen:
                seen.append(name)
    return seen


def _ascii_twin(value: str) -> str | None:
    """The NHS number written in ASCII digits, if every character is a digit of some
    script (or a space or hyphen); else None."""
    out = []
    for ch in value:
        if ch in " -":
            continue
        digit = unicodedata.digit(ch, None)
        if digit is None:
            return None
        out.append(str(digit))
    return "".join(out)


def find(connection: sa.Connection) -> list[dict[str, Any]]:
    """Every stored identifier holding a character that is not ASCII (plain SQL, read-only)."""
    found: list[dict[str, Any]] = []
    rows = connection.execute(
        sa.select(person.c.id, person.c.nhs_number, person.c.postcode, person.c.practice_ods)
    ).all()
    by_nhs = {row.nhs_number: row.id for row in rows if row.nhs_number}
    for row in rows:
        for field in FIELDS:
            value = getattr(row, field) or ""
            if value.isascii():
                continue
            finding: dict[str, Any] = {
                "table": "person",
                "id": str(row.id),
                "field": field,
                "characters": _characters(value),
            }
            if field == "nhs_number":
                twin = _ascii_twin(value)
                if twin and by_nhs.get(twin) not in (None, row.id):
                    finding["possible_duplicate_of"] = str(by_nhs[twin])
            found.append(finding)
    if sa.inspect(connection).has_table("location"):
        for loc in connection.execute(sa.select(location.c.id, location.c.postcode)).all():
            if loc.postcode and not loc.postcode.isascii():
                found.append(
                    {
                        "table": "location",
                        "id": str(loc.id),
                        "field": "postcode",
                        "characters": _characters(loc.postcode),
                    }
                )
    return found


def _first(characters: list[str], show: int = 2) -> str:
    more = len(characters) - show
    return ", ".join(characters[:show]) + (f" and {more} more" if more > 0 else "")


def describe(finding: dict[str, Any]) -> str:
    """One line for a person to act on."""
    what = FIELDS.get(finding["field"], finding["field"])
    where = f"{finding['table']} {finding['id']}"
    line = (
        f"{where}: the {what} holds characters that are not ASCII "
        f"({_first(finding['characters'])}); it was not changed"
    )
    if finding.get("possible_duplicate_of"):
        line += f"; person {finding['possible_duplicate_of']} has the same number in ASCII digits"
    if finding["table"] == "person":
        line += ": check the record and correct it with linkwork person update"
    return line


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _audit(connection: sa.Connection, findings: list[dict[str, Any]]) -> None:
    """One ``review`` event per finding, chained as ``screening.audit`` chains them."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = connection.execute(
        sa.select(audit_event.c.seq, audit_event.c.hash).order_by(audit_event.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    at = datetime.now(UTC)
    for finding in findings:
        seq += 1
        detail = {k: v for k, v in finding.items() if k not in ("table", "id")}
        detail["problem"] = "characters that are not ASCII"
        detail = json.loads(json.dumps(detail))
        row = {
            "seq": seq,
            "at": at,
            "actor": ACTOR,
            "action": "review",
            "entity": finding["table"],
            "entity_id": finding["id"],
            "person_id": finding["id"] if finding["table"] == "person" else None,
            "detail": detail,
            "prev_hash": prev,
        }
        body = {**row, "at": _iso(at)}
        canonical = json.dumps(
            body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        row["hash"] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        connection.execute(sa.insert(audit_event).values(**row))
        prev = row["hash"]


def upgrade() -> None:
    connection = op.get_bind()
    findings = find(connection)
    for finding in findings:
        log.warning(describe(finding))
    if findings:
        _audit(connection, findings)
    attributes = context.config.attributes
    attributes.setdefault("identifier_findings", []).extend(
        {**f, "message": describe(f)} for f in findings
    )


def downgrade() -> None:
    pass  # nothing was changed

"""Published extracts: disclosure-controlled reports kept in the database for data leads.

A data lead may see counts and nothing else: on a shared deployment its login has no
privilege on any table holding a person's data, the counting copies included, so it cannot
count anything itself (not even through psql). What it reads instead is what someone
allowed to see the records has *published*: the report built exactly as it is for them,
with disclosure control applied, stored whole (rows already rounded and suppressed) in
``published_report``. The data lead's ``linkwork report ...`` finds the extract published
for the same question (report, dimensions, dates, practice, direction, rule) and shows it
through the same outputs, so it equals the publisher's report on the day it was published.

Only a suppressed report can be published: the raw numbers never reach the table. The
stored body is read back as untrusted data (checked shape, bounded size), because whoever
can write the table could write anything into it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from screening.counts.dimensions import DIMENSIONS, REFERRAL_ONLY, Filters, safe_name
from screening.counts.reports import Measure, Report, Row
from screening.disclosure import Rule
from screening.models import TZ, new_id, utcnow

# ALL_ORGS: the organisation of an extract covering every practice (the ICB-wide code of
# the shared deployment's staff table): only a login granted every organisation reads it.
from screening.organisations import ALL_ORGS

# The largest body read back (a 3-way report over every month of several years is well
# under 1 MB).
MAX_BODY_BYTES = 8 * 1024 * 1024
FORMAT_VERSION = 1


class PublishedReport(SQLModel, table=True):
    """One published report: the question it answers, and its published rows."""

    __tablename__ = "published_report"
    __table_args__ = (sa.UniqueConstraint("spec_key", name="uq_published_report_spec"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    spec_key: str = Field(max_length=64)  # sha256 of the canonical question
    name: str = Field(max_length=20)  # needs | referrals | outcomes
    spec: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    body: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    published_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    published_by: str = Field(default="", max_length=200)
    # whose counts: the practice of a --practice report, else ALL_ORGS
    org: str = Field(default=ALL_ORGS, max_length=10, index=True)


class ExtractProblem(ValueError):
    """A stored extract that is not one linkwork wrote: one line, never a traceback."""


def question(
    name: str,
    dims: tuple[str, ...],
    filters: Filters,
    rule: Rule,
    direction: str | None = None,
) -> dict[str, Any]:
    """The question a report answers, in one canonical form (what makes two reports the
    same report)."""
    return {
        "name": name,
        "by": list(dims),
        "from": filters.start.isoformat() if filters.start else None,
        "to": filters.end.isoformat() if filters.end else None,
        "practice": filters.practice,
        "direction": direction,
        "threshold": rule.threshold,
        "round_to": rule.base,
        "min_population": rule.min_population,
    }


def question_key(spec: dict[str, Any]) -> str:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _scalar(value: Any) -> Any:
    if value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool)):
        return value
    raise TypeError(f"a report key or value of type {type(value).__name__} cannot be published")


def report_data(report: Report) -> dict[str, Any]:
    """The report as JSON data: everything its outputs show, nothing they do not."""
    if report.rule is None:
        raise ValueError("only a report with disclosure control applied can be published")
    return {
        "version": FORMAT_VERSION,
        "name": report.name,
        "title": report.title,
        "unit": report.unit,
        "dims": list(report.dims),
        "measures": [
            {
                "key": m.key,
                "label": m.label,
                "kind": m.kind,
                "numerator": m.numerator,
                "denominator": m.denominator,
            }
            for m in report.measures
        ],
        "rows": [
            {
                "keys": [_scalar(k) for k in row.keys],
                "values": {k: _scalar(v) for k, v in row.values.items()},
                "withheld": sorted(row.withheld),
            }
            for row in report.rows
        ],
        "filters": report.filters.as_dict(),
        "rule": {
            "threshold": report.rule.threshold,
            "base": report.rule.base,
            "min_population": report.rule.min_population,
        },
        "period": None
        if report.period is None
        else [report.period[0].isoformat(), report.period[1].isoformat()],
        "is_empty": report.is_empty,
    }


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ExtractProblem("a published report's date is not a date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ExtractProblem("a published report's date is not a date") from None


def _text(value: Any, what: str, limit: int = 200) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ExtractProblem(f"a published report's {what} is not text")
    return value


def _number(value: Any) -> int | float | None:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise ExtractProblem("a published report's value is not a number")


def report_from_data(data: Any) -> Report:
    """Read a stored extract back into a Report, checking its shape on the way."""
    try:
        size = len(json.dumps(data))
    except (TypeError, ValueError):
        raise ExtractProblem("a published report is not JSON data") from None
    if size > MAX_BODY_BYTES:
        raise ExtractProblem("a published report is larger than any linkwork writes")
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ExtractProblem("a published report is not in a form this linkwork reads")
    try:
        dims = tuple(_text(d, "dimension", 40) for d in data["dims"])
        if not dims or any(d not in DIMENSIONS for d in dims):
            raise ExtractProblem("a published report names a dimension this linkwork lacks")
        measures = [
            Measure(
                key=_text(m["key"], "measure", 40),
                label=_text(m["label"], "measure label"),
                kind=_text(m["kind"], "measure kind", 10),
                numerator=m.get("numerator"),
                denominator=m.get("denominator"),
            )
            for m in data["measures"]
        ]
        known = {m.key for m in measures}
        rows = []
        for raw in data["rows"]:
            keys = tuple(raw["keys"])
            if len(keys) != len(dims) or any(
                k is not None and not isinstance(k, (str, int)) for k in keys
            ):
                raise ExtractProblem("a published report's row does not fit its dimensions")
            values = {_text(k, "measure", 40): _number(v) for k, v in raw["values"].items()}
            withheld = frozenset(_text(w, "measure", 40) for w in raw["withheld"])
            if not set(values) <= known or not withheld <= known:
                raise ExtractProblem("a published report's row names an unknown measure")
            if set(dims) & REFERRAL_ONLY:  # names from directory feeds: shown safely
                keys = tuple(
                    safe_name(k) if k is not None and d in REFERRAL_ONLY else k
                    for d, k in zip(dims, keys, strict=True)
                )
            rows.append(Row(keys=keys, values=values, withheld=withheld))
        filters = data["filters"]
        rule = data["rule"]
        period = data["period"]
        report = Report(
            name=_text(data["name"], "name", 20),
            title=_text(data["title"], "title"),
            unit=_text(data["unit"], "unit", 40),
            dims=dims,
            measures=measures,
            rows=rows,
            filters=Filters(
                start=_day(filters["from"]),
                end=_day(filters["to"]),
                practice=filters["practice"],
            ),
            rule=Rule(
                threshold=int(rule["threshold"]),
                base=int(rule["base"]),
                min_population=int(rule["min_population"]),
            ),
            period=None if period is None else (_day(period[0]), _day(period[1])),  # type: ignore[arg-type]
            is_empty=bool(data["is_empty"]),
        )
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        if isinstance(exc, ExtractProblem):
            raise
        raise ExtractProblem("a published report is not in a form this linkwork reads") from None
    return report


def publish(session: Session, spec: dict[str, Any], report: Report, actor: str) -> PublishedReport:
    """Keep ``report`` as the published answer to ``spec`` (replacing an earlier one)."""
    key = question_key(spec)
    found = session.exec(select(PublishedReport).where(PublishedReport.spec_key == key)).first()
    extract = found or PublishedReport(spec_key=key, name=str(spec["name"]))
    extract.spec = spec
    extract.body = report_data(report)
    extract.published_at = utcnow()
    extract.published_by = actor
    extract.org = str(spec.get("practice") or ALL_ORGS)
    session.add(extract)
    session.flush()
    return extract


def find_published(session: Session, spec: dict[str, Any]) -> PublishedReport | None:
    key = question_key(spec)
    return session.exec(select(PublishedReport).where(PublishedReport.spec_key == key)).first()


def list_published(session: Session, name: str | None = None) -> list[PublishedReport]:
    query = select(PublishedReport)
    if name:
        query = query.where(PublishedReport.name == name)
    return list(session.exec(query.order_by(col(PublishedReport.published_at).desc())).all())

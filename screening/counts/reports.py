"""Count reports: raw counts published through disclosure control
(``screening.disclosure``) into rows of measures; the needs and referrals reports.

Every count report (needs, referrals, and the funnel, outcomes, timeliness and casework
reports in their own modules) is built the same way, through this small public API:

* :func:`prepare` checks the practice, plans which levels the counts are decided on
  (``screening.counts.publish``) and finds the small practices counted together: a
  :class:`Counting`;
* the report counts its raw numbers (``screening.counts.queries``), one ``RawCounts`` per
  count measure, the first being the one whose cells make the rows;
* :func:`assemble` publishes each count (decided once per table, or raw numbers without a
  rule), lays the rows out in reading order, lets the report add what it derives from
  the published counts (rates, intervals, means, quartiles: ``derive``, one call per row
  with a :class:`Cell`), hides any rate or mean that would give a count away
  (:func:`hide_revealing`) and returns the :class:`Report`;
* :func:`period_of` gives the reporting period, :func:`leaks` what a report gives away
  beyond its rule (nothing, for every report built here: the differencing tests check).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.counts.dimensions import (
    ALL,
    Filters,
    ordered_values,
    parse_dimensions,
)
from screening.counts.publish import (
    Plan,
    decide,
    in_counted,
    merge_small_practices,
    plan,
    published_values,
    row_keys,
)
from screening.counts.queries import RawCounts, needs_raw, run_levels_many
from screening.counts.sql import (
    between,
    check_practice,
    dimension_expr,
    need_t,
    person_join,
    person_t,
    practice_population,
    referral_t,
)
from screening.disclosure import (
    DEFAULT_RULE,
    Published,
    Rule,
    Table,
    mean_contributors,
    rate_leaks,
    recoverable_cells,
)
from screening.models import ReferralEvent, ReferralNeed


@dataclass
class Row:
    keys: tuple[Any, ...]  # None = all values of that dimension (a total)
    values: dict[str, int | float | None]  # measure -> published value (None = suppressed)
    # measures whose value is withheld: a small group's, shown * whatever it is (0 too)
    withheld: frozenset[str] = frozenset()

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
    # words flagging a month not yet over inside the period ("" when none): see partial_month
    partial: str = ""

    @property
    def suppressed(self) -> bool:
        return self.rule is not None

    def grand_total(self, measure: str | None = None) -> int | float | None:
        key = measure or self.measures[0].key
        for row in self.rows:
            if all(k is ALL for k in row.keys):
                return row.values.get(key)
        return None


def partial_month(period: tuple[date, date] | None, day: date) -> str:
    """Words flagging that the period ends in a month not over on ``day`` (the day the
    report was counted or published), else ""."""
    if period is None or period[1] < day or period[1].strftime("%Y%m") != day.strftime("%Y%m"):
        return ""
    month, until = day.strftime("%B %Y"), day.strftime("%d %B %Y")
    return f"{month} is not over: its figures run to {until} only"


def _value_lists(raw: RawCounts) -> list[list[Any]]:
    seen: list[set[Any]] = [set() for _ in raw.dims]
    for kept, level in raw.by_level.items():
        for key in level:
            for pos, value in zip(kept, key, strict=True):
                seen[pos].add(value)
    return [ordered_values(d, s) for d, s in zip(raw.dims, seen, strict=True)]


def _prepared(
    session: Session, p: Plan, rule: Rule | None, filters: Filters
) -> tuple[Filters, set[str]]:
    """The filters to count with (published reports count every practice and show one) and
    the practices counted together as small ones; a small practice alone is refused."""
    if rule is None:
        return filters, set()
    small: set[str] = set()
    if "practice" in p.dims:
        population = practice_population(session)
        small = {ods for ods, n in population.items() if n < rule.min_population}
        if p.practice is not None and p.practice in small:
            raise ValueError(
                f"practice {p.practice} has fewer than {rule.min_population} people in the "
                "records: its counts are not published on their own (counted by practice, "
                "it is one of the small practices counted together)"
            )
    return replace(filters, practice=None), small


@dataclass
class PublishedCounts:
    """One measure's published value of every row key of a report (its dimension keys,
    ALL for totals), which of them are withheld, and the tables they were decided in."""

    values: dict[tuple[Any, ...], Published]
    withheld: set[tuple[Any, ...]]
    tables: list[Table]

    def get(self, key: tuple[Any, ...]) -> Published:
        return self.values.get(key)


def _publish_counts(
    raw: RawCounts,
    values: list[list[Any]],
    p: Plan,
    rule: Rule | None,
    unit: str,
) -> PublishedCounts:
    """Published values of one measure: decided once per count across reports
    (``screening.counts.publish``), or raw numbers when ``rule`` is None."""
    if rule is None:
        firsts = {v: raw.get((0,), (v,)) for v in values[0]} if len(p.shown) == 3 else None
        keys = row_keys(len(p.shown), values, firsts)
        return PublishedCounts({key: raw.get(*in_counted(p, key)) for key in keys}, set(), [])
    assert p.levels is not None
    decided, tables = decide(raw, values, rule, unit, p.levels)
    return PublishedCounts(*published_values(p, decided, values, raw), tables)


def _withheld(key: tuple[Any, ...], published: dict[str, PublishedCounts]) -> frozenset[str]:
    return frozenset(m for m, found in published.items() if key in found.withheld)


def _shown(p: Plan, values: list[list[Any]]) -> list[list[Any]]:
    """The value lists of the report's own dimensions (without the chosen practice)."""
    return values[len(p.dims) - len(p.shown) :]


def _is_empty(raw: RawCounts, p: Plan) -> bool:
    if len(p.dims) > len(p.shown):  # one practice's slice of every practice's counts
        return not raw.get((0,), (p.practice,))
    return raw.empty


def _revealing(report: Report, row: Row, measure: Measure) -> str:
    """What a rate or a mean shown in ``row`` gives away beside its published counts ("" when
    nothing): a rate that is not the one of its published counts, a mean that rules out
    some of the counts its number of contributors stands for."""
    rule = report.rule
    value = row.values.get(measure.key)
    if rule is None or value is None or measure.kind == "count":
        return ""
    if measure.kind == "rate":
        num = row.values.get(str(measure.numerator))
        den = row.values.get(str(measure.denominator))
        if isinstance(num, float) or isinstance(den, float):
            return "a rate beside a rate"  # pragma: no cover - rates are over counts
        return "; ".join(rate_leaks(value, num, den, rule))
    if measure.kind == "per":  # a ratio of counts above 1 (contacts per episode)
        num = row.values.get(str(measure.numerator))
        den = row.values.get(str(measure.denominator))
        if isinstance(num, float) or isinstance(den, float):
            return "a ratio beside a rate"  # pragma: no cover - ratios are over counts
        return "; ".join(rate_leaks(value, num, den, rule, at_most=False))
    if measure.kind in ("low", "high"):  # a rate's interval (screening.counts.funnel)
        from screening.counts.funnel import interval_leaks

        return interval_leaks(report, row, measure)
    if measure.kind in ("sd", "mean_low", "mean_high"):  # screening.counts.outcomes
        from screening.counts.outcomes import spread_leaks

        return spread_leaks(report, row, measure)
    if measure.kind == "quantile":  # screening.counts.timeliness: beside a count of 20+
        from screening.counts.timeliness import QUARTILE_MIN

        over = row.values.get(str(measure.denominator))
        if isinstance(over, int) and over >= QUARTILE_MIN:
            return ""
        return "a quartile beside a small or hidden count"
    if measure.kind == "population":  # public list sizes (screening.counts.population)
        return ""
    if measure.kind == "per1000":
        from screening.counts.funnel import per_thousand_leaks

        return per_thousand_leaks(row, measure)
    over = row.values.get(str(measure.denominator))
    if over is None or isinstance(over, float):
        return "a mean beside a hidden count"
    if rule != rule.canonical:  # the count is coarsened from the canonical one: no interval
        return ""
    allowed = rule.interval(over) if over else (0, 0)
    if len(mean_contributors(float(value), over, rule)) < allowed[1] - allowed[0] + 1:
        return f"the mean rules out some of the {over} contributors' possible counts"
    return ""


def leaks(report: Report) -> list[str]:
    """What a published report gives away beyond its rule: a suppressed value, or the exact
    count behind a rounded one, that its tables let a reader work out; a rate or a mean
    that narrows its counts. Empty for every report built here."""
    if report.rule is None:
        return []
    found = [
        f"table {n}: {pos} is exactly {value}"
        for n, table in enumerate(report.tables)
        for pos, value in recoverable_cells(table, published=True)
    ]
    for row in report.rows:
        for measure in report.measures:
            leak = _revealing(report, row, measure)
            if leak:
                found.append(f"{measure.key} of {row.keys}: {leak}")
    return found


def hide_revealing(report: Report) -> Report:
    """Rates and means checked beside their counts: any that would give a count away is
    hidden (none does when built from published counts; this keeps it so)."""
    for row in report.rows:
        for measure in report.measures:
            if _revealing(report, row, measure):
                row.values[measure.key] = None
    return report


def period_of(session: Session, column: Any, filters: Filters) -> tuple[date, date] | None:
    """The reporting period: the filters, else whole months around the data."""
    if filters.start and filters.end:
        return filters.start, filters.end
    first, last = session.execute(
        sa.select(sa.func.min(column), sa.func.max(column)).where(*between(column, filters))
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


@dataclass(frozen=True)
class Counting:
    """A report's question made ready to count (:func:`prepare`): its dimensions, the
    filters as asked (the report shows these) and the rule, the plan (``plan.dims`` are
    the dimensions counted, the chosen practice first; ``plan.levels`` the levels its
    counts are decided on), the filters to count with (a published report counts every
    practice and shows one), the practices counted together as small ones, and the unit
    its counts are decided in (people, referrals, needs)."""

    dims: tuple[str, ...]
    filters: Filters
    rule: Rule | None
    plan: Plan
    counted: Filters
    small: set[str]
    unit: str


def prepare(
    session: Session,
    dims: tuple[str, ...],
    filters: Filters | None,
    rule: Rule | None,
    unit: str,
) -> Counting:
    """Check the chosen practice, plan the report's counts and find the small practices
    (a small practice alone is refused: ValueError in one line)."""
    filters = filters or Filters()
    check_practice(session, filters.practice)
    p = plan(dims, filters, rule, unit)
    counted, small = _prepared(session, p, rule, filters)
    return Counting(dims, filters, rule, p, counted, small, unit)


@dataclass(frozen=True)
class Cell:
    """One row of a report being assembled: its ``key`` (``ALL`` in a summed dimension),
    where its raw counts are (``raw.get(cell.kept, cell.short)``) and its published
    counts (``counts``: measure -> value, None where hidden)."""

    key: tuple[Any, ...]
    kept: tuple[int, ...]
    short: tuple[Any, ...]
    counts: dict[str, Published]


def assemble(
    c: Counting,
    raws: dict[str, RawCounts],
    *,
    name: str,
    title: str,
    unit: str,
    measures: list[Measure],
    period: tuple[date, date] | None,
    derive: Callable[[Cell], dict[str, int | float | None]] | None = None,
    apart: tuple[str, ...] = (),
    units: dict[str, str] | None = None,
) -> Report:
    """A published report from its raw counts (``raws``: measure -> counts, the first
    giving the rows): each count published (decided once per table, or raw numbers when
    ``c.rule`` is None), the rows in reading order with each row's published counts, then
    what ``derive`` computes for the row from them, and any rate or mean that would give
    a count away hidden (:func:`hide_revealing`).

    ``apart``: counts of other records set beside them in the same rows (the timeliness
    report's episodes beside its referrals), decided in tables of their own values (the
    first of them gives those), exactly as their own report decides them. The rows are
    then those of either; a count with no such value among its records is withheld there
    (a line of nobody is a small line), or 0 in raw numbers.

    ``units``: a count that counts other units than ``c.unit`` (measure -> unit), so that
    its tables are decided with the lines that add up for it (outcomes by service: a
    need may be under two services, an outcome is under one)."""
    first = next(iter(raws))
    values = _value_lists(raws[first])
    own = _value_lists(raws[apart[0]]) if apart else values
    published = {
        key: _publish_counts(
            raw, own if key in apart else values, c.plan, c.rule, (units or {}).get(key, c.unit)
        )
        for key, raw in raws.items()
    }
    shown, order = values, published[first].values
    if apart:
        shown = [
            ordered_values(d, {*a, *b}) for d, a, b in zip(c.plan.dims, values, own, strict=True)
        ]
        order = {**published[apart[0]].values, **published[first].values}
    rows: list[Row] = []
    for key, _ in _row_order(c.dims, _shown(c.plan, shown), order):
        kept, short = in_counted(c.plan, key)
        counts: dict[str, Published] = {}
        absent: set[str] = set()
        for m, found in published.items():
            if key in found.values or not apart:
                counts[m] = found.get(key)
            else:
                counts[m] = 0 if c.rule is None else None
                absent.add(m)
        row: dict[str, int | float | None] = dict(counts)
        if derive is not None:
            row.update(derive(Cell(key, kept, short, counts)))
        withheld = _withheld(key, published) | (absent if c.rule is not None else set())
        rows.append(Row(key, row, withheld))
    return hide_revealing(
        Report(
            name=name,
            title=title,
            unit=unit,
            dims=c.dims,
            measures=measures,
            rows=rows,
            filters=c.filters,
            rule=c.rule,
            period=period,
            tables=[table for found in published.values() for table in found.tables],
            is_empty=all(_is_empty(raws[k], c.plan) for k in (first, *apart)),
        )
    )


def needs_report(
    session: Session,
    by: str | Sequence[str],
    filters: Filters | None = None,
    rule: Rule | None = DEFAULT_RULE,
) -> Report:
    """People with a recorded need (each person once per cell), by ``by``.

    ``rule=None`` gives raw numbers (the practice's own internal view only; the CLI makes
    that loud and audited)."""
    c = prepare(session, parse_dimensions(by), filters, rule, "people")
    p = c.plan
    raw = merge_small_practices(needs_raw(session, p.dims, c.counted, levels=p.levels), c.small)
    return assemble(
        c,
        {"people": raw},
        name="needs",
        title="People with a recorded social need",
        unit="people",
        measures=[Measure("people", "People")],
        period=period_of(session, need_t.c.recorded_at, c.filters),
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
    c = prepare(session, parse_dimensions(by), filters, rule, "referrals")
    p, counted, small = c.plan, c.counted, c.small
    dialect = session.get_bind().dialect.name
    when = referral_t.c.created_at
    uses_need = any(d in ("need", "domain") for d in p.dims)
    base = referral_t
    if uses_need:
        rn = ReferralNeed.__table__  # type: ignore[attr-defined]
        base = base.join(rn, rn.c.referral_id == referral_t.c.id).join(
            need_t, need_t.c.id == rn.c.need_id
        )
    base = person_join(base, p.dims, referral_t.c.person_id)
    exprs = [dimension_expr(d, dialect, when) for d in p.dims]
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
    where = between(when, counted)
    if counted.practice:
        where.append(person_t.c.practice_ods == counted.practice)
    where.append(referral_t.c.direction == DIRECTIONS[direction])
    # every measure counted in one pass over the referrals
    counted_all = run_levels_many(
        session,
        p.dims,
        exprs,
        [
            sa.func.count(sa.distinct(sa.case((cond, referral_t.c.id), else_=None)))
            for cond in conditions.values()
        ],
        base,
        where,
        "referrals",
        levels=p.levels,
    )
    raws = {
        key: merge_small_practices(raw, small)
        for key, raw in zip(conditions, counted_all, strict=True)
    }
    first = "received" if received else "made"
    return assemble(
        c,
        raws,
        name="referrals-received" if received else "referrals",
        title=f"Referrals {first}, accepted, completed and declined",
        unit="referrals",
        measures=list(RECEIVED_MEASURES if received else REFERRAL_MEASURES),
        period=period_of(session, when, c.filters),
    )


# --------------------------------------------------------------------- outcomes

ONS4 = ("satisfied", "worthwhile", "happy", "anxious")
# outcomes_report lives in screening.counts.outcomes (changes, baselines, intervals)

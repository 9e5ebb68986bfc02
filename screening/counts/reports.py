"""The three reports (needs, referrals, outcomes): raw counts published through
disclosure control (``screening.disclosure``) into rows of measures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.counts.dimensions import (
    ALL,
    Filters,
    ordered_values,
    parse_dimensions,
    partitions,
)
from screening.counts.queries import RawCounts, needs_raw, run_levels
from screening.counts.sql import (
    between,
    check_practice,
    dimension_expr,
    need_t,
    person_join,
    person_t,
    referral_t,
)
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
from screening.models import Outcome, OutcomeNeed, ReferralEvent, ReferralNeed, Screening


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
    return [ordered_values(d, s) for d, s in zip(raw.dims, seen, strict=True)]


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
            table = protect_one_way(line, total, partition=partitions(dims[0], unit), rule=rule)
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
                rows_partition=partitions(dims[offset], unit),
                cols_partition=partitions(dims[offset + 1], unit),
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
    base = person_join(base, dims, referral_t.c.person_id)
    exprs = [dimension_expr(d, dialect, when) for d in dims]
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
    where = between(when, filters)
    if filters.practice:
        where.append(person_t.c.practice_ods == filters.practice)
    where.append(referral_t.c.direction == DIRECTIONS[direction])
    raws = {
        key: run_levels(
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
    where = between(when, filters)
    if filters.practice:
        where.append(person_t.c.practice_ods == filters.practice)

    # needs with an outcome, resolved (unit: needs; a need is in one cell of every dimension)
    base_needs = on_t.join(out_t, out_t.c.id == on_t.c.outcome_id).join(
        need_t, need_t.c.id == on_t.c.need_id
    )
    base_needs = person_join(base_needs, dims, out_t.c.person_id)
    exprs = [dimension_expr(d, dialect, when) for d in dims]
    n_needs = run_levels(
        session,
        dims,
        exprs,
        sa.func.count(sa.distinct(on_t.c.need_id)),
        base_needs,
        where,
    )
    n_resolved = run_levels(
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
    base_ons = person_join(base_ons, dims, out_t.c.person_id)
    has_all = sa.and_(
        *[getattr(out_t.c, f"ons4_{k}").is_not(None) for k in ONS4],
        *[getattr(scr_t.c, f"ons4_{k}").is_not(None) for k in ONS4],
    )
    ons_where = [*where, has_all]
    ons_n = run_levels(
        session, dims, exprs, sa.func.count(sa.distinct(out_t.c.id)), base_ons, ons_where
    )
    ons_sums = {
        k: run_levels(
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
        ons_n = run_levels(session, dims, exprs, sa.func.count(on_t.c.need_id), base_ons, ons_where)

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

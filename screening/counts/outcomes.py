"""Outcomes properly (issue 21, point 4): needs resolved (a share with its Wilson interval)
and the change in personal wellbeing (ONS4), by up to two dimensions, with the number of
before-and-after pairs, the number of outcomes missing one, each item's mean before
(the baseline) and its mean change with a 95% interval.

Disclosure: counts are decided once per table like every count. A share and its interval
come from the published counts. A mean (baseline or change) is shown to the step of
``screening.disclosure.mean_step`` (0.2) beside its published number of pairs, and only
where that number is published. The interval of a mean change needs the spread: the
standard deviation of the changes is published rounded to ``SD_STEP`` (0.5), and the
interval is computed from the *published* mean, standard deviation and number of pairs
(mean +/- 1.96 sd / sqrt(n)), so it tells nothing they do not. :func:`sd_contributors`
checks that a published mean and standard deviation rule out none of the numbers of pairs
the rounded count stands for (``leaks`` runs it on every row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from math import ceil, floor, sqrt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.counts.dimensions import Filters, parse_dimensions, safe_name
from screening.counts.funnel import Z95, published_interval
from screening.counts.publish import merge_small_practices
from screening.counts.queries import RawCounts, run_levels_many
from screening.counts.reports import (
    ONS4,
    Cell,
    Measure,
    Report,
    Row,
    assemble,
    period_of,
    prepare,
)
from screening.counts.sql import (
    between,
    dimension_expr,
    need_t,
    person_join,
    person_t,
    referral_t,
)
from screening.counts.timeliness import SERVICE_DIMS, service_expr, service_join
from screening.disclosure import DEFAULT_RULE, Rule, mean_step, publish_mean, publish_rate
from screening.models import Outcome, OutcomeNeed, Screening

MAX_OUTCOME_DIMENSIONS = 2
SD_STEP = Fraction(1, 2)  # a standard deviation is shown to the nearest 0.5
LOW, HIGH = -10, 10  # an ONS4 change is a whole number from -10 to 10


def publish_sd(total: float, squares: float, n: int, shown_n: int | None) -> float | None:
    """The standard deviation of ``n`` values (their sum and sum of squares) to the
    nearest ``SD_STEP``; None where the number is hidden or fewer than two."""
    if shown_n is None or n < 2:
        return None
    variance = max(0.0, (squares - total * total / n) / (n - 1))
    return float(floor(Fraction(sqrt(variance)) / SD_STEP + Fraction(1, 2)) * SD_STEP)


def mean_interval(
    mean: float | None, sd: float | None, n: int | None
) -> tuple[float | None, float | None]:
    """The 95% interval of a mean from its *published* mean, standard deviation and number
    (normal approximation), to one decimal place."""
    if mean is None or sd is None or not n:
        return None, None
    half = Z95 * sd / sqrt(n)
    return round(mean - half, 1), round(mean + half, 1)


def _largest_squares(total: int, n: int) -> int:
    """The largest sum of squares of ``n`` whole numbers in [LOW, HIGH] adding up to
    ``total``: all but one at an end."""
    best = -1
    centre = total // HIGH
    for d in range(centre - 3, centre + 4):
        if abs(d) > n - 1 or (d - (n - 1)) % 2:
            continue
        rest = total - HIGH * d
        if LOW <= rest <= HIGH:
            best = max(best, HIGH * HIGH * (n - 1) + rest * rest)
    return best


def sd_contributors(mean: float, sd: float, counts: range, rule: Rule = DEFAULT_RULE) -> list[int]:
    """The numbers of values (from ``counts``) that whole changes in [-10, 10] could have
    with a mean shown as ``mean`` and a standard deviation shown as ``sd``. Fewer than
    ``counts``: the two together narrow the published number."""
    step = mean_step(rule)
    k = round(Fraction(str(mean)) / step)
    s = Fraction(str(sd))
    out = []
    for n in counts:
        if n < 2:
            continue
        first = max(ceil((k - Fraction(1, 2)) * step * n), LOW * n)
        found = False
        for total in range(first, HIGH * n + 1):
            if Fraction(total) >= (k + Fraction(1, 2)) * step * n:
                break
            q, r = divmod(total, n)
            smallest = (n - r) * q * q + r * (q + 1) * (q + 1)
            largest = _largest_squares(total, n)
            shift = Fraction(total * total, n)
            # the rounded sd stands for [s - step/2, s + step/2): squares in that band
            lo = max(Fraction(smallest), (n - 1) * max(Fraction(0), s - SD_STEP / 2) ** 2 + shift)
            below = (n - 1) * (s + SD_STEP / 2) ** 2 + shift
            squares = ceil(lo)
            if (squares - total) % 2:  # a square has its number's parity
                squares += 1
            if squares <= largest and squares < below:
                found = True
                break
        if found:
            out.append(n)
    return out


def spread_leaks(report: Report, row: Row, measure: Measure) -> str:
    """What a standard deviation or a mean's interval gives away beside its mean and
    number ("" when nothing)."""
    rule = report.rule
    value = row.values.get(measure.key)
    if rule is None or value is None:
        return ""
    item = measure.key.removeprefix("ons4_").split("_")[0]
    mean = row.values.get(f"ons4_{item}_change")
    sd = row.values.get(f"ons4_{item}_change_sd")
    n = row.values.get(str(measure.denominator))
    if mean is None or sd is None or n is None or isinstance(n, float):
        return "a spread beside a hidden mean or count"
    if measure.kind == "sd":
        if rule != rule.canonical:
            return ""
        lo, hi = rule.interval(n)
        if len(sd_contributors(float(mean), float(value), range(lo, hi + 1), rule)) < hi - lo + 1:
            return f"the mean and spread rule out some of the {n} pairs' possible counts"
        return ""
    low, high = mean_interval(float(mean), float(sd), n)
    return (
        ""
        if value == (low if measure.kind == "mean_low" else high)
        else "an interval not from the published values"
    )


def _difference(a: RawCounts, b: RawCounts) -> RawCounts:
    out = RawCounts(a.dims)
    for kept, level in a.by_level.items():
        out.by_level[kept] = {key: n - b.get(kept, key) for key, n in level.items()}
    return out


def outcomes_measures() -> list[Measure]:
    out = [
        Measure("needs", "Needs with an outcome"),
        Measure("resolved", "Resolved"),
        Measure("share_resolved", "Share resolved", "rate", "resolved", "needs"),
        Measure("share_resolved_low", "Share resolved: 95% low", "low", "resolved", "needs"),
        Measure("share_resolved_high", "Share resolved: 95% high", "high", "resolved", "needs"),
        Measure("ons4_people", "With ONS4 before and after"),
        Measure("ons4_missing", "Outcomes missing ONS4 before or after"),
    ]
    for k in ONS4:
        out += [
            Measure(f"ons4_{k}_before", f"Mean before: {k}", "mean", None, "ons4_people"),
            Measure(f"ons4_{k}_change", f"Mean change: {k}", "mean", None, "ons4_people"),
            Measure(f"ons4_{k}_change_sd", f"Spread of change: {k}", "sd", None, "ons4_people"),
            Measure(
                f"ons4_{k}_change_low", f"Change 95% low: {k}", "mean_low", None, "ons4_people"
            ),
            Measure(
                f"ons4_{k}_change_high", f"Change 95% high: {k}", "mean_high", None, "ons4_people"
            ),
        ]
    return out


def outcomes_report(
    session: Session,
    by: str | Sequence[str],
    filters: Filters | None = None,
    rule: Rule | None = DEFAULT_RULE,
) -> Report:
    """Needs with a recorded outcome and how many were resolved; outcomes with ONS4 at
    screening and at outcome (pairs) and without; each ONS4 item's mean before and mean
    change (outcome minus the screening linked to the referral; for ``anxious`` lower is
    better) with its interval, by up to two dimensions."""
    dims = parse_dimensions(by, extra=SERVICE_DIMS)
    if len(dims) > MAX_OUTCOME_DIMENSIONS:
        raise ValueError(f"outcomes can be counted by at most {MAX_OUTCOME_DIMENSIONS} dimensions")
    c = prepare(session, dims, filters, rule, "needs")
    p, counted, small = c.plan, c.counted, c.small
    dialect = session.get_bind().dialect.name
    out_t = Outcome.__table__  # type: ignore[attr-defined]
    on_t = OutcomeNeed.__table__  # type: ignore[attr-defined]
    scr_t = Screening.__table__  # type: ignore[attr-defined]
    when = out_t.c.recorded_at
    where = between(when, counted)
    if counted.practice:
        where.append(person_t.c.practice_ods == counted.practice)
    uses_need = any(d in ("need", "domain") for d in p.dims)
    by_service = bool(set(p.dims) & set(SERVICE_DIMS))
    # by service or provider: the referral's (an outcome has one referral, to one service
    # or a named hub); names from directory feeds are untrusted text, kept safe as keys
    exprs = [
        sa.func.coalesce(service_expr(d), "")
        if d in SERVICE_DIMS
        else dimension_expr(d, dialect, when)
        for d in p.dims
    ]
    keys: dict[int, Callable[[Any], Any]] = {
        i: safe_name for i, d in enumerate(p.dims) if d in SERVICE_DIMS
    }

    def levels(measures: list[Any], base: Any, conditions: list[Any]) -> list[RawCounts]:
        """Each measure's counts over ``base`` and ``conditions``, counted in one statement."""
        raws = run_levels_many(
            session, p.dims, exprs, measures, base, conditions, keys=keys, levels=p.levels
        )
        return [merge_small_practices(raw, small) for raw in raws]

    base_needs = on_t.join(out_t, out_t.c.id == on_t.c.outcome_id).join(
        need_t, need_t.c.id == on_t.c.need_id
    )
    if by_service:
        base_needs = service_join(
            base_needs.join(referral_t, referral_t.c.id == out_t.c.referral_id), p.dims
        )
    base_needs = person_join(base_needs, p.dims, out_t.c.person_id)
    n_needs, n_resolved = levels(
        [
            sa.func.count(sa.distinct(on_t.c.need_id)),
            sa.func.count(sa.distinct(sa.case((on_t.c.resolved.is_(True), on_t.c.need_id)))),
        ],
        base_needs,
        where,
    )

    # ONS4 pairs: an outcome with a linked screening, both with all four answers; by need,
    # an outcome counts once per need (consistent with n counted per need)
    def ons_base(outer: bool) -> Any:
        base = (
            out_t.outerjoin(referral_t, referral_t.c.id == out_t.c.referral_id).outerjoin(
                scr_t, scr_t.c.id == referral_t.c.screening_id
            )
            if outer
            else out_t.join(referral_t, referral_t.c.id == out_t.c.referral_id).join(
                scr_t, scr_t.c.id == referral_t.c.screening_id
            )
        )
        if uses_need:
            base = base.join(on_t, on_t.c.outcome_id == out_t.c.id).join(
                need_t, need_t.c.id == on_t.c.need_id
            )
        return person_join(service_join(base, p.dims), p.dims, out_t.c.person_id)

    has_all = sa.and_(
        *[getattr(out_t.c, f"ons4_{k}").is_not(None) for k in ONS4],
        *[getattr(scr_t.c, f"ons4_{k}").is_not(None) for k in ONS4],
    )
    counter = sa.func.count(on_t.c.need_id) if uses_need else sa.func.count(sa.distinct(out_t.c.id))
    # the pairs and every item's sums of change, squared change and before: one statement
    paired: dict[str, Any] = {"pairs": counter}
    for k in ONS4:
        after, before = getattr(out_t.c, f"ons4_{k}"), getattr(scr_t.c, f"ons4_{k}")
        change = after - before
        paired[f"{k}_change"] = sa.func.sum(change)
        paired[f"{k}_squares"] = sa.func.sum(change * change)
        paired[f"{k}_before"] = sa.func.sum(before)
    sums = dict(
        zip(paired, levels(list(paired.values()), ons_base(False), [*where, has_all]), strict=True)
    )
    ons_n = sums.pop("pairs")
    ons_missing = _difference(levels([counter], ons_base(True), where)[0], ons_n)

    canonical = rule.canonical if rule is not None else None

    def derive(cell: Cell) -> dict[str, int | float | None]:
        kept, rk = cell.kept, cell.short
        nn, nr, on = n_needs.get(kept, rk), n_resolved.get(kept, rk), ons_n.get(kept, rk)
        row: dict[str, int | float | None] = {}
        num: int | None
        den: int | None
        pn: int | None
        if canonical is None:
            pn = on
            num, den = nr, nn
            row["share_resolved"] = round(nr / nn, 3) if nn else None
        else:
            pn = cell.counts["ons4_people"]
            num, den = cell.counts["resolved"], cell.counts["needs"]
            row["share_resolved"] = publish_rate(num, den)
        row["share_resolved_low"], row["share_resolved_high"] = published_interval(num, den)
        for k in ONS4:
            total = sums[f"{k}_change"].get(kept, rk)
            before = sums[f"{k}_before"].get(kept, rk)
            squares = sums[f"{k}_squares"].get(kept, rk)
            if canonical is None:
                mean = round(total / on, 1) if on else None
                row[f"ons4_{k}_before"] = round(before / on, 1) if on else None
                sd = (
                    round(sqrt(max(0.0, (squares - total * total / on) / (on - 1))), 1)
                    if on > 1
                    else None
                )
            else:
                mean = publish_mean(total, on, pn, canonical)
                row[f"ons4_{k}_before"] = publish_mean(before, on, pn, canonical)
                sd = publish_sd(total, squares, on, pn)
            row[f"ons4_{k}_change"], row[f"ons4_{k}_change_sd"] = mean, sd
            low, high = mean_interval(mean, sd, pn)
            row[f"ons4_{k}_change_low"], row[f"ons4_{k}_change_high"] = low, high
        return row

    return assemble(
        c,
        {
            "needs": n_needs,
            "resolved": n_resolved,
            "ons4_people": ons_n,
            "ons4_missing": ons_missing,
        },
        name="outcomes",
        title="Outcomes: needs resolved and change in personal wellbeing (ONS4)",
        unit="needs",
        measures=outcomes_measures(),
        period=period_of(session, when, c.filters),
        derive=derive,
        # by service or provider, pairs and missing count outcomes (one referral, one
        # service each: their lines add up), needs do not (a need may be in two)
        units={"ons4_people": "outcomes", "ons4_missing": "outcomes"} if by_service else None,
    )

"""The referral funnel in people: with a need -> referred -> accepted -> completed, failed,
cancelled or declined, each step a rate with its numerator, denominator and a Wilson 95%
interval, by any dimension (issue 21, point 1).

The unit is the person, counted once per cell: a person is in a cell's "with a need" step
when they have a need recorded in the cell (the need's code, domain, month and the
person's equality fields then), and in a later step when a referral made here for one of
those needs reached it. Every step is part of the one before it:

========== ================================================ ===================
step       a person with a need in the cell, with a ...     rate over
========== ================================================ ===================
need       (every such person)                              (none)
referred   referral made (sent) for one of those needs      with a need
accepted   such a referral ever accepted                    referred
completed  such a referral completed                        accepted
failed     such a referral failed (after acceptance)        accepted
cancelled  such a referral cancelled after it was sent      referred
declined   such a referral declined by the receiver         referred
========== ================================================ ===================

A person with several referrals can be in several of the last four steps, so those do not
add up. Counts come from the counting copy of needs (``count_need``), so the first step is
exactly the needs report's count (decided the same way). Each step's counts are decided
once per table (``screening.counts.publish``) like every other count; a rate and its
interval are computed from the *published* numerator and denominator, so they tell nothing
the two counts do not, and are hidden where either is.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import sqrt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.counts.copies import day_number, ensure_copies
from screening.counts.dimensions import ALL, Filters, parse_dimensions
from screening.counts.population import Populations, per_thousand
from screening.counts.publish import merge_small_practices
from screening.counts.queries import _month_keys, needs_raw, run_levels_many, tune_for_counting
from screening.counts.reports import (
    Cell,
    Measure,
    Report,
    Row,
    assemble,
    period_of,
    prepare,
)
from screening.counts.sql import (
    cn_t,
    count_expr,
    need_t,
    practice_population,
    referral_t,
)
from screening.disclosure import DEFAULT_RULE, Published, Rule, publish_count, publish_rate
from screening.models import ReferralEvent, ReferralNeed

Z95 = 1.959963984540054  # the 97.5th centile of the standard normal distribution

# (key, label, the step its rate is over)
STEPS: tuple[tuple[str, str, str | None], ...] = (
    ("need", "With a need", None),
    ("referred", "Referred", "need"),
    ("accepted", "Accepted", "referred"),
    ("completed", "Completed", "accepted"),
    ("failed", "Failed", "accepted"),
    ("cancelled", "Cancelled", "referred"),
    ("declined", "Declined", "referred"),
)
STEP_KEYS = tuple(key for key, _, _ in STEPS)
_SENT = ("requested", "accepted", "rejected", "in-progress", "on-hold", "completed", "failed")
_ACCEPTED = ("accepted", "in-progress", "on-hold", "completed", "failed")


def wilson(successes: float, trials: float, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3):
    centre (p + z^2/2n) / (1 + z^2/n), half-width z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2).
    None when there are no trials."""
    if trials <= 0:
        return None
    if successes < 0 or successes > trials:
        raise ValueError(f"{successes} successes out of {trials} trials is not a proportion")
    n = float(trials)
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def published_interval(
    numerator: Published | float, denominator: Published | float, digits: int = 3
) -> tuple[float | None, float | None]:
    """The Wilson interval of a rate from its *published* counts (so it undoes no rounding),
    to ``digits`` places; (None, None) where either count is hidden or the denominator 0."""
    if numerator is None or denominator is None or not denominator:
        return None, None
    found = wilson(min(numerator, denominator), denominator)
    if found is None:  # pragma: no cover - denominator checked above
        return None, None
    return round(found[0], digits), round(found[1], digits)


def step_measures() -> list[Measure]:
    """Counts of every step, then each later step's rate and interval."""
    out = [Measure(key, label) for key, label, _ in STEPS]
    for key, label, over in STEPS:
        if over is None:
            continue
        out.append(Measure(f"{key}_rate", f"{label}: rate", "rate", key, over))
        out.append(Measure(f"{key}_low", f"{label}: 95% low", "low", key, over))
        out.append(Measure(f"{key}_high", f"{label}: 95% high", "high", key, over))
    return out


def _flags() -> Any:
    """One row per need referred here, with a 0/1 flag per later step: whether a referral
    made (sent) for that need reached it. Grouped once, then joined to the counting copy."""
    rn = ReferralNeed.__table__  # type: ignore[attr-defined]
    ev = ReferralEvent.__table__  # type: ignore[attr-defined]
    r = referral_t
    sent = sa.or_(
        r.c.status.in_(_SENT),
        sa.exists(
            sa.select(ev.c.id).where(ev.c.referral_id == r.c.id, ev.c.to_status == "requested")
        ),
    )
    accepted = sa.or_(
        r.c.status.in_(_ACCEPTED),
        sa.exists(
            sa.select(ev.c.id).where(ev.c.referral_id == r.c.id, ev.c.to_status == "accepted")
        ),
    )
    steps = {
        "referred": sa.true(),
        "accepted": accepted,
        "completed": r.c.status == "completed",
        "failed": r.c.status == "failed",
        "cancelled": r.c.status == "cancelled",
        "declined": r.c.status == "rejected",
    }
    return (
        sa.select(
            rn.c.need_id.label("need_id"),
            *[sa.func.max(sa.case((cond, 1), else_=0)).label(k) for k, cond in steps.items()],
        )
        .select_from(rn.join(r, r.c.id == rn.c.referral_id))
        .where(r.c.direction == "outgoing", sent)
        .group_by(rn.c.need_id)
        .subquery("funnel_flags")
    )


def _where(filters: Filters) -> list[Any]:
    c = cn_t.c
    where = []
    if filters.start:
        where.append(c.day >= day_number(filters.start))
    if filters.end:
        where.append(c.day <= day_number(filters.end))
    if filters.practice:
        where.append(c.practice_ods == filters.practice)
    return where


def funnel_report(
    session: Session,
    by: str | Sequence[str],
    filters: Filters | None = None,
    rule: Rule | None = DEFAULT_RULE,
) -> Report:
    """The funnel in people by ``by`` (up to the dimensions a published table can have).
    ``rule=None`` gives raw numbers, rates and intervals (the practice's own view)."""
    c = prepare(session, parse_dimensions(by), filters, rule, "people")
    p, counted, small = c.plan, c.counted, c.small
    ensure_copies(session)
    tune_for_counting(session)
    raws = {
        "need": merge_small_practices(needs_raw(session, p.dims, counted, levels=p.levels), small)
    }
    exprs = [count_expr(d) for d in p.dims]
    where = _where(counted)
    flags = _flags()
    base = cn_t.join(flags, flags.c.need_id == cn_t.c.need_id)
    # every later step counted in one pass over the needs joined to their flags
    steps = [
        sa.func.count(sa.distinct(sa.case((flags.c[key] == 1, cn_t.c.person_key), else_=None)))
        for key in STEP_KEYS[1:]
    ]
    keys = _month_keys(p.dims)
    counted_steps = run_levels_many(
        session, p.dims, exprs, steps, base, where, "people", keys, True, p.levels
    )
    for step_key, raw in zip(STEP_KEYS[1:], counted_steps, strict=True):
        raws[step_key] = merge_small_practices(raw, small)
    measures = step_measures()
    populations = Populations(session)
    with_population = populations.covers(p.dims)
    every = sorted(practice_population(session)) if with_population else []
    if with_population:
        measures += [
            Measure("registered", "Registered patients", "population"),
            Measure(
                "need_per_1000", "With a need per 1,000 registered", "per1000", "need", "registered"
            ),
            Measure(
                "referred_per_1000",
                "Referred per 1,000 registered",
                "per1000",
                "referred",
                "registered",
            ),
        ]

    def derive(cell: Cell) -> dict[str, int | float | None]:
        row: dict[str, int | float | None] = {}
        for step, _, over in STEPS:
            if over is None:
                continue
            num: int | None
            den: int | None
            if rule is None:
                num, den = (
                    raws[step].get(cell.kept, cell.short),
                    raws[over].get(cell.kept, cell.short),
                )
                rate = round(num / den, 3) if den else None
            else:
                num, den = cell.counts[step], cell.counts[over]
                rate = publish_rate(num, den)
            low, high = published_interval(num, den)
            row[f"{step}_rate"], row[f"{step}_low"], row[f"{step}_high"] = rate, low, high
        if with_population:
            # rates per 1,000 registered patients (public list sizes, the published counts)
            key_at = (p.practice, *cell.key) if len(p.dims) > len(p.shown) else cell.key
            registered = populations.registered(p.dims, key_at, every, small)
            own = populations.by_ethnicity(p.dims, key_at, every, small)
            if rule is not None and registered is not None and own:
                registered = publish_count(registered, rule)  # the user's own figures
            row["registered"] = registered
            for step in ("need", "referred"):
                row[f"{step}_per_1000"] = per_thousand(cell.counts[step], registered)
        return row

    return assemble(
        c,
        raws,
        name="funnel",
        title="The referral funnel in people: need, referred, accepted and after",
        unit="people",
        measures=measures,
        period=period_of(session, need_t.c.recorded_at, c.filters),
        derive=derive,
    )


# ------------------------------------------------------------------- long form


def funnel_lines(report: Report) -> list[dict[str, Any]]:
    """The funnel as one line per cell and step (the long form every output uses): the
    row's keys, ``total`` (a margin), the step, its numerator and denominator (None for
    the first step), rate, interval, and which counts are hidden (``*``); with list sizes
    loaded, the registered patients and the step per 1,000 of them (the first two steps)."""
    measures = {m.key for m in report.measures}
    with_population = "registered" in measures
    out = []
    for row in report.rows:
        for step, label, over in STEPS:
            if step not in measures:
                continue
            num = row.values.get(step)
            den = row.values.get(over) if over else None
            out.append(
                {
                    "keys": row.keys,
                    "total": any(k is ALL for k in row.keys),
                    "step": step,
                    "step_label": label,
                    "over": over,
                    "numerator": num,
                    "denominator": den,
                    "rate": row.values.get(f"{step}_rate") if over else None,
                    "low": row.values.get(f"{step}_low") if over else None,
                    "high": row.values.get(f"{step}_high") if over else None,
                    "numerator_suppressed": num is None,
                    "denominator_suppressed": bool(over) and den is None,
                    "withheld": step in row.withheld,
                }
            )
            if with_population:
                out[-1]["registered"] = row.values.get("registered")
                out[-1]["per_1000"] = row.values.get(f"{step}_per_1000")
    return out


def per_thousand_leaks(row: Row, measure: Measure) -> str:
    """A rate per 1,000 not computed from its published count and the list size."""
    value = row.values.get(measure.key)
    num = row.values.get(str(measure.numerator))
    expected = per_thousand(num, row.values.get(str(measure.denominator)))
    if value is None or value == expected:
        return ""
    return "a rate per 1,000 not from the published count"


def interval_leaks(report: Report, row: Row, measure: Measure) -> str:
    """What an interval bound shown beside its counts gives away ("" when nothing): one
    not computed from the published numerator and denominator."""
    value = row.values.get(measure.key)
    if value is None:
        return ""
    num = row.values.get(str(measure.numerator))
    den = row.values.get(str(measure.denominator))
    if num is None or den is None:
        return "an interval beside a hidden count"
    low, high = published_interval(num, den)
    expected = low if measure.kind == "low" else high
    return "" if value == expected else "an interval not from the published counts"

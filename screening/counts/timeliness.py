"""Timeliness and services (issue 21, point 3): referrals made, accepted and completed, by
any dimension that places each referral once, by the service referred to or its provider
organisation, with the share accepted (and completed of those accepted) and the median and
quartiles of days from sending to acceptance and to completion, from the status history
with its times (``referral_event``: issue 19 carries the receiver's times back).

Only aggregates are selected: for each cell, how many referrals took each whole number of
days (a histogram); quartiles are read from it. Counts are decided once per table like
every count; shares and their Wilson intervals come from the published counts. A quartile
is an order statistic of many referrals: it is shown, to a whole day, only where its count
is published as at least ``QUARTILE_MIN`` (so at least 18 referrals), else hidden.

Service and provider names come from directory feeds (untrusted text): they are shown as
stored, cut to 80 characters, and a name that a spreadsheet would take for a formula
(``=``, ``+``, ``-``, ``@``) starts with an apostrophe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.counts.dimensions import ALL, Filters, parse_dimensions, safe_name
from screening.counts.funnel import published_interval
from screening.counts.publish import merge_small_practices
from screening.counts.queries import RawCounts
from screening.counts.reports import (
    Cell,
    Counting,
    Measure,
    Report,
    assemble,
    period_of,
    prepare,
)
from screening.counts.sql import (
    between,
    dimension_expr,
    person_join,
    person_t,
    referral_t,
)
from screening.disclosure import DEFAULT_RULE, Rule, publish_rate
from screening.models import ReferralEvent

QUARTILE_MIN = 20
SERVICE_DIMS = ("service", "provider")
_SENT = ("requested", "accepted", "rejected", "in-progress", "on-hold", "completed", "failed")
_NOT_BY = ("need", "domain")  # a referral with two needs is in two cells: no histogram sums


_safe_name = safe_name


def service_join(base: Any, dims: Sequence[str]) -> Any:
    """``base`` (holding ``referral``) joined to the service referred to and the
    organisation providing it, when ``dims`` count by either (outer joins: a referral to
    a named hub has no directory service)."""
    if not set(dims) & set(SERVICE_DIMS):
        return base
    from directory.models import Organisation, Service

    svc_t = Service.__table__  # type: ignore[attr-defined]
    org_t = Organisation.__table__  # type: ignore[attr-defined]
    return base.outerjoin(svc_t, svc_t.c.id == referral_t.c.service_id).outerjoin(
        org_t, org_t.c.id == svc_t.c.organisation_id
    )


def service_expr(dim: str) -> Any:
    """A referral's service (its name, or the named hub's) or its provider (the
    organisation's name, or the hub's), as stored: untrusted text, shown through
    :func:`safe_name`."""
    from directory.models import Organisation, Service

    table = Service.__table__ if dim == "service" else Organisation.__table__  # type: ignore[attr-defined]
    return sa.func.coalesce(table.c.name, referral_t.c.hub)


def quartiles(histogram: dict[int, int]) -> tuple[int, int, int] | None:
    """The lower quartile, median and upper quartile (nearest rank) of whole days from a
    histogram (days -> how many)."""
    n = sum(histogram.values())
    if not n:
        return None
    ranks = [max(1, -(-n * q // 4)) for q in (1, 2, 3)]  # ceil(n q / 4)
    out = []
    seen = 0
    days = sorted(histogram)
    i = 0
    for rank in ranks:
        while seen + histogram[days[i]] < rank:
            seen += histogram[days[i]]
            i += 1
        out.append(days[i])
    return out[0], out[1], out[2]


def timeliness_measures(episodes: bool = False) -> list[Measure]:
    """The report's measures; with ``episodes``, the casework episodes' first contact too."""
    out = [
        Measure("made", "Referrals made"),
        Measure("accepted", "Accepted"),
        Measure("accepted_rate", "Share accepted", "rate", "accepted", "made"),
        Measure("accepted_low", "Share accepted: 95% low", "low", "accepted", "made"),
        Measure("accepted_high", "Share accepted: 95% high", "high", "accepted", "made"),
        Measure("completed", "Completed"),
        Measure("completed_rate", "Share of accepted completed", "rate", "completed", "accepted"),
        Measure("completed_low", "Completed: 95% low", "low", "completed", "accepted"),
        Measure("completed_high", "Completed: 95% high", "high", "completed", "accepted"),
    ]
    steps = [("accept", "accepted"), ("complete", "completed")]
    if episodes:
        out += [
            Measure("episodes", "Episodes started"),
            Measure("contacted", "Episodes with an attended contact"),
            Measure("contacted_rate", "Share contacted", "rate", "contacted", "episodes"),
            Measure("contacted_low", "Share contacted: 95% low", "low", "contacted", "episodes"),
            Measure("contacted_high", "Share contacted: 95% high", "high", "contacted", "episodes"),
        ]
        steps.insert(1, ("contact", "contacted"))
    for step, over in steps:
        for q, label in (("q1", "lower quartile"), ("median", "median"), ("q3", "upper quartile")):
            what = "first contact" if step == "contact" else step
            out.append(
                Measure(f"days_to_{step}_{q}", f"Days to {what}: {label}", "quantile", None, over)
            )
    return out


def _days(dialect: str, later: Any, since: Any) -> Any:
    """Whole days from ``since`` to ``later`` (both timestamps), in SQL."""
    if dialect == "sqlite":
        return sa.cast(sa.func.julianday(later) - sa.func.julianday(since), sa.Integer)
    return sa.cast(sa.func.floor(sa.extract("epoch", later - since) / 86400), sa.Integer)


Histograms = dict[tuple[Any, ...], dict[int, int]]  # finest key -> days -> how many


def _histograms(
    session: Session, exprs: list[Any], base: Any, where: list[Any], days: dict[str, Any]
) -> tuple[dict[tuple[Any, ...], int], dict[str, Histograms]]:
    """How many records each finest cell has, and for each of ``days`` (a name -> whole
    days, NULL where not reached) how many took each number of days: aggregates only."""
    cols = [e.label(f"d{i}") for i, e in enumerate(exprs)]
    query = (
        sa.select(*cols, *[d.label(f"to_{k}") for k, d in days.items()], sa.func.count().label("n"))
        .select_from(base)
        .where(*where)
        .group_by(
            *[sa.literal_column(f"d{i}") for i in range(len(exprs))], *[f"to_{k}" for k in days]
        )
    )
    counted: dict[tuple[Any, ...], int] = {}
    hist: dict[str, Histograms] = {k: {} for k in days}
    for row in session.execute(query):
        key = tuple(row[: len(exprs)])
        n = int(row.n)
        counted[key] = counted.get(key, 0) + n
        for k in days:
            value = getattr(row, f"to_{k}")
            if value is not None:
                cell = hist[k].setdefault(key, {})
                cell[max(0, int(value))] = cell.get(max(0, int(value)), 0) + n
    return counted, hist


def _first_contacts(
    session: Session, c: Counting, dialect: str
) -> tuple[dict[tuple[Any, ...], int], Histograms]:
    """Casework episodes started in the window, by the report's dimensions (of the
    episode's start), and the days from each episode's start to its first attended
    contact (episodes not yet contacted: in the count, not in the days)."""
    from screening.casework.models import Contact, Episode

    ep_t = Episode.__table__  # type: ignore[attr-defined]
    ct_t = Contact.__table__  # type: ignore[attr-defined]
    p = c.plan
    first_attended = (
        sa.select(sa.func.min(ct_t.c.at))
        .where(ct_t.c.episode_id == ep_t.c.id, ct_t.c.status == "attended")
        .scalar_subquery()
    )
    where = between(ep_t.c.started_at, c.counted)
    if c.counted.practice:
        where.append(person_t.c.practice_ods == c.counted.practice)
    exprs = [dimension_expr(d, dialect, ep_t.c.started_at) for d in p.dims]
    base = person_join(ep_t, p.dims, ep_t.c.person_id)
    days = {"contact": _days(dialect, first_attended, ep_t.c.started_at)}
    counted, hist = _histograms(session, exprs, base, where, days)
    return _cleaned(p.dims, counted), _cleaned_hist(p.dims, hist["contact"])


def _clean(dims: tuple[str, ...], key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        _safe_name(v) if dims[i] in SERVICE_DIMS else _key(dims[i], v) for i, v in enumerate(key)
    )


def _cleaned(
    dims: tuple[str, ...], counted: dict[tuple[Any, ...], int]
) -> dict[tuple[Any, ...], int]:
    """Counts by cleaned keys (names shown safely, numbers whole), summed where two meet."""
    out: dict[tuple[Any, ...], int] = {}
    for key, n in counted.items():
        out[_clean(dims, key)] = out.get(_clean(dims, key), 0) + n
    return out


def _cleaned_hist(dims: tuple[str, ...], hist: Histograms) -> Histograms:
    out: Histograms = {}
    for key, cell in hist.items():
        into = out.setdefault(_clean(dims, key), {})
        for day, n in cell.items():
            into[day] = into.get(day, 0) + n
    return out


def _period(session: Session, c: Counting, columns: list[Any]) -> tuple[date, date] | None:
    """The reporting period over the referrals and the episodes both."""
    found = [f for f in (period_of(session, col, c.filters) for col in columns) if f]
    if not found:
        return None
    return min(f[0] for f in found), max(f[1] for f in found)


def timeliness_report(
    session: Session,
    by: str | Sequence[str],
    filters: Filters | None = None,
    rule: Rule | None = DEFAULT_RULE,
) -> Report:
    """Referrals made here by ``by`` (any dimension but need and domain, or ``service`` /
    ``provider``), accepted and completed, with shares and days to acceptance and to
    completion (from sending: the first ``requested`` in the history, else when made).

    Beside them, where casework episodes were started in the window (and not by service
    or provider: an episode is the link worker's, not a service's), the episodes started,
    how many have had an attended contact, and the days from the episode's start (the
    referral to the link worker, or the person's own) to that first attended contact."""
    dims = parse_dimensions(by, extra=SERVICE_DIMS)
    if set(dims) & set(_NOT_BY):
        raise ValueError("timeliness is counted by referral: not by need or domain")
    c = prepare(session, dims, filters, rule, "referrals")
    p, counted, small = c.plan, c.counted, c.small
    dialect = session.get_bind().dialect.name
    ev = ReferralEvent.__table__  # type: ignore[attr-defined]

    def first_at(status: str) -> Any:
        return (
            sa.select(sa.func.min(ev.c.at))
            .where(ev.c.referral_id == referral_t.c.id, ev.c.to_status == status)
            .scalar_subquery()
        )

    sent_at = sa.func.coalesce(first_at("requested"), referral_t.c.created_at)
    when = referral_t.c.created_at
    base = service_join(person_join(referral_t, p.dims, referral_t.c.person_id), p.dims)
    exprs = [
        service_expr(d) if d in SERVICE_DIMS else dimension_expr(d, dialect, when) for d in p.dims
    ]
    sent = sa.or_(
        referral_t.c.status.in_(_SENT),
        sa.exists(
            sa.select(ev.c.id).where(
                ev.c.referral_id == referral_t.c.id, ev.c.to_status == "requested"
            )
        ),
    )
    where = [*between(when, counted), referral_t.c.direction == "outgoing", sent]
    if counted.practice:
        where.append(person_t.c.practice_ods == counted.practice)
    accepted_at = first_at("accepted")
    completed_at = sa.case((referral_t.c.status == "completed", first_at("completed")), else_=None)
    days = {
        "accept": _days(dialect, accepted_at, sent_at),
        "complete": _days(dialect, completed_at, sent_at),
    }
    # histograms at the finest level, then every level by summing (each referral once)
    found, found_hist = _histograms(session, exprs, base, where, days)
    made = _cleaned(p.dims, found)
    hist = {step: _cleaned_hist(p.dims, h) for step, h in found_hist.items()}
    levels = p.levels or _all_levels(len(p.dims))
    raws = {
        "made": _raw(p.dims, levels, {k: {0: n} for k, n in made.items()}),
        "accepted": _raw(p.dims, levels, hist["accept"]),
        "completed": _raw(p.dims, levels, hist["complete"]),
    }
    steps = [("accept", "accepted"), ("complete", "completed")]
    columns = [when]
    apart: tuple[str, ...] = ()
    if not set(p.dims) & set(SERVICE_DIMS):
        episodes, contact = _first_contacts(session, c, dialect)
        if episodes:  # casework recorded in the window: its first contacts beside
            raws["episodes"] = _raw(p.dims, levels, {k: {0: n} for k, n in episodes.items()})
            raws["contacted"] = _raw(p.dims, levels, contact)
            hist["contact"] = contact
            steps.insert(1, ("contact", "contacted"))
            apart = ("episodes", "contacted")
            from screening.casework.models import Episode

            columns.append(Episode.__table__.c.started_at)  # type: ignore[attr-defined]
    hists = {step: _level_hists(levels, h) for step, h in hist.items()}
    raws = {k: merge_small_practices(r, small) for k, r in raws.items()}
    if small:
        hists = {step: _merge_hists(h, p.dims, small) for step, h in hists.items()}
    shares = [("accepted", "accepted", "made"), ("completed", "completed", "accepted")]
    if apart:
        shares.append(("contacted", "contacted", "episodes"))

    def derive(cell: Cell) -> dict[str, int | float | None]:
        kept, short = cell.kept, cell.short
        v: dict[str, int | float | None] = {}
        for m, num, den in shares:
            a: int | None
            b: int | None
            if rule is None:
                a, b = raws[num].get(kept, short), raws[den].get(kept, short)
                v[f"{m}_rate"] = round(a / b, 3) if b else None
            else:
                a, b = cell.counts[num], cell.counts[den]
                v[f"{m}_rate"] = publish_rate(a, b)
            v[f"{m}_low"], v[f"{m}_high"] = published_interval(a, b)
        for step, over in steps:
            shown_n = cell.counts[over]
            quarts = quartiles(hists[step].get(kept, {}).get(short, {}))
            ok = rule is None or (isinstance(shown_n, int) and shown_n >= QUARTILE_MIN)
            for q, value in zip(("q1", "median", "q3"), quarts or (None, None, None), strict=True):
                v[f"days_to_{step}_{q}"] = value if ok and quarts else None
        return v

    return assemble(
        c,
        raws,
        name="timeliness",
        title="Referrals: accepted and completed, and how many days each took",
        unit="referrals",
        measures=timeliness_measures(episodes=bool(apart)),
        period=_period(session, c, columns),
        derive=derive,
        apart=apart,
    )


def _key(dim: str, value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, float | Decimal):
        return int(value)
    return "" if value is None else value


def _all_levels(n: int) -> list[tuple[int, ...]]:
    import itertools

    return [c for k in range(n, -1, -1) for c in itertools.combinations(range(n), k)]


def _level_hists(
    levels: Sequence[tuple[int, ...]], finest: dict[tuple[Any, ...], dict[int, int]]
) -> dict[tuple[int, ...], dict[tuple[Any, ...], dict[int, int]]]:
    out: dict[tuple[int, ...], dict[tuple[Any, ...], dict[int, int]]] = {}
    for kept in levels:
        level = out.setdefault(kept, {})
        for key, counts in finest.items():
            short = tuple(key[i] for i in kept)
            cell = level.setdefault(short, {})
            for day, n in counts.items():
                cell[day] = cell.get(day, 0) + n
    return out


def _merge_hists(
    hists: dict[tuple[int, ...], dict[tuple[Any, ...], dict[int, int]]],
    dims: tuple[str, ...],
    small: set[str],
) -> dict[tuple[int, ...], dict[tuple[Any, ...], dict[int, int]]]:
    from screening.counts.dimensions import SMALL_PRACTICES

    if "practice" not in dims:
        return hists
    index = dims.index("practice")
    out: dict[tuple[int, ...], dict[tuple[Any, ...], dict[int, int]]] = {}
    for kept, level in hists.items():
        merged: dict[tuple[Any, ...], dict[int, int]] = {}
        for key, counts in level.items():
            if index in kept and key[kept.index(index)] in small:
                pos = kept.index(index)
                key = (*key[:pos], SMALL_PRACTICES, *key[pos + 1 :])
            cell = merged.setdefault(key, {})
            for day, n in counts.items():
                cell[day] = cell.get(day, 0) + n
        out[kept] = merged
    return out


def _raw(
    dims: tuple[str, ...],
    levels: Sequence[tuple[int, ...]],
    finest: dict[tuple[Any, ...], dict[int, int]],
) -> RawCounts:
    raw = RawCounts(dims)
    for kept, level in _level_hists(levels, finest).items():
        raw.by_level[kept] = {k: sum(c.values()) for k, c in level.items()}
    return raw


__all__ = ["ALL", "QUARTILE_MIN", "quartiles", "timeliness_report"]

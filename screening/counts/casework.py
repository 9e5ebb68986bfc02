"""Casework counts (issue 20 point 7): social prescribing episodes started in the window,
their contacts (attended, did not attend, no answer), contacts per episode, the
did-not-attend rate, and the change in personal wellbeing (ONS4) from the episode's start
to its latest review, by up to two dimensions (practice, an equality group, a period of
the episode's start...).

Disclosure: every count (episodes, contacts, did-not-attend, episodes with ONS4 at start
and review) is decided once per table like every count (``screening.counts.publish``;
each episode is placed once by every dimension, as a referral is). Contacts per episode
and the did-not-attend rate are ratios of the *published* counts; an ONS4 mean change is
shown to the rule's step beside its published number of episodes (``publish_mean``).
Counted from the records, aggregates only; case notes are never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.casework.models import Contact, Episode
from screening.counts.dimensions import Filters, parse_dimensions
from screening.counts.publish import merge_small_practices
from screening.counts.queries import RawCounts, run_levels, run_levels_many
from screening.counts.reports import (
    ONS4,
    Cell,
    Measure,
    Report,
    assemble,
    period_of,
    prepare,
)
from screening.counts.sql import between, dimension_expr, person_join, person_t
from screening.disclosure import DEFAULT_RULE, Rule, publish_mean, publish_rate

MAX_CASEWORK_DIMENSIONS = 2
TRIED = ("attended", "did-not-attend", "no-answer")
UNIT = "referrals"  # an episode, like a referral, has one value of every dimension


def casework_measures() -> list[Measure]:
    out = [
        Measure("episodes", "Episodes started"),
        Measure("contacts", "Contacts (attended, did not attend, no answer)"),
        Measure("contacts_per_episode", "Contacts per episode", "per", "contacts", "episodes"),
        Measure("dna", "Did not attend"),
        Measure("dna_rate", "Did-not-attend rate", "rate", "dna", "contacts"),
        Measure("ons4_episodes", "With ONS4 at start and review"),
    ]
    out += [
        Measure(f"ons4_{k}_change", f"Mean change: {k}", "mean", None, "ons4_episodes")
        for k in ONS4
    ]
    return out


def casework_report(
    session: Session,
    by: str | Sequence[str],
    filters: Filters | None = None,
    rule: Rule | None = DEFAULT_RULE,
) -> Report:
    """Episodes started in the window with their contacts, did-not-attend and ONS4 change
    (the last review's answers minus the start's, both with all four answered; for
    ``anxious`` lower is better), by up to two dimensions."""
    dims = parse_dimensions(by)
    if len(dims) > MAX_CASEWORK_DIMENSIONS:
        raise ValueError(f"casework can be counted by at most {MAX_CASEWORK_DIMENSIONS} dimensions")
    if any(d in ("need", "domain") for d in dims):
        raise ValueError("an episode has no one need: count casework by another dimension")
    c = prepare(session, dims, filters, rule, UNIT)
    p, counted, small = c.plan, c.counted, c.small
    dialect = session.get_bind().dialect.name
    ep_t = Episode.__table__  # type: ignore[attr-defined]
    ct_t = Contact.__table__  # type: ignore[attr-defined]
    when = ep_t.c.started_at
    where = between(when, counted)
    if counted.practice:
        where.append(person_t.c.practice_ods == counted.practice)
    exprs = [dimension_expr(d, dialect, when) for d in p.dims]

    def levels(measure: Any, base: Any, conditions: list[Any]) -> RawCounts:
        raw = run_levels(session, p.dims, exprs, measure, base, conditions, levels=p.levels)
        return merge_small_practices(raw, small)

    episodes_base = person_join(ep_t, p.dims, ep_t.c.person_id)
    n_episodes = levels(sa.func.count(sa.distinct(ep_t.c.id)), episodes_base, where)
    contacts_base = person_join(
        ep_t.join(ct_t, ct_t.c.episode_id == ep_t.c.id), p.dims, ep_t.c.person_id
    )
    tried = ct_t.c.status.in_(TRIED)
    n_contacts = levels(sa.func.count(ct_t.c.id), contacts_base, [*where, tried])
    n_dna = levels(
        sa.func.count(ct_t.c.id), contacts_base, [*where, ct_t.c.status == "did-not-attend"]
    )

    # ONS4 at the start (the episode's first contact with all four answers) and at the
    # latest review (its last such contact, a different one).
    all_four = sa.and_(*[getattr(ct_t.c, f"ons4_{k}").is_not(None) for k in ONS4])
    ends = (
        sa.select(
            ct_t.c.episode_id.label("episode_id"),
            sa.func.min(ct_t.c.at).label("first"),
            sa.func.max(ct_t.c.at).label("last"),
        )
        .where(all_four, ct_t.c.status == "attended")
        .group_by(ct_t.c.episode_id)
        .having(sa.func.count() >= 2)
        .subquery("ons4_ends")
    )
    start, review = ct_t.alias("ons4_start"), ct_t.alias("ons4_review")
    pairs_base = person_join(
        ep_t.join(ends, ends.c.episode_id == ep_t.c.id)
        .join(start, sa.and_(start.c.episode_id == ep_t.c.id, start.c.at == ends.c.first))
        .join(review, sa.and_(review.c.episode_id == ep_t.c.id, review.c.at == ends.c.last)),
        p.dims,
        ep_t.c.person_id,
    )
    pair_where = [*where, ends.c.first < ends.c.last]
    # the pairs and each item's sum of change, counted in one statement
    paired = run_levels_many(
        session,
        p.dims,
        exprs,
        [
            sa.func.count(sa.distinct(ep_t.c.id)),
            *[
                sa.func.sum(getattr(review.c, f"ons4_{k}") - getattr(start.c, f"ons4_{k}"))
                for k in ONS4
            ],
        ],
        pairs_base,
        pair_where,
        levels=p.levels,
    )
    n_pairs, *changes = [merge_small_practices(raw, small) for raw in paired]
    sums = dict(zip(ONS4, changes, strict=True))

    canonical = rule.canonical if rule is not None else None

    def derive(cell: Cell) -> dict[str, int | float | None]:
        kept, rk = cell.kept, cell.short
        row: dict[str, int | float | None] = {}
        episodes, contacts, dna = (
            cell.counts["episodes"],
            cell.counts["contacts"],
            cell.counts["dna"],
        )
        if canonical is None:
            ep_n, ct_n = n_episodes.get(kept, rk), n_contacts.get(kept, rk)
            row["contacts_per_episode"] = round(ct_n / ep_n, 3) if ep_n else None
            row["dna_rate"] = round(n_dna.get(kept, rk) / ct_n, 3) if ct_n else None
        else:
            row["contacts_per_episode"] = publish_rate(contacts, episodes)
            row["dna_rate"] = publish_rate(dna, contacts)
        pairs = n_pairs.get(kept, rk)
        for k in ONS4:
            total = sums[k].get(kept, rk)
            if canonical is None:
                row[f"ons4_{k}_change"] = round(total / pairs, 1) if pairs else None
            else:
                shown_pairs = cell.counts["ons4_episodes"]
                row[f"ons4_{k}_change"] = publish_mean(total, pairs, shown_pairs, canonical)
        return row

    return assemble(
        c,
        {"episodes": n_episodes, "contacts": n_contacts, "dna": n_dna, "ons4_episodes": n_pairs},
        name="contacts",
        title="Casework: contacts per episode, did not attend and ONS4 change",
        unit="episodes",
        measures=casework_measures(),
        period=period_of(session, when, c.filters),
        derive=derive,
    )

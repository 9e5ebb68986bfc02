"""Published counts that agree across reports.

A data lead can ask for many reports over the same records: by need, by need and sex, by
practice, the same for one practice (``--practice``), over any dates. Disclosure control
decided table by table lets one report publish what another hid: a practice hidden in the
by-practice table to protect a smaller one was then published as 35 by the same report
for that practice alone, and the two together gave the small one back.

The rule chosen here: **every count is decided once, in its own table, coarsest first,
and every report is assembled from those decisions.** A count is identified by what it
counts (people with a need, referrals made, ...), the dates, and the values it fixes (need
= housing, practice = Y02405, ...); a practice filter is one more fixed value, so the
report for one practice is a slice of the by-practice tables, not a table of its own.

* The grand total is published by the rule alone.
* A count that fixes one value (a one-way table's cell, a margin of every crossed table)
  is decided in the one-way table of its dimension, with the grand total as given.
* A count that fixes two values is decided in the two-way table of the two dimensions (in
  one fixed orientation), with both margins and the grand total as given: only its own
  cells are hidden, never a margin.
* A count that fixes three values is decided in the slices of the three-way table: along
  a dimension that gives no equation (need, month, age band: a person is counted in
  several) when there is one, which leaves every equation inside the slices; otherwise
  along each dimension in turn until no slice hides more.
* Time, where a person can be counted in several periods (people with a need): a count of
  one month (quarter, year) is decided in that period's own tables, exactly as in the
  report for its dates alone, whatever window the report covers; a count over the whole
  window in the window's tables (nothing adds the periods up to it). Where periods add up
  (referrals), they are decided in the window's tables like any other dimension, so that
  the window's total and its periods are protected together.
* A line (row, column, slice) of fewer than ``min_population`` people has its cells
  withheld, zeros included; practices with fewer than that many people in the records are
  counted together as "small practices", and a report for one of them alone is refused.

Why this rule rather than checking pairs of reports, or deciding on one full table: a
count appears the same (value or ``*``) in every report that shows it, so a hidden count
is never published elsewhere; every report is a part of the tables its counts were
decided in, each of which the checker (``screening.disclosure.recoverable_cells``) has
passed with its margins as given; and two such tables share only margins decided before
either of them. A report is the same whoever asks and whatever was asked before (pairwise
checks would make it depend on which other reports exist), and the work is that of the
tables the report shows (one full table over every dimension is too large to count and to
protect).

A stricter rule (``--threshold``, ``--round-to``) is applied to the default decisions
(``screening.disclosure.coarsen``), so it can only tell less.

Limits, checked by differencing on a demo database (``tests/test_disclosure_differencing``)
rather than by construction: two tables sharing a hidden margin each bound it, and the two
bounds together are not checked; a three-way table with no dimension to slice along is
checked slice by slice, not as a whole; a month of referrals is decided in each window's
tables (months add up to the window there), so two windows may hide it differently; and
windows a day apart differ by one day's counts, each difference blurred by rounding but
narrowed by many overlapping windows (whole periods or perturbation would close that).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from screening.counts.dimensions import (
    ALL,
    DIMENSIONS,
    MAX_DIMENSIONS,
    SMALL_PRACTICES,
    Filters,
    partitions,
)
from screening.counts.queries import RawCounts
from screening.disclosure import (
    Given,
    Position,
    Published,
    Rule,
    Table,
    coarsen,
    protect_one_way,
    protect_two_way,
    publish_count,
)

Level = tuple[int, ...]  # kept dimension indexes, in order
PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Plan:
    """What a report counts: ``dims`` (the report's own, with the practice first when one
    practice is asked for), the ``levels`` its counts are decided on, and ``practice``,
    the slice the report shows (None: the whole table)."""

    dims: tuple[str, ...]
    shown: tuple[str, ...]
    levels: list[Level] | None
    practice: str | None = None


def plan(dims: tuple[str, ...], filters: Filters, rule: Rule | None, unit: str) -> Plan:
    """The plan of a report. Raw numbers (``rule`` None) count the practice's own records
    only, as before; published ones count every practice and show one."""
    if rule is None:
        return Plan(dims, dims, None, filters.practice)
    counted = dims
    if filters.practice:
        if "practice" in dims:
            raise ValueError("one practice is chosen already: leave practice out of the dimensions")
        if len(dims) >= MAX_DIMENSIONS:
            raise ValueError(
                f"counts for one practice can be broken down by at most {MAX_DIMENSIONS - 1} "
                "dimensions"
            )
        counted = ("practice", *dims)
    if sum(d in PERIODS for d in dims) > 1:
        raise ValueError("count by one period (month, quarter or year) at a time")
    return Plan(counted, dims, needed_levels(counted, unit), filters.practice)


def _rank(dim: str) -> int:
    return list(DIMENSIONS).index(dim)


def _slicing(dims: tuple[str, ...], unit: str) -> list[int]:
    """The dimensions a three-way table is protected along: the first (in the fixed order)
    that gives no equation, else each one."""
    order = sorted(range(len(dims)), key=lambda i: _rank(dims[i]))
    loose = [i for i in order if not partitions(dims[i], unit)]
    return loose[:1] or order


def _margins(level: Level) -> set[Level]:
    """A level and the coarser levels its table is decided with (its one-way margins and
    the grand total)."""
    out = {level, ()}
    if len(level) == 2:
        out |= {(level[0],), (level[1],)}
    return out


def needed_levels(dims: tuple[str, ...], unit: str) -> list[Level]:
    """Every level (kept dimension indexes) the counts of ``dims`` are decided on: the
    report's own levels and the margins of each table they are decided in, finest first.
    With a period (month, quarter, year), every level with it (each period's own tables)
    and the levels without it that the report shows."""
    period = _period(dims, unit)
    if period is not None:
        others = [i for i in range(len(dims)) if i != period]
        subsets = [c for n in range(len(others) + 1) for c in itertools.combinations(others, n)]
        inner = {tuple(sorted((*c, period))) for c in subsets}
        outer: set[Level] = set()
        for level in shown_levels(len(dims)):
            if period not in level:
                outer |= _margins(level)
        return sorted(inner | outer, key=lambda level: (-len(level), level))
    if len(dims) == 1:
        return [(0,), ()]
    if len(dims) == 2:
        return [(0, 1), (0,), (1,), ()]
    # every two-way margin: each bounds a small group, and is given to the slices
    return [(0, 1, 2), (0, 1), (0, 2), (1, 2), (0,), (1,), (2,), ()]


def _period(dims: Sequence[str], unit: str) -> int | None:
    """The period dimension whose values are decided in their own tables: one that counts
    a unit in several periods (people), so that no equation ties the periods to the
    window's total. Periods that add up (referrals) are decided in the window's tables."""
    return next((i for i, d in enumerate(dims) if d in PERIODS and not partitions(d, unit)), None)


def merge_small_practices(raw: RawCounts, small: set[str]) -> RawCounts:
    """The counts with every practice in ``small`` counted as one (practices place each
    person once, so their counts add up)."""
    if "practice" not in raw.dims or not small:
        return raw
    index = raw.dims.index("practice")
    out = RawCounts(raw.dims)
    for kept, level in raw.by_level.items():
        if index not in kept:
            out.by_level[kept] = dict(level)
            continue
        pos = kept.index(index)
        merged: dict[tuple[Any, ...], int] = {}
        for key, n in level.items():
            if key[pos] in small:
                key = (*key[:pos], SMALL_PRACTICES, *key[pos + 1 :])
            merged[key] = merged.get(key, 0) + n
        out.by_level[kept] = merged
    return out


# ------------------------------------------------------------------- deciding


class Decided:
    """The published value of every count decided so far, by level and key, and which of
    the suppressed ones are withheld (may be 0)."""

    def __init__(self) -> None:
        self.values: dict[Level, dict[tuple[Any, ...], Published]] = {}
        self.withheld: set[tuple[Level, tuple[Any, ...]]] = set()

    def record(self, level: Level, key: tuple[Any, ...], table: Table, pos: Position) -> None:
        self.values.setdefault(level, {})[key] = table.get(pos)
        if pos in table.withheld:
            self.withheld.add((level, key))

    def given(
        self,
        margins: dict[Position, tuple[Level, tuple[Any, ...]]],
        min_line: int,
        hidden: frozenset[Position] = frozenset(),
        withheld: frozenset[Position] = frozenset(),
        zero: frozenset[Position] = frozenset(),
    ) -> Given:
        """What a table is given: its ``margins`` (position -> the count decided there)
        fixed as decided, withheld ones still withheld."""
        return Given(
            fixed={pos: self.values[level][key] for pos, (level, key) in margins.items()},
            hidden=hidden,
            withheld=withheld | {pos for pos, count in margins.items() if count in self.withheld},
            min_line=min_line,
            zero=zero,
        )


def decide(
    raw: RawCounts, values: list[list[Any]], rule: Rule, unit: str, levels: Sequence[Level]
) -> tuple[Decided, list[Table]]:
    """The published value of every count of ``levels``, coarsest first (see the module
    docstring), with the tables they were decided in. A count of one period (a month) is
    decided in that period's own tables, as for a report of its dates alone."""
    period = _period(raw.dims, unit)
    if period is None:
        return _decide(raw, values, rule, unit, levels)
    decided, tables = _decide(raw, values, rule, unit, [k for k in levels if period not in k])
    rest = tuple(d for i, d in enumerate(raw.dims) if i != period)
    inner = {k: tuple(i - (i > period) for i in k if i != period) for k in levels if period in k}
    for when in values[period]:
        sub = RawCounts(rest)
        for kept, short in inner.items():
            pos = kept.index(period)
            sub.by_level[short] = {
                (*key[:pos], *key[pos + 1 :]): n
                for key, n in raw.by_level.get(kept, {}).items()
                if key[pos] == when
            }
        found, more = _decide(
            sub, [v for i, v in enumerate(values) if i != period], rule, unit, list(inner.values())
        )
        tables += more
        for kept, short in inner.items():
            pos = kept.index(period)
            for key, value in found.values.get(short, {}).items():
                full = (*key[:pos], when, *key[pos:])
                decided.values.setdefault(kept, {})[full] = value
                if (short, key) in found.withheld:
                    decided.withheld.add((kept, full))
    return decided, tables


def _decide(
    raw: RawCounts, values: list[list[Any]], rule: Rule, unit: str, levels: Sequence[Level]
) -> tuple[Decided, list[Table]]:
    dims = raw.dims
    canonical = rule.canonical
    decided = Decided()
    decided.values[()] = {(): publish_count(raw.get((), ()), canonical)}
    tables: list[Table] = []
    for kept in sorted(levels, key=len):
        if kept and any(not values[i] for i in kept):  # nothing counted at all
            decided.values[kept] = {}
        elif len(kept) == 1:
            (i,) = kept
            table = protect_one_way(
                [raw.get(kept, (v,)) for v in values[i]],
                raw.get((), ()),
                partition=partitions(dims[i], unit),
                rule=canonical,
                given=decided.given({("total",): ((), ())}, canonical.min_population),
            )
            for n, v in enumerate(values[i]):
                decided.record(kept, (v,), table, ("cell", 0, n))
            tables.append(table)
        elif len(kept) == 2:
            tables.append(_two_way(raw, values, canonical, unit, decided, kept))
        elif len(kept) == 3:
            tables += _three_way(raw, values, canonical, unit, decided)
    if (rule.threshold, rule.base) != (canonical.threshold, canonical.base):
        for level in decided.values.values():
            for key, value in level.items():
                level[key] = coarsen(value, rule, canonical)
    return decided, tables


def _key(kept: Level, by_dim: dict[int, Any]) -> tuple[Any, ...]:
    return tuple(by_dim[i] for i in kept)


def _oriented(dims: tuple[str, ...], a: int, b: int) -> tuple[int, int]:
    """Rows and columns of a two-way table in the fixed order of dimensions, so that the
    same table is protected the same way whichever order a report names them in."""
    return (a, b) if _rank(dims[a]) <= _rank(dims[b]) else (b, a)


def _two_way(
    raw: RawCounts,
    values: list[list[Any]],
    rule: Rule,
    unit: str,
    decided: Decided,
    kept: Level,
) -> Table:
    r, c = _oriented(raw.dims, *kept)
    rows, cols = values[r], values[c]
    margins: dict[Position, tuple[Level, tuple[Any, ...]]] = {("total",): ((), ())}
    margins.update({("row", n): ((r,), (a,)) for n, a in enumerate(rows)})
    margins.update({("col", m): ((c,), (b,)) for m, b in enumerate(cols)})
    table = protect_two_way(
        [[raw.get(kept, _key(kept, {r: a, c: b})) for b in cols] for a in rows],
        [raw.get((r,), (a,)) for a in rows],
        [raw.get((c,), (b,)) for b in cols],
        raw.get((), ()),
        rows_partition=partitions(raw.dims[r], unit),
        cols_partition=partitions(raw.dims[c], unit),
        rule=rule,
        given=decided.given(margins, rule.min_population),
    )
    for n, a in enumerate(rows):
        for m, b in enumerate(cols):
            decided.record(kept, _key(kept, {r: a, c: b}), table, ("cell", n, m))
    return table


def _three_way(
    raw: RawCounts, values: list[list[Any]], rule: Rule, unit: str, decided: Decided
) -> list[Table]:
    """The cells of a three-way table, protected slice by slice along each dimension of
    ``_slicing`` until no slice hides more; every margin is given."""
    full: Level = (0, 1, 2)
    hidden: set[tuple[Any, ...]] = set()
    withheld: set[tuple[Any, ...]] = set()
    slicings = _slicing(raw.dims, unit)
    # the two-way margins published as 0: their cells are 0 in every slice
    zeros: dict[Level, set[tuple[Any, ...]]] = {
        pair: {key for key, value in decided.values.get(pair, {}).items() if value == 0}
        for pair in ((0, 1), (0, 2), (1, 2))
    }
    # a cell of a small group in any direction (also along a dimension that counts people
    # more than once, which no slice has as a line) is withheld in every slice
    for key in itertools.product(*values):
        if not _in_zero_margin(key, zeros) and any(
            raw.get(pair, (key[pair[0]], key[pair[1]])) < rule.min_population
            for pair in ((0, 1), (0, 2), (1, 2))
        ):
            withheld.add(key)
    while True:
        tables: list[Table] = []
        before = (len(hidden), len(withheld))
        for s in slicings:
            p, q = _oriented(raw.dims, *[x for x in range(3) if x != s])
            sp, sq = tuple(sorted((s, p))), tuple(sorted((s, q)))
            for v in values[s]:
                keys = [[_key(full, {s: v, p: a, q: b}) for b in values[q]] for a in values[p]]
                if raw.get((s,), (v,)) == 0:  # nothing in this slice
                    for line in keys:
                        for k in line:
                            decided.values.setdefault(full, {})[k] = 0
                    continue
                margins: dict[Position, tuple[Level, tuple[Any, ...]]] = {("total",): ((s,), (v,))}
                for n, a in enumerate(values[p]):
                    margins[("row", n)] = (sp, _key(sp, {s: v, p: a}))
                for m, b in enumerate(values[q]):
                    margins[("col", m)] = (sq, _key(sq, {s: v, q: b}))
                at = {k: ("cell", n, m) for n, line in enumerate(keys) for m, k in enumerate(line)}
                zero = frozenset(pos for k, pos in at.items() if _in_zero_margin(k, zeros))
                table = protect_two_way(
                    [[raw.get(full, k) for k in line] for line in keys],
                    [raw.get(sp, _key(sp, {s: v, p: a})) for a in values[p]],
                    [raw.get(sq, _key(sq, {s: v, q: b})) for b in values[q]],
                    raw.get((s,), (v,)),
                    rows_partition=partitions(raw.dims[p], unit),
                    cols_partition=partitions(raw.dims[q], unit),
                    rule=rule,
                    given=decided.given(
                        margins,
                        rule.min_population,
                        hidden=frozenset(at[k] for k in at if k in hidden),
                        withheld=frozenset(at[k] for k in at if k in withheld),
                        zero=zero,
                    ),
                )
                tables.append(table)
                for k, pos in at.items():
                    decided.record(full, k, table, pos)
                    if pos in table.withheld:
                        withheld.add(k)
                    elif table.get(pos) is None:
                        hidden.add(k)
        if len(slicings) == 1 or (len(hidden), len(withheld)) == before:
            return tables


def _in_zero_margin(key: tuple[Any, ...], zeros: dict[Level, set[tuple[Any, ...]]]) -> bool:
    a, b, c = key
    return (a, b) in zeros[(0, 1)] or (a, c) in zeros[(0, 2)] or (b, c) in zeros[(1, 2)]


# ------------------------------------------------------------------- reading


def shown_levels(n: int) -> list[Level]:
    """The levels a report of ``n`` dimensions shows: every cell and margin of a one- or
    two-way table; for three, one two-way table per value of the first."""
    if n == 1:
        return [(0,), ()]
    if n == 2:
        return [(0, 1), (0,), (1,), ()]
    return [(0, 1, 2), (0, 1), (0, 2), (0,)]


def in_counted(p: Plan, key: tuple[Any, ...]) -> tuple[Level, tuple[Any, ...]]:
    """The level and key, in the counted dimensions, of a row key of the report (``ALL``
    where a dimension is summed over)."""
    kept = tuple(i for i, k in enumerate(key) if k is not ALL)
    short = tuple(k for k in key if k is not ALL)
    if p.practice is not None and len(p.dims) > len(p.shown):
        return (0, *(i + 1 for i in kept)), (p.practice, *short)
    return kept, short


def row_keys(
    n: int, values: list[list[Any]], raw_first: dict[Any, int] | None = None
) -> list[tuple[Any, ...]]:
    """Every row key a report of ``n`` dimensions shows (``ALL`` in a summed dimension); for
    three, the slices of first values that counted something (``raw_first``)."""
    keys: list[tuple[Any, ...]] = []
    for kept in shown_levels(n):
        grid: list[tuple[Any, ...]] = [()]
        for i in range(n):
            options = values[i] if i in kept else [ALL]
            grid = [(*g, v) for g in grid for v in options]
        keys += grid
    if n == 3 and raw_first is not None:
        keys = [k for k in keys if raw_first.get(k[0], 0)]
    return keys


def published_values(
    p: Plan, decided: Decided, values: list[list[Any]], raw: RawCounts
) -> tuple[dict[tuple[Any, ...], Published], set[tuple[Any, ...]]]:
    """Every row key of the report -> its published value, read from the decisions, and
    the row keys whose value is withheld (shown ``*`` whatever it is, 0 included)."""
    shown_values = values[len(p.dims) - len(p.shown) :]
    firsts = None
    if len(p.shown) == 3:
        firsts = {v: raw.get((0,), (v,)) for v in shown_values[0]}
    out: dict[tuple[Any, ...], Published] = {}
    withheld: set[tuple[Any, ...]] = set()
    for key in row_keys(len(p.shown), shown_values, firsts):
        kept, short = in_counted(p, key)
        out[key] = decided.values[kept].get(short, 0)
        if (kept, short) in decided.withheld:
            withheld.add(key)
    return out, withheld

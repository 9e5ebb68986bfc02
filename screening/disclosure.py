"""Statistical disclosure control for published counts (pure functions, no database).

The rule (NHS England practice for sub-national counts):

* 0 stays 0; counts from 1 to ``threshold`` (default 7) are suppressed (shown ``*``);
  every other count is rounded to the nearest ``base`` (default 5, halves rounded up, never
  down to 0).
* Totals are computed from the unrounded data and then published by the same rule.
* Rates are computed from the *published* (rounded) counts, as NHS England does for
  percentages, and hidden where either count is: such a rate tells nothing its counts do not.
  (A rate from unrounded counts printed beside rounded ones gives the exact counts back:
  :func:`rate_leaks` finds that.) A mean (an ONS4 change) is shown only where its number of
  contributors is published, and only to a step (:func:`mean_step`) coarse enough that every
  number of contributors the rounded count stands for could have given it
  (:func:`mean_contributors`).
* Secondary suppression: in every line of a table (a row, a column, the row totals, the
  column totals; in a one-way table the whole table) whose total is published, if exactly
  one member is suppressed, the smallest published non-zero member is suppressed too;
  repeated until nothing changes.
* Then :func:`recoverable_cells` checks the published table and, while any suppressed value,
  or the exact count behind a rounded one, could still be worked out, more values are
  suppressed (see ``_protect``).
* Small groups (when asked, ``min_line``; reports use the rule's ``min_population``,
  default 10): every member of a line whose total is below it is *withheld*: shown ``*``
  whatever it is, zeros included (``*`` against ``0`` across a one-person row tells that
  person's needs). Members of a line whose total is 0 stay 0.
* Totals already published elsewhere (``fixed``): a table can be protected with some of
  its totals decided by a coarser table; then only its own values are suppressed, so that
  a total is the same in every report that shows it (``screening.counts.publish``).
* A stricter rule (a higher threshold or a coarser base) is applied to values already
  published by the default one (:func:`coarsen`), so that a report under a stricter rule
  tells nothing the default report does not (two roundings of one count would narrow it).

The checker (:func:`recoverable_cells`) models what a reader can know from the published
table alone: a published 0 is exactly 0; a published value ``v`` is an unrounded count in
``[v-2, v+2]`` (for base 5) that is also above the threshold; a ``*`` is any count of at
least 1 (the legend says "1 to 7, or hidden to protect another cell"), and a withheld one
any count of at least 0; a total that is not published at all is any count of at least 0.
A line whose dimension places every person in
exactly one category ("partitions") gives an equation: members add up to the total. Lines
that count people more than once (one person can have needs in several months) give no
equation and are not used by the checker (they only bound values; the line rule above is
still applied to them, which over-protects rather than under-protects).
The equations of a two-way table form a flow network (rows -> columns), so the feasible
values are exactly the circulations with those bounds, and every vertex is integral. A
value is recoverable exactly when it is the same in every feasible circulation,
which is the case when neither its increase nor its decrease lies on a cycle of the
residual graph of one feasible circulation (one max-flow, then a search per value).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil, floor
from typing import Any

DEFAULT_THRESHOLD = 7
DEFAULT_BASE = 5
DEFAULT_MIN_POPULATION = 10
SUPPRESSED_MARK = "*"
_INF = 10**12
# the steps a mean can be shown to (one decimal place each)
MEAN_STEPS = (Fraction(1, 10), Fraction(1, 5), Fraction(1, 2), Fraction(1))

Published = int | None  # None = suppressed ("*")
Position = tuple[Any, ...]  # ("cell", i, j), ("row", i), ("col", j) or ("total",)


@dataclass(frozen=True)
class Rule:
    """Disclosure rule: suppress 1..threshold, round the rest to a multiple of ``base``;
    a practice or group of fewer than ``min_population`` people is not shown on its own.

    Only stricter rules than the default can be made: a lower threshold, a finer rounding
    base or a smaller group is refused with ValueError.
    """

    threshold: int = DEFAULT_THRESHOLD
    base: int = DEFAULT_BASE
    min_population: int = DEFAULT_MIN_POPULATION

    def __post_init__(self) -> None:
        if self.threshold < DEFAULT_THRESHOLD:
            raise ValueError(
                f"suppression threshold {self.threshold} is below the minimum "
                f"{DEFAULT_THRESHOLD}: thresholds can only be raised"
            )
        if self.base < DEFAULT_BASE or self.base % DEFAULT_BASE:
            raise ValueError(
                f"rounding base {self.base} is not allowed: use a multiple of "
                f"{DEFAULT_BASE} of at least {DEFAULT_BASE}"
            )
        if self.min_population < DEFAULT_MIN_POPULATION:
            raise ValueError(
                f"smallest group of {self.min_population} people is below the minimum "
                f"{DEFAULT_MIN_POPULATION}: it can only be raised"
            )

    @property
    def smallest(self) -> int:
        """The smallest non-zero published value."""
        return max(self.base, _nearest(self.threshold + 1, self.base))

    @property
    def canonical(self) -> Rule:
        """The default rule with this rule's smallest group: what reports decide on."""
        return Rule(min_population=self.min_population)

    def interval(self, published: int) -> tuple[int, int]:
        """The unrounded counts that publish as ``published`` (a non-zero published value)."""
        high = published + (self.base - 1) // 2
        if published <= self.smallest:
            return self.threshold + 1, high
        return max(published - self.base // 2, self.threshold + 1), high


DEFAULT_RULE = Rule()


def _nearest(count: int, base: int) -> int:
    return ((2 * count + base) // (2 * base)) * base


def publish_count(count: int, rule: Rule = DEFAULT_RULE) -> Published:
    """0 -> 0; 1..threshold -> None (suppressed); otherwise rounded to the nearest base
    (never to 0: with a base of 20, 8 is published as 20)."""
    if count < 0:
        raise ValueError(f"a count cannot be negative ({count})")
    if count == 0:
        return 0
    if count <= rule.threshold:
        return None
    return max(_nearest(count, rule.base), rule.smallest)


def coarsen(value: Published, rule: Rule, canonical: Rule = DEFAULT_RULE) -> Published:
    """A value published by ``canonical`` shown under the stricter ``rule``: hidden when it
    could stand for a count of ``rule.threshold`` or fewer, else rounded again to a multiple
    of ``rule.base`` (halves to the even multiple). A function of the published value alone,
    so a stricter report tells nothing the canonical one does not."""
    if value is None or value == 0:
        return value
    if (rule.threshold, rule.base) == (canonical.threshold, canonical.base):
        return value
    if canonical.interval(value)[0] <= rule.threshold:
        return None
    quotient, rest = divmod(value, rule.base)
    if 2 * rest > rule.base or (2 * rest == rule.base and quotient % 2):
        quotient += 1
    return max(quotient * rule.base, rule.base)


def publish_rate(numerator: Published, denominator: Published, digits: int = 3) -> float | None:
    """A rate from the *published* counts (so it cannot undo their rounding), or None where
    either is suppressed or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, digits)


def mean_step(rule: Rule = DEFAULT_RULE) -> Fraction:
    """The step means are shown to: the finest of 0.1, 0.2, 0.5 and 1 that is at least one
    over the fewest contributors a published mean can have (threshold + 1). Then any number
    of contributors a published count stands for could give any shown mean."""
    fewest = rule.threshold + 1
    return next(step for step in MEAN_STEPS if step * fewest >= 1)


def publish_mean(
    total: float, n: int, n_published: Published, rule: Rule = DEFAULT_RULE
) -> float | None:
    """A mean over ``n`` values to the rule's step (halves up), hidden when ``n`` itself is
    suppressed or 0."""
    if n_published is None or n == 0:
        return None
    step = mean_step(rule)
    return float(floor(Fraction(total) / n / step + Fraction(1, 2)) * step)


def mean_contributors(
    mean: float, n_published: int, rule: Rule = DEFAULT_RULE, low: int = -10, high: int = 10
) -> list[int]:
    """The numbers of contributors a reader can still believe in from a mean (of whole
    values from ``low`` to ``high``, shown to the rule's step) beside its published count.
    Fewer than the count's interval: the mean has narrowed the count."""
    step = mean_step(rule)
    k = round(Fraction(str(mean)) / step)
    lo, hi = (0, 0) if n_published == 0 else rule.interval(n_published)
    out = []
    for n in range(max(lo, 1), hi + 1):
        first = max(ceil((k - Fraction(1, 2)) * step * n), low * n)
        if first < (k + Fraction(1, 2)) * step * n and first <= high * n:
            out.append(n)
    return out


def rate_leaks(
    rate: float | None,
    numerator: Published,
    denominator: Published,
    rule: Rule = DEFAULT_RULE,
    digits: int = 3,
    at_most: bool = True,
) -> list[str]:
    """What a rate shown beside its published counts gives away: [] when nothing. A rate
    from the published counts gives nothing. Any other rate is taken as one from unrounded
    counts (``at_most``: the numerator cannot exceed the denominator), and a count that
    only one unrounded value fits is reported."""
    if rate is None:
        return []
    if numerator is None or denominator is None:
        return ["a rate is shown beside a hidden count"]
    if rate == publish_rate(numerator, denominator, digits):
        return []
    spans = [(0, 0) if v == 0 else rule.interval(v) for v in (numerator, denominator)]
    fits = [
        (n, d)
        for n in range(spans[0][0], spans[0][1] + 1)
        for d in range(max(spans[1][0], 1), spans[1][1] + 1)
        if (n <= d or not at_most) and round(n / d, digits) == rate
    ]
    leaks = []
    for what, index in (("numerator", 0), ("denominator", 1)):
        values = {pair[index] for pair in fits}
        if len(values) == 1 and spans[index][0] < spans[index][1]:
            leaks.append(f"the {what} is exactly {values.pop()}")
    return leaks


def show(value: Published) -> str:
    """How a published count is written: ``*`` for suppressed."""
    return SUPPRESSED_MARK if value is None else str(value)


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Table:
    """A one-way (one row, ``row_totals`` None) or two-way table of published counts.

    ``cells[i][j]``; ``row_totals[i]``/``col_totals[j]`` are None in the tuple when suppressed,
    the tuples themselves are None when not published; ``total`` is the grand total (in a
    one-way table, the total of the only line). ``rows_partition``: every person is in at
    most one row (so column lines add up); ``cols_partition`` likewise for columns.
    ``withheld``: suppressed positions that may be 0 (a small group's line).
    """

    cells: tuple[tuple[Published, ...], ...]
    total: Published
    row_totals: tuple[Published, ...] | None = None
    col_totals: tuple[Published, ...] | None = None
    rows_partition: bool = True
    cols_partition: bool = True
    rule: Rule = field(default=DEFAULT_RULE)
    withheld: frozenset[Position] = frozenset()

    @property
    def one_way(self) -> bool:
        return self.row_totals is None and self.col_totals is None and len(self.cells) == 1

    def get(self, pos: Position) -> Published:
        kind = pos[0]
        if kind == "cell":
            return self.cells[pos[1]][pos[2]]
        if kind == "row":
            assert self.row_totals is not None
            return self.row_totals[pos[1]]
        if kind == "col":
            assert self.col_totals is not None
            return self.col_totals[pos[1]]
        return self.total

    def suppressed(self) -> list[Position]:
        return [p for p in _positions(self) if self.get(p) is None]


def _positions(table: Table) -> list[Position]:
    out: list[Position] = [
        ("cell", i, j) for i, row in enumerate(table.cells) for j in range(len(row))
    ]
    if table.row_totals is not None:
        out += [("row", i) for i in range(len(table.row_totals))]
    if table.col_totals is not None:
        out += [("col", j) for j in range(len(table.col_totals))]
    out.append(("total",))
    return out


def _lines(
    n_rows: int, n_cols: int, has_rows: bool, has_cols: bool
) -> list[tuple[list[Position], Position]]:
    """Every line of published members with its total."""
    lines: list[tuple[list[Position], Position]] = []
    if has_rows:
        for i in range(n_rows):
            lines.append(([("cell", i, j) for j in range(n_cols)], ("row", i)))
        lines.append(([("row", i) for i in range(n_rows)], ("total",)))
    elif n_rows == 1:
        lines.append(([("cell", 0, j) for j in range(n_cols)], ("total",)))
    if has_cols:
        for j in range(n_cols):
            lines.append(([("cell", i, j) for i in range(n_rows)], ("col", j)))
        lines.append(([("col", j) for j in range(n_cols)], ("total",)))
    return lines


# ------------------------------------------------------------------- protection


@dataclass(frozen=True)
class Given:
    """What is already decided for a table: totals published by a coarser table
    (``fixed``, never changed here), cells already suppressed or withheld in another view
    of the same cells, the smallest line whose members may be shown (``min_line``;
    0 = no small-group rule), and cells known to be 0 from a total published elsewhere."""

    fixed: Mapping[Position, Published] = field(default_factory=dict)
    hidden: frozenset[Position] = frozenset()
    withheld: frozenset[Position] = frozenset()
    min_line: int = 0
    zero: frozenset[Position] = frozenset()  # 0 by a total published as 0 elsewhere


NOTHING_GIVEN = Given()


def protect_one_way(
    values: Sequence[int],
    total: int | None = None,
    *,
    partition: bool = True,
    rule: Rule = DEFAULT_RULE,
    given: Given = NOTHING_GIVEN,
) -> Table:
    """Publish a one-way table: cells and its total (the sum unless given, e.g. distinct
    people when one person can be in several cells; then pass ``partition=False``)."""
    if total is None:
        if not partition:
            raise ValueError("a total must be given when categories overlap")
        total = sum(values)
    return _protect([list(values)], None, None, total, True, partition, rule, given)


def protect_two_way(
    cells: Sequence[Sequence[int]],
    row_totals: Sequence[int] | None = None,
    col_totals: Sequence[int] | None = None,
    total: int | None = None,
    *,
    rows_partition: bool = True,
    cols_partition: bool = True,
    rule: Rule = DEFAULT_RULE,
    given: Given = NOTHING_GIVEN,
) -> Table:
    """Publish a two-way table with row totals, column totals and a grand total.

    Totals default to sums; give them when a person can be counted in several cells
    (e.g. distinct people per row when the columns are months), and say which dimensions
    partition people.
    """
    grid = [list(r) for r in cells]
    n_cols = len(grid[0]) if grid else 0
    if any(len(r) != n_cols for r in grid):
        raise ValueError("every row of a table needs the same number of cells")
    if row_totals is None:
        if not cols_partition:
            raise ValueError("row totals must be given when columns overlap")
        row_totals = [sum(r) for r in grid]
    if col_totals is None:
        if not rows_partition:
            raise ValueError("column totals must be given when rows overlap")
        col_totals = [sum(grid[i][j] for i in range(len(grid))) for j in range(n_cols)]
    if total is None:
        if not (rows_partition and cols_partition):
            raise ValueError("a grand total must be given when categories overlap")
        total = sum(row_totals)
    return _protect(
        grid,
        list(row_totals),
        list(col_totals),
        total,
        rows_partition,
        cols_partition,
        rule,
        given,
    )


def _protect(
    cells: list[list[int]],
    row_totals: list[int] | None,
    col_totals: list[int] | None,
    total: int,
    rows_partition: bool,
    cols_partition: bool,
    rule: Rule,
    given: Given,
) -> Table:
    raw: dict[Position, int] = {}
    for i, row in enumerate(cells):
        for j, v in enumerate(row):
            raw[("cell", i, j)] = v
    if row_totals is not None:
        for i, v in enumerate(row_totals):
            raw[("row", i)] = v
    if col_totals is not None:
        for j, v in enumerate(col_totals):
            raw[("col", j)] = v
    raw[("total",)] = total
    if any(v < 0 for v in raw.values()):
        raise ValueError("a count cannot be negative")
    fixed = given.fixed
    pub: dict[Position, Published] = {
        p: fixed[p] if p in fixed else publish_count(v, rule) for p, v in raw.items()
    }
    held = set(given.withheld)
    for p in held | given.hidden:
        pub[p] = None
    n_rows, n_cols = len(cells), (len(cells[0]) if cells else 0)
    lines = _lines(n_rows, n_cols, row_totals is not None, col_totals is not None)
    # values whose 0 is public: the members of a line whose total is shown as 0, a total
    # whose members all are; they are shown as 0 (a given total too, in this table)
    known_zero = set(given.zero) | {m for members, tot in lines if pub[tot] == 0 for m in members}
    grown = True
    while grown:
        grown = False
        for members, tot in lines:
            if tot in known_zero and not known_zero.issuperset(members):
                known_zero.update(members)
                grown = True
            elif tot not in known_zero and known_zero.issuperset(members) and raw[tot] == 0:
                known_zero.add(tot)
                grown = True

    def withhold(positions: Iterable[Position]) -> bool:
        spare = {p for p in positions if p not in fixed and p not in held and p not in known_zero}
        held.update(spare)
        for p in spare:
            pub[p] = None
        return bool(spare)

    for members, tot in lines:  # small groups
        if raw[tot] < given.min_line:
            withhold(members)

    def smallest_published(members: list[Position], skip: Position | None = None) -> Position:
        candidates = [
            m for m in members if m != skip and m not in fixed and pub[m] is not None and raw[m] > 0
        ]
        if not candidates:
            return ()
        return min(candidates, key=lambda m: (raw[m], members.index(m)))

    def line_rule() -> None:
        changed = True
        while changed:
            changed = False
            for members, tot in lines:
                if pub[tot] is None:
                    continue
                hidden = [m for m in members if pub[m] is None]
                if len(hidden) != 1:
                    continue
                victim = smallest_published(members)
                if not victim and tot not in fixed:
                    victim = tot
                if victim:
                    pub[victim] = None
                    changed = True

    def build() -> Table:
        def get(p: Position) -> Published:
            return 0 if p in known_zero else pub[p]

        return Table(
            cells=tuple(tuple(get(("cell", i, j)) for j in range(n_cols)) for i in range(n_rows)),
            total=get(("total",)),
            row_totals=None
            if row_totals is None
            else tuple(get(("row", i)) for i in range(n_rows)),
            col_totals=None
            if col_totals is None
            else tuple(get(("col", j)) for j in range(n_cols)),
            rows_partition=rows_partition,
            cols_partition=cols_partition,
            rule=rule,
            withheld=frozenset(held - known_zero),
        )

    def hide_for(target: Position) -> bool:
        """Suppress one more value so that ``target`` cannot be worked out."""
        if target not in fixed and pub[target] is not None:
            pub[target] = None  # a rounded count whose exact value follows: hide it
            return True
        near: set[Position] = set()
        for members, tot in lines:
            if target != tot and target not in members:
                continue
            near.update(members, [tot])
            victim = smallest_published(members, skip=target)
            if not victim and pub[tot] is not None and tot != target and tot not in fixed:
                victim = tot
            if victim:
                pub[victim] = None
                return True
        # nothing left to hide around it: let its lines' hidden values be 0 too, then the
        # whole table's (with every own value withheld, a table tells no more than its
        # fixed totals, which were protected where they were decided)
        return withhold(near) or withhold(raw)

    line_rule()
    while True:
        table = build()
        exposed = recoverable_cells(table, published=True)
        if not exposed:
            return table
        if not hide_for(exposed[0][0]):  # pragma: no cover - see hide_for
            raise RuntimeError(f"cannot protect {exposed[0][0]}")
        line_rule()


# --------------------------------------------------------------------- the checker


class _Flow:
    """Dinic max-flow on integer capacities."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.head: list[list[int]] = [[] for _ in range(n)]
        self.to: list[int] = []
        self.cap: list[int] = []

    def add(self, u: int, v: int, cap: int) -> int:
        self.head[u].append(len(self.to))
        self.to.append(v)
        self.cap.append(cap)
        self.head[v].append(len(self.to))
        self.to.append(u)
        self.cap.append(0)
        return len(self.to) - 2

    def maxflow(self, s: int, t: int) -> int:
        flow = 0
        while True:
            level = [-1] * self.n
            level[s] = 0
            queue = deque([s])
            while queue:
                u = queue.popleft()
                for e in self.head[u]:
                    if self.cap[e] > 0 and level[self.to[e]] < 0:
                        level[self.to[e]] = level[u] + 1
                        queue.append(self.to[e])
            if level[t] < 0:
                return flow
            it = [0] * self.n
            while True:
                pushed = self._push(s, t, _INF * 4, level, it)
                if not pushed:
                    break
                flow += pushed

    def _push(self, s: int, t: int, limit: int, level: list[int], it: list[int]) -> int:
        # iterative DFS along the level graph
        path: list[int] = []
        u = s
        while True:
            if u == t:
                amount = min([limit, *(self.cap[e] for e in path)])
                for e in path:
                    self.cap[e] -= amount
                    self.cap[e ^ 1] += amount
                return amount
            advanced = False
            while it[u] < len(self.head[u]):
                e = self.head[u][it[u]]
                v = self.to[e]
                if self.cap[e] > 0 and level[v] == level[u] + 1:
                    path.append(e)
                    u = v
                    advanced = True
                    break
                it[u] += 1
            if not advanced:
                if not path:
                    return 0
                level[u] = -1  # dead end
                e = path.pop()
                u = self.to[e ^ 1]
                it[u] += 1


def _bounds(table: Table, pos: Position) -> tuple[int, int]:
    value = table.get(pos)
    if pos in table.withheld:
        return 0, _INF
    if value is None:
        return 1, _INF
    if value == 0:
        return 0, 0
    return table.rule.interval(value)


def recoverable_cells(table: Table, *, published: bool = False) -> list[tuple[Position, int]]:
    """Suppressed values (cells or totals) whose exact count follows from what is published,
    with that count; with ``published``, also rounded ones whose exact count follows. Empty
    when the table is safe. See the module docstring for the model."""
    n_rows = len(table.cells)
    n_cols = len(table.cells[0]) if table.cells else 0
    # nodes: r_i, c_j, S, K, F (free node relaxing lines that do not add up)
    r0, c0 = 0, n_rows
    s_node, k_node, f_node = n_rows + n_cols, n_rows + n_cols + 1, n_rows + n_cols + 2
    arcs: list[tuple[int, int, int, int, Position | None]] = []
    for i in range(n_rows):
        for j in range(n_cols):
            lo, hi = _bounds(table, ("cell", i, j))
            arcs.append((r0 + i, c0 + j, lo, hi, ("cell", i, j)))
    for i in range(n_rows):
        if table.row_totals is not None:
            lo, hi = _bounds(table, ("row", i))
            arcs.append((s_node, r0 + i, lo, hi, ("row", i)))
        else:
            arcs.append((s_node, r0 + i, 0, _INF, None))
    for j in range(n_cols):
        if table.col_totals is not None:
            lo, hi = _bounds(table, ("col", j))
            arcs.append((c0 + j, k_node, lo, hi, ("col", j)))
        else:
            arcs.append((c0 + j, k_node, 0, _INF, None))
    lo, hi = _bounds(table, ("total",))
    arcs.append((k_node, s_node, lo, hi, ("total",)))
    relaxed: list[int] = []
    if not table.cols_partition:  # row lines and the column-totals line do not add up
        relaxed += [r0 + i for i in range(n_rows)] + [k_node]
    if not table.rows_partition:
        relaxed += [c0 + j for j in range(n_cols)] + [s_node]
    for node in relaxed:
        arcs.append((node, f_node, 0, _INF, None))
        arcs.append((f_node, node, 0, _INF, None))

    flows = _circulation(n_rows + n_cols + 3, arcs)
    if flows is None:
        raise ValueError("the published table is inconsistent: no counts could produce it")
    # residual graph of the feasible circulation, as a bit set of next nodes per node, with
    # how many residual edges join each ordered pair (two arcs can give the same edge)
    n = n_rows + n_cols + 3
    adj = [0] * n
    edges: dict[tuple[int, int], int] = {}
    for (u, v, lo, hi, _), f in zip(arcs, flows, strict=True):
        if f < hi:
            adj[u] |= 1 << v
            edges[u, v] = edges.get((u, v), 0) + 1
        if f > lo:
            adj[v] |= 1 << u
            edges[v, u] = edges.get((v, u), 0) + 1
    closures: dict[int, int] = {}

    def reaches(start: int, goal: int, own_edge: bool) -> bool:
        # first whether goal is reachable at all (one closure per start node, shared);
        # only then, if the arc's own edge could be the way, the search without it
        if start not in closures:
            closures[start] = _closure(adj, start)
        if not closures[start] >> goal & 1:
            return False
        if not own_edge or edges.get((start, goal), 0) > 1:
            return True
        return _reaches(adj, edges, start, goal, True)

    out: list[tuple[Position, int]] = []
    for (u, v, lo, hi, pos), f in zip(arcs, flows, strict=True):
        if pos is None or lo == hi:  # not published at all, or an exact 0
            continue
        if table.get(pos) is not None and not published:
            continue
        # it can rise if a cycle goes u -> v along it and back v ~> u without using it
        # (its own residual edge v -> u, there when f > lo); it can fall the other way
        if f < hi and reaches(v, u, f > lo):
            continue
        if f > lo and reaches(u, v, f < hi):
            continue
        out.append((pos, f))
    return out


def _neighbours(adj: list[int], nodes: int) -> int:
    """Bit set of the nodes one step from any node in the bit set ``nodes``."""
    step = 0
    while nodes:
        low = nodes & -nodes
        step |= adj[low.bit_length() - 1]
        nodes ^= low
    return step


def _closure(adj: list[int], start: int) -> int:
    """Bit set of the nodes reachable from ``start`` (itself included)."""
    seen = frontier = 1 << start
    while frontier:
        frontier = _neighbours(adj, frontier) & ~seen
        seen |= frontier
    return seen


def _reaches(
    adj: list[int], edges: dict[tuple[int, int], int], start: int, goal: int, own_edge: bool
) -> bool:
    """Whether ``goal`` can be reached from ``start`` in the residual graph without the
    arc's own edge ``start -> goal`` (``own_edge``: that edge is there; another arc may
    give the same edge, which may then be used). A path that uses the edge later would
    have come back to ``start`` first, so only the start's own step is changed."""
    first = adj[start]
    if own_edge and edges.get((start, goal), 0) <= 1:
        first &= ~(1 << goal)
    seen = (1 << start) | first
    frontier = first
    target = 1 << goal
    while frontier:
        if frontier & target:
            return True
        frontier = _neighbours(adj, frontier) & ~seen
        seen |= frontier
    return False


def _circulation(
    n: int, arcs: list[tuple[int, int, int, int, Position | None]]
) -> list[int] | None:
    """A feasible integral circulation with the arcs' lower and upper bounds, or None."""
    flow = _Flow(n + 2)
    source, sink = n, n + 1
    excess = [0] * n
    ids = []
    for u, v, lo, hi, _ in arcs:
        if lo > hi:
            return None
        ids.append(flow.add(u, v, hi - lo))
        excess[v] += lo
        excess[u] -= lo
    need = 0
    for node, ex in enumerate(excess):
        if ex > 0:
            flow.add(source, node, ex)
            need += ex
        elif ex < 0:
            flow.add(node, sink, -ex)
    if flow.maxflow(source, sink) != need:
        return None
    return [lo + flow.cap[e ^ 1] for e, (_, _, lo, _, _) in zip(ids, arcs, strict=True)]

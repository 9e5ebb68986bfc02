"""Statistical disclosure control for published counts (pure functions, no database).

The rule (NHS England practice for sub-national counts):

* 0 stays 0; counts from 1 to ``threshold`` (default 7) are suppressed (shown ``*``);
  every other count is rounded to the nearest ``base`` (default 5, halves rounded up).
* Totals are computed from the unrounded data and then published by the same rule.
* Rates are computed from unrounded numbers and suppressed where the numerator or the
  denominator is suppressed.
* Secondary suppression: in every line of a table (a row, a column, the row totals, the
  column totals; in a one-way table the whole table) whose total is published, if exactly
  one member is suppressed, the smallest published non-zero member is suppressed too;
  repeated until nothing changes.
* Then :func:`recoverable_cells` checks the published table and, while any suppressed value
  could still be worked out exactly, more values are suppressed (see ``_protect``).

The checker (:func:`recoverable_cells`) models what a reader can know from the published
table alone: a published 0 is exactly 0; a published value ``v`` is an unrounded count in
``[v-2, v+2]`` (for base 5) that is also above the threshold; a ``*`` is any count of at
least 1 (the legend says "1 to 7, or hidden to protect another cell"); a total that is not
published at all is any count of at least 0. A line whose dimension places every person in
exactly one category ("partitions") gives an equation: members add up to the total. Lines
that count people more than once (one person can have needs in several months) give no
equation and are not used by the checker (they only bound values; the line rule above is
still applied to them, which over-protects rather than under-protects).
The equations of a two-way table form a flow network (rows -> columns), so the feasible
values are exactly the circulations with those bounds, and every vertex is integral. A
suppressed value is recoverable exactly when it is the same in every feasible circulation,
which is the case when neither its increase nor its decrease lies on a cycle of the
residual graph of one feasible circulation (one max-flow, then a search per hidden value).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_THRESHOLD = 7
DEFAULT_BASE = 5
SUPPRESSED_MARK = "*"
_INF = 10**12

Published = int | None  # None = suppressed ("*")
Position = tuple[Any, ...]  # ("cell", i, j), ("row", i), ("col", j) or ("total",)


@dataclass(frozen=True)
class Rule:
    """Disclosure rule: suppress 1..threshold, round the rest to a multiple of ``base``.

    Only stricter rules than the default can be made: a lower threshold or a finer rounding
    base is refused with ValueError.
    """

    threshold: int = DEFAULT_THRESHOLD
    base: int = DEFAULT_BASE

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

    def interval(self, published: int) -> tuple[int, int]:
        """The unrounded counts that publish as ``published`` (a non-zero published value)."""
        low = published - self.base // 2
        high = published + (self.base - 1) // 2
        return max(low, self.threshold + 1), high


DEFAULT_RULE = Rule()


def publish_count(count: int, rule: Rule = DEFAULT_RULE) -> Published:
    """0 -> 0; 1..threshold -> None (suppressed); otherwise rounded to the nearest base."""
    if count < 0:
        raise ValueError(f"a count cannot be negative ({count})")
    if count == 0:
        return 0
    if count <= rule.threshold:
        return None
    return ((2 * count + rule.base) // (2 * rule.base)) * rule.base


def publish_rate(
    numerator: int,
    denominator: int,
    numerator_published: Published,
    denominator_published: Published,
    digits: int = 3,
) -> float | None:
    """A rate from the unrounded counts, or None where either count is suppressed
    (or the denominator is 0)."""
    if numerator_published is None or denominator_published is None or denominator == 0:
        return None
    return round(numerator / denominator, digits)


def publish_mean(total: float, n: int, n_published: Published, digits: int = 1) -> float | None:
    """A mean over ``n`` people, hidden when ``n`` itself is suppressed or 0."""
    if n_published is None or n == 0:
        return None
    return round(total / n, digits)


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
    """

    cells: tuple[tuple[Published, ...], ...]
    total: Published
    row_totals: tuple[Published, ...] | None = None
    col_totals: tuple[Published, ...] | None = None
    rows_partition: bool = True
    cols_partition: bool = True
    rule: Rule = field(default=DEFAULT_RULE)

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


def protect_one_way(
    values: Sequence[int],
    total: int | None = None,
    *,
    partition: bool = True,
    rule: Rule = DEFAULT_RULE,
) -> Table:
    """Publish a one-way table: cells and its total (the sum unless given, e.g. distinct
    people when one person can be in several cells; then pass ``partition=False``)."""
    if total is None:
        if not partition:
            raise ValueError("a total must be given when categories overlap")
        total = sum(values)
    return _protect([list(values)], None, None, total, True, partition, rule)


def protect_two_way(
    cells: Sequence[Sequence[int]],
    row_totals: Sequence[int] | None = None,
    col_totals: Sequence[int] | None = None,
    total: int | None = None,
    *,
    rows_partition: bool = True,
    cols_partition: bool = True,
    rule: Rule = DEFAULT_RULE,
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
        grid, list(row_totals), list(col_totals), total, rows_partition, cols_partition, rule
    )


def _protect(
    cells: list[list[int]],
    row_totals: list[int] | None,
    col_totals: list[int] | None,
    total: int,
    rows_partition: bool,
    cols_partition: bool,
    rule: Rule,
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
    pub: dict[Position, Published] = {p: publish_count(v, rule) for p, v in raw.items()}
    n_rows, n_cols = len(cells), (len(cells[0]) if cells else 0)
    lines = _lines(n_rows, n_cols, row_totals is not None, col_totals is not None)

    def smallest_published(members: list[Position], skip: Position | None = None) -> Position:
        candidates = [m for m in members if m != skip and pub[m] is not None and raw[m] > 0]
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
                victim = smallest_published(members) or tot
                pub[victim] = None
                changed = True

    def build() -> Table:
        return Table(
            cells=tuple(tuple(pub[("cell", i, j)] for j in range(n_cols)) for i in range(n_rows)),
            total=pub[("total",)],
            row_totals=None
            if row_totals is None
            else tuple(pub[("row", i)] for i in range(n_rows)),
            col_totals=None
            if col_totals is None
            else tuple(pub[("col", j)] for j in range(n_cols)),
            rows_partition=rows_partition,
            cols_partition=cols_partition,
            rule=rule,
        )

    line_rule()
    while True:
        table = build()
        exposed = recoverable_cells(table)
        if not exposed:
            return table
        target = exposed[0][0]
        victim: Position = ()
        for members, tot in lines:
            if target != tot and target not in members:
                continue
            victim = smallest_published(members, skip=target)
            if not victim and pub[tot] is not None and tot != target:
                victim = tot
            if victim:
                break
        if not victim:  # pragma: no cover - everything around it is already hidden
            raise RuntimeError(f"cannot protect {target}")
        pub[victim] = None
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
    if value is None:
        return 1, _INF
    if value == 0:
        return 0, 0
    return table.rule.interval(value)


def recoverable_cells(table: Table) -> list[tuple[Position, int]]:
    """Suppressed values (cells or totals) whose exact count follows from what is published,
    with that count. Empty when the table is safe. See the module docstring for the model."""
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
        if pos is None or table.get(pos) is not None:
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

"""Grouped queries: the unrounded counts at every level of a table (cells and margins),
the levels that must be counted in SQL in one statement, the others summed from finer
cells."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.counts.copies import day_number, ensure_copies
from screening.counts.dimensions import Filters, parse_dimensions, partitions
from screening.counts.sql import cn_t, count_expr, month_key


@dataclass
class RawCounts:
    """Unrounded counts for every subset of the dimensions that a table publishes:
    ``by_level[kept]`` maps a tuple of the kept dimensions' keys to a count, where ``kept``
    is a tuple of dimension indexes (``()`` for the grand total)."""

    dims: tuple[str, ...]
    by_level: dict[tuple[int, ...], dict[tuple[Any, ...], int]] = field(default_factory=dict)

    def get(self, kept: tuple[int, ...], key: tuple[Any, ...]) -> int:
        return self.by_level.get(kept, {}).get(key, 0)

    @property
    def empty(self) -> bool:
        return not any(v for level in self.by_level.values() for v in level.values())


def _levels(n: int) -> list[tuple[int, ...]]:
    if n == 1:
        return [(0,), ()]
    if n == 2:
        return [(0, 1), (0,), (1,), ()]
    return [(0, 1, 2), (0, 1), (0, 2), (0,)]  # one two-way table per value of the first


def plan_levels(
    dims: tuple[str, ...], unit: str | None, levels: Sequence[tuple[int, ...]] | None = None
) -> tuple[list[tuple[int, ...]], dict[tuple[int, ...], tuple[int, ...]]]:
    """Which levels of a table (``levels``, finest first; by default those a table of
    ``dims`` shows) are counted in SQL and which are summed from a finer one.
    A level is summed when every dimension summed away places each counted ``unit`` in
    exactly one category (then a sum of distinct counts is the distinct count); a margin
    over a dimension that does not (a person with needs in two months) is counted."""
    parts = [unit is not None and partitions(d, unit) for d in dims]
    queried: list[tuple[int, ...]] = []
    summed: dict[tuple[int, ...], tuple[int, ...]] = {}
    for kept in levels if levels is not None else _levels(len(dims)):
        finer = next(
            (
                level
                for level in [*queried, *summed]
                if set(kept) < set(level) and all(parts[i] for i in set(level) - set(kept))
            ),
            None,
        )
        if finer is None:
            queried.append(kept)
        else:
            summed[kept] = finer
    return queried, summed


_INDEX_COLUMNS = ("code", "ethnic_category", "month", "person_key")


def _index_order(exprs: list[Any]) -> list[Any]:
    """GROUP BY terms in the order of the counting copy's indexes (the same groups in any
    order; PostgreSQL, unlike SQLite, reads an index in order only when the GROUP BY
    follows it)."""

    def rank(expr: Any) -> int:
        name = getattr(expr, "name", None)
        table = getattr(expr, "table", None)
        if table is cn_t and name in _INDEX_COLUMNS:
            return _INDEX_COLUMNS.index(name)
        return len(_INDEX_COLUMNS)

    return sorted(exprs, key=rank)


def _levels_statement(
    dialect: str,
    levels: list[tuple[int, ...]],
    exprs: list[Any],
    measures: list[Any],
    from_clause: Any,
    where: list[Any],
) -> Any:
    """One statement for several levels. PostgreSQL: ``GROUP BY GROUPING SETS`` (one
    pass; ``GROUPING()`` tells the levels apart). SQLite has no grouping sets: a ``UNION
    ALL`` of one GROUP BY per level, each read in index order where an index allows. The
    last columns are the level number and the counts (one per measure)."""
    if dialect == "postgresql":
        used = sorted({i for kept in levels for i in kept})
        sets = [sa.tuple_(*_index_order([exprs[i] for i in kept])) for kept in levels]
        flags = sa.func.grouping(*[exprs[i] for i in used])
        cols = [exprs[i].label(f"d{i}") if i in used else sa.null() for i in range(len(exprs))]
        return (
            sa.select(*cols, flags.label("lvl"), *_labelled(measures))
            .select_from(from_clause)
            .where(*where)
            .group_by(sa.func.grouping_sets(*sets))
        )
    parts = []
    for number, kept in enumerate(levels):
        cols = [
            exprs[i].label(f"d{i}") if i in kept else sa.null().label(f"d{i}")
            for i in range(len(exprs))
        ]
        query = (
            sa.select(*cols, sa.literal(number).label("lvl"), *_labelled(measures))
            .select_from(from_clause)
            .where(*where)
        )
        if kept:
            query = query.group_by(*_index_order([exprs[i] for i in kept]))
        parts.append(query)
    return sa.union_all(*parts)


def _labelled(measures: list[Any]) -> list[Any]:
    """The count columns: ``n`` for one measure (as ever), ``n0``, ``n1``, ... for several."""
    if len(measures) == 1:
        return [measures[0].label("n")]
    return [m.label(f"n{j}") for j, m in enumerate(measures)]


def _grouping_flags(levels: list[tuple[int, ...]]) -> dict[int, int]:
    """PostgreSQL's GROUPING(e0, e1, ...) value of each level -> the level's number (a bit
    per argument, the first argument highest, set when that expression is not grouped)."""
    used = sorted({i for kept in levels for i in kept})
    flags = {}
    for number, kept in enumerate(levels):
        value = 0
        for i in used:
            value = value * 2 + (0 if i in kept else 1)
        flags[value] = number
    return flags


def run_levels(
    session: Session,
    dims: tuple[str, ...],
    exprs: list[Any],
    measure: Any,
    from_clause: Any,
    where: list[Any],
    unit: str | None = None,
    keys: dict[int, Callable[[Any], Any]] | None = None,
    combine: bool = True,
    levels: Sequence[tuple[int, ...]] | None = None,
) -> RawCounts:
    """Counts at every level a table publishes (or ``levels``): the levels that must be
    counted in SQL in one statement (``combine``; else one query each), the others summed
    from a finer level. ``keys`` turns a dimension's raw value into its key (e.g. month
    numbers)."""
    return run_levels_many(
        session, dims, exprs, [measure], from_clause, where, unit, keys, combine, levels
    )[0]


def run_levels_many(
    session: Session,
    dims: tuple[str, ...],
    exprs: list[Any],
    measures: Sequence[Any],
    from_clause: Any,
    where: list[Any],
    unit: str | None = None,
    keys: dict[int, Callable[[Any], Any]] | None = None,
    combine: bool = True,
    levels: Sequence[tuple[int, ...]] | None = None,
) -> list[RawCounts]:
    """``run_levels`` for several measures over the same FROM, WHERE and levels, counted
    together (one pass over the rows instead of one per measure): the counts of each
    measure, in order, as ``run_levels`` gives them one at a time."""
    wanted = list(measures)
    width = len(wanted)
    raws = [RawCounts(dims) for _ in wanted]
    queried, summed = plan_levels(dims, unit, levels)
    dialect = session.get_bind().dialect.name
    keys = keys or {}

    # a key's raw values are cleaned once per distinct value (months, decimals from
    # PostgreSQL arithmetic), not once per row
    cleaned: list[dict[Any, Any]] = [{} for _ in dims]

    def clean(i: int, value: Any) -> Any:
        known = cleaned[i]
        if value not in known:
            convert = keys.get(i)
            known[value] = "" if value is None else convert(value) if convert else _clean_key(value)
        return known[value]

    def add(kept: tuple[int, ...], row: Sequence[Any]) -> None:
        key = tuple([clean(i, row[i]) for i in kept])
        counts = row[len(row) - width :]
        for raw, n in zip(raws, counts, strict=True):
            level = raw.by_level[kept]
            level[key] = level.get(key, 0) + int(n or 0)

    for kept in queried:
        for raw in raws:
            raw.by_level[kept] = {}
    if combine and len(queried) > 1 and dialect in ("postgresql", "sqlite"):
        statement = _levels_statement(dialect, queried, exprs, wanted, from_clause, where)
        flags = _grouping_flags(queried) if dialect == "postgresql" else None
        for row in session.execute(statement):
            number = int(row[len(exprs)])
            add(queried[flags[number] if flags is not None else number], row)
    else:
        for kept in queried:
            cols = [
                exprs[i].label(f"d{i}") if i in kept else sa.null().label(f"d{i}")
                for i in range(len(exprs))
            ]
            query = sa.select(*cols, *_labelled(wanted)).select_from(from_clause).where(*where)
            if kept:
                query = query.group_by(*_index_order([exprs[i] for i in kept]))
            for row in session.execute(query):
                add(kept, row)
    for raw in raws:
        for kept, finer in summed.items():  # finest first, so ``finer`` is always there
            total: dict[tuple[Any, ...], int] = {}
            where_in = [finer.index(i) for i in kept]
            for key, n in raw.by_level[finer].items():
                short = tuple([key[p] for p in where_in])
                total[short] = total.get(short, 0) + n
            raw.by_level[kept] = total
    return raws


def _clean_key(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        return int(value)
    return "" if value is None else value


def _needs_query(dims: tuple[str, ...], filters: Filters) -> tuple[list[Any], Any, Any, list[Any]]:
    """The pieces of the needs count: dimension expressions, measure, FROM and WHERE, all
    over the counting copy (one table, no join; the same SQL on both databases)."""
    c = cn_t.c
    exprs = [count_expr(d) for d in dims]
    where = []
    if filters.start:
        where.append(c.day >= day_number(filters.start))
    if filters.end:
        where.append(c.day <= day_number(filters.end))
    if filters.practice:
        where.append(c.practice_ods == filters.practice)
    return exprs, sa.func.count(sa.distinct(c.person_key)), cn_t, where


def _month_keys(dims: tuple[str, ...]) -> dict[int, Callable[[Any], Any]]:
    return {i: month_key for i, d in enumerate(dims) if d == "month"}


def cells_query(session: Session, by: str | Sequence[str], filters: Filters | None = None) -> Any:
    """The single GROUP BY of the finest cells of a needs table (for the benchmark)."""
    dims = parse_dimensions(by)
    exprs, measure, base, where = _needs_query(dims, filters or Filters())
    grouped = _index_order(exprs)
    return sa.select(*exprs, measure).select_from(base).where(*where).group_by(*grouped)


def needs_raw(
    session: Session,
    dims: tuple[str, ...],
    filters: Filters,
    combine: bool = True,
    levels: Sequence[tuple[int, ...]] | None = None,
) -> RawCounts:
    """Unrounded people-with-a-need counts at every level of the table, or at ``levels``
    (``combine=False`` runs one query per counted level instead of one statement: for the
    benchmark)."""
    ensure_copies(session)
    exprs, measure, base, where = _needs_query(dims, filters)
    tune_for_counting(session)
    return run_levels(
        session, dims, exprs, measure, base, where, "people", _month_keys(dims), combine, levels
    )


def tune_for_counting(session: Session) -> None:
    """SQLite: sort in memory and keep up to 64 MB of pages in the cache for this
    connection (a scan of a million index entries otherwise re-reads pages from the OS)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("PRAGMA temp_store=MEMORY"))
        session.execute(sa.text("PRAGMA cache_size=-65536"))

"""Many rows inserted at once through the database driver (the import's writes).

SQLAlchemy's own ``connection.execute(insert(table), rows)`` works out each row's
parameters one by one in Python; here the statement is compiled once for the dialect and
its bind processors (JSON text, SQLite's dates and booleans: the very functions
SQLAlchemy would apply) are run over plain tuples handed to the driver's
``executemany``. The same rows are stored, in the same transaction, on SQLite (plain or
SQLCipher) and PostgreSQL.

A value seen before is not processed again: a JSON value (lists of words, opening hours,
contacts: many services share the same) is written as text once and reused, looked up by
its MessagePack bytes (which tell apart every two values whose JSON differs); a date once
per day; a value repeated from the row before (the import's time) once. What is kept is
bounded (``MEMO``), so memory stays flat with the feed's size.

On SQLite the ids of the rows just inserted are known without reading them back: the
import's transaction holds the only write lock, so the rows of one ``executemany`` take
the ids after the table's largest, one after another (checked: the largest id after is
the largest before plus the rows inserted; otherwise, and on PostgreSQL, where other
sessions draw from the same sequence, the caller reads them back)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from typing import Any, cast

import msgspec
import sqlalchemy as sa
from sqlmodel import Session

IMPORT_CACHE_KIB = 8 * 1024
"""SQLite's page cache while an import writes (KiB). An import is one transaction: with
SQLite's default of 2 MiB, the pages of the service table's indexes (feed ids arrive in no
order) are spilled to the log and read back over and over. At 100,000 services (writer
alone, bench/import_writer.py, load ~5): 2 MiB 5.23 s CPU, 8 MiB 4.60 s, 16 MiB 4.39 s;
the cache's memory stays taken until the process ends (freed, not given back), and the
import's peak RSS (at the index save) is near its goal: 16 MiB added 14-18 MB there."""

MEMO = 10_000
"""The most values one column remembers as processed."""

_KEY = msgspec.msgpack.Encoder()
_UNSET = object()


def _json_memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` (a JSON column's) with the text of each value remembered."""
    seen: dict[bytes, Any] = {}
    encode = _KEY.encode

    def cached(value: Any) -> Any:
        try:
            key = encode(value)
        except Exception:  # (not plain data, or beyond MessagePack: a huge number)
            return process(value)
        found = seen.get(key)
        if found is None:
            found = process(value)
            if len(seen) < MEMO:
                seen[key] = found
        return found

    return cached


def _repeat_memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` with the value of the row before reused when it is the same object (the
    import's time in every row), and each date's text remembered."""
    last_in: Any = _UNSET
    last_out: Any = None
    dates: dict[date, Any] = {}

    def cached(value: Any) -> Any:
        nonlocal last_in, last_out
        if value is last_in:
            return last_out
        if type(value) is date:
            out = dates.get(value, _UNSET)
            if out is _UNSET:
                out = process(value)
                if len(dates) < MEMO:
                    dates[value] = out
        else:
            out = process(value)
        last_in, last_out = value, out
        return out

    return cached


class Inserter:
    """Rows of ``table`` with the columns ``names`` (tuples in that order), inserted a
    batch at a time in the connection's transaction. Made once for many batches: the
    statement is compiled once and the processed values are remembered across them."""

    def __init__(self, conn: sa.Connection, table: sa.Table, names: Sequence[str]) -> None:
        dialect = conn.dialect
        self.table = table
        self.names = list(names)
        compiled = sa.insert(table).compile(dialect=dialect, column_keys=self.names)
        order = list(compiled.positiontup or []) if dialect.positional else list(compiled.binds)
        # a column with a default not given: SQLAlchemy's own way
        self.own_way = set(order) != set(self.names)
        self.sql = compiled.string
        self.positional = dialect.positional
        self.order = order
        self.take = [self.names.index(n) for n in order] if not self.own_way else []
        processors = cast(dict[str, Callable[[Any], Any]], dict(compiled._bind_processors))
        json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
        self.processors = [
            None
            if name not in processors
            else (_json_memo if name in json_columns else _repeat_memo)(processors[name])
            for name in order
        ]
        pk = list(table.primary_key.columns)
        quote = dialect.identifier_preparer
        self.max_id = (
            f"SELECT max({quote.quote(pk[0].name)}) FROM {quote.format_table(table)}"
            if dialect.name == "sqlite"
            and len(pk) == 1
            and isinstance(pk[0].type, sa.Integer)
            and pk[0].name not in self.names  # (ids given are not drawn)
            else None
        )

    def insert(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows``."""
        if not rows:
            return
        if self.own_way:
            conn.execute(
                sa.insert(self.table), [dict(zip(self.names, r, strict=True)) for r in rows]
            )
            return
        # a column at a time (its processor mapped over it in C), then zipped into rows
        columns = list(zip(*rows, strict=True))
        taken = [
            columns[i] if process is None else map(process, columns[i])
            for i, process in zip(self.take, self.processors, strict=True)
        ]
        params: list[Any]
        if self.positional:
            params = list(zip(*taken, strict=True))
        else:
            order = self.order
            params = [dict(zip(order, values, strict=True)) for values in zip(*taken, strict=True)]
        conn.exec_driver_sql(self.sql, params)

    def insert_ids(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> list[int] | None:
        """Insert ``rows``; their ids in order where the database tells them for certain
        (SQLite), else None (the caller reads them back)."""
        if self.max_id is None or self.own_way or not rows:
            self.insert(conn, rows)
            return None if rows else []
        before = conn.exec_driver_sql(self.max_id).scalar() or 0
        self.insert(conn, rows)
        after = conn.exec_driver_sql(self.max_id).scalar()
        if after != before + len(rows):  # (not the usual ids: never guessed)
            return None
        return list(range(before + 1, after + 1))


def insert_rows(
    session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> list[int] | None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in ``session``'s
    transaction; their ids as ``Inserter.insert_ids`` gives them."""
    if not rows:
        return []
    conn = session.connection()
    names = list(rows[0])
    inserter = Inserter(conn, table, names)
    return inserter.insert_ids(conn, [tuple(row[n] for n in names) for row in rows])


@contextmanager
def import_cache(conn: sa.Connection) -> Iterator[None]:
    """SQLite's page cache at ``IMPORT_CACHE_KIB`` while the import writes, then put back
    (pages written but not yet committed are kept until the commit whatever the size:
    nothing else changes). PostgreSQL is left as it is."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
    # (a negative size is KiB, a positive one pages)
    page = int(conn.exec_driver_sql("PRAGMA page_size").scalar() or 0)
    if (-before if before < 0 else before * page // 1024) >= IMPORT_CACHE_KIB:
        yield  # already as large
        return
    conn.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB:d}")
    try:
        yield
    except BaseException:
        # (a connection the error left unusable must not hide the error with its own)
        with suppress(sa.exc.SQLAlchemyError):
            conn.exec_driver_sql(f"PRAGMA cache_size = {before:d}")
        raise
    conn.exec_driver_sql(f"PRAGMA cache_size = {before:d}")

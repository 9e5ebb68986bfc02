"""Many rows inserted at once through the database driver (the import's writes).

SQLAlchemy's own ``connection.execute(insert(table), rows)`` works out each row's
parameters one by one in Python; here the statement is compiled once for the dialect and
its bind processors (JSON text, SQLite's dates and booleans: the very functions
SQLAlchemy would apply) are run over plain tuples handed to the driver's
``executemany``. The same rows are stored, in the same transaction, on SQLite (plain or
SQLCipher) and PostgreSQL. A JSON list of words seen before (languages, categories,
needs) is written as text once and reused."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session

# JSON columns holding lists of words: many services share the same list
WORD_LISTS = frozenset({"languages", "taxonomy_terms", "domains", "z_codes"})


def _memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    seen: dict[tuple[str, ...], Any] = {}

    def cached(value: Any) -> Any:
        if type(value) is not list:
            return process(value)
        key = tuple(value)
        try:
            found = seen.get(key)
        except TypeError:  # not a list of words: nothing to share
            return process(value)
        if found is None:
            found = process(value)
            if len(seen) < 10_000 and all(type(v) is str for v in key):
                seen[key] = found
        return found

    return cached


def insert_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in ``session``'s
    transaction."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=keys)
    names = list(compiled.positiontup or []) if dialect.positional else list(compiled.binds)
    if set(names) != set(keys):  # a column with a default not given: SQLAlchemy's own way
        conn.execute(sa.insert(table), list(rows))
        return
    processors = cast(dict[str, Callable[[Any], Any]], dict(compiled._bind_processors))
    for name in WORD_LISTS & processors.keys():
        processors[name] = _memo(processors[name])
    # a column at a time (its processor mapped over it in C), then zipped into rows
    columns = []
    for name in names:
        values = [row[name] for row in rows]
        process = processors.get(name)
        columns.append(values if process is None else list(map(process, values)))
    params: list[Any]
    if dialect.positional:
        params = list(zip(*columns, strict=True))
    else:
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    conn.exec_driver_sql(compiled.string, params)

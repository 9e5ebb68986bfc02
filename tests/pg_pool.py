"""PostgreSQL databases for the tests: copies of one worker's migrated template, each test
given one exactly as a fresh copy would be, without a CREATE DATABASE per test.

A fresh copy (``CREATE DATABASE ... TEMPLATE``) costs 0.1-1 s (the copy goes through the
WAL; dropping it afterwards forces more I/O). After a test its database is put back instead:

1. every other session on it is ended and it is renamed to a new, unused name (so a process
   the test left behind, holding the old URL, can no longer reach it, as when it was dropped);
2. a fingerprint of its catalogs (every object made after initdb, whole catalog rows: tables,
   columns, defaults, constraints, indexes, sequences' definitions, grants, owners, row-level
   security and policies, triggers, functions, types, views, comments, dependencies, extensions,
   the database's own grants and settings; and the rows of the tables the template holds rows
   in, i.e. ``alembic_version``) is compared with a fresh copy's. Object ids are part of it, so
   a table or policy dropped and made again (a migration down and up, ``linkwork db upgrade``
   re-applying the grants) counts as a change even if it reads the same;
3. if anything differs, or anything fails, the database is dropped and the next test gets a
   fresh copy (the safe fallback: tests that change the schema, grants or alembic history need
   no marker); otherwise every table that has ever held a row since (``pg_relation_size`` > 0;
   an untouched table is still the template's) is emptied by one TRUNCATE ... RESTART IDENTITY
   CASCADE and every sequence set back to the template's state.

Roles are cluster-wide: a fresh copy never reset them either (tests that make logins drop
them). ``LINKWORK_TEST_PG_VERIFY=1`` also compares ``pg_dump`` (schema and data) of every
database put back with a fresh copy's, and fails the test run's teardown if they differ.
``LINKWORK_TEST_PG_STATS=FILE`` appends one line per worker: copies made, reuses, fallbacks.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa

FIRST_NORMAL_OID = 16384  # objects with a smaller id come with initdb (pg_catalog, ...)

# Per-database catalogs and the column holding the id of the object each row belongs to.
_CATALOGS = {
    "pg_namespace": "oid",
    "pg_type": "oid",
    "pg_proc": "oid",
    "pg_attribute": "attrelid",
    "pg_attrdef": "oid",
    "pg_constraint": "oid",
    "pg_index": "indexrelid",
    "pg_inherits": "inhrelid",
    "pg_trigger": "oid",
    "pg_policy": "oid",
    "pg_rewrite": "oid",
    "pg_sequence": "seqrelid",
    "pg_depend": "objid",
    "pg_description": "objoid",
    "pg_extension": "oid",
    "pg_event_trigger": "oid",
    "pg_default_acl": "oid",
    "pg_init_privs": "objoid",
    "pg_enum": "oid",
    "pg_range": "rngtypid",
    "pg_aggregate": "aggfnoid",
    "pg_am": "oid",
    "pg_amop": "oid",
    "pg_amproc": "oid",
    "pg_opclass": "oid",
    "pg_opfamily": "oid",
    "pg_operator": "oid",
    "pg_cast": "oid",
    "pg_collation": "oid",
    "pg_conversion": "oid",
    "pg_language": "oid",
    "pg_ts_config": "oid",
    "pg_ts_config_map": "mapcfg",
    "pg_ts_dict": "oid",
    "pg_ts_parser": "oid",
    "pg_ts_template": "oid",
    "pg_foreign_data_wrapper": "oid",
    "pg_foreign_server": "oid",
    "pg_foreign_table": "ftrelid",
    "pg_user_mapping": "oid",
    "pg_publication": "oid",
    "pg_publication_rel": "oid",
    "pg_publication_namespace": "oid",
    "pg_statistic_ext": "oid",
    "pg_largeobject_metadata": "oid",
    "pg_transform": "oid",
    "pg_partitioned_table": "partrelid",
    "pg_seclabel": "objoid",
}
# Columns left out: what emptying a table or ANALYZE changes in pg_class (file node, sizes,
# xids), and in pg_database the name (a new one per test), id and xids.
_VOLATILE = {
    "pg_class": ("relfilenode", "relpages", "reltuples", "relallvisible", "relfrozenxid",
                 "relminmxid"),
    "pg_database": ("oid", "datname", "datfrozenxid", "datminmxid"),
}  # fmt: skip
_COLUMNS_SQL = """
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attname <> ALL(%s)
"""
_THIS_DB = "(SELECT oid FROM pg_database WHERE datname = current_database())"


def _fingerprint_sql(kept_tables: list[str], columns: dict[str, str]) -> str:
    parts = [
        f"SELECT 'pg_class ' || ROW({columns['pg_class']})::text FROM pg_class"
        f" WHERE oid >= {FIRST_NORMAL_OID}"
    ]
    for catalog, column in _CATALOGS.items():
        extra = f" OR refobjid >= {FIRST_NORMAL_OID}" if catalog == "pg_depend" else ""
        parts.append(
            f"SELECT '{catalog} ' || x::text FROM {catalog} x"
            f" WHERE {column} >= {FIRST_NORMAL_OID}{extra}"
        )
    parts += [
        # the database itself: its grants, limits and settings (not its name, id or xids)
        f"SELECT 'pg_database ' || ROW({columns['pg_database']})::text FROM pg_database"
        " WHERE datname = current_database()",
        f"SELECT 'pg_db_role_setting ' || ROW(setrole, setconfig)::text"
        f" FROM pg_db_role_setting WHERE setdatabase = {_THIS_DB}",
        f"SELECT 'pg_shdepend ' || ROW(classid, objid, objsubid, refclassid, refobjid,"
        f" deptype)::text FROM pg_shdepend WHERE dbid = {_THIS_DB}",
        f"SELECT 'pg_shdescription ' || x::text FROM pg_shdescription x WHERE objoid = {_THIS_DB}",
    ]
    for table in kept_tables:  # the template's rows, where they are, as they are
        parts.append(f"SELECT 'rows {table} ' || ctid::text || ' ' || x::text FROM {table} x")
    union = "\nUNION ALL ".join(parts)
    order = 'ORDER BY part COLLATE "C"'
    return f"SELECT md5(string_agg(part, E'\\n' {order})) FROM ({union}) AS fp(part)"


_TABLES_SQL = f"""
SELECT c.oid::int, c.oid::regclass::text FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND c.oid >= {FIRST_NORMAL_OID}
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 2
"""
_SEQUENCES_SQL = f"""
SELECT c.oid::regclass::text FROM pg_class c
WHERE c.relkind = 'S' AND c.oid >= {FIRST_NORMAL_OID} ORDER BY 1
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class PgPool:
    """One worker's databases: ``acquire`` a clean one, ``release`` it after the test."""

    admin_url: str  # SQLAlchemy URL of the cluster's maintenance database, as a superuser
    template: str
    prefix: str
    verify: bool = field(default_factory=lambda: os.environ.get("LINKWORK_TEST_PG_VERIFY") == "1")
    clean: list[str] = field(default_factory=list)
    made: int = 0
    reused: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)
    _admin: Any = None
    _reference: str | None = None
    _fingerprint_sql: str = ""
    _emptied: list[int] = field(default_factory=list)  # tables empty in the template
    _sequences: str = ""  # one statement setting every sequence back
    _dump: str | None = None

    def conninfo(self, database: str) -> str:
        url = sa.make_url(self.admin_url).set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    def url(self, database: str) -> str:
        return (
            sa.make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)
        )

    def _admin_conn(self) -> Any:
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.conninfo("postgres"), autocommit=True)
        return self._admin

    def _new_name(self) -> str:
        return f"{self.prefix}_{uuid.uuid4().hex[:10]}"

    def acquire(self) -> str:
        if self.clean:
            self.reused += 1
            return self.clean.pop()
        return self._copy()

    def _copy(self) -> str:
        name = self._new_name()
        self._admin_conn().execute(
            f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(self.template)}"
        )
        self.made += 1
        if self._reference is None:
            self._learn(name)
        return name

    def _learn(self, name: str) -> None:
        """What a fresh copy holds: its fingerprint, its tables, its sequences' state."""
        with psycopg.connect(self.conninfo(name)) as conn:
            tables = conn.execute(_TABLES_SQL).fetchall()
            kept, emptied = [], []
            for oid, table in tables:
                if conn.execute(f"SELECT EXISTS (SELECT FROM {table})").fetchone()[0]:
                    kept.append(table)
                else:
                    emptied.append(oid)
            columns = {
                catalog: conn.execute(_COLUMNS_SQL, (catalog, list(left_out))).fetchone()[0]
                for catalog, left_out in _VOLATILE.items()
            }
            self._fingerprint_sql = _fingerprint_sql(kept, columns)
            self._emptied = emptied
            states = []
            for (sequence,) in conn.execute(_SEQUENCES_SQL).fetchall():
                value, called = conn.execute(
                    f"SELECT last_value, is_called FROM {sequence}"
                ).fetchone()
                states.append(f"setval('{sequence}', {int(value)}, {bool(called)})")
            self._sequences = f"SELECT {', '.join(states)}" if states else ""
            self._reference = conn.execute(self._fingerprint_sql).fetchone()[0]
        if self.verify:
            self._dump = self._pg_dump(name)

    def _fallback(self, name: str, reason: str) -> None:
        self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1
        self.drop(name)

    def drop(self, name: str) -> None:
        self._admin_conn().execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")

    def release(self, name: str) -> None:
        """Put ``name`` back as a fresh copy would be, under a new name, or drop it."""
        admin = self._admin_conn()
        fresh = self._new_name()
        try:
            others = (
                "SELECT {} FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            )
            admin.execute(others.format("pg_terminate_backend(pid)"), (name,))
            # RENAME waits for the ended sessions to go, but in steps of 0.1 s: wait here in
            # shorter ones (the test's own sessions, closed by it, are usually still exiting)
            for _ in range(400):
                if not admin.execute(others.format("1"), (name,)).fetchone():
                    break
                time.sleep(0.005)
            # waits (up to 5 s) for the ended sessions to go; fails if one is still there
            admin.execute(f"ALTER DATABASE {_quote(name)} RENAME TO {_quote(fresh)}")
        except psycopg.Error:
            self._fallback(name, "rename")
            return
        try:
            with psycopg.connect(self.conninfo(fresh)) as conn:
                if conn.execute(self._fingerprint_sql).fetchone()[0] != self._reference:
                    changed = True
                else:
                    changed = False
                    used = conn.execute(
                        "SELECT c.oid::regclass::text FROM pg_class c"
                        " WHERE c.oid = ANY(%s) AND pg_relation_size(c.oid) > 0",
                        (self._emptied,),
                    ).fetchall()
                    if used:
                        tables = ", ".join(table for (table,) in used)
                        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
                    if self._sequences:
                        conn.execute(self._sequences)
        except psycopg.Error:
            self._fallback(fresh, "error")
            return
        if changed:
            self._fallback(fresh, "changed")
            return
        if self.verify:
            dump = self._pg_dump(fresh)
            if dump != self._dump:
                self.drop(fresh)
                raise AssertionError(f"database {name} put back differs from a fresh copy")
        self.clean.append(fresh)

    def _pg_dump(self, name: str) -> str:
        text = subprocess.run(
            ["pg_dump", "-d", self.conninfo(name)], check=True, capture_output=True, text=True
        ).stdout
        # pg_dump 15.14+ fences its output with a random key: \restrict KEY ... \unrestrict KEY
        return "\n".join(line for line in text.splitlines() if "restrict " not in line[:12])

    def close(self) -> None:
        for name in self.clean:
            self.drop(name)
        self.clean.clear()
        if self._admin is not None:
            self._admin.close()

    def stats(self) -> str:
        fallbacks = sum(self.fallbacks.values())
        return (
            f"{self.prefix}: {self.made} copies made, {self.reused} reused, {fallbacks} "
            f"put back failed or changed {dict(sorted(self.fallbacks.items()))}"
        )

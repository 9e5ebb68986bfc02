"""Benchmark: count 1,000,000 recorded needs by need x month x ethnic category.

Generates synthetic people and needs (bulk inserts: executemany on SQLite, COPY on
PostgreSQL; no ORM objects), makes their counting copies (``count_need``, with
``sync_counts``: the same INSERT ... SELECT as migration cnt_0002), then times, in the
same run:

* floor: every row of the copy read through the same index, without grouping;
* before: the previous method, need JOIN person with the same GROUP BY (once; without the
  join's covering indexes of cnt_0001, which cnt_0002 drops: with them the previous build
  took 2.8 s on SQLite and 2.5-3.7 s on PostgreSQL in this benchmark);
* TARGET: the GROUP BY of the cells (distinct people by need x month x ethnic category);
* the check that every need has its copy (part of every needs report);
* the raw counts of the whole table (cells and margins: the margin over months is a
  distinct count and is counted, margins over ethnic category are summed), with one query
  per counted level and with one statement (GROUPING SETS on PostgreSQL, UNION ALL on
  SQLite);
* the whole ``needs_report`` with disclosure control.

The cells are checked against the previous method's (same numbers). Wall time and the CPU
time of this process are printed with the load average: on a shared machine the wall time
also measures the neighbours. ``--out FILE`` also writes the figures to FILE.

SQLite always; PostgreSQL too when PG* variables are set (e.g. under ``pg_virtualenv``).

    .venv/bin/python bench/counts.py                  # 1,000,000 needs, 100,000 people
    .venv/bin/python bench/counts.py --needs 100000   # a quicker look
    pg_virtualenv -v 15 .venv/bin/python bench/counts.py --out bench/out/counts.txt
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from linkwork import db as lwdb
from screening import counts
from screening.models import Need, Person

ETHNIC = [
    ("A", 73.5), ("B", 0.9), ("C", 6.2), ("D", 0.9), ("E", 0.4), ("F", 0.8), ("G", 0.8),
    ("H", 3.1), ("J", 2.7), ("K", 1.1), ("L", 1.6), ("M", 1.1), ("N", 2.4), ("P", 0.5),
    ("R", 0.8), ("S", 1.6), ("Z", 1.0), ("99", 0.6),
]  # fmt: skip
PRACTICES = ["Y02101", "Y02102", "Y02203", "Y02304", "Y02405", "Y02506"]
CHUNK = 50_000


def _codes() -> list[tuple[str, str, str, str]]:
    from codes.catalogue import load_catalogue

    cat = load_catalogue()
    return [(c.code, c.system, c.display, c.domain) for c in cat.all() if "." in c.code]


def _people_rows(n: int, rng: random.Random) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    codes, weights = zip(*ETHNIC, strict=True)
    ethnic = rng.choices(codes, weights=weights, k=n)
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "given_name": "Bench",
                "family_name": f"Person{i}",
                "birth_date": date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65)),
                "nhs_number": None,
                "postcode": "",
                "phone": "",
                "email": "",
                "contact_preference": "",
                "practice_ods": rng.choice(PRACTICES),
                "ethnic_category": ethnic[i],
                "sex": rng.choice(("female", "male")),
                "gender_same_as_birth": "not-asked",
                "sexual_orientation": "not-asked",
                "disability": rng.choice(("yes", "no", "not-asked")),
                "religion": "not-asked",
                "main_language": "not-asked",
                "interpreter_needed": "not-asked",
                "immigration_status": "not-asked",
                "created_at": now,
                "created_by": "bench",
                "updated_at": now,
            }
        )
    return rows


def _need_rows(
    n: int, people: list[str], rng: random.Random, start: int
) -> list[dict[str, object]]:
    codes = _CODES
    base = datetime.now(UTC) - timedelta(days=548)
    rows = []
    for _ in range(n):
        code, system, display, domain = codes[rng.randrange(len(codes))]
        rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "person_id": people[rng.randrange(len(people))],
                "code": code,
                "system": system,
                "display": display,
                "domain": domain,
                "status": "active",
                "words": "",
                "priority": "medium",
                "recorded_at": base + timedelta(seconds=rng.randrange(548 * 86400)),
                "recorded_by": "bench",
                "screening_id": None,
                "resolved_at": None,
                "resolved_by": None,
            }
        )
    return rows


_CODES: list[tuple[str, str, str, str]] = []


def _insert_sqlite(engine: sa.Engine, table: sa.Table, rows: list[dict[str, object]]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(table), rows)


def _insert_pg(engine: sa.Engine, table: sa.Table, rows: list[dict[str, object]]) -> None:
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cols = ", ".join(columns)
        with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row([row[c] for c in columns])
        raw.commit()
    finally:
        raw.close()


def generate(engine: sa.Engine, n_people: int, n_needs: int, seed: int) -> tuple[float, float]:
    """Records bulk-inserted, then their counting copies made by ``sync_counts`` (the same
    INSERT ... SELECT as migration cnt_0002's fill). Returns both times."""
    rng = random.Random(seed)
    insert = _insert_pg if engine.dialect.name == "postgresql" else _insert_sqlite
    person_t = Person.__table__  # type: ignore[attr-defined]
    need_t = Need.__table__  # type: ignore[attr-defined]
    started = time.perf_counter()
    people = _people_rows(n_people, rng)
    for i in range(0, n_people, CHUNK):
        insert(engine, person_t, people[i : i + CHUNK])
    ids = [str(p["id"]) for p in people]
    done = 0
    while done < n_needs:
        size = min(CHUNK, n_needs - done)
        insert(engine, need_t, _need_rows(size, ids, rng, done))
        done += size
    records = time.perf_counter() - started
    started = time.perf_counter()
    with Session(engine) as session:
        counts.sync_counts(session)
        session.commit()
    copies = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # PostgreSQL: VACUUM too, so that index-only scans need not visit the table
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    return records, copies


def _timed(fn, repeat: int = 3) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """Best wall time, the CPU time of that run (this process: SQLite runs in-process),
    and the result."""
    best = (float("inf"), float("inf"))
    result = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best[0], best[1], result


def _join_query(dialect: str) -> sa.Select:  # type: ignore[type-arg]
    """The previous method, for comparison: need joined to person, GROUP BY need x month x
    ethnic category (what counting did before the counting copy)."""
    need_t = Need.__table__  # type: ignore[attr-defined]
    person_t = Person.__table__  # type: ignore[attr-defined]
    month = counts.sql.period("month", need_t.c.recorded_at, dialect)
    keys = [need_t.c.code, month, person_t.c.ethnic_category]
    return (
        sa.select(*keys, sa.func.count(sa.distinct(need_t.c.person_id)))
        .select_from(need_t.join(person_t, person_t.c.id == need_t.c.person_id))
        .group_by(*keys)
    )


def measure(engine: sa.Engine, label: str, repeat: int, out: list[str]) -> None:
    dims = ("need", "month", "ethnicity")
    dialect = engine.dialect.name
    cn = counts.CountNeed.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        counts.tune_for_counting(session)  # what needs_report does
        cells = counts.cells_query(session, dims)
        # the floor: every row of the copy read through the same index, no grouping
        scan = sa.select(sa.func.count(cn.c.person_key), sa.func.max(cn.c.month)).where(
            cn.c.code > ""
        )
        n = session.execute(sa.select(sa.func.count()).select_from(cn)).scalar_one()
        t_scan, c_scan, _ = _timed(lambda: session.execute(scan).all(), repeat)
        t_join, c_join, joined = _timed(lambda: session.execute(_join_query(dialect)).all(), 1)
        t_cells, c_cells, rows = _timed(lambda: session.execute(cells).all(), repeat)
        t_check, c_check, _ = _timed(lambda: counts.ensure_copies(session), repeat)
        t_each, c_each, _ = _timed(
            lambda: counts.needs_raw(session, dims, counts.Filters(), combine=False), repeat
        )
        t_one, c_one, raw = _timed(
            lambda: counts.needs_raw(session, dims, counts.Filters(), combine=True), repeat
        )
        t_full, c_full, report = _timed(lambda: counts.needs_report(session, dims), repeat)
        plan = ""
        if dialect == "sqlite":
            compiled = cells.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            plan = "; ".join(
                r[-1] for r in session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
    assert sorted(map(tuple, rows)) == sorted(  # type: ignore[arg-type]
        (code, int(month.replace("-", "")), eth, k)
        for code, month, eth, k in joined  # type: ignore[attr-defined]
    ), "the copy and the records disagree"
    queried, summed = counts.plan_levels(dims, "people")
    load = os.getloadavg()
    lines = [
        f"{label}: {n:,} needs (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
        f"on {os.cpu_count()} CPUs shared)",
        f"  {'':66s}   wall      cpu(this process)",
    ]

    def line(what: str, wall: float, cpu: float, note: str = "") -> None:
        lines.append(f"  {what:66s}{wall:7.3f} s {cpu:7.3f} s  {note}".rstrip())

    line("floor     every row of the copy read, no GROUP BY", t_scan, c_scan)
    line("before    need JOIN person, same GROUP BY (cnt_0001 indexes gone)", t_join, c_join)
    met = "met" if t_cells < 2 else "NOT met"
    line(
        "TARGET    GROUP BY need x month x ethnic category (cells)",
        t_cells,
        c_cells,
        f"({len(rows):,} cells; target < 2 s wall: {met})",  # type: ignore[arg-type]
    )
    line("check     every need has its copy (2 x COUNT(*))", t_check, c_check)
    levels = f"{len(queried)} levels counted, {len(summed)} summed"
    line(f"report    raw, one query per counted level ({levels})", t_each, c_each)
    how = "GROUPING SETS" if dialect == "postgresql" else "UNION ALL"
    line(f"report    raw, the counted levels in one statement ({how})", t_one, c_one)
    line(
        "report    needs_report: check + counts + disclosure control",
        t_full,
        c_full,
        f"({len(report.tables)} tables protected)",  # type: ignore[attr-defined]
    )
    if plan:
        lines.append(f"  SQLite plan of the target: {plan}")
    assert raw.by_level  # type: ignore[attr-defined]
    for text in lines:
        print(text, flush=True)
    out.extend(lines)


def _pg_url() -> str | None:
    if not (os.environ.get("PGHOST") and os.environ.get("PGUSER")):
        return None
    user = os.environ["PGUSER"]
    password = os.environ.get("PGPASSWORD", "")
    auth = f"{user}:{password}" if password else user
    host, port = os.environ["PGHOST"], os.environ.get("PGPORT", "5432")
    return f"postgresql+psycopg://{auth}@{host}:{port}/postgres"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=None, help="default: needs / 10")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite-file", type=Path, help="reuse (or keep) this SQLite file")
    parser.add_argument("--out", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    people = args.people or max(1, args.needs // 10)
    _CODES.extend(_codes())
    out: list[str] = [
        f"bench/counts.py --needs {args.needs} --people {people} "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC; best of {args.repeat})"
    ]

    def say(text: str) -> None:
        print(text, flush=True)
        out.append(text)

    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite_file or Path(tmp) / "bench.db"
            fresh = not path.exists()
            engine = lwdb.open_engine(f"sqlite:///{path}")
            if fresh:
                took, copies = generate(engine, people, args.needs, args.seed)
                say(
                    f"SQLite: generated {people:,} people and {args.needs:,} needs in "
                    f"{took:.1f} s; counting copies made in {copies:.1f} s"
                )
            measure(engine, "SQLite", args.repeat, out)
            engine.dispose()

    if args.backend in ("postgresql", "both"):
        admin_url = _pg_url()
        if admin_url is None:
            say("PostgreSQL: skipped (no PG* variables; run under pg_virtualenv)")
        else:
            name = f"lw_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                version = conn.exec_driver_sql("SHOW server_version").scalar()
            try:
                url = (
                    sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
                )
                engine = lwdb.open_engine(url)
                took, copies = generate(engine, people, args.needs, args.seed)
                say(
                    f"PostgreSQL {version}: generated {people:,} people and {args.needs:,} "
                    f"needs in {took:.1f} s; counting copies made in {copies:.1f} s"
                )
                measure(engine, "PostgreSQL", args.repeat, out)
                engine.dispose()
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Load test: the audit trail under W concurrent link workers on one PostgreSQL database.

W worker PROCESSES (forked after the imports), spread across ``--orgs`` organisations
(practices), each repeat for ``--seconds`` the day's work through linkwork's own actions
(``linkwork.actions``), one action per transaction as the app does it:

    add a person (with an NHS number) -> add two needs -> record consent for a service
    -> refer for both needs -> accept the referral -> open the person's record (a view)

Each W runs in both modes, alternately (``--repeat`` times each), in the same sitting, each
on a fresh copy of one template database (migrated, sample directory loaded): ``audited``
(the real code) and ``stubbed`` (``record_event`` replaced by a stub that returns an
unsaved row: no audit row, no chain, no lock of its own). For each run: actions per
second, the p50/p95/max latency of one action, errors; the medians per mode. Each run's
database is then checked: nothing lost (every action that returned has its record:
people, needs, consents, referrals, acceptances); for an audited run, the audit counts
match the records (one ``create person`` per person, one ``view person`` per record
opened, ...) and ``audit verify`` is intact for every organisation's chain. While each run
goes, the workers' PostgreSQL backends are sampled every 20 ms (``pg_stat_activity``):
the share of samples waiting for a lock, by kind, running a statement, or in a
transaction while Python works: on a shared machine the wall-clock figures also measure
the neighbours, the lock waits do not.

Needs PostgreSQL (PG* variables, e.g. under ``pg_virtualenv``):

    pg_virtualenv -v 15 .venv/bin/python bench/audit_load.py --workers 16 32 \\
        --out bench/out/audit-load.txt
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from linkwork import db as lwdb
from linkwork.actions import audit as audit_actions
from linkwork.actions import needs as needs_actions
from linkwork.actions import people as people_actions
from linkwork.actions import referrals as referral_actions
from linkwork.errors import is_busy
from linkwork.sample import load_sample_directory
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening import audit as audit_core
from screening.models import AuditEvent

ACTIONS = ("add_person", "add_need", "consent", "refer", "accept", "view")
NEED_CODES = ("Z59.0", "Z59.6")
ORG_CODES = [f"Y0{n:04d}" for n in range(2101, 2199)]


def admin_url() -> str:
    url = os.environ.get("LINKWORK_TEST_PG_URL")
    if url:
        return url
    if not (os.environ.get("PGHOST") and os.environ.get("PGUSER")):
        sys.exit("audit_load: needs PostgreSQL (run it under pg_virtualenv)")
    user, password = os.environ["PGUSER"], os.environ.get("PGPASSWORD", "")
    auth = f"{user}:{password}" if password else user
    port = os.environ.get("PGPORT", "5432")
    return f"postgresql+psycopg://{auth}@{os.environ['PGHOST']}:{port}/postgres"


def database(name: str) -> str:
    return sa.make_url(admin_url()).set(database=name).render_as_string(hide_password=False)


def warm_up(template: str, service: int) -> None:
    """One cycle in this process on a scratch copy, before any worker is forked: what
    linkwork loads on first use (the codes catalogue, lazily imported modules) is loaded
    once and shared, so no worker spends the timed window loading it."""
    name = f"lw_load_warm_{uuid.uuid4().hex[:6]}"
    admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = database(name)
    ws = Workspace(load_settings(database_url=url, user="warm", practice_ods=ORG_CODES[0]))
    one_cycle(ws, lambda _name, call: call(), "Warm", str(nhs_number(99, 1)), service)
    ws.engine.dispose()
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin_sql(statement: str) -> None:
    engine = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


def make_template() -> tuple[str, int]:
    name = f"lw_load_tpl_{uuid.uuid4().hex[:6]}"
    admin_sql(f'CREATE DATABASE "{name}"')
    engine = lwdb.open_engine(database(name))
    with lwdb.session_scope(engine) as session:
        load_sample_directory(session)
    with engine.connect() as conn:
        service = conn.execute(sa.text("SELECT min(id) FROM service")).scalar_one()
    engine.dispose()
    return name, int(service)


def nhs_number(worker: int, n: int) -> str | None:
    """A valid NHS number unique to (worker, n), or None when its check digit would be 10."""
    digits = [int(c) for c in f"9{worker:02d}{n:06d}"]
    total = sum(d * (10 - i) for i, d in enumerate(digits))
    check = 11 - total % 11
    if check == 10:
        return None
    return "".join(map(str, digits)) + str(0 if check == 11 else check)


def stub_audit() -> None:
    """Replace the audit append everywhere it was imported: an unsaved row, no lock."""
    real = audit_core.record_event

    def record_event(session: Any, actor: str, action: str, entity: str, *a: Any, **k: Any) -> Any:
        return AuditEvent(
            seq=0, at=audit_core.utcnow(), actor=actor, action=action, entity=entity,
            entity_id="", detail={}, prev_hash="", hash="",
        )  # fmt: skip

    for module in list(sys.modules.values()):
        if getattr(module, "record_event", None) is real:
            module.record_event = record_event  # type: ignore[attr-defined]


def worker(
    index: int, url: str, org: str, service: int, seconds: float, stubbed: bool,
    start: Any, results: Any,
) -> None:  # fmt: skip
    if stubbed:
        stub_audit()
    settings = load_settings(database_url=url, user=f"worker{index:02d}", practice_ods=org)
    ws = Workspace(settings, lwdb.create_engine(url, busy_timeout=settings.busy_timeout))
    latencies: dict[str, list[float]] = {a: [] for a in ACTIONS}
    done: Counter[str] = Counter()  # in the timed window
    warm: Counter[str] = Counter()  # before it (recorded too: counted for the checks)
    errors: Counter[str] = Counter()
    window = {"start": float("inf"), "end": float("inf")}

    def timed(name: str, call: Any) -> Any:
        t0 = time.perf_counter()
        if t0 >= window["end"]:
            return None  # the window is over: no action starts after it
        try:
            value = call()
        except Exception as exc:
            errors["busy" if is_busy(exc) else f"{name}: {type(exc).__name__}: {exc}"[:160]] += 1
            return None
        if t0 >= window["start"]:
            latencies[name].append(time.perf_counter() - t0)
            done[name] += 1
        else:
            warm[name] += 1
        return value

    one_cycle(ws, timed, f"Warm{index}", str(nhs_number(index, 0) or nhs_number(index, 1)), service)
    start.wait()
    window["start"] = time.perf_counter()
    window["end"] = window["start"] + seconds
    n = 1
    while time.perf_counter() < window["end"]:
        n += 1
        nhs = nhs_number(index, n)
        if nhs is not None:
            one_cycle(ws, timed, f"Test{index}x{n}", nhs, service)
    ws.engine.dispose()
    lat = {k: v for k, v in latencies.items()}
    results.put((index, org, dict(done), lat, dict(errors), dict(warm)))


def one_cycle(ws: Workspace, timed: Any, family: str, nhs: str, service: int) -> None:
    """One person's day: add, two needs, consent, refer, accept, open the record."""
    person = timed("add_person", lambda: people_actions.add_person(
        ws, given_name="Load", family_name=family, birth_date="1970-05-06",
        nhs_number=nhs, postcode="ZZ1 1AA",
    ))  # fmt: skip
    if person is None:
        return
    pid = person["id"]
    needs = [timed("add_need", lambda c=c: needs_actions.add_need(ws, pid, code=c))
             for c in NEED_CODES]  # fmt: skip
    if any(x is None for x in needs):
        return
    if timed("consent", lambda: referral_actions.record_consent(
        ws, pid, service=service, shares="needs,contact", method="verbal",
    )) is None:  # fmt: skip
        return
    referral = timed("refer", lambda: referral_actions.refer(
        ws, pid, [x["id"] for x in needs], service=service, reason="load test",
    ))  # fmt: skip
    if referral is None:
        return
    timed("accept", lambda: referral_actions.set_status(ws, referral["id"], "accepted"))
    timed("view", lambda: people_actions.person_record(ws, pid))


def run(workers: int, orgs: int, seconds: float, stubbed: bool, template: str, service: int):  # type: ignore[no-untyped-def]
    name = f"lw_load_{'stub' if stubbed else 'audit'}_{workers}_{uuid.uuid4().hex[:6]}"
    admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = database(name)
    ctx = mp.get_context("fork")
    start = ctx.Barrier(workers + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=worker,
            args=(i, url, ORG_CODES[i % orgs], service, seconds, stubbed, start, results),
        )
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    stop = threading.Event()
    waits: Counter[str] = Counter()
    sampler = threading.Thread(target=sample_waits, args=(name, stop, waits), daemon=True)
    sampler.start()
    collected = [results.get(timeout=seconds * 4 + 120) for _ in procs]
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    for p in procs:
        p.join()
    done: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    recorded: Counter[str] = Counter()
    for _index, _org, d, lat, err, warm in collected:
        done.update(d)
        recorded.update(d)
        recorded.update(warm)
        errors.update(err)
        for values in lat.values():
            latencies.extend(values)
    latencies.sort()
    figures = {
        "mode": "stubbed" if stubbed else "audited",
        "workers": workers,
        "actions": sum(done.values()),
        "per_s": sum(done.values()) / wall,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95": latencies[int(len(latencies) * 0.95)] * 1000 if latencies else float("nan"),
        "max": latencies[-1] * 1000 if latencies else float("nan"),
        "errors": sum(errors.values()),
        "wall": wall,
        "waits": waits,
    }
    checks = check(url, recorded, stubbed)
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return figures, errors, checks


def sample_waits(name: str, stop: threading.Event, waits: Counter[str]) -> None:
    """Every 20 ms, what each worker's backend is doing (pg_stat_activity): waiting for a
    lock (by kind: advisory, transactionid, ...), running a statement, or in a transaction
    waiting for its client (Python working between statements)."""
    engine = sa.create_engine(admin_url())
    query = sa.text(
        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = :db AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    with engine.connect() as conn:
        while not stop.is_set():
            for state, kind, event in conn.execute(query, {"db": name}):
                if kind == "Lock":
                    waits[f"lock wait ({event})"] += 1
                elif state == "active":
                    waits["running a statement"] += 1
                elif state and state.startswith("idle in transaction"):
                    waits["in a transaction, client working"] += 1
            conn.rollback()
            time.sleep(0.02)
    engine.dispose()


def wait_words(waits: Counter[str]) -> str:
    busy = sum(waits.values())
    if not busy:
        return "no samples"
    return ", ".join(f"{kind} {n / busy:.0%}" for kind, n in waits.most_common())


def check(url: str, done: Counter[str], stubbed: bool) -> list[str]:
    """Nothing lost, audit counts matching the records, every chain intact."""
    engine = lwdb.create_engine(url)
    with engine.connect() as conn:

        def one(sql: str) -> int:
            return int(conn.execute(sa.text(sql)).scalar_one())

        records = {
            "add_person": one("SELECT count(*) FROM person"),
            "add_need": one("SELECT count(*) FROM need"),
            "consent": one("SELECT count(*) FROM consent"),
            "refer": one("SELECT count(*) FROM referral"),
            "accept": one("SELECT count(*) FROM referral_event WHERE to_status = 'accepted'"),
        }
        audit = Counter(
            {
                (a, e): n
                for a, e, n in conn.execute(
                    sa.text("SELECT action, entity, count(*) FROM audit_event GROUP BY 1, 2")
                )
            }
        )
    engine.dispose()
    problems = [f"{k}: {done[k]} done, {v} recorded" for k, v in records.items() if v != done[k]]
    if not stubbed:
        expected = {
            ("create", "person"): done["add_person"],
            ("create", "need"): done["add_need"],
            ("view", "person"): done["view"],
        }
        for key, want in expected.items():
            if audit[key] != want:
                problems.append(f"audit {key}: {audit[key]} rows for {want} actions")
        settings = load_settings(database_url=url, user="checker")
        ws = Workspace(settings, lwdb.open_engine(url))
        report = audit_actions.verify_audit(ws)
        ws.engine.dispose()
        if not report.ok:
            problems.append(f"audit verify: {report.message}")
        else:
            problems.append(f"ok: audit verify intact ({report.message})")
    elif sum(audit.values()):
        problems.append(f"stubbed run wrote {sum(audit.values())} audit rows")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--orgs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=2, help="Runs of each mode per W.")
    parser.add_argument("--label", default="", help="What code this is (e.g. before, after).")
    parser.add_argument("--out", type=Path, help="Also append the figures to this file.")
    args = parser.parse_args()
    template, service = make_template()
    warm_up(template, service)
    lines = [
        f"# bench/audit_load.py {args.label}: PostgreSQL "
        f"{_server_version()}, {args.orgs} organisations, {args.seconds:.0f} s a run, "
        f"{os.cpu_count()} CPUs ({platform.machine()}), load average before "
        f"{os.getloadavg()[0]:.1f}",
        "# one action = one transaction through linkwork.actions; latency of one action",
        f"{'mode':8} {'W':>3} {'actions':>8} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'max ms':>8} {'errors':>6}",
    ]
    print("\n".join(lines), flush=True)
    try:
        for w in args.workers:
            per_s: dict[bool, list[float]] = {False: [], True: []}
            p50: dict[bool, list[float]] = {False: [], True: []}
            p95: dict[bool, list[float]] = {False: [], True: []}
            # audited, stubbed, stubbed, audited, ...: neither always runs first
            order = [bool((i // 2 + i) % 2) for i in range(2 * args.repeat)]
            for stubbed in order:
                figures, errors, checks = run(
                    w, args.orgs, args.seconds, stubbed, template, service
                )
                per_s[stubbed].append(figures["per_s"])
                p50[stubbed].append(figures["p50"])
                p95[stubbed].append(figures["p95"])
                line = (
                    f"{figures['mode']:8} {w:>3} {figures['actions']:>8} "
                    f"{figures['per_s']:>7.1f} {figures['p50']:>7.1f} {figures['p95']:>7.1f} "
                    f"{figures['max']:>8.0f} {figures['errors']:>6}   load {os.getloadavg()[0]:.1f}"
                )
                lines.append(line)
                print(line, flush=True)
                lines.append(f"    backends: {wait_words(figures['waits'])}")
                print(lines[-1], flush=True)
                for text, n in errors.most_common(3):
                    lines.append(f"    error x{n}: {text}")
                    print(lines[-1], flush=True)
                for text in checks:
                    lines.append(f"    {text}")
                    print(lines[-1], flush=True)
            med = {k: statistics.median(v) for k, v in per_s.items()}
            lines.append(
                f"  W={w} medians of {args.repeat}: audited {med[False]:.1f}/s "
                f"(p50 {statistics.median(p50[False]):.1f} ms, p95 "
                f"{statistics.median(p95[False]):.1f} ms), stubbed {med[True]:.1f}/s "
                f"(p50 {statistics.median(p50[True]):.1f} ms, p95 "
                f"{statistics.median(p95[True]):.1f} ms): audited/stubbed "
                f"{med[False] / med[True]:.0%}"
            )
            print(lines[-1], flush=True)
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    lines.append(f"# load average after {os.getloadavg()[0]:.1f}")
    print(lines[-1])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n\n")


def _server_version() -> str:
    engine = sa.create_engine(admin_url())
    with engine.connect() as conn:
        version = str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    engine.dispose()
    return version


if __name__ == "__main__":
    main()

"""How long ``linkwork demo --people N`` takes (target: 2,000 people in under 30 s on SQLite).

Usage (from the repository root):

    .venv/bin/python bench/demo.py [--people 2000] [--baseline 100]

Runs the real command in a fresh process on a fresh SQLite file (so the time includes
start-up, creating the schema and loading the bundled sample directory), and on PostgreSQL
too when the PG* variables are set (e.g. under ``pg_virtualenv``). Beside it, the baseline
measured in the same run: the same kind of record made one person at a time through the
audited domain functions (create_person, complete_screening, confirm_need, record_consent,
create_referral, set_status), for ``--baseline`` people, scaled up to N.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run_cli(db_url: str, people: int) -> float:
    env = dict(os.environ)
    env["LINKWORK_HOME"] = tempfile.mkdtemp()
    env["LINKWORK_USER"] = "bench"
    started = time.perf_counter()
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "linkwork"), "--db", db_url, "demo", "--people",
         str(people), "--seed", "1", "--json"],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def baseline(db_url: str, people: int) -> float:
    """One person at a time through the domain API (what the app does per conversation)."""
    import random

    from linkwork import db
    from screening import consent, needs, questionnaire, referrals
    from screening import people as people_mod

    engine = db.open_engine(db_url)
    rng = random.Random(1)
    q = questionnaire.load_questionnaire()
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        for i in range(people):
            person = people_mod.create_person(
                session, given_name="Bench", family_name=f"Person{i}", birth_date="1970-01-01",
                postcode="ZZ1 1AA", practice_ods="Y02101", actor="bench",
                ethnic_category=rng.choice("ABCHJN"),
            )  # fmt: skip
            answers = {"housing.situation": "sofa-surfing", "food.worried": "often",
                       "ons4.happy": 4, "isolation.lonely": "often"}  # fmt: skip
            screening, suggested = questionnaire.complete_screening(
                session, person, answers, actor="bench", questionnaire=q
            )
            made = [
                needs.confirm_need(session, screening, s["code"], actor="bench") for s in suggested
            ]
            consent.record_consent(session, person, actor="bench", hub="Bench Hub")
            referral = referrals.create_referral(
                session, person, made[:2], actor="bench", hub="Bench Hub"
            )
            referrals.set_status(session, referral, "accepted", actor="bench")
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def pg_url() -> str | None:
    if not (os.environ.get("PGHOST") and os.environ.get("PGUSER")):
        return None
    auth = os.environ["PGUSER"]
    if os.environ.get("PGPASSWORD"):
        auth += ":" + os.environ["PGPASSWORD"]
    port = os.environ.get("PGPORT", "5432")
    return f"postgresql+psycopg://{auth}@{os.environ['PGHOST']}:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--baseline", type=int, default=100)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    results = []
    seconds = run_cli(f"sqlite:///{folder / 'demo.db'}", args.people)
    base = baseline(f"sqlite:///{folder / 'base.db'}", args.baseline)
    results.append(("SQLite", seconds, base))
    server = pg_url()
    if server:
        import sqlalchemy as sa

        admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        names = [f"lw_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            seconds = run_cli(f"{server}/{names[0]}", args.people)
            base = baseline(f"{server}/{names[1]}", args.baseline)
            results.append(("PostgreSQL", seconds, base))
        finally:
            with admin.connect() as conn:
                for name in names:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    print(f"linkwork demo --people {args.people} (whole command, fresh database, target < 30 s)")
    for backend, seconds, base in results:
        scaled = base * args.people / args.baseline
        print(
            f"  {backend:<10} demo: {seconds:6.2f} s   baseline, one person at a time via the "
            f"domain API: {base:6.2f} s for {args.baseline} = ~{scaled:6.1f} s for {args.people}"
        )


if __name__ == "__main__":
    main()

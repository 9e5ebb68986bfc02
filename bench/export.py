"""Speed of exporting referrals as signed, encrypted FHIR Bundles.

Usage (from the repository root):

    .venv/bin/python bench/export.py [--referrals 1000] [--people 900] [--db URL]

Makes a fresh SQLite database with synthetic demo data (``make_demo``), then exports N
referrals (target: 1,000 in under 10 s) four ways in the same run:

* baseline: building the Bundle JSON from the record only (no validation, no crypto);
* + validate: also parsing it with fhir.resources and checking every reference resolves
  (what a receiver does; not part of export);
* full export: what ``linkwork referral export REF... --out-dir DIR`` does: per referral
  build, self-check (no empty values, every reference resolves), sign (ES256), encrypt
  (ECDH-ES+A256KW, A256GCM), log the message and an audit event; then write every file
  atomically (temp files, one ``os.sync``, renames), all in one transaction;
* the same one referral at a time with an fsync per file (timed on 100, scaled to N).

Data-set creation is not timed. The figures depend on the machine: read them side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=1000)
    parser.add_argument("--people", type=int, default=900)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()

    from sqlmodel import Session, col, select

    from linkwork import db as lwdb
    from linkwork.demo import make_demo
    from screening.exchange import fhir
    from screening.exchange.files import atomic_write, atomic_write_many
    from screening.exchange.keys import new_key
    from screening.exchange.outbound import (
        build_referral_bundle,
        bundle_bytes,
        export_referral,
        export_referrals,
    )
    from screening.models import Consent, Referral

    work = Path(tempfile.mkdtemp(prefix="lw-bench-export-"))
    url = args.db or f"sqlite:///{work / 'bench.db'}"
    engine = lwdb.open_engine(url)
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        make_demo(session, people=args.people, seed=7)
        session.commit()
    print(f"demo data: {args.people} people in {time.perf_counter() - started:.1f} s (not timed)")

    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(Referral)
            .join(Consent, col(Consent.id) == col(Referral.consent_id))
            .where(
                Referral.direction == "outgoing",
                Referral.status != "draft",
                col(Consent.withdrawn_at).is_(None),
            )
            .order_by(col(Referral.created_at))
        ).all()
        referrals = list(rows)[: args.referrals]
        if len(referrals) < args.referrals:
            sys.exit(f"only {len(referrals)} exportable referrals: raise --people")
        n = len(referrals)
        signer, recipient = new_key(), new_key()
        outbox = work / "outbox"
        outbox.mkdir()

        t0, c0 = time.perf_counter(), time.process_time()
        sizes = 0
        for referral in referrals:
            sizes += len(bundle_bytes(build_referral_bundle(session, referral)))
        baseline = (time.perf_counter() - t0, time.process_time() - c0)

        t0, c0 = time.perf_counter(), time.process_time()
        for referral in referrals:
            data = build_referral_bundle(session, referral)
            assert fhir.validation_error(data) is None
            assert not fhir.dangling_references(data)
        validated = (time.perf_counter() - t0, time.process_time() - c0)

        # What `linkwork referral export REF... --out-dir DIR` does.
        t0, c0 = time.perf_counter(), time.process_time()
        sealed = export_referrals(
            session, referrals, signer=signer, recipient=recipient, partner="bench hub",
            actor="bench",
        )  # fmt: skip
        atomic_write_many([(outbox / f"{s.message_id}.jwe", s.token, 0o600) for s in sealed])
        session.commit()
        full = (time.perf_counter() - t0, time.process_time() - c0)

        # The same, one file at a time with an fsync each (what exporting them one by one,
        # `linkwork referral export REF` per referral, costs on this disk).
        one_by_one = work / "one-by-one"
        one_by_one.mkdir()
        t0, c0 = time.perf_counter(), time.process_time()
        for referral in referrals[:100]:
            s = export_referral(
                session, referral, signer=signer, recipient=recipient, partner="bench hub",
                actor="bench",
            )  # fmt: skip
            atomic_write(one_by_one / f"{s.message_id}.jwe", s.token, mode=0o600)
        session.commit()
        scale = n / min(100, n)
        single = ((time.perf_counter() - t0) * scale, (time.process_time() - c0) * scale)
        files = len(list(outbox.iterdir()))

    print(f"{n} referrals, mean Bundle {sizes / n / 1024:.1f} KiB, backend {engine.dialect.name}")
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (a busy machine slows every row)")
    print(f"{'step':<44}{'total s':>9}{'ms each':>9}{'CPU s':>8}")
    for label, seconds in (
        ("baseline: build Bundle JSON only", baseline),
        ("build + fhir.resources + reference check", validated),
        ("full export (sign, encrypt, log, write)", full),
        ("  the same, fsync per file (from 100)", single),
    ):
        wall, cpu = seconds
        print(f"{label:<44}{wall:>9.2f}{wall / n * 1000:>9.2f}{cpu:>8.2f}")
    print(f"files written: {files}; target: {n} full exports in < 10 s: ", end="")
    print("met" if full[0] < 10 else "NOT met")
    print("(CPU s: this process's own CPU time, less sensitive to other load than wall time)")


if __name__ == "__main__":
    main()

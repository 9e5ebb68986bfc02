# ruff: noqa: E501
"""Directory search benchmark: speed at 1k/10k/100k services and quality on the sample.

    .venv/bin/python bench/search.py                       # 1k, 10k, 100k
    .venv/bin/python bench/search.py --sizes 1000,10000    # skip the big one

For each size: generates the directory with ../shared/data/gen_directory.py (seed 7, into
bench/out/, kept between runs), imports it into a fresh SQLite file (timed), builds the
ServiceIndex from the database (timed; memory of a second build traced with tracemalloc:
what the index keeps, and the peak while building),
then times every dev query (after one warm-up pass) through ``ServiceIndex.search`` and
through the naive baseline, a rapidfuzz ``WRatio`` scan over name + description of every
service, in the same run. Quality: success@1, success@5 and MRR on the dev queries and on
bench/queries-heldout.tsv against the 400-service sample, for linkwork and the naive scan.
The ground truth (``x_category``) is read here, for scoring only.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

from rapidfuzz import fuzz, process, utils
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from directory.importer import import_source  # noqa: E402
from directory.search import ServiceIndex, load_docs  # noqa: E402
from linkwork import db as lwdb  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
TODAY = date(2026, 11, 1)


def read_queries(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def naive_search(choices: list[str], text: str, limit: int = 10) -> list[int]:
    found = process.extract(
        text, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=limit
    )
    return [index for _choice, _score, index in found]


def open_db(path: Path):  # type: ignore[no-untyped-def]
    if path.exists():
        path.unlink()
    return lwdb.open_engine(f"sqlite:///{path}")


def score(ranked: list[set[str]], relevant: set[str]) -> int | None:
    return next((k for k, cats in enumerate(ranked, 1) if cats & relevant), None)


def quality(tmp: Path) -> None:
    sample = SHARED / "directory-sample.oruk.json"
    truth_raw = json.loads(sample.read_text())["content"]
    truth = {s["id"]: set(s["x_category"]) for s in truth_raw}
    engine = open_db(tmp / "sample.db")
    with Session(engine) as session:
        import_source(session, sample)
        session.commit()
        index = ServiceIndex.build(session)
    engine.dispose()
    choices = [f"{d.name} {d.description}" for d in index.docs]
    print("\nQuality on the 400-service sample (stale services included; k = 1, 5)")
    print(f"{'queries':<22}{'engine':<10}{'n':>4}{'s@1':>7}{'s@5':>7}{'MRR':>7}")
    for label, path in (
        ("dev", SHARED / "queries-dev.tsv"),
        ("held-out", ROOT / "bench" / "queries-heldout.tsv"),
    ):
        rows = read_queries(path)
        kinds = sorted({r["kind"] for r in rows})
        for engine_name in ("linkwork", "naive"):
            per: dict[str, list[int | None]] = {k: [] for k in ["all", *kinds]}
            for row in rows:
                relevant = set(row["relevant_categories"].split(";"))
                if engine_name == "linkwork":
                    res = index.search(row["query"], include_stale=True, limit=10, today=TODAY)
                    ranked = [truth[r.id] for r in res]
                else:
                    ranked = [
                        truth[index.docs[i].source_id] for i in naive_search(choices, row["query"])
                    ]
                rank = score(ranked, relevant)
                per["all"].append(rank)
                per[row["kind"]].append(rank)
            for kind, ranks in per.items():
                n = len(ranks)
                s1 = sum(1 for r in ranks if r == 1) / n
                s5 = sum(1 for r in ranks if r and r <= 5) / n
                mrr = sum(1 / r for r in ranks if r) / n
                name = f"{label} {kind}" if kind != "all" else f"{label} (all)"
                print(f"{name:<22}{engine_name:<10}{n:>4}{s1:>7.3f}{s5:>7.3f}{mrr:>7.3f}")


def speed(n: int, tmp: Path, naive_queries: int) -> dict[str, float]:
    OUT.mkdir(parents=True, exist_ok=True)
    feed = OUT / f"dir-{n}.json"
    if not feed.exists():
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(SHARED / "gen_directory.py"),
                "--n",
                str(n),
                "--seed",
                "7",
                "--out",
                str(feed),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"  generated {feed.name} in {time.perf_counter() - t0:.1f} s")
    queries = [r["query"] for r in read_queries(SHARED / "queries-dev.tsv")]
    engine = open_db(tmp / f"bench-{n}.db")
    t0, c0 = time.perf_counter(), time.process_time()
    with Session(engine) as session:
        summary = import_source(session, feed)
        session.commit()
    import_s, import_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert summary.added == n, summary
    with Session(engine) as session:
        docs = load_docs(session)  # what ServiceIndex.build reads; timed below with it
    gc.collect()
    tracemalloc.start()
    traced = ServiceIndex(docs)
    index_mb, peak_mb = (v / 2**20 for v in tracemalloc.get_traced_memory())
    tracemalloc.stop()
    del traced, docs
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    with Session(engine) as session:
        index = ServiceIndex.build(session)
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    engine.dispose()
    for q in queries:  # warm-up (loads the codes catalogue, fills caches)
        index.search(q, include_stale=True)
    times = []
    for _ in range(3):
        for q in queries:
            t0 = time.perf_counter()
            index.search(q, include_stale=True)
            times.append((time.perf_counter() - t0) * 1000)
    # naive: rapidfuzz WRatio over name + description of every service
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    choices = [f"{d.name} {d.description}" for d in index.docs]
    naive_build_s = time.perf_counter() - t0
    naive_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    sample = queries if naive_queries <= 0 else queries[:naive_queries]
    naive_search(choices, sample[0])
    naive_times = []
    for q in sample:
        t0 = time.perf_counter()
        naive_search(choices, q)
        naive_times.append((time.perf_counter() - t0) * 1000)
    return {
        "n": n,
        "import_s": import_s,
        "import_cpu": import_cpu,
        "build_s": build_s,
        "build_cpu": build_cpu,
        "index_mb": index_mb,
        "peak_mb": peak_mb,
        "p50": statistics.median(times),
        "p95": pct(times, 95),
        "naive_build_s": naive_build_s,
        "naive_mb": naive_mb,
        "naive_p50": statistics.median(naive_times),
        "naive_p95": pct(naive_times, 95),
        "naive_q": len(sample),
        "q": len(times),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--naive-queries",
        type=int,
        default=0,
        help="dev queries timed on the naive scan at 100k (0 = all 80)",
    )
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"linkwork directory search benchmark; {os.cpu_count()} CPUs; load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if not args.skip_quality:
            quality(tmp)
        print(
            "\nSpeed (dev queries; linkwork timed 3 x 80 after a warm-up pass; stale included;"
            "\n import and build: wall and CPU seconds of this process, CPU being what a shared"
            "\n machine's load does not inflate)"
        )
        header = (
            f"{'services':>9}{'import s':>10}{'cpu s':>7}{'build s':>9}{'cpu s':>7}{'index MB':>10}{'peak MB':>9}"
            f"{'p50 ms':>9}{'p95 ms':>9}{'naive p50':>11}{'naive p95':>11}{'naive MB':>10}{'x p50':>8}{'x p95':>8}"
        )
        print(header)
        for n in sizes:
            nq = args.naive_queries if n >= 100_000 else 0
            r = speed(n, tmp, nq)
            print(
                f"{r['n']:>9}{r['import_s']:>10.2f}{r['import_cpu']:>7.2f}{r['build_s']:>9.2f}{r['build_cpu']:>7.2f}{r['index_mb']:>10.1f}{r['peak_mb']:>9.1f}"
                f"{r['p50']:>9.2f}{r['p95']:>9.2f}{r['naive_p50']:>11.1f}{r['naive_p95']:>11.1f}"
                f"{r['naive_mb']:>10.1f}{r['naive_p50'] / r['p50']:>8.0f}{r['naive_p95'] / r['p95']:>8.0f}"
                + (f"  (naive over {r['naive_q']} queries)" if r["naive_q"] != 80 else ""),
                flush=True,
            )
    print(f"\nload at the end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

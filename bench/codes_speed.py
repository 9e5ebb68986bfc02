"""Speed of lay-language code search, beside a naive baseline measured in the same run.

Usage (from the repository root):

    .venv/bin/python bench/codes_speed.py [--rounds N]

Prints the catalogue load time (reading and checking the data files and building the search
index, done once per process) and per-query latency p50/p95 after start-up, over the dev and
held-out query sets (each query run N times). The baseline is what one would write first:
a rapidfuzz ``WRatio`` scan of the query against every title and lay phrase, keeping each
code's best phrase. Its success@5 is printed too, so speed is never read without quality.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from codes_eval import DEFAULT_DEV, Row, read_queries  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(
    fn: Callable[[str], list[str]], queries: list[str], rounds: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread) milliseconds per query. On a busy shared machine
    the CPU time shows the cost of the search itself, the wall time what a user waits."""
    wall, cpu = [], []
    for _ in range(rounds):
        for q in queries:
            c0, t0 = time.thread_time(), time.perf_counter()
            fn(q)
            wall.append((time.perf_counter() - t0) * 1000.0)
            cpu.append((time.thread_time() - c0) * 1000.0)
    return wall, cpu


def success_at_5(fn: Callable[[str], list[str]], rows: list[Row]) -> float:
    return sum(bool(r.acceptable & set(fn(r.query)[:5])) for r in rows) / len(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    from codes.catalogue import DATA_DIR, load_catalogue_from
    from codes.search import search_codes

    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    cat = load_catalogue_from(DATA_DIR)
    t_load = time.perf_counter() - t1

    from rapidfuzz import fuzz, process

    t2 = time.perf_counter()
    choices: list[str] = []
    owners: list[str] = []
    for need in cat.all():
        for phrase in (need.display, *need.synonyms):
            choices.append(phrase.lower())
            owners.append(need.code)
    t_base_load = time.perf_counter() - t2

    def ours(q: str) -> list[str]:
        return [m.code for m in search_codes(cat, q, limit=10)]

    def baseline(q: str) -> list[str]:
        best: dict[str, float] = {}
        for _text, score, i in process.extract(
            q.lower(), choices, scorer=fuzz.WRatio, limit=len(choices)
        ):
            code = owners[i]
            if score > best.get(code, -1.0):
                best[code] = score
        return sorted(best, key=lambda c: -best[c])[:10]

    rows: list[Row] = []
    for path in (DEFAULT_DEV, *sorted((REPO / "bench").glob("code-queries-heldout*.tsv"))):
        if path.is_file():
            rows += read_queries(path)
    queries = [r.query for r in rows]
    ours(queries[0])  # warm up
    baseline(queries[0])
    lat_ours, cpu_ours = timed(ours, queries, args.rounds)
    lat_base, cpu_base = timed(baseline, queries, args.rounds)

    print(f"queries: {len(queries)} (dev + our held-out sets) x {args.rounds} rounds")
    print(f"start-up: import {t_import * 1000:.0f} ms, load + check + index {t_load * 1000:.0f} ms")
    print(
        f"  {'method':<34}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}"
        f"{'cpu p50':>9}{'cpu p95':>9}{'success@5':>11}"
    )
    for name, lat, cpu, fn in (
        ("linkwork search_codes", lat_ours, cpu_ours, ours),
        ("baseline: WRatio scan of phrases", lat_base, cpu_base, baseline),
    ):
        print(
            f"  {name:<34}{statistics.median(lat):>8.2f}{percentile(lat, 0.95):>8.2f}"
            f"{max(lat):>8.2f}{statistics.median(cpu):>9.2f}{percentile(cpu, 0.95):>9.2f}"
            f"{success_at_5(fn, rows):>11.3f}"
        )
    print(f"  (baseline index build {t_base_load * 1000:.1f} ms over {len(choices)} phrases)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

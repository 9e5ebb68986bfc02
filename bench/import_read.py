# ruff: noqa: E501
"""The import's reading half alone: ``directory.importer.read_records`` over pages of a bench
feed (bench/out/real-N), in one process (no second process, no database), CPU microseconds
a service for this tree and an earlier commit, interleaved, the minimum of several runs.

    .venv/bin/python bench/import_read.py --before 5458687
    .venv/bin/python bench/import_read.py --before 5458687 --size 100000 --pages 200 --runs 1

Each version runs in its own process from a clean copy of its commit (``git archive``, as
bench/import_speed.py makes it; ``.`` is this working tree). What the whole import costs
(reading in its own process beside the writing) is bench/import_speed.py's to say.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import import_speed  # noqa: E402

CHILD = r"""
import sys, time
code, folder, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, code)
from directory.bounded import Limits
from directory.importer import ImportSummary, read_records
from directory.sources import read_source
try:
    from directory import read_worker
    read_worker.MIN_BYTES = 10**18  # read here: this measures reading, not the hand-over
except ImportError:
    pass
best, n = float("inf"), 0
for _ in range(runs):
    feed = read_source(folder, limits=Limits(2**30, 2**30, 1000, 10**7))
    summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
    start = time.process_time()
    n = sum(1 for _ in read_records(feed, summary))
    best = min(best, time.process_time() - start)
print(f"{best / n * 1e6:.1f} {n} {best:.2f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=import_speed.BEFORE)
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--pages", type=int, default=8, help="pages of the feed read")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-read-") as tmp:
        folder = Path(tmp) / "feed"
        folder.mkdir()
        pages = sorted((ROOT / "bench" / "out" / f"real-{args.size}").glob("*.json"))
        for page in pages[: args.pages]:
            shutil.copy(page, folder / page.name)
        versions = {
            args.before: import_speed.snapshot(args.before, Path(tmp) / "before"),
            "this tree": ROOT,
        }
        best: dict[str, tuple[float, str]] = {}
        for _ in range(args.rounds):
            for name, code in versions.items():
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(code), str(folder), str(args.runs)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                us, n, cpu = float(out[0]), out[1], out[2]
                if name not in best or us < best[name][0]:
                    best[name] = (us, f"{n} services, {cpu} s CPU")
        for name, (us, what) in best.items():
            print(
                f"{name:>12}: {us:6.1f} us CPU a service read ({what}; min of {args.rounds} x {args.runs})"
            )


if __name__ == "__main__":
    main()

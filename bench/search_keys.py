# ruff: noqa: E501
"""The app's search per keystroke, alone: bench/search.py's keystroke part (its APP child:
the saved index opened and ``NearSearch`` made in a fresh process, then each key of the 80
dev queries typed, CPU per key), repeated, on an index file already written, optionally
beside another version of the code in the same run (interleaved, so that both see the
same load).

    .venv/bin/python bench/search_keys.py --index HOME/search-index/X.lwidx
    .venv/bin/python bench/search_keys.py --index X.lwidx --before HEAD~2 --repeats 5

Each repeat is a fresh process (the caches a person's typing fills start empty, as in the
app); the figures are CPU time (user + system) per key, p50/p95/max and the mean, and the
minimum of each over the repeats (the machine may be shared: the load is printed too).
``--before REV`` checks REV out in a temporary git worktree and runs it with the same
script and index. The index: e.g. ``linkwork directory import bench/out/real-100000``
into a fresh home (bench/search.py's 100k directory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from directory.index_file import open_index
from linkwork.actions.search import NearSearch
queries = json.loads(sys.argv[1])
near = NearSearch(open_index(Path(sys.argv[3])))  # as the app's search process does
near.search(queries[0])
cpu = []
for q in queries:
    for k in range(1, len(q) + 1):
        c = time.process_time()
        try:
            near.search(q[:k])
        except ValueError:
            pass
        cpu.append((time.process_time() - c) * 1000)
cpu.sort()
print(json.dumps({"keys": len(cpu), "p50": statistics.median(cpu),
                  "p95": cpu[int(len(cpu) * 0.95)], "max": cpu[-1],
                  "mean": statistics.mean(cpu)}))
"""


def _queries() -> list[str]:
    lines = [
        x
        for x in (SHARED / "queries-dev.tsv").read_text(encoding="utf-8").splitlines()
        if not x.startswith("#")
    ]
    at = lines[0].split("\t").index("query")
    return [line.split("\t")[at] for line in lines[1:] if line.strip()]


def _run(tree: Path, index: Path, queries: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(queries), str(tree), str(index)],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _line(label: str, r: dict[str, float]) -> str:
    return f"{label:<14}{r['keys']:>6.0f}{r['p50']:>8.2f}{r['p95']:>8.2f}{r['max']:>8.1f}{r['mean']:>8.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--before", help="a git revision to measure beside this tree")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    queries = _queries()
    with tempfile.TemporaryDirectory() as folder:
        trees = {"this tree": ROOT}
        if args.before:
            tree = Path(folder) / "before"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(tree), args.before],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            trees = {f"before {args.before}": tree, "this tree": ROOT}
        try:
            runs: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
            print(
                f"{'':<14}{'keys':>6}{'p50':>8}{'p95':>8}{'max':>8}{'mean':>8}   (CPU ms per key)"
            )
            for n in range(args.repeats):
                for label, tree in trees.items():
                    r = _run(tree, args.index, queries)
                    runs[label].append(r)
                    print(_line(f"{label[:10]} {n + 1}", r), flush=True)
            for label, found in runs.items():
                best = {k: min(r[k] for r in found) for k in found[0]}
                print(_line("min " + label[:10], best) + f"   (min of {len(found)}: {label})")
            print("load at the end", os.getloadavg())
        finally:
            if args.before:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(Path(folder) / "before")],
                    cwd=ROOT,
                    capture_output=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())

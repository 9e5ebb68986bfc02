"""The command-line search's cost from a fresh process: ``linkwork directory search "food
bank"`` on a large directory, this tree beside another version of the code, run in turns.

    # import bench/out/real-100000 into a temporary folder (about a minute of CPU), then
    # 10 runs of each version in turns, table and --json; valgrind's instruction count too
    .venv/bin/python bench/cli_search.py --against 9f73e97 --runs 10 --instructions

    # or on a directory imported before (its LINKWORK_HOME and database)
    .venv/bin/python bench/cli_search.py --home H --db sqlite:///H/bench.db --against HEAD~2

Wall time is what a user waits for, and what other load on a shared machine inflates most:
each line gives the machine's load, the minimum and the median of the runs. CPU time (user
+ system) is inflated less; the instruction count (``--instructions``, under valgrind, one
run each) not at all. RSS: the largest of the runs (GNU time). bench/search.py measures the
same command as part of the whole benchmark (median of 3, this tree only).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "from linkwork.tui_entry import main; main()"


def timed(tree: Path, env: dict[str, str], args: list[str]) -> tuple[float, float, float]:
    """Wall and CPU seconds, peak RSS MB of one search by the code in ``tree``."""
    t0 = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "TIMED %M %U %S", sys.executable, "-c", ENTRY, *args],
        env={**env, "PYTHONPATH": str(tree)},
        cwd=tempfile.gettempdir(),  # not a tree: python -c puts the working folder first
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{tree}: exit {done.returncode}: {done.stderr[-500:]}")
    kb, user, system = next(x for x in done.stderr.splitlines() if x.startswith("TIMED "))[
        6:
    ].split()
    return wall, float(user) + float(system), int(kb) / 1024


def instructions(tree: Path, env: dict[str, str], args: list[str]) -> int | None:
    if not shutil.which("valgrind"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                "-c",
                ENTRY,
                *args,
            ],
            env={**env, "PYTHONPATH": str(tree)},
            cwd=tmp,
            capture_output=True,
            text=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="a git revision to compare this tree with")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--size", type=int, default=100_000, help="bench/out/real-SIZE")
    parser.add_argument("--home", help="LINKWORK_HOME of a directory imported before")
    parser.add_argument("--db", help="its database URL")
    parser.add_argument("--instructions", action="store_true", help="valgrind, one run each")
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cli-search-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules kept
    env["PYTHONPYCACHEPREFIX"] = str(work / "pyc")
    env["LINKWORK_CONFIG"] = str(work / "no-config.toml")
    env["LINKWORK_HOME"] = opts.home or str(work / "home")
    env["LINKWORK_DATABASE_URL"] = opts.db or f"sqlite:///{work / 'bench.db'}"
    trees = {"this tree": ROOT}
    try:
        if opts.against:
            old = work / "against"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), opts.against],
                check=True,
                capture_output=True,
            )
            trees = {opts.against: old, "this tree": ROOT}
        if not opts.home:
            feed = ROOT / "bench" / "out" / f"real-{opts.size}"
            limits = {
                "LINKWORK_IMPORT_MAX_PAGE_BYTES": str(2**30),
                "LINKWORK_IMPORT_MAX_FEED_BYTES": str(2**30),
                "LINKWORK_IMPORT_MAX_SERVICES": "1000000",
            }
            subprocess.run(
                [sys.executable, "-c", ENTRY, "directory", "import", str(feed), "--source", "b"],
                env={**env, **limits, "PYTHONPATH": str(ROOT)},
                cwd=work,
                check=True,
                capture_output=True,
            )
        for args in (
            ["directory", "search", "food bank"],
            ["directory", "search", "food bank", "--json"],
        ):
            for tree in trees.values():  # warm: compiled modules, caches, the page cache
                timed(tree, env, args)
            runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
            for _ in range(opts.runs):
                for name, tree in trees.items():
                    runs[name].append(timed(tree, env, args))
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"\n{' '.join(args)!s}  ({opts.runs} runs each, in turns; load {load})")
            for name, tree in trees.items():
                wall = [r[0] for r in runs[name]]
                cpu = [r[1] for r in runs[name]]
                ir = instructions(tree, env, args) if opts.instructions else None
                median = statistics.median
                print(
                    f"  {name:<14} wall min {min(wall):.2f} s, median {median(wall):.2f};"
                    f" CPU min {min(cpu):.2f} s, median {median(cpu):.2f};"
                    f" RSS {max(r[2] for r in runs[name]):.0f} MB"
                    + (f"; {ir / 1e6:.0f} M instructions" if ir else ""),
                    flush=True,
                )
    finally:
        if opts.against:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "against")],
                capture_output=True,
            )
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

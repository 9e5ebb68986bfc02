# ruff: noqa: E501
"""Import speed: ``linkwork directory import`` of the council-like feeds (bench/realistic_feed.py,
kept in bench/out/real-N), the code of an earlier commit beside the code of HEAD, measured
in the same run.

    .venv/bin/python bench/import_speed.py                          # 10k and 100k
    .venv/bin/python bench/import_speed.py --sizes 10000 --before 2f62cd3
    .venv/bin/python bench/import_speed.py --encrypted               # the SQLCipher default

Each version is a clean copy of its commit (``git archive``: nothing uncommitted in the
working tree is measured), run with the repository's virtualenv, into a fresh database
for each size: the first import (every service new; the index file built), then the same
feed again (nothing changed), then the feed with one service in ten changed. Wall seconds,
CPU seconds (user + system of the process: the machine may be shared, so compare these)
and peak RSS (GNU time); the load average is printed beside each line. The plain SQLite
file is used by default, as in bench/search.py; ``--encrypted`` uses the default encrypted
database (SQLCipher) instead. That the two versions store the same rows and write the same
index file is bench/import_same.py's to show.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PASSPHRASE = "bench passphrase 1"
BEFORE = "2046daf"  # main before the second import-speed stop (2f62cd3 before the first)


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, int, str]:
    """Wall s, CPU s (user + system), peak RSS MB, exit code and the last line printed.
    Run in ``cwd`` (``python -c`` puts the current folder first on the module path: run
    from the repository, every version would be the working tree's code)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "TIMED %M %U %S", *cmd],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    lines = [line.split() for line in done.stderr.splitlines() if line.startswith("TIMED ")]
    if done.returncode or not lines:
        return wall, float("nan"), float("nan"), done.returncode, done.stderr.strip()[-300:]
    kb, user, system = lines[-1][1:]
    said = (done.stdout.strip().splitlines() or [""])[-1]
    return wall, float(user) + float(system), int(kb) / 1024, 0, said


def snapshot(rev: str, into: Path) -> Path:
    """A clean copy of the repository at ``rev``."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def changed_feed(feed: Path, into: Path) -> Path:
    """The feed with one service in ten given a new sentence."""
    into.mkdir()
    for page in sorted(feed.glob("*.json")):
        doc = json.loads(page.read_bytes())
        for service in doc["content"][::10]:
            service["description"] = (
                service.get("description") or ""
            ) + "<p>Now also on Saturdays.</p>"
        (into / page.name).write_text(json.dumps(doc), encoding="utf-8")
    return into


def run(code: Path, n: int, tmp: Path, encrypted: bool, changed: Path) -> list[str]:
    tmp.mkdir(parents=True)
    home = tmp / "home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")},
        "LINKWORK_HOME": str(home),
        "LINKWORK_CONFIG": str(tmp / "no-config.toml"),
        "LINKWORK_IMPORT_MAX_PAGE_BYTES": str(2**30),
        "LINKWORK_IMPORT_MAX_FEED_BYTES": str(2**30),
        "LINKWORK_IMPORT_MAX_SERVICES": "1000000",
        "PYTHONPATH": str(code),
    }
    if encrypted:
        env["LINKWORK_DB_PASSPHRASE"] = PASSPHRASE
    else:
        env["LINKWORK_DATABASE_URL"] = f"sqlite:///{tmp / 'bench.db'}"
    cli = [
        sys.executable,
        "-c",
        "import sys, linkwork; assert linkwork.__file__.startswith(sys.argv[1]), linkwork.__file__;"
        " sys.argv[1:2] = []; from linkwork.tui_entry import main; main()",
        str(code),
    ]
    feed = OUT / f"real-{n}"
    lines = []
    for what, source in (("first", feed), ("same again", feed), ("1 in 10 changed", changed)):
        wall, cpu, rss, code_, said = timed(
            [*cli, "directory", "import", str(source), "--source", "bench"], env, tmp
        )
        if code_:
            raise SystemExit(f"import failed ({code_}): {said}")
        load = os.getloadavg()[0]
        counts = said.split(": ", 1)[-1]
        lines.append(f"{n:>8}  {what:<16}{wall:>8.1f}{cpu:>8.1f}{rss:>8.0f}{load:>7.1f}  {counts}")
        print(lines[-1], flush=True)
    shutil.rmtree(home, ignore_errors=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--encrypted", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"linkwork directory import: {args.before} (before) and {head} (HEAD), same run")
    print(
        f"database: {'SQLCipher (the encrypted default)' if args.encrypted else 'plain SQLite file'}"
    )
    print(f"machine: {os.cpu_count()} CPUs, load at the start {os.getloadavg()}")
    print(
        "wall and CPU in seconds (CPU = user + system), peak RSS in MB, load = 1-minute average after the run"
    )
    with tempfile.TemporaryDirectory(prefix="import-speed-") as folder:
        tmp = Path(folder)
        versions = {
            "before": snapshot(args.before, tmp / "before"),
            "HEAD": snapshot("HEAD", tmp / "head"),
        }
        for n in sizes:
            changed = changed_feed(OUT / f"real-{n}", tmp / f"changed-{n}")
            for name, code in versions.items():
                print(f"\n{name} ({args.before if name == 'before' else head}), {n:,} services")
                print(
                    f"{'services':>8}  {'import':<16}{'wall':>8}{'cpu':>8}{'RSS':>8}{'load':>7}  summary"
                )
                run(code, n, tmp / f"{name}-{n}", args.encrypted, changed)
            shutil.rmtree(changed)
    print(f"\nload at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()

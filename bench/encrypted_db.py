"""What encryption at rest costs a command: ``linkwork person list`` on the same demo
database, plain and encrypted (SQLCipher 4, default 256,000 PBKDF2 rounds), each run a new
process as a link worker runs it; also a first run (``db upgrade`` making a new database) and
the key derivation alone.

    .venv/bin/python bench/encrypted_db.py [--people 2000] [--runs 15]

Writes bench/out/encrypted-db.txt. Runs alternate plain and encrypted so both see the same
machine load.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINKWORK = str(ROOT / ".venv/bin/linkwork")
PASSPHRASE = "bench passphrase 1"


CPU: dict[str, list[float]] = {}


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(args: list[str], env: dict[str, str], label: str = "") -> float:
    """Wall-clock seconds of one ``linkwork ARGS`` process; its CPU seconds (user + system,
    steadier than wall time on a busy machine) kept under ``label``."""
    cpu = _cpu()
    start = time.perf_counter()
    subprocess.run([LINKWORK, *args], env=env, check=True, stdout=subprocess.DEVNULL, timeout=300)
    wall = time.perf_counter() - start
    if label:
        CPU.setdefault(label, []).append(_cpu() - cpu)
    return wall


def summary(times: list[float]) -> str:
    return (
        f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
        f"max {max(times):.3f} s (n={len(times)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = dict(
            os.environ,
            LINKWORK_HOME=str(folder / "home"),
            LINKWORK_CONFIG=str(folder / "none.toml"),
            LINKWORK_DB_PASSPHRASE=PASSPHRASE,
        )
        env.pop("LINKWORK_DATABASE_URL", None)
        plain = folder / "plain.db"
        subprocess.run(
            [LINKWORK, "--db", f"sqlite:///{plain}", "demo", "--people", str(args.people),
             "--seed", "1"],
            env=env, check=True, stdout=subprocess.DEVNULL, timeout=900,
        )  # fmt: skip
        encrypted = folder / "encrypted.db"
        shutil.copy(plain, encrypted)
        subprocess.run(
            [LINKWORK, "--db", f"sqlite:///{encrypted}", "db", "encrypt"],
            env=env, check=True, stdout=subprocess.DEVNULL, timeout=300,
        )  # fmt: skip
        urls = {
            "plain": f"sqlite:///{plain}",
            "encrypted": f"sqlite+pysqlcipher:///{encrypted}",
        }
        command = ["person", "list", "--limit", "50"]
        times: dict[str, list[float]] = {name: [] for name in urls}
        for url in urls.values():  # one warm-up each (page cache, .pyc)
            run(["--db", url, *command], env)
        for _ in range(args.runs):
            for name, url in urls.items():
                times[name].append(run(["--db", url, *command], env, name))

        first: dict[str, list[float]] = {"plain": [], "encrypted": []}
        for i in range(max(3, args.runs // 3)):
            for name, scheme in (("plain", "sqlite"), ("encrypted", "sqlite+pysqlcipher")):
                new = folder / f"first-{name}-{i}.db"
                first[name].append(
                    run(["--db", f"{scheme}:///{new}", "db", "upgrade"], env, f"first {name}")
                )

        sys.path.insert(0, str(ROOT))
        import sqlcipher3

        kdf = []
        for _ in range(10):
            conn = sqlcipher3.connect(str(encrypted))
            start = time.perf_counter()
            conn.execute(f"PRAGMA key = '{PASSPHRASE}'")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            kdf.append(time.perf_counter() - start)
            conn.close()

    def med(values: list[float]) -> float:
        return statistics.median(values)

    lines = [
        f"linkwork person list --limit 50 on a demo database of {args.people} people, "
        "each run a new process",
        f"  plain SQLite, wall:          {summary(times['plain'])}",
        f"  encrypted (SQLCipher), wall: {summary(times['encrypted'])}",
        f"  plain SQLite, CPU:           {summary(CPU['plain'])}",
        f"  encrypted (SQLCipher), CPU:  {summary(CPU['encrypted'])}",
        "  encrypted minus plain, medians: "
        f"wall {med(times['encrypted']) - med(times['plain']):+.3f} s, "
        f"CPU {med(CPU['encrypted']) - med(CPU['plain']):+.3f} s",
        "first run: linkwork db upgrade making a new database (every migration)",
        f"  plain SQLite, wall:          {summary(first['plain'])}",
        f"  encrypted (SQLCipher), wall: {summary(first['encrypted'])}",
        f"  plain SQLite, CPU:           {summary(CPU['first plain'])}",
        f"  encrypted (SQLCipher), CPU:  {summary(CPU['first encrypted'])}",
        "SQLCipher key derivation + first page read, one connection "
        f"(PBKDF2-HMAC-SHA512, 256,000 rounds): {summary(kdf)}",
        f"load average when done: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs",
    ]
    text = "\n".join(lines) + "\n"
    out = ROOT / "bench" / "out" / "encrypted-db.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()

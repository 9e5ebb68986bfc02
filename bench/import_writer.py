# ruff: noqa: E501
"""The import's writing half alone: the CPU of writing a feed's records into a fresh
database (the rows of ``directory.importer``'s writer, no search index) and committing
them, for the code of an earlier commit beside the code of HEAD (or the working tree).

    .venv/bin/python bench/import_writer.py --before 5d0c722              # 100k, min of 3
    .venv/bin/python bench/import_writer.py --before 5d0c722 --after . --sizes 10000 --runs 5

The feed is read once (this tree's reader) into a file of MessagePack batches as the
reading process sends them (``directory.read_worker``), so each run measures only the
writing process's own work: the batches decoded, the rows written (``_import_feed`` with
no index), the commit. Each version runs in a process of its own (a clean copy of its
commit, ``git archive``; ``.`` is the working tree), the versions taking turns, each in a
fresh copy of a migrated plain SQLite file; the minimum CPU of the runs is printed (the
machine may be shared: the load is printed beside it). Peak RSS of the process too. That
the rows are the same is bench/import_same.py's to show.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import import_speed  # noqa: E402

# run in the version's own tree: records decoded from the dump, written, committed
WRITE = r"""
import os, resource, shutil, sys, time, types
sys.path.insert(0, os.getcwd())
from directory import read_worker as rw
import directory.importer as imp
from linkwork.db import open_engine, session_scope
dump, template, work = sys.argv[1:4]
shutil.copy(template, work)
engine = open_engine("sqlite:///" + work)
decode = [0.0]
count = [0]
def records():
    with open(dump, "rb") as f:
        while head := f.read(4):
            body = f.read(int.from_bytes(head, "big"))
            t = time.process_time()
            batch = rw._decode(body)
            for record, digest in zip(batch.services, batch.digests):
                record.known_hash = digest
            decode[0] += time.process_time() - t
            count[0] += len(batch.services)
            yield from batch.services
def read(feed, summary, strict, known):
    yield from records()
    feed.budget.services, feed.full = count[0], True
    summary.format, summary.full = "oruk", True
imp._read = read
feed = types.SimpleNamespace(source="bench", location=dump, format="oruk", full=False,
                             budget=types.SimpleNamespace(services=0))
t0 = time.process_time()
with session_scope(engine) as session:
    summary = imp.import_feed(session, feed, False, None)
    t1 = time.process_time()
t2 = time.process_time()
assert summary.added == count[0], (summary.added, count[0])
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{t2 - t0:.3f} {decode[0]:.3f} {t1 - t0 - decode[0]:.3f} {t2 - t1:.3f} {rss:.0f} {count[0]}")
"""

DUMP = r"""
import sys
from directory import read_worker as rw
from directory.bounded import Limits
from directory.importer import ImportSummary, _read_here
from directory.sources import read_source
feed = read_source(sys.argv[1], "auto", None, Limits(2**30, 2**30, 10**6, 10**7))
summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
with open(sys.argv[2], "wb") as out:
    batch = []
    def flush():
        body = rw._ENCODER.encode(rw._Batch(batch, [r.content_hash() for r in batch], [], b"s" * len(batch), [], []))
        out.write(len(body).to_bytes(4, "big") + body)
        batch.clear()
    for record in _read_here(feed, summary, False, {}):
        batch.append(record)
        if len(batch) >= rw.BATCH:
            flush()
    if batch:
        flush()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="5d0c722")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    print(f"the import's writer alone: {args.before} (before) and {args.after} (after), same run")
    print(f"machine: {os.cpu_count()} CPUs, load at the start {os.getloadavg()}")
    print("CPU seconds, minimum of the runs (total = decode + write + commit), peak RSS in MB")
    with tempfile.TemporaryDirectory(prefix="import-writer-") as folder:
        tmp = Path(folder)
        versions = {
            name: ROOT if rev == "." else import_speed.snapshot(rev, tmp / name)
            for name, rev in (("before", args.before), ("after", args.after))
        }
        template = tmp / "template.db"
        subprocess.run(
            [
                python,
                "-c",
                "import sys; from linkwork.db import open_engine; open_engine('sqlite:///' + sys.argv[1]).dispose()",
                str(template),
            ],
            cwd=versions["before"],
            check=True,
        )
        for n in (int(s) for s in args.sizes.split(",")):
            dump = tmp / f"records-{n}.msgpack"
            subprocess.run(
                [python, "-c", DUMP, str(ROOT / "bench" / "out" / f"real-{n}"), str(dump)],
                cwd=ROOT,
                check=True,
            )
            best: dict[str, list[float]] = {}
            loads = []
            for _ in range(args.runs):
                for name, code in versions.items():
                    done = subprocess.run(
                        [python, "-c", WRITE, str(dump), str(template), str(tmp / "work.db")],
                        cwd=code,
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    figures = [float(x) for x in done.stdout.split()]
                    if name not in best or figures[0] < best[name][0]:
                        best[name] = figures
                    loads.append(os.getloadavg()[0])
                    os.unlink(tmp / "work.db")
            print(
                f"\n{n:,} services ({args.runs} runs each, load {min(loads):.1f}-{max(loads):.1f})"
            )
            print(f"{'version':<8}{'total':>8}{'decode':>8}{'write':>8}{'commit':>8}{'RSS':>7}")
            for name, (total, decode, write, commit, rss, _count) in best.items():
                print(f"{name:<8}{total:>8.2f}{decode:>8.2f}{write:>8.2f}{commit:>8.2f}{rss:>7.0f}")
            dump.unlink()


if __name__ == "__main__":
    main()

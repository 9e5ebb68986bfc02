# ruff: noqa: E501
"""Where the directory search index lives: candidates measured side by side (issue 18, point 4).

    .venv/bin/python bench/search_index.py                  # 1k and 10k services
    .venv/bin/python bench/search_index.py --sizes 100000   # the big one (minutes)

For each size: the directory is generated (../shared/data/gen_directory.py, seed 7, kept in
bench/out/) and imported into a fresh SQLite file, then each candidate is built from it and
searched with the 80 dev queries in a fresh process (what a CLI search pays):

* ``memory``: today's ``ServiceIndex.build`` from the database, every search (the old CLI);
* ``mmap``: ``directory.index_file``: the built index saved to one file, memory-mapped;
* ``fts5``: an SQLite FTS5 table (porter stemmer; name, taxonomy, organisation and
  description columns weighted as the index weighs them) queried with the query's words
  ORed, ranked by bm25; it has none of linkwork's language understanding, filters or
  'why', so its quality is shown on the sample too;
* ``fts5-trigram``: the same with the trigram tokenizer (typos by shared trigrams).

Columns: build s (once, at import), file MB, open ms (in the fresh process, after its
imports), first query ms, p50 / p95 ms of the next queries, peak RSS MB of that process
(imports included: numpy, SQLAlchemy, the codes catalogue).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from directory.bounded import Limits  # noqa: E402
from directory.importer import import_source  # noqa: E402
from directory.index_file import save_index  # noqa: E402
from directory.search import ServiceIndex  # noqa: E402
from linkwork import db as lwdb  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
# the generated feeds are one page each: a limit above them (the defaults guard the app)
BIG = Limits(page_bytes=2**30, feed_bytes=2**30, services=1_000_000)

CHILD = textwrap.dedent(
    """
    import json, resource, statistics, sys, time
    t0 = time.perf_counter()
    kind, path, queries = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    sys.path.insert(0, sys.argv[4])
    if kind == "memory":
        from sqlmodel import Session
        from directory.search import ServiceIndex
        from linkwork import db as lwdb
        from codes.catalogue import load_catalogue
        load_catalogue()
        t1 = time.perf_counter()
        engine = lwdb.open_engine("sqlite:///" + path)
        with Session(engine) as session:
            index = ServiceIndex.build(session)
        search = lambda q: index.search(q, limit=10)
    elif kind == "mmap":
        from directory.index_file import open_index
        from codes.catalogue import load_catalogue
        load_catalogue()
        t1 = time.perf_counter()
        index = open_index(__import__("pathlib").Path(path))
        search = lambda q: index.search(q, limit=10)
    else:
        import re, sqlite3
        t1 = time.perf_counter()
        con = sqlite3.connect(path)
        def search(q):
            words = re.findall(r"[a-z0-9]+", q.lower())
            if kind == "fts5-trigram":
                words = [w for w in words if len(w) >= 3]
            if not words:
                return []
            match = " OR ".join('"' + w + '"' for w in words)
            return con.execute(
                "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY bm25(fts, 3.0, 2.5, 1.0, 1.0) LIMIT 10",
                (match,),
            ).fetchall()
        search("warm up the page cache of the header")
    t2 = time.perf_counter()
    search(queries[0])
    t3 = time.perf_counter()
    times = []
    for _ in range(2):
        for q in queries[1:]:
            a = time.perf_counter(); search(q); times.append((time.perf_counter() - a) * 1000)
    times.sort()
    print(json.dumps({
        "imports_ms": (t1 - t0) * 1000, "open_ms": (t2 - t1) * 1000, "first_ms": (t3 - t2) * 1000,
        "p50": statistics.median(times), "p95": times[int(len(times) * 0.95)],
        "rss_mb": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024,
    }))
    """
)


def fts5(db_path: Path, out: Path, tokenizer: str) -> float:
    """An FTS5 table of the directory's services in ``out``; seconds to build it."""
    t0 = time.perf_counter()
    src = sqlite3.connect(db_path)
    rows = src.execute(
        "SELECT s.id, s.name, s.taxonomy_terms, coalesce(o.name, ''), s.description FROM service s "
        "LEFT JOIN organisation o ON o.id = s.organisation_id WHERE s.withdrawn = 0"
    ).fetchall()
    src.close()
    if out.exists():
        out.unlink()
    con = sqlite3.connect(out)
    con.execute(
        f"CREATE VIRTUAL TABLE fts USING fts5(name, taxonomy, organisation, description, tokenize='{tokenizer}')"
    )
    con.executemany(
        "INSERT INTO fts(rowid, name, taxonomy, organisation, description) VALUES (?, ?, ?, ?, ?)",
        [(r[0], r[1], " ; ".join(json.loads(r[2] or "[]")), r[3], r[4]) for r in rows],
    )
    con.commit()
    con.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    con.commit()
    con.close()
    return time.perf_counter() - t0


def child(kind: str, path: Path, queries: list[str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path), json.dumps(queries), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def feed_for(n: int) -> Path:
    if n == 400:
        return SHARED / "directory-sample.oruk.json"
    OUT.mkdir(parents=True, exist_ok=True)
    feed = OUT / f"dir-{n}.json"
    if not feed.exists():
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
    return feed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    queries = [
        line.split("\t")[0]
        for line in (SHARED / "queries-dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    ]
    print(f"search index candidates; {os.cpu_count()} CPUs; load {os.getloadavg()}")
    print(
        f"{'services':>9} {'candidate':<13}{'build s':>8}{'file MB':>9}{'imports ms':>11}{'open ms':>9}"
        f"{'first ms':>10}{'p50 ms':>8}{'p95 ms':>8}{'RSS MB':>8}"
    )
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for n in [int(s) for s in args.sizes.split(",") if s]:
            db_path = tmp / f"dir-{n}.db"
            engine = lwdb.open_engine(f"sqlite:///{db_path}")
            with Session(engine) as session:
                import_source(session, feed_for(n), limits=BIG)
                session.commit()
            t0 = time.perf_counter()
            with Session(engine) as session:
                index = ServiceIndex.build(session)
            build_s = time.perf_counter() - t0
            engine.dispose()
            idx_path = tmp / f"dir-{n}.lwidx"
            t0 = time.perf_counter()
            save_index(index, idx_path, "bench")
            save_s = time.perf_counter() - t0
            del index
            built = {
                "memory": (build_s, db_path.stat().st_size, db_path),
                "mmap": (build_s + save_s, idx_path.stat().st_size, idx_path),
            }
            for tokenizer, name in (("porter unicode61", "fts5"), ("trigram", "fts5-trigram")):
                out = tmp / f"dir-{n}-{name}.db"
                built[name] = (fts5(db_path, out, tokenizer), out.stat().st_size, out)
            for name, (secs, size, path) in built.items():
                r = child(name, path, queries)
                print(
                    f"{n:>9} {name:<13}{secs:>8.2f}{size / 2**20:>9.1f}{r['imports_ms']:>11.0f}{r['open_ms']:>9.1f}"
                    f"{r['first_ms']:>10.1f}{r['p50']:>8.2f}{r['p95']:>8.2f}{r['rss_mb']:>8.0f}",
                    flush=True,
                )
    print(f"load at the end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# ruff: noqa: E501
"""Directory search benchmark: quality on every query set and speed at 1k/10k/100k services,
beside two baselines measured in the same run.

    .venv/bin/python bench/search.py                       # 1k, 10k, 100k
    .venv/bin/python bench/search.py --sizes 1000,10000    # skip the big one

Engines: ``linkwork`` (the search as the CLI and the app run it: defaults, stale shown and
ranked lower, the index opened from its file); ``naive``: a rapidfuzz ``WRatio`` scan over
name + description of every service; ``fts5-trigram``: an SQLite FTS5 table with the
trigram tokenizer (name, taxonomy, organisation and description columns, bm25 weighted as
the index weighs them), the query's words of 3+ letters ORed.

Quality: success@1, success@5 and MRR on the 400-service sample for the dev queries, the
held-out set written before issue 18, the lay set tuned on, and issue 18's four blind
sets (scored only: no query is ever printed). The ground truth (``x_category``) is read
here, for scoring only.

Speed, for each size (a council-like directory: bench/realistic_feed.py turns the shared
generator's services (seed 7) into HTML descriptions with a real vocabulary, 40% without
taxonomy, verification dates over 2019-2026, paged 500 a page; kept in bench/out/):
``linkwork directory import`` of the folder into a fresh SQLite database (which also
writes the search index file), wall seconds and peak RSS; then, each
in a fresh process: opening the index and the 80 dev queries (p50/p95 after the first),
the naive scan, the FTS5 trigram table; and ``linkwork directory search "food bank"``
end to end (start-up included), wall seconds and peak RSS (``/usr/bin/time``); CPU seconds
(user + system) beside each wall time, since the machine may be shared.

Then, at each size: the app's search as its search process runs it (the saved index
opened and ``NearSearch`` made in a fresh process; first results = from the process's
start to the first answer; then each key of the 80 dev queries typed, p50/p95/max ms), and
the 400-service sample imported as a second feed into that directory, every query set
scored on the whole of it beside the sample alone ("no drop on the sample at 100k").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from search_index import child, fts5  # noqa: E402
from search_quality import SETS, evaluate, read_queries, sample_index  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
TODAY = "2026-11-01"
LINKWORK = [sys.executable, "-c", "from linkwork.tui_entry import main; main()"]


ALONE: dict[str, tuple[float, float]] = {}  # query set -> s@1, s@5 on the sample alone
APPS: dict[int, dict[str, float]] = {}  # size -> the app's first results and keystrokes
EMBED: dict[int, dict[str, list[float]]] = {}  # size -> query set -> (n, s@1, s@5, MRR)


def quality(tmp: Path) -> None:
    from datetime import date

    index, truth = sample_index(tmp)
    docs = [index.docs[i] for i in range(index.size)]
    choices = [f"{d.name} {d.description}" for d in docs]
    fts_path = tmp / "sample-fts.db"
    fts5(tmp / "sample.db", fts_path, "trigram")
    con = sqlite3.connect(fts_path)
    by_service = {d.service_id: truth[d.source_id] for d in docs}
    today = date.fromisoformat(TODAY)

    def linkwork(text: str) -> list[set[str]]:
        return [truth[m.id] for m in index.search(text, limit=10, today=today)]

    def naive(text: str) -> list[set[str]]:
        found = process.extract(
            text, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=10
        )
        return [truth[docs[i].source_id] for _c, _s, i in found]

    def trigram(text: str) -> list[set[str]]:
        words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 3]
        if not words:
            return []
        rows = con.execute(
            "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY bm25(fts, 3.0, 2.5, 1.0, 1.0) LIMIT 10",
            (" OR ".join(f'"{w}"' for w in words),),
        ).fetchall()
        return [by_service[r[0]] for r in rows]

    print("\nQuality on the 400-service sample (k = 1, 5; linkwork with the CLI's defaults)")
    print(f"{'queries':<16}{'n':>4}  {'engine':<13}{'s@1':>7}{'s@5':>7}{'MRR':>7}")
    for name, path in SETS.items():
        rows = read_queries(path)
        for engine, ranked in (("linkwork", linkwork), ("naive", naive), ("fts5-trigram", trigram)):
            table, _ranks = evaluate(rows, ranked)
            n, s1, s5, mrr = table["all"]
            print(f"{name:<16}{n:>4}  {engine:<13}{s1:>7.3f}{s5:>7.3f}{mrr:>7.3f}", flush=True)
            if engine == "linkwork":
                ALONE[name] = (s1, s5)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, float]:
    """Wall seconds, peak RSS MB (GNU time), exit code and CPU seconds (user + system:
    what the machine's other load does not inflate much) of a command."""
    t0 = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "TIMED %M %U %S", *cmd], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    lines = [line.split() for line in done.stderr.splitlines() if line.startswith("TIMED ")]
    if not lines:
        return wall, float("nan"), done.returncode, float("nan")
    kb, user, system = lines[-1][1:]
    return wall, int(kb) / 1024, done.returncode, float(user) + float(system)


NAIVE = """
import json, statistics, sys, time
from rapidfuzz import fuzz, process, utils
sys.path.insert(0, sys.argv[3])
from directory.index_file import open_index
index = open_index(__import__("pathlib").Path(sys.argv[1]))
docs = [index.docs[i] for i in range(index.size)]
choices = [f"{d.name} {d.description}" for d in docs]
queries = json.loads(sys.argv[2])
process.extract(queries[0], choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=10)
times = []
for q in queries:
    a = time.perf_counter()
    process.extract(q, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=10)
    times.append((time.perf_counter() - a) * 1000)
times.sort()
hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"p50": statistics.median(times), "p95": times[int(len(times) * 0.95)], "rss_mb": hwm}))
"""


APP = """
import time
t0 = time.perf_counter()
import json, statistics, sys
sys.path.insert(0, sys.argv[2])
from linkwork.actions import search
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
queries = json.loads(sys.argv[1])
# as the app's search process does: the saved index opened, then searched on every key
near = search.NearSearch(search.current_index(Workspace(load_settings())))
near.search(queries[0])
first = time.perf_counter() - t0
first_cpu = time.process_time()  # the process's CPU time so far: imports included
times, cpu, refused = [], [], 0
for q in queries:
    for k in range(1, len(q) + 1):
        a, c = time.perf_counter(), time.process_time()
        try:
            near.search(q[:k])
        except ValueError:
            refused += 1
        times.append((time.perf_counter() - a) * 1000)
        cpu.append((time.process_time() - c) * 1000)
times.sort()
cpu.sort()
# with a town in the near box (the distances from it worked out once, not per key)
town = near.town_names[0] if near.town_names else None
near_cpu = []
for q in queries[:40] if town else []:
    for k in range(1, len(q) + 1):
        c = time.process_time()
        try:
            near.search(q[:k], near=town)
        except ValueError:
            pass
        near_cpu.append((time.process_time() - c) * 1000)
near_cpu = sorted(near_cpu) or [float("nan")]
hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"first_s": first, "keys": len(times), "refused": refused,
                  "p50": statistics.median(times), "p95": times[int(len(times) * 0.95)],
                  "max": times[-1], "rss_mb": hwm, "first_cpu": first_cpu,
                  "cpu50": statistics.median(cpu), "cpu95": cpu[int(len(cpu) * 0.95)],
                  "cpumax": cpu[-1], "near50": statistics.median(near_cpu),
                  "near95": near_cpu[int(len(near_cpu) * 0.95)]}))
"""

EMBEDDED = """
import json, sys
from datetime import date
from pathlib import Path
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[2] + "/bench")
from directory.index_file import open_index
from search_quality import SETS, evaluate, read_queries
index = open_index(Path(sys.argv[1]))
truth = {k: set(v) for k, v in json.loads(Path(sys.argv[3]).read_text()).items()}
today = date.fromisoformat(sys.argv[4])
out = {}
for name, path in SETS.items():
    ranked = lambda text: [truth.get(m.id, set()) for m in index.search(text, limit=10, today=today)]
    table, _ranks = evaluate(read_queries(path), ranked)
    out[name] = table["all"]
print(json.dumps(out))
"""


def app_speed(env: dict[str, str], queries: list[str]) -> dict[str, float]:
    """The app's search at this size, in a fresh process: first results (start to the
    first answer, imports included) and each keystroke of the dev queries typed."""
    done = subprocess.run(
        [sys.executable, "-c", APP, json.dumps(queries), str(ROOT)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def embedded_sample(n: int, env: dict[str, str], home: Path, tmp: Path) -> dict[str, list[float]]:
    """The 400-service sample imported into the directory of ``n`` as a second feed, then
    every query set scored on the whole directory: the relevant categories of each
    service are the sample's ``x_category`` and, for the council-like services, the
    generator's (bench/out/dir-N.json, read here for scoring only)."""
    sample = SHARED / "directory-sample.oruk.json"
    truth = {s["id"]: s["x_category"] for s in json.loads(sample.read_text())["content"]}
    generated = json.loads((OUT / f"dir-{n}.json").read_text())
    truth.update({s["id"]: s.get("x_category", []) for s in generated["content"]})
    del generated
    truth_path = tmp / f"truth-{n}.json"
    truth_path.write_text(json.dumps(truth))
    done = subprocess.run(
        [*LINKWORK, "directory", "import", str(sample), "--source", "sample"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    index_file = next(home.glob("search-index/*.lwidx"))
    scored = subprocess.run(
        [sys.executable, "-c", EMBEDDED, str(index_file), str(ROOT), str(truth_path), TODAY],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, list[float]] = json.loads(scored.stdout)
    return result


def cli_env(home: Path, config: Path, db: Path) -> dict[str, str]:
    """The environment for running the CLI on a benchmark directory: its own home, no
    config, an SQLite file, and import bounds wide enough for 100k services."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")},
        "LINKWORK_HOME": str(home),
        "LINKWORK_CONFIG": str(config),
        "LINKWORK_DATABASE_URL": f"sqlite:///{db}",
        "LINKWORK_IMPORT_MAX_PAGE_BYTES": str(2**30),
        "LINKWORK_IMPORT_MAX_FEED_BYTES": str(2**30),
        "LINKWORK_IMPORT_MAX_SERVICES": "1000000",
        "PYTHONPATH": str(ROOT),
    }


def speed(n: int, tmp: Path, naive_queries: int) -> None:
    home = tmp / f"home-{n}"
    db = tmp / f"bench-{n}.db"
    env = cli_env(home, tmp / "no-config.toml", db)
    feed = OUT / f"real-{n}"
    if not (feed / "page-0001.json").exists():
        made = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "realistic_feed.py"),
                "--n",
                str(n),
                "--out",
                str(feed),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        (OUT / f"real-{n}.words.txt").write_text(made.stdout, encoding="utf-8")
    words = (OUT / f"real-{n}.words.txt").read_text(encoding="utf-8").strip()
    wall, rss, code, cpu = timed(
        [*LINKWORK, "directory", "import", str(feed), "--source", "bench"], env
    )
    assert code == 0, f"import failed ({code})"
    index_file = next(home.glob("search-index/*.lwidx"))
    queries = [r["query"] for r in read_queries(SHARED / "queries-dev.tsv")]
    mine = child("mmap", index_file, queries)
    fts_path = tmp / f"bench-{n}-fts.db"
    fts_s = fts5(db, fts_path, "trigram")
    tri = child("fts5-trigram", fts_path, queries)
    sample = queries if naive_queries <= 0 or n < 100_000 else queries[:naive_queries]
    naive = json.loads(
        subprocess.run(
            [sys.executable, "-c", NAIVE, str(index_file), json.dumps(sample), str(ROOT)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    cli = [timed([*LINKWORK, "directory", "search", "food bank"], env) for _ in range(3)]
    cli_wall = sorted(c[0] for c in cli)[1]
    cli_rss = max(c[1] for c in cli)
    cli_cpu = sorted(c[3] for c in cli)[1]
    APPS[n] = app_speed(env, queries)
    EMBED[n] = embedded_sample(n, env, home, tmp)
    print(
        f"{n:>8}{wall:>9.1f}{cpu:>7.1f}{rss:>8.0f}{index_file.stat().st_size / 2**20:>8.1f}"
        f"{mine['open_ms']:>8.0f}{mine['p50']:>8.2f}{mine['p95']:>8.2f}{mine['rss_mb']:>7.0f}"
        f"{naive['p50']:>9.1f}{naive['p95']:>9.1f}{naive['rss_mb']:>7.0f}"
        f"{fts_s:>7.1f}{tri['p50']:>8.2f}{tri['p95']:>8.2f}{tri['rss_mb']:>6.0f}"
        f"{cli_wall:>8.2f}{cli_cpu:>7.2f}{cli_rss:>7.0f}"
        + (f"  (naive over {len(sample)} queries)" if len(sample) != len(queries) else "")
        + f"  [{words}]",
        flush=True,
    )
    shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--naive-queries",
        type=int,
        default=20,
        help="dev queries the naive scan times at 100k (0 = all 80)",
    )
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    print(f"linkwork directory search benchmark; {os.cpu_count()} CPUs; load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if not args.skip_quality:
            quality(tmp)
        print(
            "\nSpeed (linkwork: the saved index opened in a fresh process, 80 dev queries x 2;"
            "\n import: 'linkwork directory import' including the index file; CLI: 'linkwork"
            '\n directory search "food bank"\' end to end, median of 3; ms unless said)'
        )
        print(
            f"{'services':>8}{'import s':>9}{'cpu s':>7}{'imp MB':>8}{'idx MB':>8}{'open':>8}{'p50':>8}{'p95':>8}{'RSS':>7}"
            f"{'naive50':>9}{'naive95':>9}{'RSS':>7}{'fts s':>7}{'tri50':>8}{'tri95':>8}{'RSS':>6}{'CLI s':>8}{'cpu s':>7}{'CLI MB':>7}"
        )
        for n in [int(s) for s in args.sizes.split(",") if s]:
            speed(n, tmp, args.naive_queries)
        print(
            "\nThe app's search (its search process: the saved index opened, NearSearch made,"
            "\n then searched as each key of the 80 dev queries is typed; a fresh process):"
            "\n first results = from the process's start to the first answer, imports included;"
            "\n wall and CPU (user + system, what other load on the machine inflates least);"
            "\n near50/95: CPU per key of the first 40 dev queries typed near the first town"
        )
        print(
            f"{'services':>8}{'first s':>9}{'cpu s':>7}{'keys':>7}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}"
            f"{'cpu50':>7}{'cpu95':>7}{'cpumax':>8}{'near50':>8}{'near95':>8}{'RSS':>6}"
        )
        for n, a in APPS.items():
            print(
                f"{n:>8}{a['first_s']:>9.2f}{a['first_cpu']:>7.2f}{a['keys']:>7}{a['p50']:>8.2f}"
                f"{a['p95']:>8.2f}{a['max']:>8.1f}{a['cpu50']:>7.2f}{a['cpu95']:>7.2f}"
                f"{a['cpumax']:>8.1f}{a['near50']:>8.2f}{a['near95']:>8.2f}{a['rss_mb']:>6.0f}"
            )
        print(
            "\nThe sample inside a large directory: the 400 sample services imported as a second"
            "\n feed into the directory of each size, every query set scored on the whole of it"
            "\n (a result is relevant by the sample's or the generator's categories), beside the"
            "\n sample alone (the quality table above)"
        )
        print(
            f"{'queries':<16}{'alone s@1':>10}{'s@5':>7}"
            + "".join(f"{f'{n} s@1':>12}{'s@5':>7}" for n in EMBED)
        )
        for name, (a1, a5) in ALONE.items():
            row = f"{name:<16}{a1:>10.3f}{a5:>7.3f}"
            for found in EMBED.values():
                _n, s1, s5, _mrr = found[name]
                row += f"{s1:>12.3f}{s5:>7.3f}"
            print(row)
    print(f"\nload at the end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# ruff: noqa: E501
"""The 400-service sample alone and inside a large directory: success@5 per query set.

    .venv/bin/python bench/search_inside.py                    # 100k, every set below
    .venv/bin/python bench/search_inside.py --n 10000 --sets dev,tune4\\ lay --misses

The goal "no drop on the sample at 100k" measured quickly while tuning: the directory of
``--n`` council-like services (bench/out/real-N, made by bench/search.py) and the sample
imported into it as a second feed once, with the CLI, into ``--work`` (kept there and
reused while its search index file is there: delete the folder after changing how the
index is built), then each set scored on the sample alone (an index built in-process, as
bench/search_quality.py does) and on the whole directory (the index file opened as the
app and CLI open it). A result is relevant by the sample's categories or, for the
council-like services, the generator's (bench/out/dir-N.json), read here for scoring only.

Only the sets tuned on are scored here (dev, old held-out, tune lay to tune5 short):
the blind sets are the lead's, scored by bench/search.py. ``--misses`` lists the queries of
these sets missed at 5 inside the directory, with the first five found and why.

``--cost``: what judging a longer account's services by what they answer costs per
keystroke inside the directory (``_with_each_need`` and ``_need_kinds``, the variety step
given need kinds): every query of the sets typed key by key as the app searches
(``while_typing``), each keystroke searched with the step and without it (the short list
and variety by name alone, as before), alternately, CPU time (``time.process_time``) of
each; the minimum of ``--repeat`` rounds per keystroke.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from search import cli_env  # noqa: E402
from search_quality import SETS, evaluate, read_queries, sample_index  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
TODAY = date(2026, 11, 1)
TUNED = ("dev", "old held-out", "tune lay", "tune2 lay", "tune3 lay", "tune4 lay", "tune5 short")
LINKWORK = [sys.executable, "-c", "from linkwork.tui_entry import main; main()"]


def index_file(n: int, work: Path) -> Path:
    """The search index of the directory of ``n`` with the sample imported into it."""
    home = work / "home"
    found = sorted(home.glob("search-index/*.lwidx"))
    if found and (work / "done").exists():
        return found[0]
    work.mkdir(parents=True, exist_ok=True)
    env = cli_env(home, work / "no-config.toml", work / "db.sqlite")
    feed = OUT / f"real-{n}"
    if not (feed / "page-0001.json").exists():
        sys.exit(f"no feed {feed}: run bench/search.py --sizes {n} once to make it")
    for source, name in ((feed, "bench"), (SHARED / "directory-sample.oruk.json", "sample")):
        subprocess.run(
            [*LINKWORK, "directory", "import", str(source), "--source", name],
            env=env,
            check=True,
            capture_output=True,
        )
    (work / "done").write_text("")
    return sorted(home.glob("search-index/*.lwidx"))[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--work", type=Path, help="folder kept for the directory (default: /tmp)")
    parser.add_argument(
        "--sets", default=",".join(TUNED), help="comma-separated, of: " + ", ".join(TUNED)
    )
    parser.add_argument("--misses", action="store_true", help="the queries missed at 5 inside")
    parser.add_argument(
        "--cost", action="store_true", help="CPU per keystroke with and without the need kinds"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--without", action="store_true", help="the need kinds left out (as before them)"
    )
    args = parser.parse_args()
    names = [s for s in args.sets.split(",") if s]
    for name in names:
        if name not in TUNED:
            sys.exit(f"{name!r}: only the sets tuned on are scored here ({', '.join(TUNED)})")
    from directory.index_file import open_index

    work = args.work or Path(tempfile.gettempdir()) / f"linkwork-inside-{args.n}"
    big = open_index(index_file(args.n, work))
    if args.cost:
        return cost(big, names, args.repeat)
    truth = {
        s["id"]: set(s["x_category"])
        for s in json.loads((SHARED / "directory-sample.oruk.json").read_text())["content"]
    }
    with tempfile.TemporaryDirectory() as folder:
        alone, _truth = sample_index(Path(folder))
    if args.without:
        for index in (alone, big):
            index._with_each_need = lambda candidates, scores, keep, top, reading: (top, None)  # type: ignore[method-assign]
            index._need_kinds = lambda services, reading: None  # type: ignore[method-assign,assignment]
    generated = json.loads((OUT / f"dir-{args.n}.json").read_text())["content"]
    truth.update({s["id"]: set(s.get("x_category", [])) for s in generated})
    del generated

    print(f"The sample alone and inside {args.n:,} services (s@5; today {TODAY})")
    print(f"{'queries':<14}{'n':>4}{'alone':>8}{'inside':>8}")
    for name in names:
        rows = read_queries(SETS[name])
        found = {}
        ranked = {}
        for label, index in (("alone", alone), ("inside", big)):
            table, ranks = evaluate(
                rows,
                lambda text, index=index: [
                    truth.get(m.id, set()) for m in index.search(text, limit=10, today=TODAY)
                ],
            )
            found[label] = table["all"][2]
            ranked[label] = [rank for _query, rank in ranks]
        print(f"{name:<14}{len(rows):>4}{found['alone']:>8.3f}{found['inside']:>8.3f}", flush=True)
        if args.misses:
            for row, was, rank in zip(rows, ranked["alone"], ranked["inside"], strict=True):
                if rank and rank <= 5:
                    continue
                query = row["query"]
                print(
                    f"  miss: {query}  [{row['relevant_categories']}] (first relevant: {rank}; alone {was})"
                )
                for m in big.search(query, limit=5, today=TODAY):
                    print(
                        f"      {m.name[:44]:<44} {','.join(sorted(truth.get(m.id, set())))[:40]:<40} {'; '.join(m.why[:2])[:90]}"
                    )
    return 0


def cost(index: object, names: list[str], repeat: int) -> int:
    """CPU ms per keystroke with the need kinds and without them (module docstring)."""
    from directory.search import ServiceIndex

    assert isinstance(index, ServiceIndex)
    with_each, kinds = index._with_each_need, index._need_kinds

    def off() -> None:
        index._with_each_need = lambda candidates, scores, keep, top, reading: (top, None)  # type: ignore[method-assign]
        index._need_kinds = lambda services, reading: None  # type: ignore[method-assign,assignment]

    def on() -> None:
        index._with_each_need, index._need_kinds = with_each, kinds  # type: ignore[method-assign]

    texts = [row["query"] for name in names for row in read_queries(SETS[name])]
    keys = [text[:k] for text in texts for k in range(1, len(text) + 1)]
    for (
        text
    ) in texts:  # each clause read once (the catalogue's and meaning's caches), as typing does
        index.search(text, limit=20, today=TODAY)
    spent: dict[str, list[float]] = {
        "with": [float("inf")] * len(keys),
        "without": [float("inf")] * len(keys),
    }
    differ = 0
    for _round in range(repeat):
        for k, key in enumerate(keys):
            shown = {}
            for label, switch in (
                (("with", on), ("without", off)) if k % 2 else (("without", off), ("with", on))
            ):
                switch()
                start = time.process_time()
                try:
                    shown[label] = [
                        m.service_id
                        for m in index.search(key, limit=20, today=TODAY, while_typing=True)
                    ]
                except ValueError:
                    shown[label] = []
                spent[label][k] = min(spent[label][k], (time.process_time() - start) * 1000)
            differ += _round == 0 and shown["with"] != shown["without"]
    on()
    print(
        f"CPU ms per keystroke, {len(keys)} keystrokes of {len(texts)} queries ({', '.join(names)}); min of {repeat}; load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':<9}{'p50':>7}{'p95':>7}{'max':>7}{'mean':>7}")
    for label, ms in spent.items():
        ms = sorted(ms)
        print(
            f"{label:<9}{statistics.median(ms):>7.2f}{ms[int(len(ms) * 0.95)]:>7.2f}{ms[-1]:>7.1f}{statistics.fmean(ms):>7.2f}"
        )
    extra = sorted(a - b for a, b in zip(spent["with"], spent["without"], strict=True))
    print(
        f"with - without, per keystroke: p50 {statistics.median(extra):.3f}, p95 {extra[int(len(extra) * 0.95)]:.3f}, mean {statistics.fmean(extra):.3f} ms; answers differ on {differ} keystrokes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

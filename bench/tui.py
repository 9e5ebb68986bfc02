"""Terminal app speed, printed beside baselines measured in the same run.

1. First screen: wall-clock time from starting ``linkwork`` (a fresh Python process, the
   real CLI entry) to the home screen's first paint, and to the home screen filled from
   the database, on the sample database (400 services + a few demo people). Baseline: a
   bare Textual app with one Static, started the same way.
2. Keystroke to results in Find a service at N services (default 10,000, generated with
   ../shared/data/gen_directory.py and imported): each query from queries-dev.tsv is typed
   one key at a time; for every key, the time from the input changing to the results
   table repainted (the screen's own timer). Baseline: the same app and keystrokes with
   the search replaced by a naive rapidfuzz WRatio scan over every service.

   With ``--near PLACE`` (a postcode, area or town) PLACE is first typed into the near box
   key by key (reported separately: a half-typed postcode searches at any distance with a
   hint, never an error), then the queries are typed with it there, so every search also
   resolves the place and measures distances in miles.

    .venv/bin/python bench/tui.py [--n 10000] [--queries 30] [--near ZZ1] [--skip-start]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the ``tui`` package: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
PY = sys.executable


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def load_directory(db_url: str, source: Path) -> int:
    from linkwork.db import open_engine, session_scope

    engine = open_engine(db_url)
    with session_scope(engine) as session:
        try:
            from linkwork.sample import load_sample_directory

            if source == SHARED / "directory-sample.oruk.json":
                load_sample_directory(session)
                return 400
        except ImportError:
            pass
        from directory.importer import import_source

        summary = import_source(session, source)
        return int(summary.added)


def add_demo_people(db_url: str) -> None:
    try:
        from linkwork.demo import make_demo
    except ImportError:
        return
    from linkwork.db import open_engine, session_scope

    with session_scope(open_engine(db_url)) as session:
        make_demo(session, people=50, seed=7)


BARE_APP = """
import json, sys, time
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.done)
    def done(self):
        open(sys.argv[1], "w").write(json.dumps({"first_paint": time.time()}))
        self.exit()
Bare().run(headless=True)
"""


def first_screen(home: Path, runs: int) -> tuple[list[float], list[float], list[float]]:
    paint, filled, bare = [], [], []
    env = dict(os.environ, LINKWORK_HOME=str(home))
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "t.json"
            start = time.time()
            subprocess.run(
                [str(ROOT / ".venv/bin/linkwork")],
                env={**env, "LINKWORK_TUI_TIMING": str(out)},
                check=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
            data = json.loads(out.read_text())
            paint.append(data["first_paint"] - start)
            filled.append(data["home_filled"] - start)
            start = time.time()
            subprocess.run([PY, "-c", BARE_APP, str(out)], check=True, timeout=60)
            bare.append(json.loads(out.read_text())["first_paint"] - start)
    return paint, filled, bare


def naive_search_factory(db_url: str):  # type: ignore[no-untyped-def]
    """The baseline: rapidfuzz WRatio over every service's name + description."""
    from rapidfuzz import fuzz, process
    from sqlmodel import select

    from directory.models import Service
    from linkwork.db import open_engine, session_scope

    with session_scope(open_engine(db_url)) as session:
        rows = session.exec(select(Service.id, Service.name, Service.description)).all()
    ids = [r[0] for r in rows]
    names = [r[1] for r in rows]
    texts = [f"{r[1]} {r[2]}"[:300] for r in rows]

    class Match:
        def __init__(self, i: int, score: float) -> None:
            self.service_id = ids[i]
            self.id = str(ids[i])
            self.name = names[i]
            self.organisation = ""
            self.score = score
            self.why = ["naive scan"]
            self.stale = False

    def search(text: str, **_: object) -> list[Match]:
        found = process.extract(text, texts, scorer=fuzz.WRatio, limit=30)
        return [Match(i, score) for _, score, i in found]

    return search


async def keystrokes(
    db_url: str,
    queries: list[str],
    naive: bool,
    near: str = "",
    near_samples: list[float] | None = None,
) -> list[float]:
    from linkwork.settings import load_settings
    from tui.app import LinkworkApp
    from tui.screens.services import ServicesScreen

    samples: list[float] = []
    settings = load_settings(database_url=db_url)
    app = LinkworkApp(settings)
    if naive:
        naive_search = naive_search_factory(db_url)
        app.service_search.search = lambda text, near=None, **kw: naive_search(text)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.db_ready:
            await pilot.pause(0.05)
        await pilot.press("f4")
        while not app.index_ready:
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, ServicesScreen)
        if near:
            # type the place key by key after a first query, timing those keystrokes too
            screen.query_one("#svc-query").value = queries[0]  # type: ignore[attr-defined]
            await pilot.pause(0.2)
            screen.query_one("#f-near").focus()
            screen.timings.clear()
            for count, key in enumerate(near, start=1):
                await pilot.press("space" if key == " " else key)
                deadline = time.perf_counter() + 5
                while len(screen.timings) < count and time.perf_counter() < deadline:
                    await asyncio.sleep(0.001)
            if near_samples is not None:
                near_samples.extend(screen.timings)
            screen.query_one("#svc-query").focus()
        for query in queries:
            screen.query_one("#svc-query").value = ""  # type: ignore[attr-defined]
            await pilot.pause(0.05)
            screen.timings.clear()
            for count, key in enumerate(query, start=1):
                await pilot.press("space" if key == " " else key)
                deadline = time.perf_counter() + 5
                while len(screen.timings) < count and time.perf_counter() < deadline:
                    await asyncio.sleep(0.001)
            samples.extend(screen.timings)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="services for the search test")
    parser.add_argument("--queries", type=int, default=30, help="queries typed (from the dev set)")
    parser.add_argument("--runs", type=int, default=5, help="start-up runs")
    parser.add_argument(
        "--near", default="", help="a postcode, area or town in the near box while typing"
    )
    parser.add_argument(
        "--skip-start", action="store_true", help="measure only keystroke to results"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        # -- 1. first screen on the sample database ------------------------------------------
        if not args.skip_start:
            start_up(tmpdir, args.runs)
        keystroke_figures(tmpdir, args)


def start_up(tmpdir: Path, runs: int) -> None:
    home = tmpdir / "home"
    home.mkdir()
    sample_url = f"sqlite:///{home / 'linkwork.db'}"
    load_directory(sample_url, SHARED / "directory-sample.oruk.json")
    add_demo_people(sample_url)
    paint, filled, bare = first_screen(home, runs)
    print(f"First screen on the sample database ({runs} runs, process start to paint):")
    print(
        f"  linkwork first paint      p50 {statistics.median(paint) * 1000:7.0f} ms  "
        f"max {max(paint) * 1000:7.0f} ms   (target < 1000 ms)"
    )
    print(
        f"  linkwork home filled      p50 {statistics.median(filled) * 1000:7.0f} ms  "
        f"max {max(filled) * 1000:7.0f} ms"
    )
    print(
        f"  baseline bare Textual app p50 {statistics.median(bare) * 1000:7.0f} ms  "
        f"max {max(bare) * 1000:7.0f} ms"
    )


def line(label: str, values: list[float]) -> str:
    return (
        f"  {label:28s} p50 {pct(values, 50) * 1000:7.1f} ms  "
        f"p95 {pct(values, 95) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms  "
        f"(n={len(values)})"
    )


def keystroke_figures(tmpdir: Path, args: argparse.Namespace) -> None:
    # -- 2. keystroke to results at N services ------------------------------------------------
    feed = tmpdir / f"dir{args.n}.json"
    subprocess.run(
        [PY, str(SHARED / "gen_directory.py"), "--n", str(args.n), "--seed", "1",
         "--out", str(feed)],
        check=True,
    )  # fmt: skip
    big_url = f"sqlite:///{tmpdir / 'big.db'}"
    started = time.perf_counter()
    added = load_directory(big_url, feed)
    print(f"\nImported {added} services in {time.perf_counter() - started:.1f} s")
    lines = (SHARED / "queries-dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    queries = [line.split("\t")[0] for line in lines if line.strip()][: args.queries]
    keys = sum(len(q) for q in queries)
    near = f", near {args.near!r}" if args.near else ""
    print(
        f"Keystroke to results painted, {len(queries)} queries typed key by key "
        f"({keys} keystrokes), {args.n} services{near}:"
    )
    for label, naive in (("linkwork index", False), ("baseline naive WRatio scan", True)):
        typed_near: list[float] = []
        values = asyncio.run(keystrokes(big_url, queries, naive, args.near, typed_near))
        print(line(label, values))
        if typed_near and not naive:
            print(line("  typing the near box", typed_near))
    print("  target: p95 < 50 ms for linkwork")


if __name__ == "__main__":
    main()

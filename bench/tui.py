"""Terminal app speed, printed beside baselines measured in the same run.

1. First screen: wall-clock time from starting ``linkwork`` (a fresh Python process, the
   real CLI entry) to the home screen's first paint, and to the home screen filled from
   the database, on the sample database (400 services + a few demo people), with the CPU
   time of every thread of the process to each (less bent by a loaded machine); then the
   next screen: People (F2) pressed as soon as the home is filled, 1 s and 3 s later, to
   its list shown. ``--before FOLDER`` also starts another version of the code (a source
   tree, e.g. ``git archive OLD | tar -x -C FOLDER``, run through PYTHONPATH) in the same
   runs, interleaved. Baseline: a bare Textual app with one Static, started the same way.
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
        [--start-only] [--runs 5] [--before OLD_SOURCE_FOLDER]
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
from dataclasses import dataclass, field
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
        open(sys.argv[1], "w").write(json.dumps({"first_paint": time.time(),
                                                 "first_paint_cpu": time.process_time()}))
        self.exit()
Bare().run(headless=True)
"""


# The screen after home: People (F2) pressed WAIT seconds after the home is filled, to its
# list of people shown (what start-up left to load after the home is paid for here). Times
# from F2, and from the process's start (argv: out file, WAIT).
NEXT_SCREEN = """
import asyncio, json, sys, time
started = time.time()
from linkwork.settings import load_settings
from tui.app import LinkworkApp

async def main():
    app = LinkworkApp(load_settings())
    async with app.run_test(size=(120, 40)) as pilot:
        while "home_filled" not in app.timings:
            await asyncio.sleep(0.002)
        await asyncio.sleep(float(sys.argv[2]))
        start = time.time()
        await pilot.press("f2")
        deadline = start + 60
        while not getattr(app.screen, "people", None) and time.time() < deadline:
            await asyncio.sleep(0.002)
        now = time.time()
        with open(sys.argv[1], "w") as out:
            json.dump({"people": now - start, "from_start": now - started}, out)

asyncio.run(main())
"""
WAITS = (0.0, 1.0, 3.0)  # F2 at once, after a person's second, and later


@dataclass
class Figures:
    """Start-up figures of one version of the code (seconds; CPU: every thread's)."""

    paint: list[float] = field(default_factory=list)
    filled: list[float] = field(default_factory=list)
    paint_cpu: list[float] = field(default_factory=list)
    filled_cpu: list[float] = field(default_factory=list)
    people: dict[float, list[float]] = field(default_factory=lambda: {w: [] for w in WAITS})
    from_start: dict[float, list[float]] = field(default_factory=lambda: {w: [] for w in WAITS})


def first_screen(
    home: Path, runs: int, code: dict[str, Path]
) -> tuple[dict[str, Figures], Figures]:
    """``runs`` starts of each version of the code in ``code`` (label -> source folder,
    used through PYTHONPATH), and of the bare Textual app, interleaved so that the
    machine's load falls alike on each."""
    found = {label: Figures() for label in code}
    bare = Figures()
    env = dict(os.environ, LINKWORK_HOME=str(home))
    for _ in range(runs):
        for label, folder in code.items():
            figures = found[label]
            run_env = {**env, "PYTHONPATH": str(folder)}
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "t.json"
                start = time.time()
                subprocess.run(
                    [str(ROOT / ".venv/bin/linkwork")],
                    env={**run_env, "LINKWORK_TUI_TIMING": str(out)},
                    check=True,
                    timeout=60,
                    stdin=subprocess.DEVNULL,
                    cwd=folder,
                )
                data = json.loads(out.read_text())
                figures.paint.append(data["first_paint"] - start)
                figures.filled.append(data["home_filled"] - start)
                if "home_filled_cpu" in data:  # recorded since the light home
                    figures.paint_cpu.append(data["first_paint_cpu"])
                    figures.filled_cpu.append(data["home_filled_cpu"])
                for wait in WAITS:
                    subprocess.run(
                        [PY, "-c", NEXT_SCREEN, str(out), str(wait)],
                        env=run_env,
                        check=True,
                        timeout=120,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        cwd=folder,
                    )
                    data = json.loads(out.read_text())
                    figures.people[wait].append(data["people"])
                    figures.from_start[wait].append(data["from_start"])
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "t.json"
            start = time.time()
            subprocess.run([PY, "-c", BARE_APP, str(out)], check=True, timeout=60)
            data = json.loads(out.read_text())
            bare.paint.append(data["first_paint"] - start)
            bare.paint_cpu.append(data["first_paint_cpu"])
    return found, bare


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
    parser.add_argument("--start-only", action="store_true", help="measure only the first screen")
    parser.add_argument(
        "--before",
        type=Path,
        help="also start the app from this folder's code (e.g. `git archive OLD | tar -x`), "
        "interleaved with this one",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        # -- 1. first screen on the sample database ------------------------------------------
        if not args.skip_start:
            start_up(tmpdir, args.runs, args.before)
        if not args.start_only:
            keystroke_figures(tmpdir, args)


def _ms(label: str, values: list[float], note: str = "") -> str:
    if not values:
        return f"  {label:30s} (not recorded by this version)"
    return (
        f"  {label:30s} p50 {statistics.median(values) * 1000:7.0f} ms  "
        f"min {min(values) * 1000:7.0f} ms  max {max(values) * 1000:7.0f} ms{note}"
    )


def start_up(tmpdir: Path, runs: int, before: Path | None = None) -> None:
    home = tmpdir / "home"
    home.mkdir()
    sample_url = f"sqlite:///{home / 'linkwork.db'}"
    load_directory(sample_url, SHARED / "directory-sample.oruk.json")
    add_demo_people(sample_url)
    code = {"linkwork": ROOT}
    if before is not None:
        code = {"before": before, "linkwork": ROOT}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    found, bare = first_screen(home, runs, code)
    print(
        f"First screen on the sample database ({runs} runs each, interleaved; process start "
        f"to paint; load average before {load}, after "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs):"
    )
    for label, figures in found.items():
        name = f"{label} ({code[label]})" if before is not None else label
        print(f" {name}")
        print(_ms("first paint", figures.paint, "   (target < 1000 ms)"))
        print(_ms("home filled", figures.filled, "   (target < 600 ms)"))
        print(_ms("first paint, CPU", figures.paint_cpu))
        print(_ms("home filled, CPU", figures.filled_cpu))
        for wait, values in figures.people.items():
            print(_ms(f"F2 {wait:.0f} s after: People shown", values, "   (from F2)"))
            print(_ms("", figures.from_start[wait], "   (from start)"))
    print(_ms("baseline bare Textual app", bare.paint))
    print(_ms("baseline bare Textual, CPU", bare.paint_cpu))


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

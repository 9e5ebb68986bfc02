"""Directory import of hostile feeds: time, peak memory and requests, beside a normal import.

Usage (from the repository root):

    .venv/bin/python bench/import_hostile.py [--out bench/out/import-hostile.txt]

Each case runs ``linkwork directory import ...`` in its own child process with the default
limits (``import_max_page_bytes`` 16 MiB, ``import_max_feed_bytes`` 64 MiB,
``import_max_pages`` 1,000, ``import_max_services`` 50,000) and a fresh SQLite database, and
reports its exit code, wall time, peak resident memory (that child's own ``VmHWM``), the
HTTP requests the server saw and the first words of the error. The baselines (2 services:
what linkwork itself takes; the sample directory, 400 services; 1,000 services) run in the
same way in the same run, so the figures can be read side by side. Issue 15 measured,
before: 11.7 GB after 28 s from ``/dev/urandom``; 15,725 requests in 30 s and 5 GB after
150 s from a server answering ``totalPages: 1e9, last: false``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from hostile_feeds import (  # noqa: E402
    endless_csv_rows,
    endless_pipe,
    oruk_server,
    random_bytes,
    run_measured,
)

SHARED = REPO.parent / "shared" / "data"
HOSTILE = REPO / "tests" / "data" / "directory" / "hostile"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")}
    env.update(
        LINKWORK_HOME=str(home),
        LINKWORK_CONFIG=str(home / "no-config.toml"),
        # a plain SQLite file: the default database is encrypted now, and a child with no
        # passphrase (nor a terminal to type one on) would stop before reading any feed
        LINKWORK_DATABASE_URL=f"sqlite:///{home / 'linkwork.db'}",
        LINKWORK_USER="bench",
        PYTHONPATH=str(REPO),
    )
    return env


def _write_entry_pages(folder: Path, kind: str) -> None:
    """About 64 MB of page files whose services hold 1,000 distinct entries each."""
    folder.mkdir()
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    n = k = 0
    for page in range(11):
        items, size = [], 0
        while size < 5_800_000:
            svc: dict[str, object] = {"id": f"s{n}", "name": f"Service {n}"}
            if kind == "opening times":
                svc["regular_schedules"] = [
                    {
                        "weekday": days[i % 7],
                        "opens_at": f"{(i // 7) // 60 % 24:02d}:{(i // 7) % 60:02d}",
                        "closes_at": "23:59",
                    }
                    for i in range(1000)
                ]
            elif kind == "locations":
                svc["service_at_locations"] = [
                    {"location": {"id": f"l{k + i}"}} for i in range(1000)
                ]
                k += 1000
            else:
                svc["languages"] = [f"L{(n + i) % 5000}" for i in range(1000)]
            n += 1
            items.append(svc)
            size += len(json.dumps(svc))
        (folder / f"page-{page + 1}.json").write_text(json.dumps({"content": items}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"# directory import of hostile feeds ({time.strftime('%Y-%m-%d')})")
    say(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    say("# default limits: 16 MiB a page, 64 MiB a feed, 1,000 pages, 50,000 services")
    say()
    header = f"{'case':<46} {'exit':>4} {'seconds':>8} {'peak MB':>8} {'requests':>8}  message"
    say(header)
    say("-" * len(header))

    with tempfile.TemporaryDirectory(prefix="lw-hostile-") as tmp:
        root = Path(tmp)
        counter = iter(range(1_000_000))

        def case(name: str, argv: Callable[[], list[str]], server: object | None = None) -> None:
            home = root / f"home-{next(counter)}"
            run = run_measured(["directory", "import", *argv()], _env(home))
            requests = len(getattr(server, "requests", [])) if server is not None else ""
            message = run.err.strip().removeprefix("linkwork: ")
            if run.code == 0:
                message = "imported"
            message = message.replace(tmp, "").replace(str(REPO) + "/", "")
            if len(message) > 110:
                message = message[:109] + "…"
            say(
                f"{name:<46} {run.code:>4} {run.seconds:>8.2f} {run.peak_rss_mb:>8.0f} "
                f"{requests!s:>8}  {message}"
            )

        # -- baselines: ordinary feeds, the same way ---------------------------------------
        tiny = REPO / "tests" / "data" / "directory" / "oruk3-page.json"
        case("baseline: 2 services (linkwork's own memory)", lambda: [str(tiny)])
        sample = SHARED / "directory-sample.oruk.json"
        if sample.is_file():
            case("baseline: sample directory (400 services)", lambda: [str(sample)])
            case("baseline: sample directory, CSV", lambda: [str(SHARED / "directory-sample.csv")])
        big = REPO / "bench" / "out" / "dir-1000.json"
        if big.is_file():
            case("baseline: 1,000 services (3.7 MB)", lambda: [str(big)])
        with oruk_server("finite", per_page=100) as server:
            case("baseline: server, 5 pages of 100 services", lambda: [server.url], server)

        # -- endless local streams ---------------------------------------------------------
        if Path("/dev/urandom").exists():
            case("/dev/urandom --format oruk", lambda: ["/dev/urandom", "--format", "oruk"])
            case("/dev/urandom (format told from the bytes)", lambda: ["/dev/urandom"])
        with endless_pipe(root / "p1", random_bytes):
            case(
                "pipe: random bytes for ever, --format oruk",
                lambda: [str(root / "p1"), "--format", "oruk"],
            )
        rows = endless_csv_rows()
        with endless_pipe(root / "p2", lambda: next(rows), b"id,name\n"):
            case("pipe: a CSV row for ever", lambda: [str(root / "p2")])
        with endless_pipe(root / "p3", lambda: b'{"id": "s", "name": "x"},' * 2000, b"["):
            case("pipe: JSON services for ever", lambda: [str(root / "p3")])

        # -- broken files ------------------------------------------------------------------
        deep = root / "deep.json"
        deep.write_text("[" * 100_000 + "]" * 100_000)
        case("file: JSON nested 100,000 deep", lambda: [str(deep)])
        for name in ("long-number.json", "gzip-bomb.json.gz", "dense-values.json.gz"):
            case(f"file: {name}", lambda name=name: [str(HOSTILE / name)])  # type: ignore[misc]
        wide = root / "wide.json"
        wide.write_text(json.dumps([{"id": f"s{i}", "name": "x"} for i in range(60_000)]))
        case("file: 60,000 tiny services (1.9 MB)", lambda: [str(wide)])

        # -- small services holding a thousand entries each (opening times, locations, words)
        for kind in ("opening times", "locations", "languages"):
            folder = root / kind.replace(" ", "-")
            _write_entry_pages(folder, kind)
            case(f"folder: 1,000 {kind} a service (64 MB)", lambda folder=folder: [str(folder)])

        # -- servers that never stop ---------------------------------------------------------
        for mode, per_page, chars, label in [
            ("same-1e9", 10, 60, "server: same page, totalPages 1e9, last false"),
            ("same-last-false", 10, 60, "server: same page, last false, no count"),
            ("same-services", 10, 60, "server: page number moves, services do not"),
            ("changing-1e9", 10, 60, "server: new services, totalPages 1e9"),
            ("changing", 10, 60, "server: new 10-service pages for ever"),
            ("changing", 100, 60, "server: new 100-service pages for ever"),
            ("changing", 100, 1_200, "server: new 130 KiB pages for ever"),
            ("changing", 100, 40_000, "server: new 4 MiB pages for ever"),
            ("endless-body", 10, 60, "server: one page that never ends"),
            ("huge-length", 10, 60, "server: Content-Length 10 GiB"),
            ("gzip-bomb", 10, 60, "server: 24 MiB gzip-encoded in 24 KiB"),
            ("redirect-loop", 10, 60, "server: redirects to itself"),
            ("redirect-endless-body", 10, 60, "server: redirect with an endless body"),
        ]:
            with oruk_server(mode, per_page=per_page, description_chars=chars) as server:
                case(label, lambda server=server: [server.url], server)  # type: ignore[misc]
    say()
    say("Every hostile case: exit 2, one line, nothing written. Peak MB is the whole child")
    say("process: the first baseline is what Python, SQLAlchemy and linkwork take by themselves.")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

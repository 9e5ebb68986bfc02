# ruff: noqa: E501
"""Import identity: the same feeds imported by two versions of the code give the same rows
and a byte-identical search index file (a change meant only for speed must change neither).

    .venv/bin/python bench/import_same.py --before 92436dd --after HEAD
    .venv/bin/python bench/import_same.py --before HEAD --after .   # the working tree

Each version is a clean copy of its commit (``git archive``; ``.`` is the working tree as it
is), run through the CLI (``linkwork directory import``) into a fresh plain SQLite file per
feed: the bench feeds (bench/out/real-1000 and real-10000, bench/realistic_feed.py), the
real-shaped feeds in tests/data/directory (council pages and array, ORUK 3.0, one service,
the hostile fixtures that import) and the bundled sample. Then the same feed is imported
again with one service in ten changed (updates, not inserts). Compared: every row of the
directory's tables (service, organisation, location, service_location, directory_import,
leaving out only the clock's columns; a service's ``raw_hash`` digests the reading code as
well as its bytes, so only whether it is set is compared), the summary line printed and the index file's bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import import_speed  # noqa: E402

TABLES = ("service", "organisation", "location", "service_location", "directory_import")
CLOCK = {"imported_at", "updated_at", "started_at", "withdrawn_at", "finished_at"}


def feeds(sizes: list[int]) -> list[Path]:
    data = ROOT / "tests" / "data" / "directory"
    found = [ROOT / "bench" / "out" / f"real-{n}" for n in sizes]
    found += [
        data / "council-v1-pages",
        data / "council-v1-array.json",
        data / "oruk3-page.json",
        data / "single-service.json",
        data / "mixed-case.csv",
        ROOT / "linkwork" / "data" / "directory-sample.oruk.json.gz",
    ]
    found += sorted((data / "hostile").iterdir())
    return [p for p in found if p.exists()]


def snapshot(rev: str, into: Path) -> Path:
    """This tree for ``.``, else a clean copy at ``rev`` (import_speed.snapshot)."""
    return ROOT if rev == "." else import_speed.snapshot(rev, into)


def changed(feed: Path, into: Path) -> Path | None:
    """The JSON feed with one service in ten given a new sentence (None if not JSON pages)."""
    pages = sorted(feed.glob("*.json")) if feed.is_dir() else [feed]
    if not pages or any(p.suffix != ".json" for p in pages):
        return None
    into.mkdir()
    for page in pages:
        try:
            doc = json.loads(page.read_bytes())
        except (ValueError, RecursionError):
            return None
        items = doc.get("content") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            return None
        for service in items[::10]:
            if isinstance(service, dict) and isinstance(service.get("description", ""), str | None):
                service["description"] = (service.get("description") or "") + " Now on Saturdays."
        (into / page.name).write_text(json.dumps(doc), encoding="utf-8")
    return into


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    out = []
    for table in TABLES:
        info = list(conn.execute(f"PRAGMA table_info({table})"))
        cols = [r[1] for r in info if r[1] not in CLOCK]
        order = ", ".join(r[1] for r in info if r[5]) or "rowid"  # the primary key
        for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}"):
            values = dict(zip(cols, row, strict=True))
            if values.get("raw_hash"):  # a digest of the code too: compared as set or not
                values["raw_hash"] = "(set)"
            out.append(f"{table} {json.dumps(values, default=str)}")
    conn.close()
    return out


def run(code: Path, feed: Path, tmp: Path, name: str) -> tuple[str, list[str], bytes]:
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")},
        "LINKWORK_HOME": str(tmp / "home"),
        "LINKWORK_CONFIG": str(tmp / "no-config.toml"),
        "LINKWORK_IMPORT_MAX_PAGE_BYTES": str(2**30),
        "LINKWORK_IMPORT_MAX_FEED_BYTES": str(2**30),
        "LINKWORK_IMPORT_MAX_SERVICES": "1000000",
        "LINKWORK_DATABASE_URL": f"sqlite:///{tmp / 'same.db'}",
        "PYTHONPATH": str(code),
    }
    cli = [
        sys.executable,
        "-c",
        "import sys, linkwork; assert linkwork.__file__.startswith(sys.argv[1]), linkwork.__file__;"
        " sys.argv[1:2] = []; from linkwork.tui_entry import main; main()",
        str(code),
    ]
    done = subprocess.run(
        [*cli, "directory", "import", str(feed), "--source", name],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    said = f"exit {done.returncode}: " + (done.stdout.strip() + " | " + done.stderr.strip())[:2000]
    index = b"".join(p.read_bytes() for p in sorted((tmp / "home").glob("search-index/*.lwidx")))
    rows = dump(tmp / "same.db") if (tmp / "same.db").exists() else []
    return said, rows, index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD~1")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    differ = 0
    with tempfile.TemporaryDirectory(prefix="import-same-") as folder:
        tmp = Path(folder)
        code = {
            "before": snapshot(args.before, tmp / "before"),
            "after": snapshot(args.after, tmp / "after"),
        }
        for i, feed in enumerate(feeds([int(s) for s in args.sizes.split(",")])):
            steps = [("first", feed)]
            again = changed(feed, tmp / f"changed-{i}")
            if again is not None:
                steps.append(("1 in 10 changed", again))
            results: dict[str, list[tuple[str, list[str], bytes]]] = {}
            for version, where in code.items():
                results[version] = [
                    run(where, source, tmp / f"{version}-{i}", "same") for _step, source in steps
                ]
            for n, (step, _source) in enumerate(steps):
                (s1, r1, x1), (s2, r2, x2) = results["before"][n], results["after"][n]
                same = s1 == s2 and r1 == r2 and x1 == x2
                differ += not same
                digest = hashlib.sha256("\n".join(r2).encode() + x2).hexdigest()[:12]
                print(
                    f"{'same' if same else 'DIFFER'}  {feed.relative_to(ROOT)} ({step}): "
                    f"{len(r2)} rows, index {len(x2):,} bytes, digest {digest}; {' '.join(s2.split())[:90]}"
                )
                if not same:
                    if s1 != s2:
                        print(f"    said: {s1[:300]}\n      vs: {s2[:300]}")
                    for a, b in zip(r1, r2, strict=False):
                        if a != b:
                            at = next(k for k in range(len(a)) if a[k : k + 1] != b[k : k + 1])
                            print(f"    first row differing at {a[:at].split(',')[-1][:40]}:")
                            print(
                                f"      {a[max(0, at - 60) : at + 200]}\n      {b[max(0, at - 60) : at + 200]}"
                            )
                            break
                    if len(r1) != len(r2):
                        print(f"    rows {len(r1)} vs {len(r2)}")
                    if x1 != x2:
                        print(f"    index files differ ({len(x1):,} vs {len(x2):,} bytes)")
    print(f"\n{differ} differ")
    raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()

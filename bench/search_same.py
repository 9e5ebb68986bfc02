"""Same results before and after a speed change: directory search's answers on saved index
files, written out by one version of the code and compared with another's.

    # every answer of this tree, then of the tree at REV (a temporary git worktree), compared
    .venv/bin/python bench/search_same.py --against HEAD~3 --index A.lwidx --index B.lwidx

    # or by hand: dump from any tree (PYTHONPATH), then compare two dumps
    PYTHONPATH=TREE .venv/bin/python bench/search_same.py --dump out.json --index A.lwidx
    .venv/bin/python bench/search_same.py --compare before.json after.json

What is asked of each index file (an index written by ``linkwork directory import``, e.g.
bench/search.py's 1k/10k/100k directories): every query of the dev set, the old held-out set
and the lay sets tuned on (never a blind set), whole and typed key by key (the dev set), as
the app's search process asks (``NearSearch``, the app's default limit), and a tenth of them
near the directory's first town and an area of it; the CLI's ``search`` with limit 10 and
``current_only``; a fifth of them with each of the CLI's filters (free, age, language, open
now, needs), and the needs alone. Each answer is recorded whole: service, score, why,
distance, staleness, or the error refused with. The date is fixed (2026-11-01), so "not
verified since" is stable.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SETS = {
    "dev": SHARED / "queries-dev.tsv",
    "old held-out": ROOT / "bench" / "queries-heldout.tsv",
    "tune lay": ROOT / "bench" / "data" / "search-tune-lay.tsv",
    "tune2 lay": ROOT / "bench" / "data" / "search-tune2-lay.tsv",
    "tune3 lay": ROOT / "bench" / "data" / "search-tune3-lay.tsv",
    "tune4 lay": ROOT / "bench" / "data" / "search-tune4-lay.tsv",
}
TODAY = date(2026, 11, 1)
NOW = datetime(2026, 11, 1, 10, 30)
FILTERS: dict[str, dict[str, Any]] = {  # asked of every fifth query (the CLI's options)
    "free": {"free": True},
    "age 30": {"age": 30},
    "polish": {"language": "polish"},
    "open now": {"open_now": True},
    "need Z59.0": {"needs": ["Z59.0"]},
    "need housing, free, age 70": {"needs": ["housing"], "free": True, "age": 70},
    "need Z56 current": {"needs": ["Z56"], "current_only": True},
}


def _queries(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = [x for x in path.read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    head = lines[0].split("\t")
    at = head.index("query")
    return [line.split("\t")[at] for line in lines[1:] if line.strip()]


def _answer(call: Any, text: str, **options: Any) -> Any:
    try:
        found = call(text, today=TODAY, now=NOW, **options)
    except Exception as exc:  # refused (ValueError, LookupError) or failed: compared too
        return {"error": f"{type(exc).__name__}: {exc}"}
    if hasattr(found, "matches"):
        return {
            "matches": [m.to_dict() for m in found.matches],
            "miles": found.miles,
            "place": found.place,
            "hint": found.hint,
            "unknown": found.unknown,
        }
    return [m.to_dict() for m in found]


def dump(index_paths: list[Path], out: Path) -> int:
    """Every answer of the code on sys.path, for each index file, written to ``out``."""
    from directory.index_file import open_index
    from linkwork.actions.search import NearSearch

    answers: dict[str, Any] = {}
    asked = 0
    for path in index_paths:
        index = open_index(path)
        near = NearSearch(index)
        towns = near.town_names
        places = towns[:1] + sorted(getattr(index._outward, "_names", []))[:1]
        mine: dict[str, Any] = {}
        for name, file in SETS.items():
            for n, text in enumerate(_queries(file)):
                key = f"{name}|{text}"
                mine[key] = _answer(near.search, text)
                mine["cli|" + key] = _answer(index.search, text, limit=10)
                mine["current|" + key] = _answer(index.search, text, limit=10, current_only=True)
                asked += 3
                if n % 10 == 0:
                    for place in places:
                        mine[f"near {place}|{key}"] = _answer(near.search, text, near=place)
                        asked += 1
                if n % 5 == 0:
                    for label, options in FILTERS.items():
                        mine[f"{label}|{key}"] = _answer(index.search, text, limit=10, **options)
                        asked += 1
                if name == "dev":
                    for k in range(1, len(text)):
                        mine[f"typed|{text[:k]}"] = _answer(near.search, text[:k])
                        asked += 1
        for label, options in FILTERS.items():  # a need or filters alone, no words
            if "needs" in options:
                mine[f"{label}|(no words)"] = _answer(index.search, "", limit=10, **options)
                asked += 1
        answers[str(path)] = mine
    out.write_text(json.dumps(answers, sort_keys=True), encoding="utf-8")
    return asked


def compare(before: Path, after: Path) -> int:
    """0 when every answer asked of both is the same; else 1, printing the first few that
    differ. Questions asked of one only (a query set edited between the dumps) are
    counted apart."""
    a = json.loads(before.read_text(encoding="utf-8"))
    b = json.loads(after.read_text(encoding="utf-8"))
    differ = total = alone = 0
    for index in sorted(set(a) | set(b)):
        left, right = a.get(index, {}), b.get(index, {})
        both = sorted(set(left) & set(right))
        bad = [k for k in both if left[k] != right[k]]
        one = len(set(left) ^ set(right))
        total += len(both)
        differ += len(bad)
        alone += one
        print(f"{index}: {len(both)} answers, {len(bad)} differ ({one} asked of one only)")
        for k in bad[:5]:
            print(f"  differs: {k}")
            print(f"    before {json.dumps(left.get(k))[:400]}")
            print(f"    after  {json.dumps(right.get(k))[:400]}")
    print(f"{total} answers compared, {differ} differ ({alone} asked of one only)")
    return 1 if differ or not total else 0


def _dump_in(tree: Path, index_paths: list[Path], out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--dump", str(out)]
        + [a for p in index_paths for a in ("--index", str(p))],
        env=env,
        check=True,
        cwd=tree,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", action="append", type=Path, default=[])
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path)
    parser.add_argument("--against", help="a git revision to compare this tree with")
    args = parser.parse_args()
    if args.dump:
        if os.environ.get("PYTHONPATH"):
            sys.path.insert(0, os.environ["PYTHONPATH"])
        import directory

        asked = dump(args.index, args.dump)
        print(f"{asked} answers of {Path(directory.__file__).parent.parent} written to {args.dump}")
        return 0
    if args.compare:
        return compare(*args.compare)
    if not args.against:
        parser.error("give --dump, --compare or --against")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        tree = tmp / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), args.against],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            _dump_in(tree, args.index, tmp / "before.json")
            _dump_in(ROOT, args.index, tmp / "after.json")
            return compare(tmp / "before.json", tmp / "after.json")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())

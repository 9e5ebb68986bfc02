"""Search quality on the 400-service sample: dev queries and the held-out sets.

    .venv/bin/python bench/search_quality.py            # every set, defaults as the CLI
    .venv/bin/python bench/search_quality.py --misses   # and the queries missed at 5

Sets: ``../shared/data/queries-dev.tsv`` (dev), ``bench/queries-heldout.tsv`` (written
earlier, seen while tuning), and issue 18's blind sets ``bench/data/search-heldout-lay.tsv``
and ``bench/data/search-heldout-mixed.tsv`` (written before any ranking change of issue 18
and never tuned on; their misses were printed once, in the before-score), and a second
pair written after points 2-3 whose queries are never printed (``blind2 lay``, ``blind2
mixed``), and a third never-printed pair written by a helper who read neither the ranking
code nor the vocabulary (``blind3 lay``, ``blind3 mixed``), and a fourth written (issue 18,
stop 27) by a helper who read no code, vocabulary or other query set and had never seen the
search (``blind4 lay``, ``blind4 mixed``); ``tune lay`` to ``tune4 lay``
(``bench/data/search-tune*-lay.tsv``) are lay accounts tuned on and ``tune5 short`` short lay
phrasings and idioms (``search-tune5-short.tsv``), each scored once before the change it
was written for. A query succeeds at k when
one of the top k services carries one of its relevant taxonomy keys (the sample's
``x_category``, read here for scoring only).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from directory.importer import import_source  # noqa: E402
from directory.search import ServiceIndex  # noqa: E402
from linkwork import db as lwdb  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
TODAY = date(2026, 11, 1)
SETS = {
    "dev": SHARED / "queries-dev.tsv",
    "old held-out": ROOT / "bench" / "queries-heldout.tsv",
    "tune lay": ROOT / "bench" / "data" / "search-tune-lay.tsv",
    "tune2 lay": ROOT / "bench" / "data" / "search-tune2-lay.tsv",
    "tune3 lay": ROOT / "bench" / "data" / "search-tune3-lay.tsv",
    "tune4 lay": ROOT / "bench" / "data" / "search-tune4-lay.tsv",
    "tune5 short": ROOT / "bench" / "data" / "search-tune5-short.tsv",
    "blind lay": ROOT / "bench" / "data" / "search-heldout-lay.tsv",
    "blind mixed": ROOT / "bench" / "data" / "search-heldout-mixed.tsv",
    "blind2 lay": ROOT / "bench" / "data" / "search-blind2-lay.tsv",
    "blind2 mixed": ROOT / "bench" / "data" / "search-blind2-mixed.tsv",
    "blind3 lay": ROOT / "bench" / "data" / "search-blind3-lay.tsv",
    "blind3 mixed": ROOT / "bench" / "data" / "search-blind3-mixed.tsv",
    "blind4 lay": ROOT / "bench" / "data" / "search-blind4-lay.tsv",
    "blind4 mixed": ROOT / "bench" / "data" / "search-blind4-mixed.tsv",
}
# scores only, ever: no query of these sets is printed
NEVER_PRINTED = ("blind2", "blind3", "blind4")


def read_queries(path: Path) -> list[dict[str, str]]:
    """Rows of a query TSV (lines starting ``#`` are notes)."""
    lines = [
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]


def sample_index(tmp: Path) -> tuple[ServiceIndex, dict[str, set[str]]]:
    sample = SHARED / "directory-sample.oruk.json"
    truth = {s["id"]: set(s["x_category"]) for s in json.loads(sample.read_text())["content"]}
    engine = lwdb.open_engine(f"sqlite:///{tmp / 'sample.db'}")
    with Session(engine) as session:
        import_source(session, sample)
        session.commit()
        index = ServiceIndex.build(session)
    engine.dispose()
    return index, truth


def evaluate(
    rows: list[dict[str, str]],
    ranked_for: Callable[[str], list[set[str]]],
) -> tuple[dict[str, tuple[int, float, float, float]], list[tuple[str, int | None]]]:
    """Per kind (and 'all'): (n, s@1, s@5, MRR); and each query with its first relevant rank."""
    per: dict[str, list[int | None]] = {"all": []}
    ranks: list[tuple[str, int | None]] = []
    for row in rows:
        relevant = set(row["relevant_categories"].split(";"))
        ranked = ranked_for(row["query"])
        rank = next((k for k, cats in enumerate(ranked, 1) if cats & relevant), None)
        per["all"].append(rank)
        per.setdefault(row["kind"], []).append(rank)
        ranks.append((row["query"], rank))
    out = {}
    for kind, found in per.items():
        n = len(found)
        out[kind] = (
            n,
            sum(1 for r in found if r == 1) / n,
            sum(1 for r in found if r and r <= 5) / n,
            sum(1 / r for r in found if r) / n,
        )
    return out, ranks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="list queries missed at 5")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    parser.add_argument(
        "--include-stale", action="store_true", help="(before issue 18 stale was hidden by default)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        index, truth = sample_index(Path(folder))

    def ranked_for(text: str) -> list[set[str]]:
        kwargs: dict[str, Any] = {"include_stale": True} if args.include_stale else {}
        return [truth[m.id] for m in index.search(text, limit=10, today=TODAY, **kwargs)]

    known = set().union(*truth.values())
    for name in args.sets.split(","):
        for row in read_queries(SETS[name]):
            unknown = set(row["relevant_categories"].split(";")) - known
            if unknown:  # e.g. keys joined with '|' instead of ';': never scored as a miss
                sys.exit(f"{name}: relevant_categories not in the sample: {sorted(unknown)}")
    print("Quality on the 400-service sample (defaults as the CLI; today 2026-11-01)")
    print(f"{'queries':<26}{'n':>4}{'s@1':>7}{'s@5':>7}{'MRR':>7}")
    for name in args.sets.split(","):
        table, ranks = evaluate(read_queries(SETS[name]), ranked_for)
        for kind, (n, s1, s5, mrr) in table.items():
            label = f"{name} ({kind})" if kind != "all" else f"{name} (all)"
            print(f"{label:<26}{n:>4}{s1:>7.3f}{s5:>7.3f}{mrr:>7.3f}")
        if args.misses and not name.startswith(NEVER_PRINTED):
            for query, rank in ranks:
                if not rank or rank > 5:
                    print(f"    miss: {query}  (first relevant: {rank})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Quality of lay-language code search: success@1, success@5 and MRR, overall and per kind.

Usage (from the repository root):

    .venv/bin/python bench/codes_eval.py [DEV_TSV] [--heldout TSV] [--misses]

DEV_TSV defaults to ../shared/data/code-queries-dev.tsv beside the repository. Four held-out
sets of our own are run too, each written before it was first run: bench/code-queries-heldout
.tsv and -heldout2/3/4.tsv. Each was blind on its first run (figures in
bench/codes_results.md); misses were then looked at, so later runs are no longer blind.
All are tab-separated ``query<TAB>acceptable_codes<TAB>kind``, codes joined by ``;``.
A query succeeds at k when one of its acceptable codes is among the first k results; MRR is
the mean of 1/rank of the first acceptable code (0 when none is returned).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEV = REPO.parent / "shared" / "data" / "code-queries-dev.tsv"
DEFAULT_HELDOUT = REPO / "bench" / "code-queries-heldout.tsv"
DEFAULT_HELDOUT2 = REPO / "bench" / "code-queries-heldout2.tsv"
DEFAULT_HELDOUT3 = REPO / "bench" / "code-queries-heldout3.tsv"
DEFAULT_HELDOUT4 = REPO / "bench" / "code-queries-heldout4.tsv"
KINDS = ("lay", "typo", "professional", "mixed")


@dataclass
class Row:
    query: str
    acceptable: frozenset[str]
    kind: str


def read_queries(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        return [
            Row(
                r["query"],
                frozenset(c.strip() for c in r["acceptable_codes"].split(";") if c.strip()),
                r["kind"].strip(),
            )
            for r in reader
        ]


def ablated_catalogue(rows: list[Row]) -> tuple[object, int]:
    """The catalogue without any lay phrase that says the same as one of ``rows`` (same
    content words once stop words are dropped and words stemmed), and how many went."""
    import tempfile
    import tomllib

    from codes.catalogue import DATA_DIR, load_catalogue, load_catalogue_from
    from codes.search import words

    index = load_catalogue().index

    def key(text: str) -> tuple[str, ...]:
        return tuple(sorted(index.stem(w) for w in words(text) if w not in index.stopwords))

    banned = {key(r.query) for r in rows}
    folder = Path(tempfile.mkdtemp(prefix="codes-ablated-"))
    for f in DATA_DIR.iterdir():
        if f.suffix in (".csv", ".toml"):
            shutil.copy(f, folder / f.name)
    data = tomllib.loads((folder / "synonyms.toml").read_text(encoding="utf-8"))
    removed = 0
    kept: dict[str, list[str]] = {}
    for code, phrases in data["codes"].items():
        kept[code] = [p for p in phrases if key(p) not in banned]
        removed += len(phrases) - len(kept[code])
    lines = ["[codes]"]
    lines += [
        f"{json.dumps(code)} = {json.dumps(ps, ensure_ascii=False)}" for code, ps in kept.items()
    ]
    lines += ["", "[domains]"]
    lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in data["domains"].items()]
    (folder / "synonyms.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cat = load_catalogue_from(folder)
    shutil.rmtree(folder)
    return cat, removed


def evaluate(
    rows: list[Row], limit: int = 10, cat: object = None
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Figures per kind (and "all") and a list of misses at 5 (for --misses)."""
    from codes.catalogue import load_catalogue
    from codes.search import search_codes

    cat = cat or load_catalogue()
    acc: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    misses: list[str] = []
    for row in rows:
        got = [m.code for m in search_codes(cat, row.query, limit=limit)]
        rank = next((i for i, c in enumerate(got, start=1) if c in row.acceptable), 0)
        s1 = int(rank == 1)
        s5 = int(0 < rank <= 5)
        rr = 1.0 / rank if rank else 0.0
        acc[row.kind].append((s1, s5, rr))
        acc["all"].append((s1, s5, rr))
        if not s5:
            misses.append(
                f"  [{row.kind}] {row.query!r}: want {'/'.join(sorted(row.acceptable))}, "
                f"got {', '.join(got[:5]) or '(nothing)'}"
            )
    figures = {
        kind: {
            "n": len(v),
            "success@1": sum(x[0] for x in v) / len(v),
            "success@5": sum(x[1] for x in v) / len(v),
            "mrr": sum(x[2] for x in v) / len(v),
        }
        for kind, v in acc.items()
    }
    return figures, misses


def print_figures(title: str, figures: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'kind':<13}{'n':>4}{'success@1':>11}{'success@5':>11}{'MRR':>8}")
    for kind in ("all", *KINDS):
        if kind not in figures:
            continue
        f = figures[kind]
        print(
            f"  {kind:<13}{int(f['n']):>4}{f['success@1']:>11.3f}"
            f"{f['success@5']:>11.3f}{f['mrr']:>8.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dev", nargs="?", type=Path, default=DEFAULT_DEV)
    ap.add_argument("--heldout", type=Path, action="append", help="held-out TSV (repeatable)")
    ap.add_argument("--misses", action="store_true", help="list queries missed at 5")
    ap.add_argument(
        "--ablate",
        action="store_true",
        help="also run each set against a catalogue with every lay phrase that says the same "
        "as one of its queries removed (shows the figures do not rest on near-copies)",
    )
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    heldout = args.heldout or [
        DEFAULT_HELDOUT,
        DEFAULT_HELDOUT2,
        DEFAULT_HELDOUT3,
        DEFAULT_HELDOUT4,
    ]
    sets = [("dev", args.dev)] + [(f"held-out {i}", p) for i, p in enumerate(heldout, start=1)]
    for title, path in sets:
        if not path.is_file():
            print(f"\n{title}: {path} not found, skipped")
            continue
        rows = read_queries(path)
        figures, misses = evaluate(rows)
        print_figures(f"{title}: {path}", figures)
        if args.misses and misses:
            print("  missed at 5:")
            print("\n".join(misses))
        if args.ablate:
            cat, removed = ablated_catalogue(rows)
            figures, misses = evaluate(rows, cat=cat)
            print_figures(f"{title}, without the {removed} phrases that match a query", figures)
            if args.misses and misses:
                print("  missed at 5:")
                print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

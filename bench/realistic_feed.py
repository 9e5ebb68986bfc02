"""A council-like directory for the speed benchmarks (issue 18, point 7).

    .venv/bin/python bench/realistic_feed.py --n 100000 --out bench/out/real-100000

The shared generator's services (../shared/data/gen_directory.py, seed 7) are made to look
like real council feeds, deterministically (seed 18):

* descriptions in HTML (paragraphs, lists, entities) with a sentence or two of local
  detail: street and venue names made of English words, and everyday words from wordfreq's
  English list, so that a large directory has a real vocabulary (tens of thousands of
  distinct words, not the few thousand of the generator's phrases);
* taxonomy missing for about 40% of services (many council feeds have none);
* verification dates spread over 2019-2026 (about 70% older than 12 months);
* written as an ORUK v1 paged API answer: a folder of page files of 500 services
  (``page-0001.json`` ...), as ``linkwork directory import FOLDER`` reads them.

Prints the number of distinct words of the names and descriptions.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
import sys
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import msgpack

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PAGE = 500
WORD = re.compile(r"[a-z]+")


def english(limit: int = 60_000) -> list[str]:
    """Everyday English words (wordfreq's list, commonest first, alphabetic, 4+ letters)."""
    raw = resources.files("wordfreq").joinpath("data/large_en.msgpack.gz").read_bytes()
    data = msgpack.loads(gzip.decompress(raw), raw=False)
    out = [w for bucket in data[1:] for w in bucket if w.isalpha() and w.isascii() and len(w) >= 4]
    return out[:limit]


def local_detail(rng: random.Random, words: list[str]) -> str:
    street = f"{rng.choice(words).title()} {rng.choice(['Street', 'Road', 'Lane', 'Way', 'Close'])}"
    venue = (
        f"{rng.choice(words).title()} {rng.choice(['Hall', 'House', 'Centre', 'Rooms', 'Chapel'])}"
    )
    extra = " ".join(rng.choice(words) for _ in range(rng.randint(4, 9)))
    return f"Sessions at {venue}, {street}; ask about {extra}."


def transform(service: dict, rng: random.Random, words: list[str], today: date) -> dict:
    paragraphs = [p for p in service.get("description", "").split("\n") if p.strip()]
    body = "".join(f"<p>{p.replace('&', '&amp;')}</p>" for p in paragraphs)
    items = "".join(f"<li>{local_detail(rng, words)}</li>" for _ in range(rng.randint(1, 2)))
    service["description"] = f"{body}<ul>{items}</ul>"
    if rng.random() < 0.4:
        service.pop("service_taxonomys", None)
    days = rng.randint(0, 365 * 7)
    service["assured_date"] = (today - timedelta(days=days)).isoformat()
    service.pop("x_category", None)
    return service


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    source = ROOT / "bench" / "out" / f"dir-{args.n}.json"
    if not source.exists():
        subprocess.run(
            [
                sys.executable,
                str(SHARED / "gen_directory.py"),
                "--n",
                str(args.n),
                "--seed",
                "7",
                "--out",
                str(source),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    services = json.loads(source.read_text(encoding="utf-8"))["content"]
    rng = random.Random(18)
    words = english()
    today = date(2026, 11, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    pages = -(-len(services) // PAGE)
    vocabulary: set[str] = set()
    for number in range(pages):
        chunk = [
            transform(s, rng, words, today) for s in services[number * PAGE : (number + 1) * PAGE]
        ]
        for s in chunk:
            vocabulary.update(WORD.findall(f"{s['name']} {s['description']}".lower()))
        page = {
            "totalElements": len(services),
            "totalPages": pages,
            "number": number + 1,
            "size": PAGE,
            "first": number == 0,
            "last": number == pages - 1,
            "content": chunk,
        }
        (args.out / f"page-{number + 1:04d}.json").write_text(json.dumps(page), encoding="utf-8")
    print(f"{len(services)} services in {pages} pages; {len(vocabulary)} distinct words")
    return 0


if __name__ == "__main__":
    sys.exit(main())

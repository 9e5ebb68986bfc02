"""Issue 18 (start-up): what a search does not need is built on first use, not at import.

``directory.narrative.rejected`` skips its expressions for a text in ASCII that holds none
of the words every cue needs (``_CUE_NEEDLES``); here, on many texts, whenever it skips, the
cue expressions indeed find nothing, and texts with cues are still read. The CLI's imports
are checked in tests/test_cli_startup.py."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from directory import narrative
from directory.narrative import rejected

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "queries-dev.tsv"
TUNE = Path(__file__).resolve().parents[1] / "bench" / "data" / "search-tune-lay.tsv"


def _texts() -> list[str]:
    texts: list[str] = []
    for path in (DEV, TUNE):
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                texts += [row[0] for row in csv.reader(fh, delimiter="\t") if row][1:]
    words = [
        *" ".join(texts).split(),
        "not", "Not", "NOTHING", "isn't", "dont", "WONT", "fine", "OK", "okay", "sorted",
        "alright", "all", "right", "rather", "than", "instead", "of", "no", "need", "for",
        "problem", "it's", "is", "money", "food", "exactly", "I", "we", "after", "about",
    ]  # fmt: skip
    cues = [
        "it's not the", "isn't the problem", "is fine", "are ok", "no need for", "rather than",
        "instead of", "nothing to do with", "I'm not really after", "we don't want",
        "I won't need", "money is sorted", "not depressed exactly", "that isn't my",
    ]  # fmt: skip
    rng = random.Random(18)
    for _ in range(4000):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 9))]
        if rng.random() < 0.3:
            parts.insert(rng.randint(0, len(parts)), rng.choice(cues))
        texts.append(" ".join(parts))
    return texts


def test_a_text_skipped_has_no_cue_and_cues_are_still_read() -> None:
    pat = narrative._patterns()
    skipped = read = 0
    for text in _texts():
        plain = narrative._plain(text)
        lowered = plain.lower()
        if plain.isascii() and not any(n in lowered for n in narrative._CUE_NEEDLES):
            skipped += 1
            found = [p.pattern[:30] for p in (pat.before, pat.after, pat.not_exactly)
                     if p.search(plain)]  # fmt: skip
            assert not found, (text, found)
            assert rejected(text) == narrative.Reading(text, ())
        elif rejected(text).denied:
            read += 1
    assert skipped > 100 and read > 100, (skipped, read)
    assert rejected("I'm not after benefits advice").denied == ("benefits advice",)
    assert rejected("money isn't the problem").denied == ("money",)
    assert rejected("food bank near me").denied == ()

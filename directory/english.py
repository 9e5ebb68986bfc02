"""English words, so that search never "corrects" a word that is spelled right.

The list is wordfreq's large English frequency list cut at Zipf 2.5 (about 52,000 words
used at least 3 times per hundred million: "teapot", "thimble" and "wheelbarrow" are in;
the rarer entries of the large list are mostly misspellings, "lonley", "benifits"),
wordfreq by Robyn Speer (code Apache-2.0, data CC BY-SA 4.0), read from the data file
inside the installed wheel: nothing is downloaded, and wordfreq's own
modules (which pull in ftfy, langcodes and regex) are not imported on the search path.
The file is read only when a query holds a word the directory does not know.
"""

from __future__ import annotations

import gzip
import threading
from functools import cache
from pathlib import Path
from typing import Any, cast

_LOCK = threading.Lock()
DATA = "data/large_en.msgpack.gz"
CUTOFF_BUCKET = 650  # centibels below 1: frequency 10**-6.5, Zipf 2.5


@cache
def _load() -> dict[str, int]:
    """word (apostrophes dropped) -> frequency rank bucket (0 commonest, in centibels);
    kept ready-made between processes (``directory.catalogue_cache.kept``, named by a
    hash of wordfreq's file and this module): reading the list costs a fifth of a second,
    most of the app's wait for its first results."""
    return cast(dict[str, int], _kept("english_words", _read))


def _data_file() -> Path | None:
    """wordfreq's English list, found without importing wordfreq (its package imports
    ftfy, langcodes and regex: a tenth of a second); None when it is not a plain file."""
    from importlib.util import find_spec

    spec = find_spec("wordfreq")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / DATA
        if path.is_file():
            return path
    return None  # pragma: no cover - a zipped install


def _kept(name: str, make: Any) -> Any:
    source = _data_file()
    if source is None:  # pragma: no cover - a zipped install
        return make()
    from directory.catalogue_cache import files_key, kept

    here = Path(__file__).resolve().parent
    key = files_key([source, here / "english.py"])
    return kept(here / "__pycache__", name, key, make, dict)


def _read() -> dict[str, int]:
    from importlib import resources

    import msgpack

    found = _data_file()
    source = found if found is not None else resources.files("wordfreq").joinpath(DATA)
    raw = source.read_bytes()
    data = msgpack.loads(gzip.decompress(raw), raw=False)
    header = data[0] if data else None
    if not isinstance(header, dict) or header.get("format") != "cB":
        raise RuntimeError("wordfreq's English list is not in the cB format this reads")
    out: dict[str, int] = {}
    for bucket, words in enumerate(data[1 : CUTOFF_BUCKET + 2]):
        for word in words:
            plain = word.replace("'", "")
            if plain.isalpha() and plain.isascii():
                out.setdefault(plain, bucket)
    return out


def english_words() -> dict[str, int]:
    """Every English word of the list, with its frequency bucket (smaller: commoner)."""
    with _LOCK:
        return _load()


def is_english(word: str) -> bool:
    """Whether ``word`` (lower case, apostrophes dropped) is a correctly spelled English word.
    (Rare short words count too: "det" is not read as "debt", as "jaw" is never "raw".)"""
    return word in english_words()


@cache
def _groups() -> dict[tuple[str, int], list[str]]:
    return cast(dict[tuple[str, int], list[str]], _kept("english_groups", _group))


def _group() -> dict[tuple[str, int], list[str]]:
    groups: dict[tuple[str, int], list[str]] = {}
    for word in english_words():  # commonest first
        if len(word) >= 3 and is_english(word):
            groups.setdefault((word[0], len(word)), []).append(word)
    return groups


def group(first: str, length: int) -> list[str]:
    """The English words (``is_english``, three letters or more) starting with ``first``
    and exactly ``length`` long, commonest first (don't change the list)."""
    return _groups().get((first, length), [])


@cache
def near(first: str, length: int) -> list[str]:
    """English words (``is_english``) starting with ``first`` whose length is within two
    letters of ``length``: what a misspelling may be corrected towards (a slip rarely
    changes the first letter; spelling by ear is tried as its own word)."""
    groups = _groups()
    rank = english_words()
    found = [w for n in range(length - 2, length + 3) for w in groups.get((first, n), ())]
    found.sort(key=lambda w: rank[w])  # commonest first: the first of equals wins
    return found

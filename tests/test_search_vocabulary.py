"""Issue 18: the search vocabulary is language, not the sample. No everyday phrase of a
query set (dev, held-out, blind, tuning, code queries) is copied into the vocabulary files;
every lay word is read as a vocabulary phrase that exists."""

from __future__ import annotations

import csv
import hashlib
import re
from importlib import resources
from pathlib import Path

from directory.vocabulary import load_vocabulary

ROOT = Path(__file__).resolve().parents[1]
QUERY_SETS = [
    ROOT.parent / "shared" / "data" / "queries-dev.tsv",
    ROOT.parent / "shared" / "data" / "code-queries-dev.tsv",
    *sorted((ROOT / "bench").glob("*queries*.tsv")),
    *sorted((ROOT / "bench" / "data").glob("*.tsv")),
]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9&]+", text.lower().replace("'", "").replace("’", "")))


def _queries(folder: Path | None = None, pattern: str = "") -> list[tuple[str, str]]:
    """(normalised query, kind) of every query set present (or of those matching pattern)."""
    out = []
    for path in sorted(folder.glob(pattern)) if folder else QUERY_SETS:
        if not path.exists():
            continue
        rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
        rows = [r for r in rows if not r.startswith("#")]
        header = rows[0].split("\t")
        for row in rows[1:]:
            record = dict(zip(header, row.split("\t"), strict=False))
            out.append((_norm(record["query"]), record.get("kind", "")))
    return out


def _file(name: str) -> list[dict[str, str]]:
    text = resources.files("directory").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def test_no_everyday_query_is_a_vocabulary_phrase() -> None:
    queries = _queries()
    assert len(queries) > 300  # the bench sets at least
    lay = {q for q, kind in queries if kind in ("lay", "typo", "mixed")}
    phrases = [r["phrase"] for r in _file("search_vocabulary.csv")]
    phrases += [w for r in _file("lay_words.csv") for w in r["words"].split(";")]
    copied = sorted(p for p in phrases if _norm(p) in lay)
    assert copied == []


# Phrases already in lay_words.csv when a blind set was written by someone who had not read
# the vocabulary: chance matches of everyday English in that set's queries, not copies. Kept
# as SHA-256 of the normalised phrase so the set's writer never saw them; each is excused in
# its own set's queries only. blind3 (2026-12-07, lay_words since c2bc8f7); blind4
# (2026-12-07, 2e1d141; lay_words last changed 15:52 that day, before the set existed).
BEFORE_BLIND = {
    "search-blind3-*.tsv": {
        "1e9217ffe16b681b2bbe81e1c2fbd35122ea02ca620a8580d521d012fce05531",
        "26deff0a23a28097563038cf1052cadcf23e29532fb6b97646a36cbc320b3fdc",
        "44471bff2a6c180820835d3c13ce874c3c12ff8b85376e06883ddebaf6fd5e0a",
        "55a6a50e0e80dab5d727aea98bb8321fe25c92c974fd2bf49b062564eaaecae6",
        "f01512ff6ac5913e93a3858293ccef368c4c74a9771b704bac193c868c0b671b",
    },
    "search-blind4-*.tsv": {
        "99d987eac617896ecb57dd812da99568ca22a36bcd173a162e0050430afdf0d3",
        "1034e9b802608bf36426fe5c1b6265572331bfbe14c7b8f94babe99db5a3d1a6",
        "1b104b100aa97f157a8254158c8af20443b65091099cef2e26b1ae2601112af3",
        "a2f2692099daf6feee0f711c699774708891a00177b741e3f500672d9c6dfc7d",
        "55a6a50e0e80dab5d727aea98bb8321fe25c92c974fd2bf49b062564eaaecae6",
        "f83a6a1015fe77bbe6fc4d6fbe6282166a7049076ca32395c8cad1d8750db869",
        "2d51b625d59f46fcc694fac88ecc261136bdc88ec114f60bc177e1e069191e03",
        "4078339f8cc1f7f27619e5aa6cc6bcdd696fe38a35a6823269de3343b5877e86",
        "45c1bb8a95eac08e40a71b08025a4bc87caa55fea2c250fb7f86d488daa77e41",
        "79938a574f146c1fbdec0313445d9ca8c7fd72bcf49c9c4755ad37e586808338",
        "1f0e23396482956d22d02424c9b2fb61b92976badd33cab7c64e434747d76582",
    },
}


def test_no_lay_words_phrase_is_taken_from_a_query() -> None:
    entries = [w for r in _file("lay_words.csv") for w in r["words"].split(";")]
    several = [_norm(w) for w in entries if len(_norm(w).split()) >= 2]
    assert len(several) > 50
    queries = [f" {q} " for q, _kind in _queries()]
    excused_in: dict[str, list[str]] = {}  # a phrase -> the queries where it may occur
    for pattern, hashes in BEFORE_BLIND.items():
        own = {f" {q} " for q, _kind in _queries(ROOT / "bench" / "data", pattern)}
        assert own, pattern
        for w in several:
            if hashlib.sha256(w.encode()).hexdigest() in hashes:
                excused_in.setdefault(w, []).extend(own)

    def copied(w: str) -> bool:
        allowed = excused_in.get(w, [])
        return any(f" {w} " in q and q not in allowed for q in queries)

    assert sorted(w for w in several if copied(w)) == []


def test_lay_words_read_as_their_phrase() -> None:
    vocabulary = load_vocabulary()
    by_text = {p.text: p for p in vocabulary.phrases}
    for row in _file("lay_words.csv"):
        anchor = by_text[row["means"]]
        for word in row["words"].split(";"):
            phrase = by_text.get(word)
            if phrase is not None and phrase.terms == anchor.terms:
                assert phrase.domains == anchor.domains
    vodka = next(p for p in vocabulary.phrases if p.text == "vodka")
    assert "health_behaviours" in vodka.domains and "alcohol" in vodka.terms

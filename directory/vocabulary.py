"""Query vocabulary: lay and service-provider phrases -> index words and need domains.

Three sources, all data: the directory's own ``search_vocabulary.csv`` (words of the
service world: "pantry", "ESOL", "befriending", "men's shed", and everyday phrasings of
needs), ``lay_words.csv`` (everyday words, each read as one of those phrases: a thesaurus
by concept), and the codes catalogue's lay-language search through ``codes.search`` (a
person's words -> Z codes and need domains) when that package is present. No phrase of any
query set is copied into them (tests/test_search_vocabulary.py).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import cast

from directory.taxonomy import domain_keys
from directory.text import phrase_tokens, tokens


@dataclass(frozen=True)
class Phrase:
    text: str
    key: tuple[str, ...]  # stemmed tokens (stopwords left out)
    terms: tuple[str, ...]  # stemmed index tokens it adds to the query
    domains: tuple[str, ...]
    surface: dict[str, str]  # stemmed token -> the term as written (for ``why``)


@dataclass(frozen=True)
class Vocabulary:
    phrases: tuple[Phrase, ...]
    by_first: dict[str, tuple[Phrase, ...]]
    words: frozenset[str]  # raw lower-case words of every phrase (for typo correction)
    languages: dict[str, str]  # alias -> language name (lower case)

    def match(self, toks: list[str]) -> list[tuple[int, int, Phrase]]:
        """Phrases found in the token list as (start, end, phrase), longest first."""
        found: list[tuple[int, int, Phrase]] = []
        for i, tok in enumerate(toks):
            for phrase in self.by_first.get(tok, ()):
                n = len(phrase.key)
                if tuple(toks[i : i + n]) == phrase.key:
                    found.append((i, i + n, phrase))
        found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
        return found


# what the vocabulary is read from and with: a change to any of them reads it again
_VOCABULARY_SOURCES = (
    "search_vocabulary.csv",
    "lay_words.csv",
    "stopwords.txt",
    "vocabulary.py",
    "text.py",
    "taxonomy.py",
)


@cache
def load_vocabulary() -> Vocabulary:
    """Load and check ``search_vocabulary.csv`` (cached in the process, and between
    processes by ``directory.catalogue_cache.kept``; ValueError if malformed)."""
    from codes.catalogue import DATA_DIR
    from directory.catalogue_cache import files_key, kept

    here = Path(__file__).resolve().parent
    sources = [here / name for name in _VOCABULARY_SOURCES] + [DATA_DIR / "domains.csv"]
    return cast(
        Vocabulary,
        kept(here / "__pycache__", "vocabulary", files_key(sources), _read_vocabulary, Vocabulary),
    )


def _read_vocabulary() -> Vocabulary:
    from importlib import resources  # here: a search reads the vocabulary from its cache

    root = resources.files("directory")
    text = root.joinpath("search_vocabulary.csv").read_text(encoding="utf-8")
    keys = set(domain_keys())
    phrases: list[Phrase] = []
    raw_words: set[str] = set()
    languages: dict[str, str] = {}
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        phrase = (row.get("phrase") or "").strip().lower()
        terms = (row.get("terms") or "").strip()
        domains = tuple(d.strip() for d in (row.get("domains") or "").split(";") if d.strip())
        where = f"search_vocabulary.csv line {line}"
        if not phrase or not (terms or domains):
            raise ValueError(f"{where}: needs a phrase and terms or domains")
        for d in domains:
            if d == "language":
                continue
            if d not in keys:
                raise ValueError(f"{where}: unknown need domain {d!r}")
        if domains == ("language",):
            languages[phrase] = terms.lower()
            continue
        key = tuple(phrase_tokens(phrase))
        if not key:
            raise ValueError(f"{where}: the phrase {phrase!r} has only common words")
        surface: dict[str, str] = {}
        for part in terms.split(";"):
            for t in tokens(part):
                surface.setdefault(t, part.strip())
        phrases.append(Phrase(phrase, key, tuple(surface), domains, surface))
        raw_words.update(w for w in phrase.replace("'", "").split() if w.isalpha())
    phrases += _lay_words(root.joinpath("lay_words.csv").read_text(encoding="utf-8"), phrases)
    raw_words.update(w for p in phrases for w in p.text.replace("'", "").split() if w.isalpha())
    by_first: dict[str, list[Phrase]] = {}
    for p in phrases:
        by_first.setdefault(p.key[0], []).append(p)
    return Vocabulary(
        tuple(phrases),
        {k: tuple(v) for k, v in by_first.items()},
        frozenset(raw_words),
        languages,
    )


def _lay_words(text: str, phrases: list[Phrase]) -> list[Phrase]:
    """``lay_words.csv``: everyday words and phrases, each read as a phrase of
    ``search_vocabulary.csv`` (its terms and need domains): a thesaurus by concept,
    written from what each kind of service is for (never from a query set)."""
    anchors = {p.text: p for p in phrases}
    known = {p.key for p in phrases}
    out: list[Phrase] = []
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        means = (row.get("means") or "").strip().lower()
        anchor = anchors.get(means)
        if anchor is None:
            raise ValueError(f"lay_words.csv line {line}: {means!r} is not a vocabulary phrase")
        for raw in (row.get("words") or "").split(";"):
            word = raw.strip().lower()
            key = tuple(phrase_tokens(word))
            if not key or key in known:
                continue  # only common words, or the vocabulary has it already
            if len(key) == 1 and len(word.split()) > 1:
                continue  # "dad to be" would read every "dad": a phrase must keep two words
            known.add(key)
            out.append(Phrase(word, key, anchor.terms, anchor.domains, anchor.surface))
    return out


@dataclass(frozen=True)
class CodeHint:
    code: str
    display: str
    domain: str
    score: float
    phrase: str = ""  # the catalogue phrase the text matched


def resolve_need(code: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A ``--need`` value (ICD-10 or SNOMED code, or a need-domain key) as
    (label, domains, z_codes). LookupError if unknown."""
    value = code.strip()
    if value.lower() in domain_keys():
        return value.lower(), (value.lower(),), ()
    try:
        from directory.catalogue_cache import catalogue as load_catalogue
    except ImportError:  # pragma: no cover - the codes package ships with linkwork
        load_catalogue = None  # type: ignore[assignment]
    if load_catalogue is not None:
        need = load_catalogue().get(value)  # LookupError if unknown
        icd = str(need.maps_to or need.code)
        z: tuple[str, ...] = (icd,) if icd.upper().startswith("Z") else ()
        return f"{need.code} {need.display}", (need.domain,), z
    raise LookupError(f"unknown need code {value!r}")


@lru_cache(maxsize=1024)
def need_hints(text: str) -> tuple[list[CodeHint], list[tuple[str, float, str]]]:
    """What the codes catalogue's lay-language search reads in ``text``: codes (score
    0-100, with the catalogue phrase matched) and need domains (0-1, with the phrase),
    best first; empty when the codes package has no search. Cached: an account typed
    keystroke by keystroke reads its finished clauses once (callers must not change the
    lists)."""
    try:
        from codes.search import read_needs
        from directory.catalogue_cache import catalogue as load_catalogue
    except ImportError:
        return [], []
    try:
        matches, domains = read_needs(load_catalogue(), text)
    except (ValueError, LookupError):
        return [], []
    hints = [
        CodeHint(str(m.code), str(m.display), str(m.domain), float(m.score), m.matched[0])
        for m in matches
    ]
    return hints, domains


@cache
def _catalogue_stems() -> tuple[frozenset[str], object] | None:
    try:
        from directory.catalogue_cache import catalogue as load_catalogue
    except ImportError:  # pragma: no cover - the codes package ships with linkwork
        return None
    index = load_catalogue().index
    return frozenset(index.idf), index


def catalogue_knows(word: str) -> bool:
    """Whether the codes catalogue's lay vocabulary has ``word`` (lower case, no
    apostrophes): a word it can read as part of a need."""
    known = _catalogue_stems()
    if known is None:
        return False
    stems, index = known
    return word not in index.stopwords and index.stem(word) in stems  # type: ignore[attr-defined]

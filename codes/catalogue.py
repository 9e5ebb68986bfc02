"""The coded-needs catalogue: WHO ICD-10 (2019) Z55-Z65, SNOMED CT mappings, need domains.

Everything lives in data files beside this module and is checked when loaded:

- ``domains.csv``  need domains (key, label, description, gravity_category);
- ``icd10.csv``    every WHO ICD-10 2019 code in Z55-Z65 (categories and subcodes) with its
  official title and the one need domain it belongs to;
- ``snomed.csv``   SNOMED CT concepts whose identifiers are known to be right, each mapped to
  the ICD-10 code it refines (identifiers carry a Verhoeff check digit, which is checked);
- ``synonyms.toml`` lay words and UK phrasings per code, and per domain for the domains
  that have no Z code (digital, transport, fuel, ...), which are recorded by domain alone;
- ``lexicon.toml`` abbreviations, equivalent words and stop words for the search.

``load_catalogue()`` loads the packaged files once (cached, immutable); ``load_catalogue_from(dir)``
loads another folder without caching (tests feed it broken files). A malformed file raises
``CatalogueError`` (a ``ValueError``) naming the file, the line and what is wrong.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directory.untrusted import ascii_identifier

if TYPE_CHECKING:
    from codes.search import SearchIndex

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
SNOMED_SYSTEM = "http://snomed.info/sct"

DATA_DIR = Path(__file__).resolve().parent

_ICD_RE = re.compile(r"^Z(5[5-9]|6[0-5])(\.[0-9])?$")
_DOMAIN_KEY_RE = re.compile(r"^[a-z][a-z_]*$")
_SCTID_RE = re.compile(r"^[1-9][0-9]{5,17}$")


class CatalogueError(ValueError):
    """A catalogue data file is malformed."""


@dataclass(frozen=True)
class Domain:
    key: str
    label: str
    description: str
    gravity_category: str = ""
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodedNeed:
    """One code: an ICD-10 category or subcode, or a SNOMED CT concept mapped to one."""

    code: str
    system: str
    display: str
    domain: str
    snomed: tuple[tuple[str, str], ...] = ()
    synonyms: tuple[str, ...] = ()
    maps_to: str | None = None  # for SNOMED concepts: the ICD-10 code they refine

    @property
    def is_category(self) -> bool:
        return self.system == ICD10_SYSTEM and "." not in self.code

    @property
    def category(self) -> str:
        """The 3-character ICD-10 category (``Z59`` for ``Z59.0``)."""
        return (self.maps_to or self.code)[:3]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "system": self.system,
            "display": self.display,
            "domain": self.domain,
            "snomed": [{"code": c, "display": t} for c, t in self.snomed],
            "synonyms": list(self.synonyms),
            "maps_to": self.maps_to,
        }


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (usable as a cache key)
class Catalogue:
    """The loaded catalogue. Immutable; build it with ``load_catalogue()``."""

    codes: tuple[CodedNeed, ...]
    snomed_concepts: tuple[CodedNeed, ...]
    domain_list: tuple[Domain, ...]
    lexicon: Lexicon
    _by_code: dict[str, CodedNeed] = field(repr=False, compare=False)
    _by_sctid: dict[str, CodedNeed] = field(repr=False, compare=False)
    _domains: dict[str, Domain] = field(repr=False, compare=False)
    index: SearchIndex = field(repr=False, compare=False)

    def all(self) -> list[CodedNeed]:
        """Every ICD-10 code (categories and subcodes), in code order."""
        return list(self.codes)

    def domains(self) -> list[Domain]:
        return list(self.domain_list)

    def domain(self, key: str) -> Domain:
        try:
            return self._domains[key.strip().lower()]
        except KeyError:
            raise LookupError(f"unknown need domain {key!r}") from None

    def in_domain(self, key: str) -> list[CodedNeed]:
        """The ICD-10 codes of one domain (empty for domains recorded by domain alone)."""
        domain = self.domain(key)
        return [c for c in self.codes if c.domain == domain.key]

    def get(self, code: str) -> CodedNeed:
        """One code by ICD-10 code (``Z59.0``, ``z590``, ``Z59``) or SNOMED CT concept id.
        Codes are ASCII: a full-width ``Ｚ５９`` is refused (ValueError) rather than not found."""
        ascii_identifier(code, "need code", allowed=" .")
        key = normalise_code(code)
        if key in self._by_code:
            return self._by_code[key]
        if key in self._by_sctid:
            return self._by_sctid[key]
        shown = code.strip() or "(empty)"
        raise LookupError(
            f"unknown code {shown!r}: not an ICD-10 Z55-Z65 code or known SNOMED CT concept"
        )

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        key = normalise_code(code)
        return key in self._by_code or key in self._by_sctid


@dataclass(frozen=True, eq=False)
class Lexicon:
    abbreviations: dict[str, str]
    groups: tuple[tuple[str, ...], ...]
    stopwords: frozenset[str]
    weak: frozenset[str] = frozenset()


def normalise_code(code: str) -> str:
    """``z590`` / ``Z59.0`` / `` Z 59.0 `` -> ``Z59.0``; SNOMED ids are returned as digits."""
    text = re.sub(r"[\s.]", "", code).upper()
    if re.fullmatch(r"Z[0-9]{2}", text):
        return text
    if re.fullmatch(r"Z[0-9]{3}", text):
        return f"{text[:3]}.{text[3]}"
    return text


# --- Verhoeff check digit (SNOMED CT identifiers) -------------------------------------

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(number: str) -> bool:
    """True when the last digit of ``number`` is its Verhoeff check digit."""
    if not number.isdigit():
        return False
    check = 0
    for i, ch in enumerate(reversed(number)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(ch)]]
    return check == 0


def is_valid_sctid(concept_id: str) -> bool:
    """A SNOMED CT concept identifier: 6-18 digits, concept partition, Verhoeff-valid."""
    if not _SCTID_RE.match(concept_id):
        return False
    # partition identifier (2nd and 3rd digits from the right): 00 or 10 for concepts
    if concept_id[-3:-1] not in ("00", "10"):
        return False
    return verhoeff_valid(concept_id)


# --- loading ---------------------------------------------------------------------------


def _read_csv(
    path: Path, header: list[str], optional: Iterable[str] = ()
) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise CatalogueError(f"{path.name}: file is missing ({path})")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        try:
            got = next(reader)
        except StopIteration:
            raise CatalogueError(f"{path.name}: file is empty") from None
        got = [h.strip() for h in got]
        allowed = set(header) | set(optional)
        missing = [h for h in header if h not in got]
        extra = [h for h in got if h not in allowed]
        if missing or extra:
            raise CatalogueError(
                f"{path.name}: header must be {','.join(header)}"
                + (f" (missing {', '.join(missing)})" if missing else "")
                + (f" (unknown {', '.join(extra)})" if extra else "")
            )
        rows = []
        for lineno, raw in enumerate(reader, start=2):
            if not raw or all(not c.strip() for c in raw):
                continue
            if len(raw) != len(got):
                raise CatalogueError(
                    f"{path.name} line {lineno}: expected {len(got)} fields, found {len(raw)}"
                )
            rows.append((lineno, {h: v.strip() for h, v in zip(got, raw, strict=True)}))
        return rows


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CatalogueError(f"{path.name}: file is missing ({path})")
    import tomllib  # on first use: a search reads the catalogue from its cache, not TOML

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path.name}: not valid TOML ({exc})") from None


def _phrase_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogueError(f"{where}: must be a list of strings")
    out: list[str] = []
    seen: set[str] = set()
    for v in value:
        text = " ".join(v.split())
        if not text:
            raise CatalogueError(f"{where}: empty phrase")
        if text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return tuple(out)


def _load_domains(directory: Path) -> list[Domain]:
    rows = _read_csv(
        directory / "domains.csv", ["key", "label", "description"], optional=["gravity_category"]
    )
    domains: list[Domain] = []
    seen: set[str] = set()
    for lineno, row in rows:
        key = row["key"]
        where = f"domains.csv line {lineno}"
        if not _DOMAIN_KEY_RE.match(key):
            raise CatalogueError(f"{where}: bad domain key {key!r}")
        if key in seen:
            raise CatalogueError(f"{where}: duplicate domain {key!r}")
        if not row["label"]:
            raise CatalogueError(f"{where}: empty label for {key!r}")
        seen.add(key)
        domains.append(
            Domain(key, row["label"], row["description"], row.get("gravity_category", ""))
        )
    if not domains:
        raise CatalogueError("domains.csv: no domains")
    return domains


def _load_lexicon(directory: Path) -> Lexicon:
    data = _read_toml(directory / "lexicon.toml")
    abbreviations: dict[str, str] = {}
    for key, value in (data.get("abbreviations") or {}).items():
        if not isinstance(value, str) or not value.strip():
            raise CatalogueError(f"lexicon.toml: abbreviation {key!r} must map to a phrase")
        abbreviations[key.lower()] = value.lower()
    groups_raw = (data.get("equivalents") or {}).get("groups", [])
    if not isinstance(groups_raw, list):
        raise CatalogueError("lexicon.toml: equivalents.groups must be a list of lists")
    groups = []
    for i, g in enumerate(groups_raw, start=1):
        words = _phrase_list(g, f"lexicon.toml equivalents group {i}")
        if len(words) < 2:
            raise CatalogueError(f"lexicon.toml equivalents group {i}: needs two or more words")
        groups.append(tuple(w.lower() for w in words))
    stop = _phrase_list((data.get("stopwords") or {}).get("words", []), "lexicon.toml stopwords")
    weak = _phrase_list((data.get("weak") or {}).get("words", []), "lexicon.toml weak")
    return Lexicon(
        abbreviations,
        tuple(groups),
        frozenset(w.lower() for w in stop),
        frozenset(w.lower() for w in weak),
    )


def load_catalogue_from(directory: Path | str) -> Catalogue:
    """Load and check the catalogue files in ``directory`` (not cached)."""
    from codes.search import SearchIndex

    directory = Path(directory)
    domains = _load_domains(directory)
    domain_keys = {d.key for d in domains}

    rows = _read_csv(directory / "icd10.csv", ["code", "title", "domain"])
    entries: dict[str, tuple[str, str]] = {}
    for lineno, row in rows:
        where = f"icd10.csv line {lineno}"
        code, title, domain = row["code"], row["title"], row["domain"]
        if not _ICD_RE.match(code):
            raise CatalogueError(
                f"{where}: bad code {code!r} (expected a WHO ICD-10 code Z55-Z65 like Z59 or Z59.0)"
            )
        if code in entries:
            raise CatalogueError(f"{where}: duplicate code {code}")
        if not title:
            raise CatalogueError(f"{where}: empty title for {code}")
        if domain not in domain_keys:
            raise CatalogueError(f"{where}: unknown domain {domain!r} for {code}")
        if "." in code and code[:3] not in entries:
            raise CatalogueError(
                f"{where}: {code} comes before (or without) its category {code[:3]}"
            )
        entries[code] = (title, domain)
    if not entries:
        raise CatalogueError("icd10.csv: no codes")

    snomed_rows = _read_csv(directory / "snomed.csv", ["concept_id", "term", "icd10"])
    snomed_by_code: dict[str, list[tuple[str, str]]] = {}
    sctids: dict[str, tuple[str, str]] = {}
    for lineno, row in snomed_rows:
        where = f"snomed.csv line {lineno}"
        sctid, term, icd = row["concept_id"], row["term"], row["icd10"]
        if not is_valid_sctid(sctid):
            raise CatalogueError(
                f"{where}: {sctid!r} is not a valid SNOMED CT concept id "
                "(format or Verhoeff check digit)"
            )
        if sctid in sctids:
            raise CatalogueError(f"{where}: duplicate SNOMED CT concept {sctid}")
        if not term:
            raise CatalogueError(f"{where}: empty term for {sctid}")
        if icd not in entries:
            raise CatalogueError(f"{where}: {sctid} maps to unknown ICD-10 code {icd!r}")
        sctids[sctid] = (term, icd)
        snomed_by_code.setdefault(icd, []).append((sctid, term))

    syn = _read_toml(directory / "synonyms.toml")
    code_syn = syn.get("codes") or {}
    dom_syn = syn.get("domains") or {}
    if not isinstance(code_syn, dict) or not isinstance(dom_syn, dict):
        raise CatalogueError("synonyms.toml: [codes] and [domains] must be tables")
    for key in code_syn:
        if key not in entries:
            raise CatalogueError(f"synonyms.toml: phrases for unknown code {key!r}")
    for key in dom_syn:
        if key not in domain_keys:
            raise CatalogueError(f"synonyms.toml: phrases for unknown domain {key!r}")

    codes = tuple(
        CodedNeed(
            code=code,
            system=ICD10_SYSTEM,
            display=title,
            domain=domain,
            snomed=tuple(snomed_by_code.get(code, ())),
            synonyms=_phrase_list(code_syn.get(code, []), f"synonyms.toml {code}"),
        )
        for code, (title, domain) in sorted(entries.items())
    )
    by_code = {c.code: c for c in codes}
    concepts = tuple(
        CodedNeed(
            code=sctid,
            system=SNOMED_SYSTEM,
            display=term,
            domain=by_code[icd].domain,
            snomed=((sctid, term),),
            synonyms=by_code[icd].synonyms,
            maps_to=icd,
        )
        for sctid, (term, icd) in sctids.items()
    )
    domain_objs = tuple(
        Domain(
            d.key,
            d.label,
            d.description,
            d.gravity_category,
            _phrase_list(dom_syn.get(d.key, []), f"synonyms.toml domain {d.key}"),
        )
        for d in domains
    )
    lexicon = _load_lexicon(directory)
    index = SearchIndex.build(codes, domain_objs, lexicon)
    return Catalogue(
        codes=codes,
        snomed_concepts=concepts,
        domain_list=domain_objs,
        lexicon=lexicon,
        _by_code=by_code,
        _by_sctid={c.code: c for c in concepts},
        _domains={d.key: d for d in domain_objs},
        index=index,
    )


@cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue, loaded and checked once per process."""
    return load_catalogue_from(DATA_DIR)

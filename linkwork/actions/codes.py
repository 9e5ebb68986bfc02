"""Need codes: search the catalogue in lay words, show a code, list the need domains.

The catalogue is packaged data (``codes/``), the same for every workspace: these actions
take no workspace and touch no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codes.catalogue import load_catalogue
from codes.search import match_domains
from codes.search import search_codes as search_catalogue


@dataclass
class CodeSearch:
    """What a lay-words search found: ``matches`` (``CodeMatch.to_dict()``: code, display,
    system, domain, score, why), best first. With no match, ``hint`` says so in words and
    ``domain`` names the need domain (key, label) to record the need by when the words
    point at a domain with no code of its own (digital, transport, ...)."""

    text: str
    matches: list[dict[str, Any]] = field(default_factory=list)
    hint: str = ""
    domain: dict[str, str] | None = None


def search_codes(text: str, *, limit: int = 10) -> CodeSearch:
    """The codes for a need described in everyday words (typos welcome), best first.
    ValueError for empty words."""
    query = " ".join(str(text).split())
    if not query:
        raise ValueError("empty search: type a few words describing the need")
    cat = load_catalogue()
    found = CodeSearch(query, [m.to_dict() for m in search_catalogue(cat, query, limit=limit)])
    if found.matches:
        return found
    domains = match_domains(cat, query, limit=1)
    if domains and not cat.in_domain(domains[0][0]):
        domain = cat.domain(domains[0][0])
        found.domain = {"key": domain.key, "label": domain.label}
        found.hint = (
            f"no ICD-10 code for {query!r}: record it by need domain "
            f"{domain.key!r} ({domain.label})"
        )
    else:
        found.hint = f"no code matches {query!r}"
    return found


def show_code(code: str) -> dict[str, Any]:
    """One code (ICD-10 ``Z59.0``/``z590`` or a SNOMED CT id): title, system, need domain
    (``domain_label`` too), SNOMED CT mapping and lay phrasings. LookupError if unknown."""
    cat = load_catalogue()
    need = cat.get(code)
    data = need.to_dict()
    data["domain_label"] = cat.domain(need.domain).label
    return data


def need_domains() -> list[dict[str, Any]]:
    """The need domains in catalogue order, each with how many ICD-10 codes it has
    (0: recorded by domain alone)."""
    cat = load_catalogue()
    return [
        {
            "key": d.key,
            "label": d.label,
            "description": d.description,
            "gravity_category": d.gravity_category,
            "codes": len(cat.in_domain(d.key)),
        }
        for d in cat.domains()
    ]

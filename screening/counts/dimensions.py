"""What the counts can be grouped by: the dimensions, parsing ``--by`` and dates, the
filters, and how a dimension's keys are written and labelled in outputs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from screening.equality import AGE_BANDS, ethnic_group_labels, load_equality

MAX_DIMENSIONS = 3
ALL = None  # the key of a total ("all values of this dimension")
ALL_LABEL = "All"
NOT_KNOWN = "not_known"
# the key of the practices with too few people to be shown on their own, counted together
SMALL_PRACTICES = "small"


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    description: str
    # True when every counted unit (person or referral) has exactly one value of this
    # dimension, so the cells of a line add up to its total.
    partitions: bool
    # For referrals: does a referral have exactly one value? (need/domain: no)
    referral_partitions: bool = True


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("need", "Need", "coded need (ICD-10 or SNOMED CT)", False, False),
        Dimension("domain", "Need domain", "need domain (housing, food, ...)", False, False),
        Dimension("month", "Month", "calendar month the need was recorded", False),
        Dimension("quarter", "Quarter", "financial quarter (Q1 = April-June)", False),
        Dimension("year", "Financial year", "financial year (April-March)", False),
        Dimension("practice", "Practice", "registered practice (ODS code)", True),
        Dimension("ethnicity", "Ethnic category", "NHS ethnic category (A-S, Z, 99)", True),
        Dimension("ethnic_group", "Ethnic group", "high-level ethnic group", True),
        Dimension("age_band", "Age band", "age when the need was recorded", False),
        Dimension("sex", "Sex", "sex", True),
        Dimension("disability", "Disability", "disability (Equality Act 2010)", True),
        Dimension("deprivation", "IMD decile", "deprivation decile of the postcode", True),
        # where a referral went (reports timeliness and outcomes only)
        Dimension("service", "Service", "service referred to (timeliness, outcomes)", True),
        Dimension("provider", "Provider", "organisation providing it (timeliness, outcomes)", True),
    )
}
# dimensions only some reports count by (parse_dimensions(..., extra=...))
REFERRAL_ONLY = frozenset({"service", "provider"})


def safe_name(value: Any) -> str:
    """A service or provider name from a directory feed (untrusted text) as a report keeps
    and shows it: printable characters only, cut to 80, ``not_known`` when empty, and an
    apostrophe before a leading ``=``, ``+``, ``-`` or ``@`` (a spreadsheet would take it
    for a formula)."""
    if not value:
        return NOT_KNOWN
    text = "".join(ch for ch in str(value) if ch.isprintable()).strip()[:80] or NOT_KNOWN
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def parse_dimensions(text: str | Sequence[str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """``"need,ethnic_group"`` -> ``("need", "ethnic_group")``; ValueError if unknown, or
    one of ``REFERRAL_ONLY`` not named in ``extra`` (the reports that count by it)."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    names = [p.strip().lower().replace("-", "_") for p in parts if p.strip()]
    if not names:
        raise ValueError("give at least one dimension with --by")
    for name in names:
        if name not in DIMENSIONS:
            raise ValueError(f"unknown dimension {name!r}: use one of {', '.join(DIMENSIONS)}")
    for name in names:
        if name in REFERRAL_ONLY and name not in set(extra):
            raise ValueError(f"{name} is a dimension of reports timeliness and outcomes only")
    if len(set(names)) != len(names):
        raise ValueError("a dimension is repeated in --by")
    if len(names) > MAX_DIMENSIONS:
        raise ValueError(f"at most {MAX_DIMENSIONS} dimensions can be crossed")
    return tuple(names)


def parse_date(text: str, what: str = "date") -> date:
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        if value.isascii() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(f"bad {what} {text!r}: not a real date") from None
        raise ValueError(f"bad {what} {text!r}: use YYYY-MM-DD") from None


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None  # inclusive
    practice: str | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"--from {self.start} is after --to {self.end}")

    def as_dict(self) -> dict[str, str | None]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "practice": self.practice,
        }


# ------------------------------------------------------------------------ labels


@cache
def catalogue_labels() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    try:
        from codes.catalogue import load_catalogue

        cat = load_catalogue()
    except Exception:  # the counts still work without the catalogue's wording
        return {}, {}, {}
    codes = {c.code: c.display for c in cat.all()}
    systems = {c.code: c.system for c in cat.all()}
    domains = {d.key: d.label for d in cat.domains()}
    return codes, domains, systems


def _fy_label(fy: int) -> str:
    return f"{fy}-{(fy + 1) % 100:02d}"


def key_text(dim: str, key: Any) -> str:
    """The key as written in outputs (codes as stored, periods as text)."""
    if key is ALL:
        return "all"
    if dim == "month":
        return str(key)
    if dim == "quarter":
        return f"{_fy_label(int(key) // 10)} Q{int(key) % 10}"
    if dim == "year":
        return _fy_label(int(key))
    if dim == "deprivation":
        return NOT_KNOWN if int(key) == 0 else str(int(key))
    return str(key)


def key_label(dim: str, key: Any) -> str:
    if key is ALL:
        return ALL_LABEL
    codes, domains, _ = catalogue_labels()
    if dim == "need":
        if str(key) in codes:
            return codes[str(key)]
        if str(key) in domains:  # a need recorded by its domain alone
            return f"{domains[str(key)]} (domain only)"
        return str(key)
    if dim == "domain":
        return domains.get(str(key), str(key))
    if dim == "ethnic_group":
        return ethnic_group_labels().get(str(key), "Not known")
    if dim in ("ethnicity", "sex", "disability"):
        spec = load_equality()["ethnic_category" if dim == "ethnicity" else dim]
        try:
            return spec.label_of(str(key))
        except LookupError:
            return str(key)
    if dim == "age_band":
        return "Not known" if key == NOT_KNOWN else str(key)
    if dim == "practice" and key == SMALL_PRACTICES:
        return "Small practices (together)"
    if dim == "deprivation":
        if int(key) == 0:
            return "Not known"
        extra = " (most deprived)" if int(key) == 1 else " (least deprived)" if key == 10 else ""
        return f"Decile {int(key)}{extra}"
    if dim == "quarter":
        return key_text(dim, key) + {1: " (Apr-Jun)", 2: " (Jul-Sep)", 3: " (Oct-Dec)"}.get(
            int(key) % 10, " (Jan-Mar)"
        )
    return key_text(dim, key)


def _fixed_values(dim: str) -> list[Any] | None:
    """Every value of a dimension with a closed list (shown even when 0)."""
    _, domains, _ = catalogue_labels()
    if dim == "domain" and domains:
        return list(domains)
    if dim == "ethnicity":
        return load_equality()["ethnic_category"].codes()
    if dim == "ethnic_group":
        return list(ethnic_group_labels())
    if dim == "age_band":
        return [label for label, _, _ in AGE_BANDS]
    if dim in ("sex", "disability"):
        return load_equality()[dim].codes()
    return None


def ordered_values(dim: str, seen: Iterable[Any]) -> list[Any]:
    seen = set(seen)
    fixed = _fixed_values(dim)
    if fixed is not None:
        return fixed + sorted((v for v in seen if v not in fixed), key=str)
    return sorted(seen, key=lambda v: (isinstance(v, str), v))


def partitions(dim: str, unit: str) -> bool:
    """Whether every counted ``unit`` has exactly one value of ``dim`` (people, referrals,
    needs with an outcome: a need has one code and one domain; or outcomes, the ONS4
    pairs, counted once per need where need or domain is a dimension)."""
    spec = DIMENSIONS[dim]
    if unit == "referrals":
        return spec.referral_partitions
    if unit in ("needs", "outcomes") and dim in ("need", "domain"):
        return True
    if unit == "needs" and dim in REFERRAL_ONLY:  # a need's outcomes from two referrals
        return False
    return spec.partitions

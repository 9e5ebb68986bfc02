"""Equality fields as data (``equality.yaml``): the codes a person's record may hold, their
wording, the ethnic category's high-level groups, and age bands (derived, never stored).

Every field has ``prefer-not-to-say`` and ``not-asked`` (for ethnic category the NHS codes
``Z`` and ``99``). Unknown codes are refused; nothing is ever inferred.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from screening.models import NOT_ASKED, PREFER_NOT

FIELDS = (
    "ethnic_category",
    "sex",
    "gender_same_as_birth",
    "sexual_orientation",
    "disability",
    "religion",
    "main_language",
    "interpreter_needed",
    "immigration_status",
)

# (label, lowest age, highest age or None); derived from the birth date when needed.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-17", 0, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65-74", 65, 74),
    ("75-84", 75, 84),
    ("85+", 85, None),
)


@dataclass(frozen=True)
class EqualityField:
    name: str
    label: str
    values: tuple[tuple[str, str], ...]  # (code, label), including the two "missing" codes
    prefer_not: str
    not_asked: str
    demo_weights: tuple[tuple[str, float], ...] = ()
    groups: tuple[tuple[str, str], ...] = ()  # code -> group key (ethnic category only)

    def codes(self) -> list[str]:
        return [code for code, _ in self.values]

    def label_of(self, code: str) -> str:
        for value, label in self.values:
            if value == code:
                return label
        raise LookupError(f"unknown {self.label.lower()} code {code!r}")


def _norm(text: str) -> str:
    return "-".join(str(text).strip().lower().replace("_", " ").split())


@cache
def load_equality() -> dict[str, EqualityField]:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("screening").joinpath("equality.yaml").read_text(encoding="utf-8")
    )
    fields: dict[str, EqualityField] = {}
    for name in FIELDS:
        spec = raw.get(name)
        if not isinstance(spec, dict) or not spec.get("values"):
            raise ValueError(f"equality.yaml: field {name} has no values")
        prefer_not = str(spec.get("prefer_not", PREFER_NOT))
        not_asked = str(spec.get("not_asked", NOT_ASKED))
        values = [(str(v["code"]), str(v["label"])) for v in spec["values"]]
        codes = [c for c, _ in values]
        if len(set(codes)) != len(codes):
            raise ValueError(f"equality.yaml: field {name} repeats a code")
        if prefer_not not in codes:
            values.append((prefer_not, "Prefer not to say"))
        if not_asked not in codes:
            values.append((not_asked, "Not asked"))
        weights = tuple(
            (str(v["code"]), float(v["demo_weight"])) for v in spec["values"] if "demo_weight" in v
        )
        groups = tuple((str(v["code"]), str(v["group"])) for v in spec["values"] if "group" in v)
        fields[name] = EqualityField(
            name=name,
            label=str(spec.get("label", name)),
            values=tuple(values),
            prefer_not=prefer_not,
            not_asked=not_asked,
            demo_weights=weights,
            groups=groups,
        )
    return fields


@cache
def ethnic_group_labels() -> dict[str, str]:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("screening").joinpath("equality.yaml").read_text(encoding="utf-8")
    )
    return {str(k): str(v) for k, v in raw["ethnic_groups"].items()}


def normalise_value(field: str, value: str | None) -> str:
    """The stored code for ``value`` of equality ``field``; ValueError if not allowed.

    Accepts the code itself (any case) or "prefer not to say" / "not asked" in words;
    ``None`` or an empty string means not asked."""
    spec = load_equality().get(field)
    if spec is None:
        raise ValueError(f"unknown equality field {field!r}")
    if value is None or str(value).strip() == "":
        return spec.not_asked
    text = str(value).strip()
    wanted = _norm(text)
    if wanted in (PREFER_NOT, "prefer-not", "not-stated"):
        return spec.prefer_not
    if wanted in (NOT_ASKED, "not-known", "unknown"):
        return spec.not_asked
    for code, label in spec.values:
        if _norm(code) == wanted or _norm(label) == wanted:
            return code
    allowed = ", ".join(spec.codes())
    raise ValueError(f"{spec.label.lower()} {text!r} is not one of: {allowed}")


def ethnic_group(code: str) -> str:
    """High-level group key of an ethnic category code (white, mixed, asian, black, other,
    not_stated, not_known)."""
    groups = dict(load_equality()["ethnic_category"].groups)
    try:
        return groups[code]
    except KeyError:
        raise LookupError(f"unknown ethnic category {code!r}") from None


def age_on(birth_date: date, on: date) -> int:
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_band(birth_date: date | None, on: date | None = None) -> str:
    """The age band on ``on`` (default today); "not known" without a birth date."""
    if birth_date is None:
        return "not known"
    age = age_on(birth_date, on or date.today())
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return "not known"  # born in the future: a data error, never guessed

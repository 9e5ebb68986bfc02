"""The app's own state, shared by the screens: who the link worker is working with now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class PersonRef:
    """The person the link worker is working with now (shown on every screen)."""

    id: str
    name: str
    detail: str = ""


def person_ref(person: dict[str, Any]) -> PersonRef:
    """A PersonRef from a person as the actions return it (``screening.people.person_dict``)."""
    nhs = person.get("nhs_number") or ""
    nhs_text = f", NHS {nhs[:3]} {nhs[3:6]} {nhs[6:]}" if nhs else ""
    born = person["birth_date"]
    if isinstance(born, str):
        born = date.fromisoformat(born)
    detail = f"(born {born.strftime('%d %b %Y')}{nhs_text})"
    return PersonRef(person["id"], f"{person['given_name']} {person['family_name']}", detail)

"""Inline form checks for the add-person form. The record's own functions check again on
save (and their message wins); these only give the link worker early, plain feedback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date


def _domain_message(check: Callable[[str], object], value: str) -> str:
    """Run the record's own normaliser; its ValueError message is the inline error."""
    try:
        check(value)
    except ValueError as exc:
        text = str(exc)
        return text[:1].upper() + text[1:] + "."
    return ""


def check_nhs_number(text: str) -> str:
    """'' if fine (or empty: it is optional), else the reason in words."""
    if not text.strip():
        return ""
    from screening.nhs import normalise_nhs_number

    return _domain_message(normalise_nhs_number, text)


def check_postcode(text: str) -> str:
    if not text.strip():
        return ""
    from screening.people import normalise_postcode

    return _domain_message(normalise_postcode, text)


def parse_birth_date(text: str) -> date:
    value = text.strip()
    for sep in ("/", "-", "."):
        parts = value.split(sep)
        if len(parts) == 3:
            try:
                if len(parts[0]) == 4:
                    return date(int(parts[0]), int(parts[1]), int(parts[2]))
                return date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                break
    raise ValueError("Date of birth: use DD/MM/YYYY, for example 03/07/1961.")


def check_birth_date(text: str, today: date) -> str:
    if not text.strip():
        return "Date of birth is needed."
    try:
        born = parse_birth_date(text)
    except ValueError as exc:
        return str(exc)
    if born > today:
        return "Date of birth cannot be in the future."
    if today.year - born.year > 125:
        return "That date of birth is more than 125 years ago."
    return ""

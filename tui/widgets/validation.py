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


def check_birth_date(text: str, today: date) -> str:
    if not text.strip():
        return "Date of birth is needed."
    from screening.people import parse_birth_date

    return _domain_message(lambda value: parse_birth_date(value, today=today), text)

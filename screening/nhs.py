"""NHS numbers: 10 digits, the last a modulus 11 check digit (NHS Data Dictionary).

Uses the ``nhs-number`` package for format standardising and the checksum; the reasons
for refusal are linkwork's own, so the user is told what is wrong."""

from __future__ import annotations

import random

from nhs_number import calculate_checksum, standardise_format


def normalise_nhs_number(value: str) -> str:
    """The 10 digits of a valid NHS number (spaces or dashes allowed in the input).

    ValueError with the reason: "must be 10 digits" or "wrong check digit"."""
    text = str(value).strip()
    digits = standardise_format(text)
    if not digits:
        compact = text.replace(" ", "").replace("-", "")
        if compact.isdigit() and len(compact) == 10:
            digits = compact  # odd grouping, but ten digits all the same
        else:
            raise ValueError(f"NHS number {text!r} must be 10 digits")
    check = calculate_checksum(digits[:9])
    if check is None or check == 10 or check != int(digits[9]):
        raise ValueError(f"NHS number {text!r} has the wrong check digit")
    return digits


def is_valid_nhs_number(value: str) -> bool:
    try:
        normalise_nhs_number(value)
    except ValueError:
        return False
    return True


def synthetic_nhs_number(rng: random.Random) -> str:
    """A valid NHS number in the 999 range reserved for testing."""
    while True:
        body = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        check = calculate_checksum(body)
        if check is not None and check != 10:
            return f"{body}{check}"


def format_nhs_number(digits: str) -> str:
    """Shown as 3 3 4 digits, the NHS way: 999 123 4560."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else digits

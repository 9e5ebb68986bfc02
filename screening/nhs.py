"""NHS numbers: 10 digits, the last a modulus 11 check digit (NHS Data Dictionary).

Uses the ``nhs-number`` package for format standardising and the checksum; the reasons
for refusal are linkwork's own, so the user is told what is wrong."""

from __future__ import annotations

import random

from nhs_number import calculate_checksum, standardise_format

from directory.untrusted import ascii_digits, shown

_ASCII_DIGITS = frozenset("0123456789")


def normalise_nhs_number(value: str) -> str:
    """The 10 digits of a valid NHS number (spaces or hyphens allowed in the input).

    Only the ASCII digits 0-9 count: a full-width ``９`` or an Arabic-Indic ``٩`` is refused
    (Python's ``isdigit()``/``int()`` would take them, and the same patient would be recorded
    twice). ValueError with the reason: "is not an ASCII digit", "must be 10 digits" or
    "wrong check digit"."""
    text = str(value).strip()
    if any(ch.isdigit() and ch not in _ASCII_DIGITS for ch in text):
        ascii_digits(text, "NHS number")  # raises, naming the digit that is not ASCII
    compact = text.replace(" ", "").replace("-", "")
    if len(compact) != 10 or any(ch not in _ASCII_DIGITS for ch in compact):
        raise ValueError(f"NHS number {shown(text)} must be 10 digits")
    digits = standardise_format(text) or compact  # odd grouping, but ten digits all the same
    check = calculate_checksum(digits[:9])
    if check is None or check == 10 or check != int(digits[9]):
        raise ValueError(f"NHS number {shown(text)} has the wrong check digit")
    return digits


def looks_like_nhs_number(value: str) -> bool:
    """Whether ``value`` is ten digits of any script, spaces and hyphens aside: the shape a
    search takes as an NHS number (then ``normalise_nhs_number`` says whether it is one)."""
    compact = str(value).strip().replace(" ", "").replace("-", "")
    return len(compact) == 10 and compact.isdigit()


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

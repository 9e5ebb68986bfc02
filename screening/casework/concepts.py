"""SNOMED CT concepts recorded for a social prescribing episode, and how each was checked.

Only a concept whose id and term were confirmed is recorded; one that could not be is
listed in ``UNCHECKED`` and recorded as nothing (the episode still says what happened in
words), rather than guessed. ``tests/test_casework.py`` checks each id's Verhoeff check
digit and its partition (a concept in an extension namespace: ``10`` before the check
digit).
"""

from __future__ import annotations

from dataclasses import dataclass

SNOMED = "http://snomed.info/sct"


@dataclass(frozen=True)
class Concept:
    code: str
    display: str
    checked: str  # how the id and term were confirmed (sources)


# Starting an episode: one concept per episode, not per contact.
REFERRAL_TO_SOCIAL_PRESCRIBING = Concept(
    "871731000000106",
    "Referral to social prescribing service",
    "two independent sources agree on the id and term: the code set "
    "social-care-prescribing-referral of the Greater Manchester secure data environment "
    "(UoM-Data-Science-Platforms/gm-sde, made from the UK SNOMED CT clinical edition "
    "29.3.0 by term search) and socialrx.co.uk's list of the national social prescribing "
    "codes; not seen in the NHS terminology browser itself (its fully specified name and "
    "active status were not seen)",
)

# Declining: NOT recorded until checked. One secondary source only (socialrx.co.uk's list
# gives 871711000000103 "Social prescribing declined"); no code set, terminology server
# page or NHS document seen that confirms it.
UNCHECKED = {"871711000000103": "Social prescribing declined"}

STARTED = REFERRAL_TO_SOCIAL_PRESCRIBING
DECLINED: Concept | None = None  # see UNCHECKED

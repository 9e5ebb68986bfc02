"""Searching near a place while the place is still being typed.

A link worker types a postcode or a town into a "near" box one key at a time. ``read_near``
says what the text is so far (a full postcode, an outward code such as ``LS6``, the start
of a postcode, a town, or something else) without calling a half-typed postcode bad;
``search_near`` runs the directory search with the place when it is known, without it
(and with a plain hint) when it is not, and gives each result's distance in miles.

Places come only from the directory's own service locations (``ServiceIndex.resolve_place``):
no coordinates are invented. A full postcode the directory does not hold falls back to the
middle of its outward code when that is known, as ``resolve_place`` does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from directory.matches import Place, ServiceMatch

if TYPE_CHECKING:  # only the results are needed to read a NearResult (the app's side of
    # its search process): not the index, numpy or rapidfuzz
    from directory.search import ServiceIndex

KM_PER_MILE = 1.609344
EARTH_RADIUS_KM = 6371.0

_FULL = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_INWARD_START = re.compile(r"^[0-9][A-Z]?$")
# The first characters of an outward code: "L", "LS" (no digit yet).
_LETTERS = re.compile(r"^[A-Z]{1,2}$")

# kinds of near text
EMPTY, POSTCODE, OUTWARD, PARTIAL, TOWN, OTHER = (
    "empty",
    "postcode",
    "outward",
    "partial",
    "town",
    "other",
)


@dataclass(frozen=True)
class NearText:
    """What the near box holds so far.

    ``kind``: ``empty``; ``postcode`` (complete, ``value`` normalised as ``"LS6 1AA"``);
    ``outward`` (``value`` ``"LS6"``); ``partial`` (the start of a postcode, ``value`` the
    complete outward code typed so far or ``""``); ``town`` (letters, ``value`` the text);
    ``other`` (digits in a shape no postcode has)."""

    kind: str
    value: str = ""


def read_near(text: str | None) -> NearText:
    """Classify near text without raising: nothing here is an error while typing."""
    value = " ".join((text or "").split())
    if not value:
        return NearText(EMPTY)
    upper = value.upper()
    compact = upper.replace(" ", "")
    if not any(ch.isdigit() for ch in value):
        # Letters: a town ("Marlbridge") or the first letters of a postcode ("LS").
        return NearText(TOWN, value)
    full = _FULL.match(compact)
    if full:
        return NearText(POSTCODE, f"{full.group(1)} {full.group(2)}")
    if " " in upper:
        outward, _, inward = upper.partition(" ")
        inward = inward.replace(" ", "")
        if _OUTWARD.match(outward) and (not inward or _INWARD_START.match(inward)):
            return NearText(PARTIAL if inward else OUTWARD, outward)
        return NearText(OTHER, value)
    if _OUTWARD.match(compact):
        return NearText(OUTWARD, compact)
    # No space yet: an outward code followed by the start of the inward code ("LS61A").
    for cut in (4, 3, 2):
        head, tail = compact[:cut], compact[cut:]
        if _OUTWARD.match(head) and _INWARD_START.match(tail):
            return NearText(PARTIAL, head)
    return NearText(OTHER, value)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat = p2 - p1
    dlon = math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def km_to_miles(km: float) -> float:
    return km / KM_PER_MILE


def format_miles(miles: float | None) -> str:
    """``0.8 mi``, one decimal; ``-`` when the service has no known location."""
    return "-" if miles is None else f"{miles:.1f} mi"


def nearest_miles(
    place: Place, locations: Sequence[tuple[str, str, float | None, float | None]]
) -> float | None:
    """Miles from ``place`` to the nearest of a service's (town, postcode, lat, lon)."""
    kms = [
        haversine_km(place.latitude, place.longitude, lat, lon)
        for _town, _postcode, lat, lon in locations
        if lat is not None and lon is not None
    ]
    return km_to_miles(min(kms)) if kms else None


@dataclass
class NearResult:
    """Search results with distances, and what became of the near text.

    ``place``: the label distances are measured from (``None`` when no distance applies);
    ``miles[i]`` belongs to ``matches[i]``; ``hint``: one plain sentence about the near
    text, or ``""``; ``unknown``: the near text was complete but the directory does not
    know the place (say so clearly, not as a quiet hint)."""

    matches: list[ServiceMatch]
    miles: list[float | None] = field(default_factory=list)
    place: str | None = None
    hint: str = ""
    unknown: bool = False


KEEP_TYPING = "Keep typing a full postcode (like ZZ1 2AB), an area (like ZZ1) or a town."


def towns(index: ServiceIndex) -> list[str]:
    """The towns of the directory's service locations, sorted."""
    return index.town_names()


def resolve_near(
    index: ServiceIndex, text: str | None, town_names: list[str] | None = None
) -> tuple[Place | None, str, bool]:
    """(place or None, hint, unknown) for near text, never raising for what is typed.

    ``town_names``: ``towns(index)``, made once by a caller that resolves often."""
    near = read_near(text)
    if near.kind == EMPTY:
        return None, "", False
    if near.kind == OTHER:
        return (
            None,
            f"{near.value!r} is not a postcode or a town: use a postcode like ZZ1 2AB, "
            "an area like ZZ1, or a town.",
            False,
        )
    if near.kind == PARTIAL:
        if near.value:
            try:
                place = index.resolve_place(near.value)
            except (LookupError, ValueError):
                pass
            else:
                return (
                    place,
                    f"Distances from area {near.value} until the postcode is complete.",
                    False,
                )
        return None, KEEP_TYPING, False
    if near.kind == POSTCODE:
        try:
            return index.resolve_place(near.value), "", False
        except LookupError:
            return (
                None,
                f"Postcode {near.value} is not near any service in the directory: "
                "showing results at any distance. Try the area (like "
                f"{near.value.split()[0]}) or a town.",
                True,
            )
    if near.kind == OUTWARD:
        try:
            return index.resolve_place(near.value), "", False
        except (LookupError, ValueError):
            return (
                None,
                f"No service in postcode area {near.value} in the directory. " + KEEP_TYPING,
                False,
            )
    # a town, or the first letters of one or of a postcode
    known = town_names if town_names is not None else towns(index)
    starts = [t for t in known if t.lower().startswith(near.value.lower())]
    if len(starts) == 1 and len(near.value) >= 2:
        return index.resolve_place(starts[0]), "", False
    try:
        return index.resolve_place(near.value), "", False
    except (LookupError, ValueError):
        pass
    if len(starts) > 1:
        return None, f"Keep typing: {', '.join(starts[:4])}?", False
    listed = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
    return (
        None,
        KEEP_TYPING + (f" Towns in the directory: {listed}." if known else ""),
        False,
    )


def docs_by_id(index: ServiceIndex) -> dict[int, Any]:
    """service id -> the index's document (build once per index and pass to ``search_near``)."""
    return {doc.service_id: doc for doc in index.docs}


def search_near(
    index: ServiceIndex,
    text: str,
    near: str | None = None,
    *,
    documents: dict[int, Any] | None = None,
    town_names: list[str] | None = None,
    **filters: Any,
) -> NearResult:
    """``index.search`` with ``near`` read as it is being typed: distances in miles when a
    place is known; otherwise the same search at any distance, with a hint.

    ``town_names``: ``towns(index)``, made once by a caller that searches often (the app,
    on every keystroke); ``documents`` is no longer needed (distances come with the
    matches) and is ignored."""
    place, hint, unknown = resolve_near(index, near, town_names)
    if place is None:
        return NearResult(index.search(text, near=None, **filters), hint=hint, unknown=unknown)
    # The label resolves to the same place (a completed town, an outward code, a postcode).
    matches = index.search(text, near=place.label, **filters)
    miles = [None if m.nearest_km is None else km_to_miles(m.nearest_km) for m in matches]
    return NearResult(matches, miles, place.label, hint)

"""Render one service for the detail pane: address, opening hours, eligibility, contact,
last verified date and a stale warning written in words (never colour alone). Stale or not
is ``directory.stale``'s rule, the one the results list and ``directory show`` use."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.text import Text

from directory.stale import is_stale, months_ago

DAYS = {
    "mo": "Mon", "tu": "Tue", "we": "Wed", "th": "Thu", "fr": "Fri", "sa": "Sat", "su": "Sun",
    "monday": "Mon", "tuesday": "Tue", "wednesday": "Wed", "thursday": "Thu",
    "friday": "Fri", "saturday": "Sat", "sunday": "Sun",
}  # fmt: skip


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _first(name: str, *objs: Any) -> Any:
    for obj in objs:
        value = _get(obj, name)
        if value not in (None, "", [], ()):
            return value
    return None


ISO_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _day(value: Any) -> tuple[int, str]:
    """(order, short name) for a weekday given as ISO number 1-7 or a name."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if 1 <= number <= 7:
            return number, ISO_DAYS[number - 1]
    name = DAYS.get(str(value or "").strip().lower(), str(value or "").strip())
    return (ISO_DAYS.index(name) + 1 if name in ISO_DAYS else 99), name


def opening_lines(hours: Any) -> list[str]:
    """Opening hours as "Mon-Fri 10:00-16:00"; consecutive days with the same hours join."""
    slots: list[tuple[int, str, str]] = []
    for slot in hours or []:
        raw = _get(slot, "weekday") or _get(slot, "byday") or _get(slot, "day")
        order, name = _day(raw)
        opens = _get(slot, "opens_at") or _get(slot, "opens") or ""
        closes = _get(slot, "closes_at") or _get(slot, "closes") or ""
        slots.append((order, name, f"{opens}-{closes}".strip("-")))
    slots.sort()
    lines: list[str] = []
    run: list[tuple[int, str, str]] = []
    for slot in [*slots, (999, "", "")]:
        if run and (slot[2] != run[-1][2] or slot[0] != run[-1][0] + 1):
            first, last = run[0][1], run[-1][1]
            days = first if len(run) == 1 else f"{first}-{last}"
            lines.append(f"{days} {run[0][2]}".strip())
            run = []
        run.append(slot)
    return lines


def addresses(service: Any, match: Any) -> list[str]:
    out: list[str] = []
    for loc in _first("locations", service, match) or []:
        parts = [_get(loc, "address"), _get(loc, "town"), _get(loc, "postcode")]
        line = ", ".join(str(p) for p in parts if p)
        if line:
            out.append(line)
    if not out:
        single = _first("address", service, match)
        if single:
            out.append(str(single))
    return out


def format_miles(miles: float | None) -> str:
    """``0.8 mi`` (one decimal); ``-`` for a service with no known location."""
    return "-" if miles is None else f"{miles:.1f} mi"


def render_service(
    match: Any,
    service: Any,
    *,
    today: date,
    stale_months: int = 12,
    miles: float | None = None,
    place: str | None = None,
) -> Text:
    text = Text()
    name = _first("name", service, match) or "(no name)"
    text.append(f"{name}\n", style="bold")
    org = _first("organisation", match) or _get(_get(service, "organisation_obj"), "name")
    if org:
        text.append(f"{org}\n")
    verified = _first("last_verified", service, match)
    if isinstance(verified, str):
        try:
            verified = date.fromisoformat(verified[:10])
        except ValueError:
            verified = None
    if isinstance(verified, date):
        stale = is_stale(verified, today, stale_months)
        age = months_ago(verified, today)
        text.append(f"Last verified: {verified.strftime('%d %b %Y')}")
        text.append(f" ({age} month{'s' if age != 1 else ''} ago)\n" if age >= 1 else "\n")
    else:
        # never verified is not stale (nothing says when): unknown, said in words
        stale = False
        text.append("Last verified: not known (phone to check it still runs before referring)\n")
    if stale:
        text.append(
            "! STALE: not verified in the last "
            f"{stale_months} months. Phone to check it still runs before referring.\n",
            style="bold reverse",
        )
    if _first("withdrawn", service, match):
        text.append("! WITHDRAWN: no longer in the directory feed.\n", style="bold reverse")
    description = _first("description", service, match)
    if description:
        text.append(f"\n{str(description).strip()}\n")
    addr = addresses(service, match)
    text.append("\nWhere: ", style="bold")
    text.append(
        "; ".join(addr) if addr else (_first("service_area", service, match) or "not given")
    )
    if place:
        text.append("\nDistance: ", style="bold")
        text.append(
            f"{format_miles(miles)} from {place}"
            if miles is not None
            else f"not known (no location given), searching near {place}"
        )
    hours = opening_lines(_first("opening_hours", service, match))
    text.append("\nOpen: ", style="bold")
    text.append("; ".join(hours) if hours else "hours not given")
    text.append("\nWho for: ", style="bold")
    who = []
    low, high = _first("min_age", service, match), _first("max_age", service, match)
    if low is not None or high is not None:
        who.append(f"ages {low if low is not None else 0}-{high if high is not None else 'any'}")
    elig = _first("eligibility", service, match)
    if elig:
        who.append(str(elig))
    text.append("; ".join(who) if who else "anyone")
    free = _first("is_free", service, match)
    fees = _first("fees", service, match)
    text.append("\nCost: ", style="bold")
    text.append("free" if free else (str(fees) if fees else "ask"))
    langs = _first("languages", service, match)
    if langs:
        text.append("\nLanguages: ", style="bold")
        text.append(", ".join(map(str, langs)))
    for label, field in (("Phone", "phone"), ("Email", "email"), ("Web", "url")):
        value = _first(field, service, match)
        if value:
            text.append(f"\n{label}: ", style="bold")
            text.append(str(value))
    why = _first("why", match)
    if isinstance(why, list | tuple):
        # the index states distance in km; the distance line above says it in miles
        why = [w for w in why if " km from " not in str(w) and str(w) != "no location given"]
    if why:
        text.append("\nWhy it matched: ", style="bold")
        text.append(", ".join(map(str, why)) if isinstance(why, list | tuple) else str(why))
    source_id = _first("id", match) if match is not None else _get(service, "source_id")
    if source_id:
        text.append(f"\nDirectory id: {source_id}", style="dim")
    return text

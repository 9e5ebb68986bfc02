"""Action results shaped into the cells the app's lists show (pure functions, no I/O)."""

from __future__ import annotations

from datetime import date
from typing import Any


def person_row(person: dict[str, Any]) -> tuple[str, ...]:
    """A person as a row of the find list: name, born, NHS number, postcode, practice."""
    nhs = person.get("nhs_number") or ""
    born = date.fromisoformat(person["birth_date"]).strftime("%d %b %Y")
    return (
        f"{person['family_name'].upper()}, {person['given_name']}",
        born,
        f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if nhs else "-",
        person.get("postcode") or "-",
        person.get("practice_ods") or "-",
    )


def day_text(value: Any) -> str:
    """A date, a datetime or an ISO string as '03 Jul 2026'."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d %b %Y")


def record_view(record: dict[str, Any]) -> dict[str, Any]:
    """A person's record (``actions.people.person_record`` with its timeline) as the record
    screen shows it: a summary line, needs, timeline, and referrals as board rows."""
    from tui.state import person_ref

    ref = person_ref(record)
    parts = [f"{ref.name} {ref.detail}"]
    if record.get("postcode"):
        parts.append(f"postcode {record['postcode']}")
    if record.get("phone"):
        parts.append(f"phone {record['phone']}")
    return {
        "summary": ", ".join(parts),
        "needs": record["needs"],
        "timeline": record["timeline"],
        "referrals": record["referral_rows"],
    }

"""People: add, change, find, list and read a person's record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from linkwork.actions import audit
from linkwork.actions.rows import outcome_items, referral_row
from linkwork.actions.sharing import shared_items
from linkwork.words import counted
from linkwork.workspace import Workspace
from screening.casework.contacts import ons4_trend
from screening.consent import consent_dict, list_consents
from screening.equality import FIELDS, load_equality
from screening.models import Referral, Screening, as_utc
from screening.needs import list_needs, need_dict
from screening.nhs import normalise_nhs_number
from screening.people import (
    create_person,
    get_person,
    normalise_email,
    normalise_name,
    normalise_ods,
    normalise_phone,
    normalise_postcode,
    parse_birth_date,
    person_dict,
    show_person,
)
from screening.people import (
    find_people as find_in_record,
)
from screening.people import (
    list_people as list_in_record,
)
from screening.people import (
    update_person as update_in_record,
)
from screening.questionnaire import (
    list_screenings,
    screening_answers,
    screening_dict,
    skipped_titles,
)
from screening.referrals import list_referrals, referral_dict, referral_events

EQUALITY_FIELDS = FIELDS  # the equality questions' field names, in the order asked

# The fields a person has besides the equality ones (``screening.equality.FIELDS``).
DETAILS = (
    "given_name",
    "family_name",
    "birth_date",
    "nhs_number",
    "postcode",
    "practice_ods",
    "phone",
    "email",
    "contact_preference",
)


def add_person(ws: Workspace, **details: Any) -> dict[str, Any]:
    """Add a person (``DETAILS`` and equality fields by name); the practice defaults to
    this workspace's. The new person's record as a dict (with ``id``)."""
    values = {k: v for k, v in details.items() if v is not None}
    if not values.get("practice_ods"):
        values["practice_ods"] = ws.settings.practice_ods
    with ws.session() as session:
        person = create_person(session, actor=ws.user, **values)
        return person_dict(person)


@dataclass
class Updated:
    person: dict[str, Any]
    changed: list[str] = field(default_factory=list)


def update_person(ws: Workspace, ref: str, **changes: Any) -> Updated:
    """Change some of a person's details: values equal to the current ones (or None) are
    left alone; only the fields that really changed are saved and audited, by name."""
    wanted = {k: v for k, v in changes.items() if v is not None}
    if not wanted:
        raise ValueError("nothing to change: give at least one detail")
    with ws.session() as session:
        person = get_person(session, ref)
        before = {name: getattr(person, name) for name in wanted}
        update_in_record(session, person, actor=ws.user, **wanted)
        changed = sorted(name for name in wanted if getattr(person, name) != before[name])
        return Updated(person_dict(person), changed)


_DETAIL_CHECKS: dict[str, Any] = {
    "phone": normalise_phone,
    "email": normalise_email,
    "practice_ods": normalise_ods,
}


def check_detail(name: str, text: str, *, today: date | None = None) -> str:
    """A form field checked as it is typed, by the record's own rule: '' when fine (or
    empty and optional), else the reason in words, as a sentence."""
    value = text.strip()
    if name == "birth_date":
        check: Any = lambda v: parse_birth_date(v, today=today)  # noqa: E731
        if not value:
            return "Date of birth is needed."
    elif name == "nhs_number":
        check = normalise_nhs_number
    elif name == "postcode":
        check = normalise_postcode
    elif name in ("given_name", "family_name"):
        check = lambda v: normalise_name(v, name.replace("_", " "))  # noqa: E731
    elif name in _DETAIL_CHECKS:
        check = _DETAIL_CHECKS[name]
    else:
        return ""
    if not value:
        return ""
    try:
        check(value)
    except ValueError as exc:
        words = str(exc)
        return words[:1].upper() + words[1:] + "."
    return ""


def person_form(ws: Workspace, ref: str) -> dict[str, Any]:
    """A person's current details by field name (dates as ``date``), for an edit form.
    Not audited as a view: the editor already has the record open."""
    with ws.session() as session:
        person = get_person(session, ref)
        return {name: getattr(person, name) for name in (*DETAILS, *FIELDS)}


def equality_fields() -> list[Any]:
    """The equality questions and their answers (``screening.equality``), for forms."""
    return list(load_equality().values())


def list_people(
    ws: Workspace, *, practice: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """People, newest first; audited as one bulk ``view`` of ``people`` saying what was
    asked (practice, limit) and how many people were shown, never who."""
    asked = {"practice": practice.strip().upper() if practice else None, "limit": limit}
    with audit.refusal_audited(ws, "people", "list", asked), ws.session() as session:
        people = [person_dict(p) for p in list_in_record(session, practice=practice, limit=limit)]
        audit.bulk_view(session, ws, "list", asked, len(people))
        return people


def find_people(ws: Workspace, text: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """People by name, NHS number, postcode or id; empty text lists the newest. Audited
    as one bulk ``view`` of ``people`` (the CLI's ``person find`` and the app's search
    alike): the kind of search and how many people were shown, never the text typed (a
    name or an NHS number) nor who was found."""
    if not text.strip():
        return list_people(ws, limit=limit)
    digits = "".join(text.split()).replace("-", "").isdigit()
    asked = {"search": "number" if digits else "text", "limit": limit}
    with audit.refusal_audited(ws, "people", "find", asked), ws.session() as session:
        people = [person_dict(p) for p in find_in_record(session, text, limit=limit)]
        audit.bulk_view(session, ws, "find", asked, len(people))
        return people


def person_record(
    ws: Workspace, ref: str, *, on: date | None = None, timeline: bool = False
) -> dict[str, Any]:
    """A person's whole record (details, screenings, needs, consents, referrals, the
    ONS4 trend from casework contacts: ``screening.casework.contacts.ons4_trend``),
    recorded in the audit trail as a view. With ``timeline``, also ``timeline`` (every
    referral status change, outcome and screening, newest first) and ``referral_rows``
    (``actions.rows.referral_row``), as the app's record screen shows them."""
    with ws.session() as session:
        person = show_person(session, ref, actor=ws.user)
        data = person_dict(person, on=on)
        screenings = list_screenings(session, person)
        referrals = list_referrals(session, person=person, limit=200)
        data["screenings"] = [screening_dict(s) for s in screenings]
        data["needs"] = [need_dict(n) for n in list_needs(session, person)]
        data["consents"] = [consent_dict(c) for c in list_consents(session, person)]
        data["referrals"] = [referral_dict(session, r) for r in referrals]
        # casework (issue 20): ONS4 from contacts, oldest first (start, then reviews)
        data["ons4_trend"] = ons4_trend(session, person)
        if timeline:
            data["referral_rows"], data["timeline"] = _timeline(session, screenings, referrals)
        return data


def _timeline(
    session: Session, screenings: list[Screening], referrals: list[Referral]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for referral in referrals:
        row = referral_row(session, referral, as_utc(referral.created_at).date())
        rows.append(row)
        for event in referral_events(session, referral):
            detail = (
                event.reason
                or event.business_status
                or (referral.reason if event.from_status is None else "")
            )
            items.append(
                {
                    "at": as_utc(event.at),
                    "what": f"Referral {referral.id[:8]} to {row['service']}",
                    "status": event.to_status.upper(),
                    "detail": detail,
                    "referral_id": referral.id,
                }
            )
        items += outcome_items(session, referral, row["service"])
        items += shared_items(session, referral, row["service"])  # what went to whom
    for scr in screenings:
        decided = [s for s in scr.suggestions or [] if s.get("state") != "pending"]
        detail = f"{counted(len(scr.suggestions or []), 'need')} suggested, {len(decided)} decided"
        if scr.status == "in-progress":
            answered = len(screening_answers(session, scr))
            detail = f"{answered} questions answered so far; S to resume"
        if scr.skipped:  # not asked: never read as answered "no"
            detail += f"; skipped: {', '.join(skipped_titles(scr.skipped))}"
        items.append(
            {
                "at": as_utc(scr.started_at),
                "what": "Screening",
                "status": scr.status.upper(),
                "detail": detail,
                "referral_id": None,
            }
        )
    items.sort(key=lambda item: item["at"], reverse=True)
    for item in items:
        item["when"] = item["at"].strftime("%d %b %Y %H:%M")
    return rows, items

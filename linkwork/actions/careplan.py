"""The person's personalised care and support plan (a printable PDF) and the message back
to the GP at the close of an episode (a FHIR document Bundle): issue 20 points 5 and 8.
One function per user action, called by the CLI (``linkwork plan``, ``linkwork episode
close --gp-summary`` / ``episode summary``) and the app (the person's casework screen).

Every file is written atomically (temporary file, fsync, rename; mode 0600: it holds a
person's data) inside the transaction that audits it as an export: no file, no audit row,
and a file that cannot be written changes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from linkwork.actions.rows import service_name
from linkwork.workspace import Workspace
from screening.audit import record_event
from screening.casework.common import episodes_of, open_episode
from screening.casework.models import Contact, Episode, Goal
from screening.models import Consent, Person, Referral, as_utc, utcnow
from screening.people import get_person

PRIVATE = 0o600


def target_file(path: Path | str, what: str, suffix: str) -> Path:
    """A file to write: its folder must exist and it must not be a folder itself."""
    target = Path(path).expanduser()
    if not target.name or target.is_dir():
        raise ValueError(f"{path} is a folder: give a {what} file name")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"folder {target.parent} does not exist")
    if target.suffix.lower() != suffix:
        raise ValueError(f"{target.name}: the {what} file name should end in {suffix}")
    return target


# --- the GP summary ---------------------------------------------------------------------


def write_gp_summary(
    session: Session, ws: Workspace, episode: Episode, out: Path, *, at: datetime | None = None
) -> dict[str, Any]:
    """Within an open transaction: build the GP summary of a closed episode, check it is
    valid FHIR R4, write it atomically to ``out`` and audit the export."""
    from screening.exchange.fhir import dangling_references, validation_error
    from screening.exchange.files import atomic_write
    from screening.exchange.gp_summary import gp_summary as build

    summary = build(session, episode, author=ws.user, practice_ods=ws.settings.practice_ods, at=at)
    problem = validation_error(summary.bundle) or next(
        iter(dangling_references(summary.bundle)), None
    )
    if problem:  # a bug, never the user's input: say so plainly, write nothing
        raise RuntimeError(f"the GP summary was not valid FHIR, nothing written: {problem}")
    text = json.dumps(summary.bundle, indent=2, ensure_ascii=False) + "\n"
    atomic_write(out, text, mode=PRIVATE)
    detail = {
        "file": out.name,
        "needs": summary.needs,
        "goals": summary.goals,
        "referrals": summary.referrals,
        "observations": summary.observations,
    }
    record_event(
        session, ws.user, "export", "gp-summary", episode.id, detail, person_id=episode.person_id
    )
    return {**detail, "file": str(out), "episode_id": episode.id}


def gp_summary(
    ws: Workspace, person_ref: str, out: Path | str, *, episode_ref: str | None = None
) -> dict[str, Any]:
    """The GP summary of the person's latest closed episode (or ``episode_ref``) to a file
    (FHIR R4 document Bundle JSON). Returns file, episode_id, needs, goals, referrals,
    observations (how many of each it holds)."""
    target = target_file(out, "GP summary", ".json")
    with ws.session() as session:
        person = get_person(session, person_ref)
        episodes = [e for e in episodes_of(session, person) if e.status != "open"]
        if episode_ref:
            episodes = [e for e in episodes if e.id.startswith(episode_ref.strip().lower())]
        if not episodes:
            raise ValueError(
                f"{person.given_name} {person.family_name} has no closed episode to summarise"
                + (f" matching {episode_ref!r}" if episode_ref else "")
            )
        return write_gp_summary(session, ws, episodes[0], target)


# --- the care and support plan ----------------------------------------------------------

STATUS_WORDS = {
    "draft": "not sent yet",
    "requested": "sent, waiting for their reply",
    "accepted": "they have accepted",
    "in-progress": "in progress",
    "on-hold": "on hold",
    "completed": "completed",
    "rejected": "they could not take it",
    "cancelled": "cancelled",
    "failed": "did not go ahead",
}
PROGRESS_WORDS = {
    "not-started": "not started yet",
    "some": "some progress",
    "mostly": "mostly done",
    "achieved": "achieved",
    "no-longer-wanted": "no longer wanted",
}
KIND_WORDS = {
    "face-to-face": "face to face",
    "phone": "by phone",
    "video": "by video call",
    "home-visit": "a home visit",
    "group": "a group session",
}


def _service_contact(session: Session, referral: Referral) -> list[str]:
    if referral.service_id is None:
        return []
    from directory.models import Service

    service = session.get(Service, referral.service_id)
    if service is None:
        return []
    out = []
    if service.phone:
        out.append(f"Phone: {service.phone}")
    if service.email:
        out.append(f"Email: {service.email}")
    if service.url:
        out.append(f"Website: {service.url}")
    return out


def _shared(session: Session, referral: Referral, to: str) -> list[dict[str, Any]]:
    """What went to whom and when for one referral: what each message carried (the kept
    record of the Bundle sent), else what the consent allowed when the referral was made."""
    from linkwork.actions.sharing import CONTACT_WORDS, shared_items
    from screening.referrals import referral_needs

    sent = shared_items(session, referral, to)
    if sent:
        return [
            {
                "to": item["what"].removeprefix("Shared with ").split(" (referral", 1)[0],
                "at": item["at"].isoformat(),
                "needs": [n["display"] or n["code"] for n in item["shared"]["needs"]],
                "contact": [CONTACT_WORDS.get(c, c) for c in item["shared"]["contact"]],
                "equality": bool(item["shared"]["equality"]),
            }
            for item in sent
        ]
    consent = session.get(Consent, referral.consent_id) if referral.consent_id else None
    if consent is None or referral.status == "draft":
        return []
    shares = set(consent.shares or [])
    return [
        {
            "to": to,
            "at": as_utc(referral.created_at).isoformat(),
            "needs": [n.display for n in referral_needs(session, referral)]
            if "needs" in shares
            else [],
            "contact": _contact_held(session, referral) if "contact" in shares else [],
            "equality": "equality" in shares,
        }
    ]


def _contact_held(session: Session, referral: Referral) -> list[str]:
    person = session.get(Person, referral.person_id)
    if person is None:
        return []
    held = [("phone number", person.phone), ("email address", person.email)]
    return [words for words, value in [*held, ("postcode", person.postcode)] if value]


def _nhs_shown(number: str) -> str:
    return f"{number[:3]} {number[3:6]} {number[6:]}" if len(number) == 10 else number


def plan_data(
    session: Session,
    ws: Workspace,
    person: Person,
    *,
    with_nhs_number: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the plan prints, as plain data. ``now``: the clock (default now)."""
    episodes = episodes_of(session, person)
    episode = open_episode(session, person) or (episodes[0] if episodes else None)
    goals = (
        list(
            session.exec(
                select(Goal).where(Goal.episode_id == episode.id).order_by(col(Goal.created_at))
            ).all()
        )
        if episode
        else []
    )
    query = select(Referral).where(
        Referral.person_id == person.id, Referral.direction == "outgoing"
    )
    if episode is not None:
        query = query.where(col(Referral.created_at) >= episode.started_at)
    referrals = list(session.exec(query.order_by(col(Referral.created_at))).all())
    services = []
    shared: list[dict[str, Any]] = []
    for referral in referrals:
        if referral.status == "draft":
            continue
        name = service_name(session, referral)
        services.append(
            {
                "name": name,
                "since": as_utc(referral.created_at).isoformat(),
                "status": STATUS_WORDS.get(referral.status, referral.status),
                "contact": _service_contact(session, referral),
            }
        )
        shared.extend(_shared(session, referral, name))
    now = now or utcnow()
    upcoming = (
        session.exec(
            select(Contact)
            .where(
                Contact.episode_id == episode.id,
                Contact.status == "booked",
                col(Contact.at) >= now,
            )
            .order_by(col(Contact.at))
        ).first()
        if episode
        else None
    )
    return {
        "name": f"{person.given_name} {person.family_name}",
        "nhs_number": _nhs_shown(person.nhs_number)
        if with_nhs_number and person.nhs_number
        else None,
        "made": now.isoformat(),
        "what_matters": episode.what_matters if episode else "",
        "goals": [
            {
                "text": g.text,
                "by": g.target.isoformat() if g.target else None,
                "progress": PROGRESS_WORDS.get(g.progress, g.progress),
            }
            for g in goals
        ],
        "services": services,
        "shared": shared,
        "next_contact": {
            "at": as_utc(upcoming.at).astimezone().isoformat(),  # the link worker's clock
            "kind": KIND_WORDS.get(upcoming.kind, upcoming.kind),
        }
        if upcoming
        else None,
        "worker": {
            "name": ws.user,
            "contact": ws.settings.worker_contact,
            "practice": person.practice_ods or ws.settings.practice_ods,
        },
    }


def care_plan(
    ws: Workspace,
    person_ref: str,
    out: Path | str,
    *,
    large_print: bool = False,
    with_nhs_number: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The person's personalised care and support plan as a PDF (typst; ``linkwork.plan``).
    Returns file, pages, large_print, with_nhs_number and the plan's data (``plan_data``)."""
    from linkwork import plan as render
    from screening.exchange.files import atomic_write

    target = target_file(out, "plan", ".pdf")
    with ws.session() as session:
        person = get_person(session, person_ref)
        data = plan_data(session, ws, person, with_nhs_number=with_nhs_number, now=now)
        pdf = render.pdf(data, large_print=large_print)
        atomic_write(target, pdf, mode=PRIVATE)
        detail = {
            "file": target.name,
            "large_print": large_print,
            "nhs_number": data["nhs_number"] is not None,
            "services": len(data["services"]),
            "shared": len(data["shared"]),
        }
        record_event(session, ws.user, "export", "plan", person.id, detail, person_id=person.id)
        return {
            "file": str(target),
            "pages": render.page_count(pdf),
            "large_print": large_print,
            "with_nhs_number": data["nhs_number"] is not None,
            "plan": data,
        }

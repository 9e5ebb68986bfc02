"""The message back to the GP at the close of a social prescribing episode (issue 20
point 8): a FHIR R4 ``document`` Bundle whose first entry is its Composition.

Content, after the PRSB Social Prescribing Standard's "information from the link worker
to the GP": the reason for referral (a ServiceRequest coded SNOMED CT 871731000000106
"Referral to social prescribing service", the episode's own code), what matters to the
person, their needs (Conditions: only active and resolved ones; a withdrawn or corrected
need is not part of the summary), their goals (Goal, with progress as
``goal-achievement``), the services they were referred to (ServiceRequest per referral,
with the service as HealthcareService and its contact details), the outcome measures
(ONS4 at the start and at reviews, an Observation per answer, ``fhir.LW_ONS4``) and the
outcome of the episode (an EpisodeOfCare: the period, the reason it ended, the contacts).

Built with the referral builders' pieces (``fhir_build``: the same Patient, Organization
by ODS code, link worker as PractitionerRole, Condition coding with SNOMED CT beside
ICD-10 where checked, HealthcareService) under the same canonical base. Case notes are
never in it (they stay in the organisation). The document type is linkwork's own code
(``DOCUMENT_TYPE``): no checked national code for this document exists in the record.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from screening.casework.models import Contact, Episode, Goal
from screening.exchange import fhir as F
from screening.exchange import fhir_build as B
from screening.exchange.outbound import _maps_to, patient_data, referral_data, target_data
from screening.models import Need, Person, Referral, ReferralNeed, as_utc, utcnow

DOCUMENT_TYPE = f"{F.BASE}/CodeSystem/document-type"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
TITLE = "Social prescribing: summary for the GP"

# Goal progress in the record -> (Goal.lifecycleStatus, goal-achievement code, words).
PROGRESS = {
    "not-started": ("active", "no-progress", "Not started"),
    "some": ("active", "improving", "Some progress"),
    "mostly": ("active", "improving", "Mostly achieved"),
    "achieved": ("completed", "achieved", "Achieved"),
    "no-longer-wanted": ("cancelled", "not-achieved", "No longer wanted"),
}
END_REASONS = {
    "goals-met": "goals met",
    "moved-away": "moved away",
    "declined": "declined",
    "no-contact": "no contact after several tries",
    "other": "other",
}
SOURCES = {"gp": "referred by the GP practice", "self": "self-referral", "other": "other referrer"}


@dataclass
class Summary:
    """The document and what it holds, for the front ends' messages."""

    bundle: dict[str, Any]
    needs: int
    goals: int
    referrals: int
    observations: int


def _div(*paragraphs: str) -> dict[str, Any]:
    body = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs if p)
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body or "<p>None.</p>"}</div>',
    }


def _section(title: str, lines: list[str], entries: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"title": title, "text": _div(*lines)}
    if entries:
        out["entry"] = [F.ref(e) for e in entries]
    else:
        out["emptyReason"] = F.concept(
            "http://terminology.hl7.org/CodeSystem/list-empty-reason", "nilknown", "Nil Known"
        )
    return out


def _day(value: datetime) -> str:
    return as_utc(value).strftime("%d %b %Y")


def episode_needs(session: Session, person: Person) -> list[Need]:
    """The person's needs the summary reports: active and resolved (never a withdrawn or
    corrected one), oldest first."""
    return list(
        session.exec(
            select(Need)
            .where(Need.person_id == person.id, col(Need.status).in_(("active", "resolved")))
            .order_by(col(Need.recorded_at), col(Need.code))
        ).all()
    )


def episode_referrals(session: Session, episode: Episode) -> list[Referral]:
    """Referrals made for the person during the episode (outgoing, from its start to its
    end), oldest first."""
    query = select(Referral).where(
        Referral.person_id == episode.person_id,
        Referral.direction == "outgoing",
        col(Referral.created_at) >= episode.started_at,
    )
    if episode.ended_at is not None:
        query = query.where(col(Referral.created_at) <= episode.ended_at)
    return list(session.exec(query.order_by(col(Referral.created_at))).all())


def _need_data(need: Need) -> F.NeedData:
    maps_to, maps_display = _maps_to(need.system, need.code)
    return F.NeedData(
        id=need.id,
        code=need.code,
        system=need.system,
        display=need.display,
        domain=need.domain,
        status=need.status,
        words=need.words,
        priority=need.priority,
        recorded_at=as_utc(need.recorded_at) if need.recorded_at else None,
        resolved_at=as_utc(need.resolved_at) if need.resolved_at else None,
        maps_to=maps_to,
        maps_to_display=maps_display,
    )


def _goal(goal: Goal, patient_id: str, need_ids: set[str]) -> dict[str, Any]:
    lifecycle, achievement, words = PROGRESS.get(goal.progress, PROGRESS["not-started"])
    res: dict[str, Any] = {
        "resourceType": "Goal",
        "id": goal.id,
        "lifecycleStatus": lifecycle,
        "achievementStatus": {
            "coding": [F.coding(GOAL_ACHIEVEMENT, achievement)],
            "text": words,
        },
        "description": {"text": goal.text},
        "subject": F.ref(patient_id),
        "startDate": as_utc(goal.created_at).date().isoformat(),
    }
    if goal.target is not None:
        res["target"] = [{"dueDate": goal.target.isoformat()}]
    if goal.progress_on is not None:
        res["statusDate"] = goal.progress_on.isoformat()
    if goal.need_id and goal.need_id in need_ids:
        res["addresses"] = [F.ref(goal.need_id)]
    return res


def _ons4(contact: Contact, patient_id: str, when: str) -> list[dict[str, Any]]:
    out = []
    for name in F.ONS4:
        value = getattr(contact, f"ons4_{name}")
        if value is None:
            continue
        out.append(
            {
                "resourceType": "Observation",
                "id": F.derived_id("observation", "contact", contact.id, "ons4", name),
                "status": "final",
                "category": [F.concept(F.OBSERVATION_CATEGORY, "survey", "Survey")],
                "code": {
                    "coding": [F.coding(F.LW_ONS4, name, F.ONS4_QUESTIONS[name])],
                    "text": F.ONS4_QUESTIONS[name],
                },
                "subject": F.ref(patient_id),
                "effectiveDateTime": F.iso(as_utc(contact.at)),
                "valueInteger": int(value),
                "note": [{"text": f"ONS4 at the {when}"}],
            }
        )
    return out


def gp_summary(
    session: Session,
    episode: Episode,
    *,
    author: str,
    practice_ods: str = "",
    at: datetime | None = None,
) -> Summary:
    """The GP summary of a closed (or declined) episode as a FHIR document Bundle."""
    if episode.status == "open":
        raise ValueError("the episode is still open: close it first, then write the summary")
    person = session.get(Person, episode.person_id)
    if person is None:
        raise LookupError(f"unknown person {episode.person_id!r}")
    at = at or utcnow()
    ods = practice_ods or person.practice_ods or episode.org
    patient = B.patient_resource(patient_data(person), contact=False, equality=False)
    items: list[dict[str, Any]] = [patient]
    org_ref: str | None = None
    if ods:
        items.append(B.organisation_resource(ods))
        org_ref = B.org_id(ods)
    author_id: str
    if ods:
        people, author_id = B.practitioner_resources(author, ods)
    else:
        practitioner: dict[str, Any] = {
            "resourceType": "Practitioner",
            "id": F.derived_id("practitioner", "", author),
            "name": [{"text": author}],
        }
        people, author_id = [practitioner], str(practitioner["id"])
    items.extend(people)

    # Reason for referral: the referral to the social prescribing service (the episode).
    request_id = F.derived_id("servicerequest", "episode", episode.id)
    code, display = F.SOCIAL_PRESCRIBING_REFERRAL
    if episode.code:
        code, display = episode.code, episode.code_display
    source = SOURCES.get(episode.source, episode.source)
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": request_id,
        "status": "completed",
        "intent": "order",
        "code": F.concept(F.SNOMED, code, display),
        "subject": F.ref(patient["id"]),
        "authoredOn": F.iso(as_utc(episode.started_at)),
        "note": [{"text": f"Source: {source}"}],
    }

    # Needs.
    needs = episode_needs(session, person)
    need_data = [_need_data(n) for n in needs]
    conditions = [B.condition_resource(n, patient["id"]) for n in need_data]
    if conditions:
        request["reasonReference"] = [F.ref(c["id"]) for c in conditions]
    items.append(request)
    items.extend(conditions)
    need_ids = {n.id for n in needs}

    # Goals.
    goal_rows = list(
        session.exec(
            select(Goal).where(Goal.episode_id == episode.id).order_by(col(Goal.created_at))
        ).all()
    )
    goals = [_goal(g, patient["id"], need_ids) for g in goal_rows]
    items.extend(goals)

    # Services referred to.
    referral_items: list[str] = []
    service_lines: list[str] = []
    for referral in episode_referrals(session, episode):
        target = target_data(session, referral)
        made, performer_id, _ = B.target_resources(target)
        items.extend(made)
        referred = [
            n
            for n in session.exec(
                select(ReferralNeed.need_id).where(ReferralNeed.referral_id == referral.id)
            ).all()
            if n in need_ids
        ]
        domains = [n.domain for n in needs if n.id in referred]
        sr = B.service_request_resource(
            referral_data(referral, ods), patient["id"], author_id, performer_id, referred, domains
        )
        items.append(sr)
        referral_items.append(sr["id"])
        reach = target.phone or target.email or target.url or "no contact details"
        service_lines.append(
            f"{target.name}: referred {_day(referral.created_at)}, now {referral.status} ({reach})"
        )

    # Outcome measures: ONS4 at the start and at reviews.
    contacts = list(
        session.exec(
            select(Contact).where(Contact.episode_id == episode.id).order_by(col(Contact.at))
        ).all()
    )
    observations: list[dict[str, Any]] = []
    ons4_lines: list[str] = []
    for contact in contacts:
        when = "review" if observations else "start"
        made_obs = _ons4(contact, patient["id"], when)
        if made_obs:
            values = ", ".join(
                f"{o['code']['coding'][0]['code']} {o['valueInteger']}" for o in made_obs
            )
            ons4_lines.append(f"{_day(contact.at)} ({when}): {values}")
        observations.extend(made_obs)
    items.extend(observations)

    # The outcome: the episode of care.
    tried = [c for c in contacts if c.status in ("attended", "did-not-attend", "no-answer")]
    attended = sum(1 for c in contacts if c.status == "attended")
    dna = sum(1 for c in contacts if c.status == "did-not-attend")
    reason = END_REASONS.get(episode.end_reason, episode.end_reason or episode.status)
    care: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": F.derived_id("episodeofcare", episode.id),
        "status": "finished" if episode.status == "closed" else "cancelled",
        "type": [{"text": "Social prescribing"}],
        "patient": F.ref(patient["id"]),
    }
    if org_ref:
        care["managingOrganization"] = F.ref(org_ref)
    period: dict[str, str] = {"start": F.iso(as_utc(episode.started_at))}
    if episode.ended_at is not None:
        period["end"] = F.iso(as_utc(episode.ended_at))
    care["period"] = period
    care["referralRequest"] = [F.ref(request_id)]
    care["careManager"] = F.ref(author_id, author)
    items.append(care)

    ended = _day(episode.ended_at) if episode.ended_at else _day(at)
    outcome_lines = [
        f"Episode {_day(episode.started_at)} to {ended}, ended: {reason}.",
        f"Contacts: {len(tried)} ({attended} attended, {dna} did not attend).",
    ]
    if episode.end_note:
        outcome_lines.append(episode.end_note)
    sections = [
        _section(
            "Reason for referral",
            [f"{display} ({code}), {source}, {_day(episode.started_at)}."],
            [request_id],
        ),
        _section("What matters to the person", [episode.what_matters or "Not recorded."], []),
        _section(
            "Needs",
            [f"{n.display} ({n.code}): {n.status}" for n in needs],
            [c["id"] for c in conditions],
        ),
        _section(
            "Goals",
            [
                f"{g.text}: {PROGRESS.get(g.progress, PROGRESS['not-started'])[2]}"
                for g in goal_rows
            ],
            [g["id"] for g in goals],
        ),
        _section("Services referred to", service_lines, referral_items),
        _section(
            "Outcome measures (ONS4 personal wellbeing)",
            ons4_lines,
            [o["id"] for o in observations],
        ),
        _section("Outcome of social prescribing", outcome_lines, [care["id"]]),
    ]
    # An empty section still needs text or entries (FHIR R4 cmp-1): each has its text.
    for section in sections:
        if section["title"] == "What matters to the person":
            section.pop("emptyReason", None)
    composition_id = F.derived_id("composition", "gp-summary", episode.id)
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": composition_id,
        "identifier": {"system": F.RFC3986, "value": F.urn(composition_id)},
        "status": "final",
        "type": {
            "coding": [F.coding(DOCUMENT_TYPE, "gp-summary", TITLE)],
            "text": TITLE,
        },
        "subject": F.ref(patient["id"]),
        "date": F.iso(at),
        "author": [F.ref(author_id, author)],
        "title": TITLE,
        "event": [{"period": period}],
    }
    if org_ref:
        composition["custodian"] = F.ref(org_ref)
    composition["section"] = sections
    bundle_id = F.derived_id("bundle", "gp-summary", episode.id)
    document = {
        "resourceType": "Bundle",
        "id": bundle_id,
        "identifier": {"system": F.RFC3986, "value": F.urn(bundle_id)},
        "type": "document",
        "timestamp": F.iso(at),
        "entry": [B._entry(r) for r in B._unique([composition, *items])],
    }
    return Summary(document, len(conditions), len(goals), len(referral_items), len(observations))

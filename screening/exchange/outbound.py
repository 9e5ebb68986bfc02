"""Export: a referral (practice) or a status update (hub) as a signed, encrypted Bundle.

``export_referral`` refuses a referral without active consent (``require_active_consent``)
and a draft; ``export_update`` sends the hub's current Task status and, once completed or
failed, the outcome. Both log the message (``ExchangeMessage``) and an audit event; the
caller writes the file (atomically) and commits, so a failed export leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc.jwk import ECKey
from sqlmodel import Session, col, select

from screening.audit import record_event
from screening.consent import require_active_consent
from screening.equality import FIELDS, load_equality
from screening.exchange import fhir
from screening.exchange.delivery import ods_of
from screening.exchange.fhir_questionnaire import questionnaire_response_dict
from screening.exchange.jose import seal
from screening.exchange.keys import key_id
from screening.exchange.models import ExchangeMessage
from screening.models import OutcomeNeed, Person, Referral, Screening, as_utc, utcnow
from screening.naming import referral_words, short_id
from screening.referrals import get_outcome, referral_events, referral_needs


@dataclass
class Sealed:
    message_id: str
    referral_id: str
    kind: str
    partner: str
    token: str
    bundle: dict[str, Any]
    plain: bytes

    def summary(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "referral_id": self.referral_id,
            "kind": self.kind,
            "to": self.partner,
            "resources": len(self.bundle.get("entry") or []),
        }


def bundle_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def patient_data(person: Person) -> fhir.PatientData:
    equality = {name: getattr(person, name) for name in FIELDS if name != "ethnic_category"}
    equality = {k: v for k, v in equality.items() if v and v != "not-asked"}
    label = ""
    try:
        label = load_equality()["ethnic_category"].label_of(person.ethnic_category)
    except (KeyError, LookupError):
        label = ""
    return fhir.PatientData(
        id=person.id,
        given=person.given_name,
        family=person.family_name,
        birth_date=person.birth_date,
        nhs_number=person.nhs_number,
        practice_ods=person.practice_ods,
        postcode=person.postcode,
        phone=person.phone,
        email=person.email,
        ethnic_category=person.ethnic_category,
        ethnic_label=label,
        equality=equality,
    )


def _maps_to(system: str, code: str) -> tuple[str, str]:
    """For a SNOMED CT need: the ICD-10 code the catalogue classifies it as, and its title."""
    if system != fhir.SNOMED:
        return "", ""
    from codes.catalogue import load_catalogue

    try:
        catalogue = load_catalogue()
        icd = catalogue.get(code).maps_to or ""
        return icd, (catalogue.get(icd).display if icd else "")
    except (KeyError, LookupError, ValueError):
        return "", ""


def need_data(session: Session, referral: Referral) -> list[fhir.NeedData]:
    return [
        fhir.NeedData(
            id=n.id,
            code=n.code,
            system=n.system,
            display=n.display,
            domain=n.domain,
            status=n.status,
            words=n.words,
            priority=n.priority,
            recorded_at=as_utc(n.recorded_at) if n.recorded_at else None,
            resolved_at=as_utc(n.resolved_at) if n.resolved_at else None,
            maps_to=_maps_to(n.system, n.code)[0],
            maps_to_display=_maps_to(n.system, n.code)[1],
        )
        for n in referral_needs(session, referral)
    ]


def target_data(session: Session, referral: Referral, ods: str = "") -> fhir.TargetData:
    """The referral's target; ``ods``: its organisation's ODS code where known (at the hub:
    the hub's own, from the session's organisation)."""
    if referral.service_id is None:
        return fhir.TargetData(name=referral.hub, is_hub=True, ods=ods)
    from directory.models import Organisation, Service

    service = session.get(Service, referral.service_id)
    if service is None:
        raise LookupError(f"unknown service {referral.service_id}")
    org = session.get(Organisation, service.organisation_id) if service.organisation_id else None
    return fhir.TargetData(
        name=service.name,
        service_source=service.source,
        service_source_id=service.source_id,
        organisation_name=org.name if org else "",
        organisation_source_id=org.source_id if org else "",
        phone=service.phone,
        email=service.email,
        url=service.url,
        ods=ods,
    )


def status_history(session: Session, referral: Referral) -> list[fhir.StatusChange]:
    """Every status or business-status change made here (not the creation, not what a
    partner sent us), oldest first: what a status update carries to the partner."""
    return [
        fhir.StatusChange(
            status=e.to_status,
            at=as_utc(e.at),
            reason=e.reason,
            business_status=e.business_status,
        )
        for e in referral_events(session, referral)
        if e.from_status is not None and e.source == "local"
    ]


def referral_data(referral: Referral, requester_ods: str) -> fhir.ReferralData:
    return fhir.ReferralData(
        id=referral.id,
        status=referral.status,
        created_at=as_utc(referral.created_at),
        status_at=as_utc(referral.status_at),
        reason=referral.reason,
        status_reason=referral.status_reason,
        business_status=referral.business_status,
        requester_name=referral.created_by,
        requester_ods=requester_ods,
        followup_due=referral.followup_due,
    )


def _hub_ods(session: Session, referral: Referral, partner: str) -> str:
    """A referral to a hub (not a directory service) sent to ``partner``: the partner's ODS
    code as recorded (``linkwork keys trust --ods``), '' when none is."""
    if referral.service_id is not None or not partner:
        return ""
    return ods_of(session, partner)


def build_referral_bundle(
    session: Session,
    referral: Referral,
    *,
    practice_ods: str = "",
    message_id: str | None = None,
    at: datetime | None = None,
    partner: str = "",
) -> dict[str, Any]:
    """The referral Bundle (no crypto, nothing logged). Refuses without active consent.
    ``partner``: the trusted partner it goes to; a referral to a hub names the hub
    Organization by the partner's ODS code when one is recorded.

    A cancelled referral goes as a cancellation only: the Task and what its references
    need, no more of the record (so it can be sent after consent was withdrawn)."""
    if referral.direction != "outgoing":
        raise ValueError(
            f"{referral_words(session, referral)} was received from "
            f"{referral.origin or 'a partner'}: "
            "send its status back with `linkwork referral update-export`"
        )
    if referral.status == "draft":
        raise ValueError(
            f"{referral_words(session, referral)} is a draft: send it first "
            f"(linkwork referral status {short_id(referral.id)} requested)"
        )
    person = session.get(Person, referral.person_id)
    if person is None:
        raise LookupError(f"unknown person {referral.person_id}")
    target = target_data(session, referral, ods=_hub_ods(session, referral, partner))
    if referral.status == "cancelled":
        ods = practice_ods or person.practice_ods
        return fhir.update_bundle(
            message_id=message_id or str(uuid.uuid4()),
            at=at or utcnow(),
            patient_id=person.id,
            nhs_number=None,
            referral=referral_data(referral, ods),
            origin_ods=ods,
            target=target,
            needs=[],
            outcome=None,
            from_referrer=True,
        )
    consent = require_active_consent(session, referral)
    needs = need_data(session, referral)
    return fhir.referral_bundle(
        message_id=message_id or str(uuid.uuid4()),
        at=at or utcnow(),
        patient=patient_data(person),
        needs=needs,
        referral=referral_data(referral, practice_ods or person.practice_ods),
        target=target,
        consent=fhir.ConsentData(
            id=consent.id,
            shares=list(consent.shares or []),
            method=consent.method,
            given_at=as_utc(consent.given_at),
            active=consent.withdrawn_at is None,
        ),
        questionnaire_response=screening_answers(session, referral, {n.domain for n in needs}),
    )


def screening_answers(
    session: Session, referral: Referral, domains: set[str]
) -> dict[str, Any] | None:
    """The referral's screening as a QuestionnaireResponse holding only the answers in the
    referred needs' domains (data minimisation), or None."""
    if not referral.screening_id:
        return None
    screening = session.get(Screening, referral.screening_id)
    if screening is None:
        return None
    try:
        data = questionnaire_response_dict(session, screening)
    except (LookupError, ValueError):
        return None
    groups = [g for g in data.get("item") or [] if g.get("linkId") in domains]
    if not groups:
        return None
    data["item"] = groups
    data.pop("author", None)  # the link worker's name is on the Practitioner already
    return data


def outcome_data(session: Session, referral: Referral) -> fhir.OutcomeData | None:
    outcome = get_outcome(session, referral)
    if outcome is None:
        return None
    flags = session.exec(select(OutcomeNeed).where(OutcomeNeed.outcome_id == outcome.id)).all()
    return fhir.OutcomeData(
        note=outcome.note,
        ons4={name: getattr(outcome, f"ons4_{name}") for name in fhir.ONS4},
        resolved_need_ids=sorted(f.need_id for f in flags if f.resolved),
        unresolved_need_ids=sorted(f.need_id for f in flags if not f.resolved),
        at=as_utc(outcome.recorded_at) if outcome.recorded_at else None,
    )


def build_update_bundle(
    session: Session,
    referral: Referral,
    *,
    message_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    if referral.direction != "incoming":
        raise ValueError(
            f"{referral_words(session, referral)} is one of ours: send it with "
            "`linkwork referral export`"
        )
    person = session.get(Person, referral.person_id)
    if person is None:
        raise LookupError(f"unknown person {referral.person_id}")
    data = referral_data(referral, referral.origin)
    data.history = status_history(session, referral)
    return fhir.update_bundle(
        message_id=message_id or str(uuid.uuid4()),
        at=at or utcnow(),
        patient_id=person.id,
        nhs_number=person.nhs_number,
        referral=data,
        origin_ods=referral.origin,
        target=target_data(session, referral, ods=str(session.info.get("org") or "")),
        needs=need_data(session, referral),
        outcome=outcome_data(session, referral),
        responds_to=_request_message(session, referral),
    )


def _request_message(session: Session, referral: Referral) -> str | None:
    """The id of the message that brought this referral (what a response answers)."""
    row = session.exec(
        select(ExchangeMessage.message_id)
        .where(
            ExchangeMessage.referral_id == referral.id,
            ExchangeMessage.direction == "in",
            ExchangeMessage.kind == "referral",
        )
        .order_by(col(ExchangeMessage.created_at))
        .limit(1)
    ).first()
    return str(row) if row else None


def _log(
    session: Session,
    *,
    sealed: Sealed,
    referral: Referral,
    recipient: ECKey,
    actor: str,
) -> None:
    session.add(
        ExchangeMessage(
            message_id=sealed.message_id,
            direction="out",
            kind=sealed.kind,
            referral_id=referral.id,
            partner=sealed.partner,
            partner_kid=key_id(recipient),
            task_status=referral.status,
            task_modified=as_utc(referral.status_at),
            file_sha256=hashlib.sha256(sealed.token.encode("ascii")).hexdigest(),
            created_at=utcnow(),
            actor=actor,
        )
    )
    session.flush()
    record_event(
        session,
        actor,
        "export",
        "referral",
        referral.id,
        {
            "kind": sealed.kind,
            "to": sealed.partner,
            "message_id": sealed.message_id,
            "status": referral.status,
            "recipient_kid": key_id(recipient),
        },
        person_id=referral.person_id,
    )


def _self_check(data: dict[str, Any], referral: Referral) -> None:
    """Never send what a receiver would refuse for a reason we can see cheaply. (The full
    fhir.resources validation runs on receipt and on every kind of Bundle in the tests; at
    export it would double the cost of a batch.)"""
    problems = fhir.empty_values(data) + fhir.dangling_references(data)
    if problems:  # a bug, not bad input
        raise RuntimeError(
            f"the Bundle for referral {short_id(referral.id)} is invalid: {problems[0]}"
        )


def export_referral(
    session: Session,
    referral: Referral,
    *,
    signer: ECKey,
    recipient: ECKey,
    partner: str,
    actor: str,
    practice_ods: str = "",
) -> Sealed:
    data = build_referral_bundle(session, referral, practice_ods=practice_ods, partner=partner)
    _self_check(data, referral)
    plain = bundle_bytes(data)
    sealed = Sealed(
        data["id"], referral.id, "referral", partner, seal(plain, signer, recipient), data, plain
    )
    _log(session, sealed=sealed, referral=referral, recipient=recipient, actor=actor)
    return sealed


def export_referrals(
    session: Session,
    referrals: list[Referral],
    *,
    signer: ECKey,
    recipient: ECKey,
    partner: str,
    actor: str,
    practice_ods: str = "",
) -> list[Sealed]:
    """Export several referrals in one transaction (all or none: the first refusal stops it,
    naming the referral)."""
    out = []
    for referral in referrals:
        try:
            out.append(
                export_referral(
                    session,
                    referral,
                    signer=signer,
                    recipient=recipient,
                    partner=partner,
                    actor=actor,
                    practice_ods=practice_ods,
                )
            )
        except (ValueError, LookupError) as exc:
            if len(referrals) == 1 or referral.id in str(exc):
                raise
            raise type(exc)(f"referral {referral.id}: {exc}") from None
    return out


def export_update(
    session: Session,
    referral: Referral,
    *,
    signer: ECKey,
    recipient: ECKey,
    partner: str,
    actor: str,
) -> Sealed:
    data = build_update_bundle(session, referral)
    _self_check(data, referral)
    plain = bundle_bytes(data)
    sealed = Sealed(
        data["id"], referral.id, "update", partner, seal(plain, signer, recipient), data, plain
    )
    _log(session, sealed=sealed, referral=referral, recipient=recipient, actor=actor)
    return sealed


def origin_partner(session: Session, referral: Referral) -> str | None:
    """The trusted partner an incoming referral came from (for ``update-export`` default)."""
    row = session.exec(
        select(ExchangeMessage)
        .where(
            ExchangeMessage.referral_id == referral.id,
            ExchangeMessage.direction == "in",
            ExchangeMessage.kind == "referral",
        )
        .order_by(col(ExchangeMessage.created_at))
        .limit(1)
    ).first()
    return row.partner if row else None

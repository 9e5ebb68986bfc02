"""Building the referral and status-update messages (FHIR R4 ``message`` Bundles).

Framing (aligned with the NHS Booking and Referral Standard, BaRS): the Bundle is of type
``message``; its first entry is a MessageHeader whose ``eventCoding`` is
``message-events-bars#servicerequest-request`` (a new referral, or the referrer cancelling
it) or ``#servicerequest-response`` (the hub's status updates and outcome), ``reason`` is
``message-reason-bars#new`` or ``#update``, ``sender`` and ``destination.receiver`` are the
two organisations, ``focus`` the ServiceRequest and its Task, and a response names the
request it answers (``response.identifier``, code ``ok``). ``Bundle.identifier`` and the
MessageHeader id are the message id (receiving is idempotent by it). Deliberately not
aligned: the BaRS transport (its API proxy, the Endpoint Catalogue and NHSD-Target-Identifier
endpoints: linkwork's messages travel signed and encrypted over MESH or as files, so
``source``/``destination.endpoint`` name the organisation under ``fhir.LW_ENDPOINT``), BaRS
payload profiles and MessageDefinitions (no ``meta.profile`` is claimed), and BaRS's
Encounter/CarePlan/Flag resources; the referral workflow is the SDOHCC Task's.

Content (SDOHCC 2.2.0 and UK Core STU2, see ``screening.exchange.fhir``): Patient (NHS
number; contact and equality only as consent shares them), Organization (ODS code), the
link worker as Practitioner + PractitionerRole at the practice's Organization (the
requester), a Condition per need (categories ``problem-list-item`` and the SDOHCC domain;
the record's ICD-10 or SNOMED CT code with SNOMED CT beside ICD-10 where
``codes/condition_snomed.csv`` holds a checked equivalent), ServiceRequest (reasonReference
the Conditions, supportingInfo the Consent and the screening answers), Task (intent order,
code fulfill; ``authoredOn`` the referral's authoring time, never changed; every status
change the partner made travels as a Provenance in ``Task.relevantHistory``, in order, with
its time), Consent (``source[x]`` an attachment saying how it was given; the recipient in
``provision.actor`` an Organization), HealthcareService for a directory service (the feed's
id under ``fhir.ORUK_SERVICE_ID``). The outcome: a Procedure (``Task.output``
``resulting-activity``; its outcome text the note, its reasons the Conditions, each with
its clinical status), and an Observation per ONS4 answer (``fhir.LW_ONS4``), part of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from screening.exchange import fhir as F

_GENDER = {"female": "female", "male": "male", "intersex": "other"}


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": F.urn(resource["id"]), "resource": resource}


def org_id(ods: str) -> str:
    return F.derived_id("organization", "ods", ods)


def endpoint(ods: str = "", name: str = "") -> str:
    if ods:
        return f"{F.LW_ENDPOINT}/ods/{quote(ods, safe='')}"
    return f"{F.LW_ENDPOINT}/name/{quote(name or 'unknown', safe='')}"


def patient_resource(p: F.PatientData, *, contact: bool, equality: bool) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient", "id": p.id}
    if p.nhs_number:
        res["identifier"] = [{"system": F.NHS_NUMBER, "value": p.nhs_number}]
    res["name"] = [{"use": "official", "family": p.family, "given": [p.given]}]
    if contact:
        telecom = []
        if p.phone:
            telecom.append({"system": "phone", "value": p.phone})
        if p.email:
            telecom.append({"system": "email", "value": p.email})
        if telecom:
            res["telecom"] = telecom
    if equality:
        gender = _GENDER.get(p.equality.get("sex", ""))
        if gender:
            res["gender"] = gender
    res["birthDate"] = p.birth_date.isoformat()
    if contact and p.postcode:
        res["address"] = [{"use": "home", "postalCode": p.postcode}]
    if p.practice_ods:
        res["generalPractitioner"] = [F.ref(org_id(p.practice_ods))]
    if equality:
        extensions: list[dict[str, Any]] = []
        if p.ethnic_category and p.ethnic_category != "99":
            extensions.append(
                {
                    "url": F.UK_ETHNIC_EXT,
                    "valueCodeableConcept": F.concept(
                        F.UK_ETHNIC_CS, p.ethnic_category, p.ethnic_label or None
                    ),
                }
            )
        parts = [
            {"url": name, "valueCode": value}
            for name, value in sorted(p.equality.items())
            if name in F.EQUALITY_FIELDS and value
        ]
        if parts:
            extensions.append({"url": F.LW_EQUALITY_EXT, "extension": parts})
        if extensions:
            res["extension"] = extensions
    return res


def organisation_resource(ods: str, name: str = "") -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Organization",
        "id": org_id(ods),
        "identifier": [{"system": F.ODS, "value": ods}],
        "active": True,
    }
    if name:
        res["name"] = name
    return res


def practitioner_resources(name: str, ods: str) -> tuple[list[dict[str, Any]], str]:
    """The link worker as a Practitioner and their PractitionerRole at the practice (the
    requester SDOHCC's Task wants: PractitionerRole or Organization)."""
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": F.derived_id("practitioner", ods, name),
        "name": [{"text": name}],
    }
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": F.derived_id("practitionerrole", ods, name),
        "active": True,
        "practitioner": F.ref(practitioner["id"], name),
        "organization": F.ref(org_id(ods)),
    }
    return [practitioner, role], role["id"]


def target_resources(t: F.TargetData) -> tuple[list[dict[str, Any]], str, str]:
    """The target's resources, the id performer/owner point at, and the id of the
    Organization behind it (the consent's recipient and the message's receiver)."""
    if t.is_hub:
        hub_id = org_id(t.ods) if t.ods else F.derived_id("organization", "hub", t.name)
        hub: dict[str, Any] = {"resourceType": "Organization", "id": hub_id}
        if t.ods:
            hub["identifier"] = [{"system": F.ODS, "value": t.ods}]
        hub.update({"active": True, "name": t.name})
        return [hub], hub_id, hub_id
    out: list[dict[str, Any]] = []
    service_id = F.derived_id("healthcareservice", t.service_source, t.service_source_id)
    service: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": service_id,
        "identifier": [_feed_identifier(F.ORUK_SERVICE_ID, t.service_source_id, t.service_source)],
        "active": True,
    }
    provider = t.organisation_name or t.organisation_source_id
    provider_id = F.derived_id(
        "organization", "directory", t.service_source, t.organisation_source_id or t.name
    )
    org: dict[str, Any] = {"resourceType": "Organization", "id": provider_id}
    if t.organisation_source_id:
        org["identifier"] = [
            _feed_identifier(F.ORUK_ORGANISATION_ID, t.organisation_source_id, t.service_source)
        ]
    org.update({"active": True, "name": provider or f"provider of {t.name}"})
    out.append(org)
    service["providedBy"] = F.ref(provider_id, provider or None)
    service["name"] = t.name
    telecom = []
    if t.phone:
        telecom.append({"system": "phone", "value": t.phone})
    if t.email:
        telecom.append({"system": "email", "value": t.email})
    if t.url:
        telecom.append({"system": "url", "value": t.url})
    if telecom:
        service["telecom"] = telecom
    out.append(service)
    return out, service_id, provider_id


def _feed_identifier(system: str, value: str, feed: str) -> dict[str, Any]:
    """An id from an Open Referral UK feed; the feed it came from as the assigner."""
    out: dict[str, Any] = {"system": system, "value": value}
    if feed:
        out["assigner"] = {"display": feed}
    return out


def need_codings(n: F.NeedData) -> list[dict[str, Any]]:
    """The record's code first; SNOMED CT beside ICD-10 only where the mapping is checked
    (``codes/condition_snomed.csv``), ICD-10 beside a SNOMED CT concept it classifies;
    a domain-only need (no exact code exists) in linkwork's need-domain code system."""
    if n.system == RECORD_DOMAIN_SYSTEM:
        return [F.coding(F.LW_DOMAIN, n.domain, n.display)]
    out = [F.coding(n.system, n.code, n.display)]
    if n.system == F.ICD10:
        beside = F.snomed_beside_icd10().get(n.code)
        if beside:
            out.append(F.coding(F.SNOMED, *beside))
    elif n.system == F.SNOMED and n.maps_to:
        out.append(F.coding(F.ICD10, n.maps_to, n.maps_to_display or None))
    return out


RECORD_DOMAIN_SYSTEM = "urn:linkwork:need-domain"  # the record's domain-only needs


def condition_statuses(status: str) -> tuple[str | None, str]:
    """The record's need status as FHIR (clinicalStatus, verificationStatus): active and
    resolved are confirmed; a withdrawn need (not, or no longer, the person's) is refuted
    and inactive; a need corrected as another code was entered in error (no clinical
    status). Only an active need is ever sent as active."""
    if status == "active":
        return "active", "confirmed"
    if status == "resolved":
        return "resolved", "confirmed"
    if status == "withdrawn":
        return "inactive", "refuted"
    return None, "entered-in-error"


def condition_resource(n: F.NeedData, patient_id: str) -> dict[str, Any]:
    categories = [F.concept(F.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
    gravity = F.gravity_categories().get(n.domain)
    if gravity:
        categories.append(F.concept(F.SDOHCC, gravity))
    res: dict[str, Any] = {"resourceType": "Condition", "id": n.id}
    clinical, verification = condition_statuses(n.status)
    if clinical:  # never with entered-in-error (FHIR R4 con-5)
        res["clinicalStatus"] = F.concept(F.CONDITION_CLINICAL, clinical)
    res["verificationStatus"] = F.concept(F.CONDITION_VERIFICATION, verification)
    res.update(
        {
            "category": categories,
            "code": {"coding": need_codings(n), "text": n.display},
            "subject": F.ref(patient_id),
        }
    )
    if n.priority:
        res["extension"] = [{"url": F.LW_PRIORITY_EXT, "valueCode": n.priority}]
    if n.status == "resolved" and n.resolved_at:
        res["abatementDateTime"] = F.iso(n.resolved_at)
    if n.recorded_at:
        res["recordedDate"] = F.iso(n.recorded_at)
    if n.words:
        res["note"] = [{"text": n.words}]
    return res


METHOD_WORDS = {"verbal": "Verbal consent", "written": "Written consent"}


def consent_resource(
    c: F.ConsentData, patient_id: str, practice_id: str | None, recipient_id: str
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Consent",
        "id": c.id,
        "status": "active" if c.active else "inactive",
        "scope": F.concept(F.CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [F.concept(F.ACT_CODE, "IDSCL", "information disclosure")],
        "patient": F.ref(patient_id),
        "dateTime": F.iso(c.given_at),
        "performer": [F.ref(patient_id)],
    }
    if practice_id:
        res["organization"] = [F.ref(practice_id)]
    words = METHOD_WORDS.get(c.method, f"{c.method.capitalize()} consent")
    res["sourceAttachment"] = {
        "contentType": "text/plain",
        "language": "en-GB",
        "title": f"{words}, recorded by the link worker",
        "creation": F.iso(c.given_at),
    }
    res["policyRule"] = F.concept(F.ACT_CODE, "OPTIN", "opt-in")
    res["provision"] = {
        "type": "permit",
        "actor": [
            {
                "role": F.concept(F.PARTICIPATION, "IRCP", "information recipient"),
                "reference": F.ref(recipient_id),
            }
        ],
        "action": [F.concept(F.CONSENT_ACTION, "disclose", "Disclose")],
        "class": [F.coding(F.LW_SHARES, share) for share in c.shares],
    }
    return res


def _categories(domains: list[str]) -> list[str]:
    return sorted({F.gravity_categories().get(d, "") for d in domains} - {""})


def service_request_resource(
    r: F.ReferralData,
    patient_id: str,
    requester_id: str | None,
    performer_id: str,
    condition_ids: list[str],
    domains: list[str],
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": r.id,
        "status": F.SR_STATUS.get(r.status, "active"),
        "intent": "order",
    }
    gravity = _categories(domains)
    if gravity:
        res["category"] = [F.concept(F.SDOHCC, code) for code in gravity]
    res["code"] = F.concept(F.SNOMED, *F.SOCIAL_PRESCRIBING_REFERRAL)
    res["subject"] = F.ref(patient_id)
    res["authoredOn"] = F.iso(r.created_at)
    if requester_id:
        res["requester"] = F.ref(requester_id, r.requester_name or None)
    res["performer"] = [F.ref(performer_id)]
    if condition_ids:
        res["reasonReference"] = [F.ref(cid) for cid in condition_ids]
    if r.reason:
        res["note"] = [{"text": r.reason}]
    return res


def provenance_id(referral_id: str, change: F.StatusChange, index: int) -> str:
    return F.derived_id("provenance", referral_id, str(index), F.iso(change.at), change.status)


def history_resources(
    r: F.ReferralData, agent_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A Provenance per status change (for ``Task.relevantHistory``), oldest first: its
    target the Task, ``occurredDateTime`` the change's time, ``activity`` the new status
    (``http://hl7.org/fhir/task-status``; its text the business status, if any),
    ``reason`` the status reason."""
    resources_: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    for index, change in enumerate(sorted(r.history, key=lambda c: c.at)):
        activity: dict[str, Any] = {"coding": [F.coding(F.TASK_STATUS, change.status)]}
        if change.business_status:
            activity["text"] = change.business_status
        res: dict[str, Any] = {
            "resourceType": "Provenance",
            "id": provenance_id(r.id, change, index),
            "target": [F.ref(F.task_id(r.id))],
            "occurredDateTime": F.iso(change.at),
            "recorded": F.iso(change.at),
        }
        if change.reason:
            res["reason"] = [{"text": change.reason}]
        res["activity"] = activity
        res["agent"] = [{"who": F.ref(agent_id)}]
        resources_.append(res)
        refs.append(F.ref(res["id"], change.status))
    return resources_, refs


def task_resource(
    r: F.ReferralData,
    patient_id: str,
    requester_id: str | None,
    owner_id: str,
    *,
    status: str | None = None,
    procedure_id: str | None = None,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    state = status or r.status
    res: dict[str, Any] = {
        "resourceType": "Task",
        "id": F.task_id(r.id),
        "identifier": [{"system": F.RFC3986, "value": F.urn(F.task_id(r.id))}],
        "status": state,
    }
    if r.status_reason or state in F.NEEDS_REASON:
        res["statusReason"] = {"text": r.status_reason or "not given"}
    if r.business_status:
        res["businessStatus"] = {"text": r.business_status}
    res.update(
        {
            "intent": "order",
            "code": F.concept(F.TASK_CODE, "fulfill", "Fulfill the focal request"),
            "focus": F.ref(r.id),
            "for": F.ref(patient_id),
            "authoredOn": F.iso(r.created_at),
            "lastModified": F.iso(r.status_at),
        }
    )
    if requester_id:
        res["requester"] = F.ref(requester_id)
    res["owner"] = F.ref(owner_id)
    if history:
        res["relevantHistory"] = history
    if procedure_id:
        res["output"] = [
            {
                "type": F.concept(F.SDOHCC, "resulting-activity", "Resulting Activity"),
                "valueReference": F.ref(procedure_id),
            }
        ]
    return res


def outcome_resources(
    r: F.ReferralData,
    outcome: F.OutcomeData,
    patient_id: str,
    performer_id: str,
    needs: list[F.NeedData],
) -> tuple[list[dict[str, Any]], str]:
    """The resulting activity as a Procedure and each ONS4 answer as an Observation."""
    at = F.iso(outcome.at or r.status_at)
    flagged = set(outcome.resolved_need_ids) | set(outcome.unresolved_need_ids)
    procedure: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": F.derived_id("procedure", r.id),
        "basedOn": [F.ref(r.id)],
        "status": "completed" if r.status == "completed" else "not-done",
    }
    gravity = _categories([n.domain for n in needs if n.id in flagged])
    if len(gravity) == 1:  # Procedure.category is 0..1; SDOHCC slices one SDOH coding
        procedure["category"] = F.concept(F.SDOHCC, gravity[0])
    procedure.update(
        {
            "code": {"text": "Social prescribing: the person was connected to the service"},
            "subject": F.ref(patient_id),
            "performedDateTime": at,
            "performer": [{"actor": F.ref(performer_id)}],
        }
    )
    reasons = sorted(flagged)
    if reasons:
        procedure["reasonReference"] = [F.ref(nid) for nid in reasons]
    if outcome.note:
        procedure["outcome"] = {"text": outcome.note}
    items = [procedure]
    for name in F.ONS4:
        value = outcome.ons4.get(name)
        if value is None:
            continue
        items.append(
            {
                "resourceType": "Observation",
                "id": F.derived_id("observation", r.id, "ons4", name),
                "basedOn": [F.ref(r.id)],
                "partOf": [F.ref(procedure["id"])],
                "status": "final",
                "category": [F.concept(F.OBSERVATION_CATEGORY, "survey", "Survey")],
                "code": {
                    "coding": [F.coding(F.LW_ONS4, name, F.ONS4_QUESTIONS[name])],
                    "text": F.ONS4_QUESTIONS[name],
                },
                "subject": F.ref(patient_id),
                "effectiveDateTime": at,
                "valueInteger": int(value),
            }
        )
    return items, procedure["id"]


def message_header(
    *,
    message_id: str,
    event: str,
    reason: str,
    sender_id: str,
    sender_endpoint: str,
    receiver_id: str,
    receiver_endpoint: str,
    focus: list[str],
    responds_to: str | None = None,
) -> dict[str, Any]:
    display = {
        "servicerequest-request": "Service Request - Request",
        "servicerequest-response": "Service Request - Response",
    }[event]
    res: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventCoding": F.coding(F.BARS_EVENTS, event, display),
        "destination": [{"endpoint": receiver_endpoint, "receiver": F.ref(receiver_id)}],
        "sender": F.ref(sender_id),
        "source": {"name": "linkwork", "software": "linkwork", "endpoint": sender_endpoint},
        "reason": F.concept(F.BARS_REASON, reason, reason.capitalize()),
    }
    if responds_to:
        res["response"] = {"identifier": responds_to, "code": "ok"}
    res["focus"] = [F.ref(rid) for rid in focus]
    return res


def bundle(
    header: dict[str, Any], resources_: list[dict[str, Any]], message_id: str, at: datetime
) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": message_id,
        "identifier": {"system": F.RFC3986, "value": F.urn(message_id)},
        "type": "message",
        "timestamp": F.iso(at),
        "entry": [_entry(r) for r in _unique([header, *resources_])],
    }


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each resource once (the practice and the hub may share an Organization)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items:
        key = (str(item["resourceType"]), str(item["id"]))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def referral_bundle(
    *,
    message_id: str,
    at: datetime,
    patient: F.PatientData,
    needs: list[F.NeedData],
    referral: F.ReferralData,
    target: F.TargetData,
    consent: F.ConsentData,
    questionnaire_response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The message sent with a new referral. What the consent does not share is left out.
    ``questionnaire_response``: the screening answers behind the referred needs (already
    cut down to their domains), sent only if the consent shares needs."""
    shares = set(consent.shares)
    items: list[dict[str, Any]] = [
        patient_resource(patient, contact="contact" in shares, equality="equality" in shares)
    ]
    ods = referral.requester_ods or patient.practice_ods
    if patient.practice_ods:
        items.append(organisation_resource(patient.practice_ods))
    if ods and ods != patient.practice_ods:
        items.append(organisation_resource(ods))
    practice_id = org_id(ods) if ods else None
    requester_id = practice_id
    if referral.requester_name and ods:
        people, requester_id = practitioner_resources(referral.requester_name, ods)
        items.extend(people)
    target_items, target_id, recipient_id = target_resources(target)
    items.extend(target_items)
    shared_needs = needs if "needs" in shares else []
    items.extend(condition_resource(n, patient.id) for n in shared_needs)
    request = service_request_resource(
        referral,
        patient.id,
        requester_id,
        target_id,
        [n.id for n in shared_needs],
        [n.domain for n in shared_needs],
    )
    request["supportingInfo"] = [F.ref(consent.id, "consent to share")]
    if questionnaire_response is not None and "needs" in shares:
        qr = dict(questionnaire_response)
        qr["subject"] = F.ref(patient.id)
        items.append(qr)
        request["supportingInfo"].append(F.ref(qr["id"], "screening answers"))
    items.append(request)
    task = task_resource(
        referral,
        patient.id,
        requester_id,
        target_id,
        status="requested" if referral.status == "draft" else None,
    )
    items.append(task)
    items.append(consent_resource(consent, patient.id, practice_id, recipient_id))
    header = message_header(
        message_id=message_id,
        event="servicerequest-request",
        reason="new",
        sender_id=practice_id or recipient_id,
        sender_endpoint=endpoint(ods),
        receiver_id=recipient_id,
        receiver_endpoint=endpoint(target.ods, target.name),
        focus=[referral.id, task["id"]],
    )
    return bundle(header, items, message_id, at)


def update_bundle(
    *,
    message_id: str,
    at: datetime,
    patient_id: str,
    nhs_number: str | None,
    referral: F.ReferralData,
    origin_ods: str,
    target: F.TargetData,
    needs: list[F.NeedData],
    outcome: F.OutcomeData | None,
    from_referrer: bool = False,
    responds_to: str | None = None,
) -> dict[str, Any]:
    """A status update: the Task with its status, every change the sender made
    (``referral.history``) and, once finished, the outcome, with the few resources their
    references need (no more of the person's record than that). ``from_referrer``: the
    practice cancelling its own referral (a request, reason ``update``), else the hub's
    response."""
    patient: dict[str, Any] = {"resourceType": "Patient", "id": patient_id}
    if nhs_number:
        patient["identifier"] = [{"system": F.NHS_NUMBER, "value": nhs_number}]
    items: list[dict[str, Any]] = [patient]
    practice_id = None
    if origin_ods:
        org = organisation_resource(origin_ods)
        items.append(org)
        practice_id = org["id"]
    target_items, target_id, recipient_id = target_resources(target)
    items.extend(target_items)
    if target.ods and not target.is_hub:  # the hub answering for a directory service
        items.append(organisation_resource(target.ods))
    hub_id = org_id(target.ods) if target.ods else recipient_id
    shown = [
        n
        for n in needs
        if outcome is not None
        and n.id in set(outcome.resolved_need_ids) | set(outcome.unresolved_need_ids)
    ]
    items.extend(condition_resource(n, patient_id) for n in shown)
    items.append(
        {
            "resourceType": "ServiceRequest",
            "id": referral.id,
            "status": F.SR_STATUS.get(referral.status, "active"),
            "intent": "order",
            "code": F.concept(F.SNOMED, *F.SOCIAL_PRESCRIBING_REFERRAL),
            "subject": F.ref(patient_id),
            "performer": [F.ref(target_id)],
        }
    )
    procedure_id = None
    if outcome is not None:
        produced, procedure_id = outcome_resources(
            referral, outcome, patient_id, recipient_id, needs
        )
        items.extend(produced)
    agent = practice_id if from_referrer and practice_id else hub_id
    history_items, history_refs = history_resources(referral, agent)
    items.extend(history_items)
    task = task_resource(
        referral,
        patient_id,
        practice_id,
        target_id,
        procedure_id=procedure_id,
        history=history_refs,
    )
    items.append(task)
    sender, receiver = (practice_id, hub_id) if from_referrer else (hub_id, practice_id)
    header = message_header(
        message_id=message_id,
        event="servicerequest-request" if from_referrer else "servicerequest-response",
        reason="update",
        sender_id=sender or recipient_id,
        sender_endpoint=endpoint(origin_ods)
        if from_referrer
        else endpoint(target.ods, target.name),
        receiver_id=receiver or recipient_id,
        receiver_endpoint=endpoint(target.ods, target.name)
        if from_referrer
        else endpoint(origin_ods),
        focus=[referral.id, task["id"]],
        responds_to=None if from_referrer else responds_to,
    )
    return bundle(header, items, message_id, at)

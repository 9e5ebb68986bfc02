"""Referrals as FHIR R4 Bundles, following the HL7 Gravity SDOH Clinical Care pattern.

Bundle type ``collection``: a referral file is a point-to-point message between two
parties, applied by the receiver's own logic (idempotently, by ids), not a set of REST
operations for a FHIR server (``transaction``) and not a ``message`` needing a
MessageHeader and an event-code system. ``Bundle.identifier`` is the message id (a fresh
UUID per file, used to make receiving idempotent); ``Bundle.timestamp`` is when it was made.

Every resource has a stable id: the record's own UUID where it has one (Patient = person,
Condition = need, ServiceRequest = referral, Consent = consent), otherwise a UUID5 derived
from what it stands for (Task from the referral id, Organization from the ODS code, ...).
``fullUrl`` is ``urn:uuid:<id>`` and every reference points at a ``fullUrl`` in the same
Bundle (``check_references`` enforces it on both sides).

Resources: Patient (NHS number ``https://fhir.nhs.uk/Id/nhs-number``; contact details only
if consent shares contact; ethnic category and the other equality fields only if consent
shares equality), Organization (the practice, ODS ``https://fhir.nhs.uk/Id/ods-organization-code``,
and the target's provider), Practitioner (the link worker), Condition per need (categories
``health-concern``, ``sdoh`` and the SDOHCC domain code, as the SDOHCC Condition examples do —
``social-history`` is an Observation category code, so it is not used on a Condition; code
ICD-10 or SNOMED CT), ServiceRequest (intent ``order``; code SNOMED CT 871731000000106
"Referral to social prescribing service" — a [P] code in research-facts: from a secondary
source, check in the NHS England terminology browser before release), Task (intent ``order``,
code ``task-code#fulfill``, focus the ServiceRequest, ``statusReason.text`` where the status
needs one, ``businessStatus.text``), Consent (scope patient-privacy, category IDSCL, what is
shared as ``provision.class`` codes) and HealthcareService for the target.

Codes linkwork needs to round-trip that have no standard home use code systems and
extensions under ``https://linkwork.invalid/fhir/`` (``.invalid`` is reserved: they never
resolve, and say plainly they are linkwork's own).
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

from screening.exchange import errors as E

# -- systems --------------------------------------------------------------------------
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
UK_ETHNIC_EXT = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
UK_ETHNIC_CS = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
RFC3986 = "urn:ietf:rfc:3986"

LINKWORK = "https://linkwork.invalid/fhir"
LW_DOMAIN = f"{LINKWORK}/CodeSystem/need-domain"
LW_SHARES = f"{LINKWORK}/CodeSystem/consent-shares"
LW_TASK_OUTPUT = f"{LINKWORK}/CodeSystem/task-output"
LW_EQUALITY_EXT = f"{LINKWORK}/StructureDefinition/equality"
LW_CONSENT_METHOD_EXT = f"{LINKWORK}/StructureDefinition/consent-method"
LW_PRIORITY_EXT = f"{LINKWORK}/StructureDefinition/need-priority"
LW_SERVICE_ID = f"{LINKWORK}/Id/directory-service"
LW_ORGANISATION_ID = f"{LINKWORK}/Id/directory-organisation"
LW_HUB_ID = f"{LINKWORK}/Id/hub"

SOCIAL_PRESCRIBING_REFERRAL = ("871731000000106", "Referral to social prescribing service")
NEEDS_REASON = ("rejected", "cancelled", "on-hold", "failed")
TASK_STATUSES = (
    "draft",
    "requested",
    "accepted",
    "rejected",
    "in-progress",
    "on-hold",
    "completed",
    "failed",
    "cancelled",
)
_SR_STATUS = {
    "draft": "draft",
    "requested": "active",
    "accepted": "active",
    "in-progress": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "rejected": "revoked",
    "cancelled": "revoked",
    "failed": "revoked",
}
_GENDER = {"female": "female", "male": "male", "intersex": "other"}
EQUALITY_FIELDS = (
    "sex",
    "gender_same_as_birth",
    "sexual_orientation",
    "disability",
    "religion",
    "main_language",
    "interpreter_needed",
    "immigration_status",
)
ONS4 = ("satisfied", "worthwhile", "happy", "anxious")

_NS = uuid.UUID("6f0c7a52-3d0e-5b8e-9a51-6c1f2b7d4e90")


def derived_id(*parts: str) -> str:
    """A stable UUID for a resource that has no record id of its own."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


def task_id(referral_id: str) -> str:
    return derived_id("task", referral_id)


def urn(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def ref(resource_id: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": urn(resource_id)}
    if display:
        out["display"] = display
    return out


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@cache
def gravity_categories() -> dict[str, str]:
    """Need domain key -> SDOHCC temporary code (``codes/domains.csv``)."""
    text = resources.files("codes").joinpath("domains.csv").read_text(encoding="utf-8")
    return {row["key"]: row["gravity_category"] for row in csv.DictReader(text.splitlines())}


@cache
def domain_labels() -> dict[str, str]:
    text = resources.files("codes").joinpath("domains.csv").read_text(encoding="utf-8")
    return {row["key"]: row["label"] for row in csv.DictReader(text.splitlines())}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


# -- plain data the builders take (filled from the record by ``screening.exchange.export``)


@dataclass
class PatientData:
    id: str
    given: str
    family: str
    birth_date: date
    nhs_number: str | None = None
    practice_ods: str = ""
    postcode: str = ""
    phone: str = ""
    email: str = ""
    ethnic_category: str = "99"
    ethnic_label: str = ""
    equality: dict[str, str] = field(default_factory=dict)


@dataclass
class NeedData:
    id: str
    code: str
    system: str
    display: str
    domain: str
    status: str = "active"
    words: str = ""
    priority: str = "medium"
    recorded_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass
class TargetData:
    """The service (or named hub) the referral is for."""

    name: str
    service_source: str = ""
    service_source_id: str = ""
    organisation_name: str = ""
    organisation_source_id: str = ""
    phone: str = ""
    email: str = ""
    url: str = ""
    is_hub: bool = False

    @property
    def key(self) -> str:
        if self.is_hub:
            return f"hub/{self.name}"
        return f"service/{self.service_source}/{self.service_source_id}"


@dataclass
class ConsentData:
    id: str
    shares: list[str]
    method: str
    given_at: datetime
    active: bool = True


@dataclass
class OutcomeData:
    note: str = ""
    ons4: dict[str, int | None] = field(default_factory=dict)
    resolved_need_ids: list[str] = field(default_factory=list)
    unresolved_need_ids: list[str] = field(default_factory=list)


@dataclass
class ReferralData:
    id: str
    status: str
    created_at: datetime
    status_at: datetime
    reason: str = ""
    status_reason: str = ""
    business_status: str = ""
    requester_name: str = ""
    requester_ods: str = ""
    followup_due: date | None = None


# -- builders -------------------------------------------------------------------------


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": urn(resource["id"]), "resource": resource}


def patient_resource(p: PatientData, *, contact: bool, equality: bool) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient", "id": p.id}
    if p.nhs_number:
        res["identifier"] = [{"system": NHS_NUMBER, "value": p.nhs_number}]
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
        res["generalPractitioner"] = [ref(derived_id("organization", "ods", p.practice_ods))]
    if equality:
        extensions: list[dict[str, Any]] = []
        if p.ethnic_category and p.ethnic_category != "99":
            extensions.append(
                {
                    "url": UK_ETHNIC_EXT,
                    "valueCodeableConcept": _concept(
                        UK_ETHNIC_CS, p.ethnic_category, p.ethnic_label or None
                    ),
                }
            )
        parts = [
            {"url": name, "valueCode": value}
            for name, value in sorted(p.equality.items())
            if name in EQUALITY_FIELDS and value
        ]
        if parts:
            extensions.append({"url": LW_EQUALITY_EXT, "extension": parts})
        if extensions:
            res["extension"] = extensions
    return res


def practice_resource(ods: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": derived_id("organization", "ods", ods),
        "identifier": [{"system": ODS, "value": ods}],
        "active": True,
    }


def practitioner_resource(name: str, ods: str) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": derived_id("practitioner", ods, name),
        "name": [{"text": name}],
    }


def target_resources(t: TargetData) -> tuple[list[dict[str, Any]], str]:
    """The target's resources and the id that performer/owner references point at."""
    if t.is_hub:
        org_id = derived_id("organization", "hub", t.name)
        hub_org: dict[str, Any] = {
            "resourceType": "Organization",
            "id": org_id,
            "identifier": [{"system": LW_HUB_ID, "value": t.name}],
            "active": True,
            "name": t.name,
        }
        return [hub_org], org_id
    out: list[dict[str, Any]] = []
    service_id = derived_id("healthcareservice", t.service_source, t.service_source_id)
    service: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": service_id,
        "identifier": [{"system": LW_SERVICE_ID, "value": t.service_source_id}],
        "active": True,
    }
    if t.organisation_name or t.organisation_source_id:
        org_id = derived_id("organization", "directory", t.service_source, t.organisation_source_id)
        org: dict[str, Any] = {"resourceType": "Organization", "id": org_id, "active": True}
        if t.organisation_source_id:
            org["identifier"] = [{"system": LW_ORGANISATION_ID, "value": t.organisation_source_id}]
        org["name"] = t.organisation_name or t.organisation_source_id
        out.append(org)
        service["providedBy"] = ref(org_id, t.organisation_name or t.organisation_source_id)
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
    return out, service_id


def condition_resource(n: NeedData, patient_id: str) -> dict[str, Any]:
    categories = [
        _concept(US_CORE_CONDITION_CATEGORY, "health-concern", "Health Concern"),
        _concept(US_CORE_CATEGORY, "sdoh", "SDOH"),
    ]
    gravity = gravity_categories().get(n.domain)
    if gravity:
        categories.append(_concept(SDOHCC, gravity))
    categories.append(_concept(LW_DOMAIN, n.domain, domain_labels().get(n.domain)))
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": n.id,
        "clinicalStatus": _concept(
            CONDITION_CLINICAL, "resolved" if n.status == "resolved" else "active"
        ),
        "verificationStatus": _concept(CONDITION_VERIFICATION, "confirmed"),
        "category": categories,
        "code": {"coding": [_need_coding(n)], "text": n.display},
        "subject": ref(patient_id),
    }
    if n.priority:
        res["extension"] = [{"url": LW_PRIORITY_EXT, "valueCode": n.priority}]
    if n.status == "resolved" and n.resolved_at:
        res["abatementDateTime"] = _iso(n.resolved_at)
    if n.recorded_at:
        res["recordedDate"] = _iso(n.recorded_at)
    if n.words:
        res["note"] = [{"text": n.words}]
    return res


RECORD_DOMAIN_SYSTEM = "urn:linkwork:need-domain"  # the record's domain-only needs


def _need_coding(n: NeedData) -> dict[str, Any]:
    """ICD-10 or SNOMED CT; a domain-only need (no exact code exists, e.g. digital
    inclusion) is coded in linkwork's need-domain code system."""
    if n.system == RECORD_DOMAIN_SYSTEM:
        return _coding(LW_DOMAIN, n.domain, n.display)
    return _coding(n.system, n.code, n.display)


def consent_resource(
    c: ConsentData, patient_id: str, practice_id: str | None, target_id: str
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Consent",
        "id": c.id,
        "extension": [{"url": LW_CONSENT_METHOD_EXT, "valueCode": c.method}],
        "status": "active" if c.active else "inactive",
        "scope": _concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [_concept(ACT_CODE, "IDSCL", "information disclosure")],
        "patient": ref(patient_id),
        "dateTime": _iso(c.given_at),
        "performer": [ref(patient_id)],
    }
    if practice_id:
        res["organization"] = [ref(practice_id)]
    res["policyRule"] = _concept(ACT_CODE, "OPTIN", "opt-in")
    res["provision"] = {
        "type": "permit",
        "actor": [
            {
                "role": _concept(PARTICIPATION, "IRCP", "information recipient"),
                "reference": ref(target_id),
            }
        ],
        "action": [_concept(CONSENT_ACTION, "disclose", "Disclose")],
        "class": [_coding(LW_SHARES, share) for share in c.shares],
    }
    return res


def service_request_resource(
    r: ReferralData,
    patient_id: str,
    requester_id: str | None,
    performer_id: str,
    condition_ids: list[str],
    domains: list[str],
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": r.id,
        "status": _SR_STATUS.get(r.status, "active"),
        "intent": "order",
    }
    gravity = sorted({gravity_categories().get(d, "") for d in domains} - {""})
    if gravity:
        res["category"] = [_concept(SDOHCC, code) for code in gravity]
    res["code"] = _concept(SNOMED, *SOCIAL_PRESCRIBING_REFERRAL)
    res["subject"] = ref(patient_id)
    res["authoredOn"] = _iso(r.created_at)
    if requester_id:
        res["requester"] = ref(requester_id, r.requester_name or None)
    res["performer"] = [ref(performer_id)]
    if condition_ids:
        res["reasonReference"] = [ref(cid) for cid in condition_ids]
    if r.reason:
        res["note"] = [{"text": r.reason}]
    return res


def task_resource(
    r: ReferralData,
    patient_id: str,
    requester_id: str | None,
    owner_id: str,
    outcome: OutcomeData | None = None,
    *,
    status: str | None = None,
) -> dict[str, Any]:
    state = status or r.status
    res: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id(r.id),
        "identifier": [{"system": RFC3986, "value": urn(task_id(r.id))}],
        "status": state,
    }
    if r.status_reason or state in NEEDS_REASON:
        res["statusReason"] = {"text": r.status_reason or "not given"}
    if r.business_status:
        res["businessStatus"] = {"text": r.business_status}
    res.update(
        {
            "intent": "order",
            "code": _concept(TASK_CODE, "fulfill", "Fulfill the focal request"),
            "focus": ref(r.id),
            "for": ref(patient_id),
            "authoredOn": _iso(r.created_at),
            "lastModified": _iso(r.status_at),
        }
    )
    if requester_id:
        res["requester"] = ref(requester_id)
    res["owner"] = ref(owner_id)
    if outcome is not None:
        outputs: list[dict[str, Any]] = []
        if outcome.note:
            outputs.append(_output("outcome-note", {"valueString": outcome.note}))
        for name in ONS4:
            value = outcome.ons4.get(name)
            if value is not None:
                outputs.append(_output(f"ons4-{name}", {"valueInteger": int(value)}))
        for need_id in outcome.resolved_need_ids:
            outputs.append(_output("need-resolved", {"valueReference": ref(need_id)}))
        for need_id in outcome.unresolved_need_ids:
            outputs.append(_output("need-not-resolved", {"valueReference": ref(need_id)}))
        if outputs:
            res["output"] = outputs
    return res


def _output(code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": _concept(LW_TASK_OUTPUT, code), **value}


def bundle(resources_: list[dict[str, Any]], message_id: str, at: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": message_id,
        "identifier": {"system": RFC3986, "value": urn(message_id)},
        "type": "collection",
        "timestamp": _iso(at),
        "entry": [_entry(r) for r in resources_],
    }


def referral_bundle(
    *,
    message_id: str,
    at: datetime,
    patient: PatientData,
    needs: list[NeedData],
    referral: ReferralData,
    target: TargetData,
    consent: ConsentData,
    questionnaire_response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Bundle sent with a new referral. What the consent does not share is left out.
    ``questionnaire_response``: the screening answers behind the referred needs (already
    cut down to their domains), sent only if the consent shares needs."""
    shares = set(consent.shares)
    items: list[dict[str, Any]] = [
        patient_resource(patient, contact="contact" in shares, equality="equality" in shares)
    ]
    practice_id = None
    ods = referral.requester_ods or patient.practice_ods
    if patient.practice_ods:
        items.append(practice_resource(patient.practice_ods))
    if ods and ods != patient.practice_ods:
        items.append(practice_resource(ods))
    if ods:
        practice_id = derived_id("organization", "ods", ods)
    requester_id = None
    if referral.requester_name:
        practitioner = practitioner_resource(referral.requester_name, ods)
        items.append(practitioner)
        requester_id = practitioner["id"]
    target_items, target_id = target_resources(target)
    items.extend(target_items)
    shared_needs = needs if "needs" in shares else []
    items.extend(condition_resource(n, patient.id) for n in shared_needs)
    request = service_request_resource(
        referral,
        patient.id,
        requester_id or practice_id,
        target_id,
        [n.id for n in shared_needs],
        [n.domain for n in shared_needs],
    )
    if questionnaire_response is not None and "needs" in shares:
        qr = dict(questionnaire_response)
        qr["subject"] = ref(patient.id)
        items.append(qr)
        request["supportingInfo"] = [ref(qr["id"], "screening answers")]
    items.append(request)
    items.append(
        task_resource(
            referral,
            patient.id,
            requester_id or practice_id,
            target_id,
            status="requested" if referral.status == "draft" else None,
        )
    )
    items.append(consent_resource(consent, patient.id, practice_id, target_id))
    return bundle(items, message_id, at)


def update_bundle(
    *,
    message_id: str,
    at: datetime,
    patient_id: str,
    nhs_number: str | None,
    referral: ReferralData,
    origin_ods: str,
    target: TargetData,
    needs: list[NeedData],
    outcome: OutcomeData | None,
) -> dict[str, Any]:
    """The Bundle a hub sends back: the Task with its new status (and outcome), with the
    few resources its references need (no more of the person's record than that)."""
    patient: dict[str, Any] = {"resourceType": "Patient", "id": patient_id}
    if nhs_number:
        patient["identifier"] = [{"system": NHS_NUMBER, "value": nhs_number}]
    items: list[dict[str, Any]] = [patient]
    requester_id = None
    if origin_ods:
        org = practice_resource(origin_ods)
        items.append(org)
        requester_id = org["id"]
    target_items, target_id = target_resources(target)
    items.extend(target_items)
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
            "status": _SR_STATUS.get(referral.status, "active"),
            "intent": "order",
            "code": _concept(SNOMED, *SOCIAL_PRESCRIBING_REFERRAL),
            "subject": ref(patient_id),
            "performer": [ref(target_id)],
        }
    )
    items.append(task_resource(referral, patient_id, requester_id, target_id, outcome))
    return bundle(items, message_id, at)


# -- checking what arrives ------------------------------------------------------------


def _walk_references(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key == "reference" and isinstance(value, str):
                yield path, value
            else:
                yield from _walk_references(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk_references(item, f"{path}[{index}]")


def dangling_references(data: dict[str, Any]) -> list[str]:
    """Every reference in the Bundle that does not resolve to an entry of the same Bundle
    (by ``fullUrl``, or ``Type/id`` of an entry), as ``Type/id.path -> target`` lines.
    Contained references (``#id``) must match a contained resource of the same resource."""
    entries = data.get("entry") or []
    targets: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        full = entry.get("fullUrl")
        resource = entry.get("resource") or {}
        if isinstance(full, str):
            targets.add(full)
        if isinstance(resource, dict) and resource.get("id"):
            targets.add(f"{resource.get('resourceType')}/{resource['id']}")
    problems = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource") or {}
        if not isinstance(resource, dict):
            continue
        name = f"{resource.get('resourceType')}/{resource.get('id')}"
        contained = {
            f"#{c.get('id')}" for c in resource.get("contained") or [] if isinstance(c, dict)
        }
        for where, target in _walk_references(resource, ""):
            if target.startswith("#"):
                if target not in contained and target != "#":
                    problems.append(f"{name}.{where} -> {target}")
            elif target not in targets:
                problems.append(f"{name}.{where} -> {target}")
    return problems


def empty_values(node: Any, path: str = "") -> list[str]:
    """Paths of values FHIR JSON forbids: null, "", [] and {} (a cheap check of what we
    build; the full fhir.resources validation runs on receipt and in the tests)."""
    found: list[str] = []
    if isinstance(node, dict):
        if not node:
            found.append(path or "/")
        for key, value in node.items():
            found.extend(empty_values(value, f"{path}.{key}" if path else key))
    elif isinstance(node, list):
        if not node:
            found.append(path)
        for index, item in enumerate(node):
            found.extend(empty_values(item, f"{path}[{index}]"))
    elif node is None or (isinstance(node, str) and not node.strip()):
        found.append(path)
    return found


def check_bundle(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """Parse and check a received Bundle: JSON, a FHIR R4 Bundle that fhir.resources
    accepts, every reference resolving inside it. Returns the JSON; ExchangeRefused if not."""
    from screening.exchange.jose import payload_json  # bounded: no RecursionError

    data = payload if isinstance(payload, dict) else payload_json(payload)
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        kind = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise E.ExchangeRefused(E.NOT_BUNDLE, f"the signed content is a {kind}, not a Bundle")
    if data.get("type") != "collection":
        raise E.ExchangeRefused(
            E.INVALID_BUNDLE, f"Bundle type {data.get('type')!r}: linkwork exchanges 'collection'"
        )
    problem = validation_error(data)
    if problem:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, problem)
    dangling = dangling_references(data)
    if dangling:
        more = f" (and {len(dangling) - 1} more)" if len(dangling) > 1 else ""
        raise E.ExchangeRefused(E.DANGLING_REFERENCE, f"{dangling[0]} is not in the Bundle{more}")
    return data


def validation_error(data: dict[str, Any]) -> str | None:
    """None if fhir.resources (R4B models) accepts the Bundle, else the first error."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"not valid FHIR R4: {where}: {first.get('msg')}"
    except (ValueError, TypeError, KeyError) as exc:
        return f"not valid FHIR R4: {exc}"
    return None


def resources_by_type(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in data.get("entry") or []:
        resource = entry.get("resource") or {}
        out.setdefault(str(resource.get("resourceType")), []).append(resource)
    return out


def resolve(data: dict[str, Any], reference: dict[str, Any] | None) -> dict[str, Any] | None:
    if not reference or not isinstance(reference.get("reference"), str):
        return None
    target = reference["reference"]
    for entry in data.get("entry") or []:
        resource = entry.get("resource") or {}
        if entry.get("fullUrl") == target or (
            f"{resource.get('resourceType')}/{resource.get('id')}" == target
        ):
            return dict(resource)
    return None


def identifier_value(resource: dict[str, Any] | None, system: str) -> str:
    for ident in (resource or {}).get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == system:
            return str(ident.get("value") or "")
    return ""


def codes_in(concept: dict[str, Any] | None, system: str) -> list[str]:
    return [
        str(c.get("code"))
        for c in (concept or {}).get("coding") or []
        if isinstance(c, dict) and c.get("system") == system
    ]

"""Referrals as FHIR R4 messages: the pinned profiles, the codes, and checking what arrives.

What linkwork conforms to (stated in the README's exchange section, encoded in
tests/test_fhir_profiles.py from each guide's own source):

- base FHIR R4 (4.0.1), including its reference-type rules;
- HL7 Gravity SDOH Clinical Care **2.2.0** (``SDOHCC_VERSION``: HL7/fhir-sdoh-clinicalcare tag
  2.2.0, ``input/fsh/profiles/*.fsh``), for the elements linkwork emits: Condition,
  ServiceRequest, Task For Referral Management, Consent, Procedure. Only codes present in
  2.2.0 are used (its temporary code system has no ``incarceration-status`` or
  ``language-access``: those first appear in 2.3.0);
- UK Core **STU2 2.0.1** (``UKCORE_VERSION``: NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN tag 2.0.1):
  NHS number and ODS identifier systems, the ethnic category extension, its Condition
  category value set (``problem-list-item``), SNOMED CT UK for Condition.code;
- the NHS Booking and Referral Standard's message framing (BaRS: a ``message`` Bundle whose
  first entry is a MessageHeader with a ``message-events-bars`` event and
  ``message-reason-bars`` reason, sender, destination and focus), not its transport or its
  payload profiles (see ``screening.exchange.fhir_build`` and the README).

The builders are in ``screening.exchange.fhir_build`` (re-exported here). Receiving also
reads the format in the field before this one (type ``collection``, linkwork's codes under
``https://linkwork.invalid/fhir/``): the ``LEGACY_*`` names.

linkwork's own code systems, extensions and identifier systems live under ``BASE``
(``https://linkwork.org.uk/fhir``), each documented in the README.
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

SDOHCC_VERSION = "2.2.0"
UKCORE_VERSION = "STU2 2.0.1"

# -- systems --------------------------------------------------------------------------
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
TASK_STATUS = "http://hl7.org/fhir/task-status"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
UK_ETHNIC_EXT = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
UK_ETHNIC_CS = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
BARS_EVENTS = "https://fhir.nhs.uk/CodeSystem/message-events-bars"
BARS_REASON = "https://fhir.nhs.uk/CodeSystem/message-reason-bars"
RFC3986 = "urn:ietf:rfc:3986"
MESSAGE_EVENTS = ("servicerequest-request", "servicerequest-response")

BASE = "https://linkwork.org.uk/fhir"
LW_DOMAIN = f"{BASE}/CodeSystem/need-domain"
LW_SHARES = f"{BASE}/CodeSystem/consent-shares"
LW_ONS4 = f"{BASE}/CodeSystem/ons4-personal-wellbeing"
LW_EQUALITY_EXT = f"{BASE}/StructureDefinition/equality"
LW_PRIORITY_EXT = f"{BASE}/StructureDefinition/need-priority"
ORUK_SERVICE_ID = f"{BASE}/Id/oruk-service"
ORUK_ORGANISATION_ID = f"{BASE}/Id/oruk-organisation"
LW_ENDPOINT = f"{BASE}/Endpoint"

# The format in the field before issue 19 (read, never written).
LEGACY = "https://linkwork.invalid/fhir"
LEGACY_DOMAIN = f"{LEGACY}/CodeSystem/need-domain"
LEGACY_SHARES = f"{LEGACY}/CodeSystem/consent-shares"
LEGACY_TASK_OUTPUT = f"{LEGACY}/CodeSystem/task-output"
LEGACY_EQUALITY_EXT = f"{LEGACY}/StructureDefinition/equality"
LEGACY_CONSENT_METHOD_EXT = f"{LEGACY}/StructureDefinition/consent-method"
LEGACY_PRIORITY_EXT = f"{LEGACY}/StructureDefinition/need-priority"
LEGACY_SERVICE_ID = f"{LEGACY}/Id/directory-service"
LEGACY_HUB_ID = f"{LEGACY}/Id/hub"

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
SR_STATUS = {
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
# The ONS4 personal wellbeing questions (ONS / GSS harmonised standard), coded in LW_ONS4.
ONS4_QUESTIONS = {
    "satisfied": "Overall, how satisfied are you with your life nowadays?",
    "worthwhile": "Overall, to what extent do you feel that the things you do in your life "
    "are worthwhile?",
    "happy": "Overall, how happy did you feel yesterday?",
    "anxious": "Overall, how anxious did you feel yesterday?",
}

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


def iso(value: datetime) -> str:
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


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)]}


@cache
def snomed_beside_icd10() -> dict[str, tuple[str, str]]:
    """ICD-10 code -> the SNOMED CT concept (id, term) sent beside it on a Condition
    (``codes/condition_snomed.csv``: only equivalences taken from a checked source)."""
    text = resources.files("codes").joinpath("condition_snomed.csv").read_text(encoding="utf-8")
    return {
        row["icd10"]: (row["concept_id"], row["term"]) for row in csv.DictReader(text.splitlines())
    }


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
    maps_to: str = ""  # for a SNOMED CT need: the ICD-10 code the catalogue classifies it as
    maps_to_display: str = ""


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
    ods: str = ""  # the target organisation's ODS code, where known

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
    at: datetime | None = None


@dataclass
class StatusChange:
    """One status (or business status) change, as the partner made it."""

    status: str
    at: datetime
    reason: str = ""
    business_status: str = ""


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
    history: list[StatusChange] = field(default_factory=list)


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
    kind = data.get("type")
    if kind not in ("message", "collection"):  # collection: the format before issue 19
        raise E.ExchangeRefused(
            E.INVALID_BUNDLE, f"Bundle type {kind!r}: linkwork exchanges 'message' Bundles"
        )
    if kind == "message":
        first = ((data.get("entry") or [{}])[0] or {}).get("resource") or {}
        if not isinstance(first, dict) or first.get("resourceType") != "MessageHeader":
            raise E.ExchangeRefused(
                E.INVALID_BUNDLE, "a message Bundle's first entry must be its MessageHeader"
            )
        event = first.get("eventCoding") or {}
        if event.get("system") != BARS_EVENTS or event.get("code") not in MESSAGE_EVENTS:
            raise E.ExchangeRefused(
                E.INVALID_BUNDLE,
                f"message event {event.get('code')!r}: linkwork exchanges "
                "servicerequest-request and servicerequest-response",
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


def message_event(data: dict[str, Any]) -> str:
    """The BaRS event code of a message Bundle ('' for the older collection format)."""
    if data.get("type") != "message":
        return ""
    header = ((data.get("entry") or [{}])[0] or {}).get("resource") or {}
    event = header.get("eventCoding") or {}
    return str(event.get("code") or "") if event.get("system") == BARS_EVENTS else ""


# Re-exported (fhir_build imports this module, so it comes last).
from screening.exchange.fhir_build import referral_bundle as referral_bundle  # noqa: E402
from screening.exchange.fhir_build import update_bundle as update_bundle  # noqa: E402

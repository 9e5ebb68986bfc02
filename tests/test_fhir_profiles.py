"""Issue 19: what linkwork sends obeys base FHIR R4, SDOH Clinical Care 2.2.0, UK Core STU2
2.0.1 and BaRS message framing, for the elements linkwork emits.

The profile rules below are written from each guide's own source, cited as
repository@tag:file:line (read with the project's tools):

- SDOHCC = HL7/fhir-sdoh-clinicalcare@2.2.0 (commit 372752f), ``input/fsh/...``;
- UKCORE = NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN@2.0.1 (commit 9751a64);
- BARS = NHSDigital/NHSDigital-FHIR-BookingAndReferrals@0cf8fda;
- base R4 reference-type rules: the allowed target types of every Reference element, as
  fhir.resources (R4B models, the same types as R4 for these elements) lists them.

One test per row of the issue's table (each fails on the format before issue 19), then
every message through both structural validators and every profile rule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir_support import HUB_ODS, World, build_world, resolve, resources, systems
from test_exchange_support import PRACTICE_ODS, node, session_for

SDOHCC_CS = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"

# SDOHCC@2.2.0:input/fsh/valuesets/SDOHCCValueSetSDOHCategory.fsh lines 13-33 (the SDOH
# category value set, = the domain codes of codesystems/SDOHCCCodeSystemTemporaryCodes.fsh
# lines 13-33): no incarceration-status, no language-access (those arrive in 2.3.0).
SDOH_CATEGORIES_2_2_0 = {
    "sdoh-category-unspecified", "food-insecurity", "housing-instability", "homelessness",
    "inadequate-housing", "transportation-insecurity", "financial-insecurity",
    "material-hardship", "educational-attainment", "employment-status", "veteran-status",
    "stress", "social-connection", "intimate-partner-violence", "elder-abuse",
    "personal-health-literacy", "health-insurance-coverage-status", "medical-cost-burden",
    "digital-literacy", "digital-access", "utility-insecurity",
}  # fmt: skip
# SDOHCC@2.2.0:input/fsh/valuesets/SDOHCCValueSetReferralTaskStatus.fsh: FHIR TaskStatus
# less ready and received.
REFERRAL_TASK_STATUSES = {
    "draft", "requested", "accepted", "rejected", "in-progress", "on-hold", "completed",
    "failed", "cancelled", "entered-in-error",
}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> World:
    return build_world(tmp_path_factory.mktemp("fhir-world"), sqlite_template)


def _messages(world: World) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from world.bundles.items()


# -- one test per row of the table ---------------------------------------------------


def test_row1_consent_actor_is_a_type_base_r4_allows(world: World) -> None:
    # Base R4 Consent.provision.actor.reference: Device | Group | CareTeam | Organization |
    # Patient | Practitioner | RelatedPerson | PractitionerRole (not HealthcareService).
    allowed = {
        "Device", "Group", "CareTeam", "Organization", "Patient", "Practitioner",
        "RelatedPerson", "PractitionerRole",
    }  # fmt: skip
    for name in ("referral-service", "referral-hub"):
        bundle = world.bundles[name]
        (consent,) = resources(bundle, "Consent")
        for actor in consent["provision"]["actor"]:
            target = resolve(bundle, actor["reference"])
            assert target["resourceType"] in allowed, (name, target["resourceType"])
    # The service's provider is the recipient: the directory feed's organisation.
    bundle = world.bundles["referral-service"]
    (consent,) = resources(bundle, "Consent")
    target = resolve(bundle, consent["provision"]["actor"][0]["reference"])
    assert target["name"] == "Riverside Advice Trust"


def test_row2_snomed_ct_beside_icd10_where_checked_and_none_where_not(world: World) -> None:
    def codes(bundle: dict[str, Any]) -> list[list[tuple[str, str]]]:
        return sorted(
            [(c["system"], c["code"]) for c in cond["code"]["coding"]]
            for cond in resources(bundle, "Condition")
        )

    # SDOHCC@2.2.0 instances/SDOHCC-ConditionHomelessExample.fsh lines 10-11 (32911000 beside
    # Z59.0) and SDOHCC-ConditionFoodInsecurityExample.fsh lines 10-11 (733423003 beside Z59.4).
    assert codes(world.bundles["referral-service"]) == [
        [(ICD10, "Z59.0"), (SNOMED, "32911000")],
        [(ICD10, "Z59.4"), (SNOMED, "733423003")],
    ]
    # Z60.2 has no checked SNOMED CT equivalent: none is invented; a need coded in SNOMED CT
    # (224226001 No fixed abode) carries the ICD-10 code it is classified as.
    assert codes(world.bundles["referral-mixed"]) == [
        [(ICD10, "Z60.2")],
        [(SNOMED, "224226001"), (ICD10, "Z59.0")],
    ]


def test_row3_outcome_is_a_resulting_activity_procedure_and_ons4_observations(
    world: World,
) -> None:
    bundle = world.bundles["update-completed"]
    assert not any("linkwork.invalid" in s for s in systems(bundle))
    (task,) = resources(bundle, "Task")
    # SDOHCC@2.2.0 profiles/SDOHCCTaskForReferralManagement.fsh lines 44-49: output type
    # resulting-activity, valueReference only Reference(SDOHCCProcedure).
    (output,) = task["output"]
    assert output["type"]["coding"] == [
        {"system": SDOHCC_CS, "code": "resulting-activity", "display": "Resulting Activity"}
    ]
    procedure = resolve(bundle, output["valueReference"])
    assert procedure["resourceType"] == "Procedure" and procedure["status"] == "completed"
    assert procedure["outcome"]["text"] == "Joined the Tuesday food club"
    # SDOHCCProcedure.fsh line 28: basedOn the SDOHCC ServiceRequest.
    assert resolve(bundle, procedure["basedOn"][0])["resourceType"] == "ServiceRequest"
    # Resolved needs as Condition updates: Z59.0 resolved, Z59.4 still active.
    states = {
        resolve(bundle, r)["code"]["coding"][0]["code"]: resolve(bundle, r)["clinicalStatus"][
            "coding"
        ][0]["code"]
        for r in procedure["reasonReference"]
    }
    assert states == {"Z59.0": "resolved", "Z59.4": "active"}
    answers = {
        obs["code"]["coding"][0]["code"]: obs["valueInteger"]
        for obs in resources(bundle, "Observation")
    }
    assert answers == {"satisfied": 6, "worthwhile": 7, "happy": 5, "anxious": 4}
    for obs in resources(bundle, "Observation"):
        assert obs["code"]["coding"][0]["system"] == (
            "https://linkwork.org.uk/fhir/CodeSystem/ons4-personal-wellbeing"
        )
        assert obs["category"][0]["coding"][0]["code"] == "survey"
        assert resolve(bundle, obs["partOf"][0])["id"] == procedure["id"]


def test_row4_every_status_change_travels_in_order_with_its_time(world: World) -> None:
    bundle = world.bundles["update-completed"]
    (task,) = resources(bundle, "Task")
    history = [resolve(bundle, r) for r in task["relevantHistory"]]
    assert [p["resourceType"] for p in history] == ["Provenance"] * 3
    assert [p["activity"]["coding"][0]["code"] for p in history] == [
        "accepted", "in-progress", "completed",
    ]  # fmt: skip
    from datetime import datetime

    times = [datetime.fromisoformat(p["occurredDateTime"]) for p in history]
    assert times == [
        datetime.fromisoformat(world.hub_times[s]) for s in ("accepted", "in-progress", "completed")
    ]
    for p in history:
        assert resolve(bundle, p["target"][0])["id"] == task["id"]
    # An earlier update carries the history up to then.
    (task1,) = resources(world.bundles["update-accepted"], "Task")
    assert len(task1["relevantHistory"]) == 1


def test_row5_task_authored_on_never_changes(world: World) -> None:
    (sent,) = resources(world.bundles["referral-service"], "Task")
    for step in ("accepted", "in-progress", "completed"):
        (task,) = resources(world.bundles[f"update-{step}"], "Task")
        assert task["id"] == sent["id"]
        assert task["authoredOn"] == sent["authoredOn"], step


def test_row6_service_request_supporting_info_references_the_consent(world: World) -> None:
    # SDOHCC@2.2.0 profiles/SDOHCCServiceRequest.fsh lines 101-102: supportingInfo slice
    # only Reference(SDOHCCConsent), must-support.
    for name in ("referral-service", "referral-hub"):
        bundle = world.bundles[name]
        (request,) = resources(bundle, "ServiceRequest")
        kinds = [resolve(bundle, r)["resourceType"] for r in request["supportingInfo"]]
        assert "Consent" in kinds, name


def test_row7_consent_source_is_present(world: World) -> None:
    # SDOHCC@2.2.0 profiles/SDOHCCConsent.fsh lines 28-29: source[x] 1.. MS, only Attachment
    # or Reference(Consent | Contract | DocumentReference | QuestionnaireResponse).
    for name in ("referral-service", "referral-hub"):
        (consent,) = resources(world.bundles[name], "Consent")
        sources = [k for k in consent if k.startswith("source")]
        assert sources == ["sourceAttachment"], name
        assert consent["sourceAttachment"]["title"].startswith("Verbal consent")


def test_row8_requester_is_a_practitioner_role_and_owners_have_real_identifiers(
    world: World,
) -> None:
    bundle = world.bundles["referral-service"]
    (task,) = resources(bundle, "Task")
    (request,) = resources(bundle, "ServiceRequest")
    for who in (task["requester"], request["requester"]):
        role = resolve(bundle, who)
        assert role["resourceType"] == "PractitionerRole"
        org = resolve(bundle, role["organization"])
        assert org["identifier"] == [{"system": ODS, "value": PRACTICE_ODS}]
        assert resolve(bundle, role["practitioner"])["name"] == [{"text": "practice.worker"}]
    owner = resolve(bundle, task["owner"])
    assert owner["resourceType"] == "HealthcareService"
    assert owner["identifier"] == [
        {
            "system": "https://linkwork.org.uk/fhir/Id/oruk-service",
            "value": "svc-101",
            "assigner": {"display": "test-feed"},  # the feed the directory record came from
        }
    ]
    provider = resolve(bundle, owner["providedBy"])
    assert provider["identifier"] == [
        {
            "system": "https://linkwork.org.uk/fhir/Id/oruk-organisation",
            "value": "org-7",
            "assigner": {"display": "test-feed"},
        }
    ]
    # The hub's update: it signs as its own ODS organisation.
    update = world.bundles["update-completed"]
    (header,) = resources(update, "MessageHeader")
    assert resolve(update, header["sender"])["identifier"] == [{"system": ODS, "value": HUB_ODS}]
    for name, message in world.bundles.items():
        assert not any("linkwork.invalid" in s for s in systems(message)), name


def test_a_referral_to_a_hub_partner_names_the_hub_by_its_ods_code(world: World) -> None:
    """Issue 19 leftover: the hub partner's ODS code (``keys trust --ods``) identifies the hub
    Organization the referral is for: the Task's owner, the ServiceRequest's performer, the
    Consent's recipient and the MessageHeader's receiver are that one Organization."""
    from screening.exchange.outbound import build_referral_bundle
    from screening.referrals import get_referral

    for name in ("referral-hub", "referral-mixed"):
        bundle = world.bundles[name]
        (task,) = resources(bundle, "Task")
        (request,) = resources(bundle, "ServiceRequest")
        (consent,) = resources(bundle, "Consent")
        (header,) = resources(bundle, "MessageHeader")
        hub = resolve(bundle, task["owner"])
        assert hub["resourceType"] == "Organization" and hub["name"] == "Northside Hub"
        assert hub["identifier"] == [{"system": ODS, "value": HUB_ODS}], name
        for ref in (
            request["performer"][0],
            consent["provision"]["actor"][0]["reference"],
            header["destination"][0]["receiver"],
        ):
            assert resolve(bundle, ref) == hub, name
    # A referral to a directory service names the service's provider, never the hub's code.
    service = world.bundles["referral-service"]
    assert {"system": ODS, "value": HUB_ODS} not in [
        i for org in resources(service, "Organization") for i in org.get("identifier") or []
    ]
    # Sent to a partner with no ODS code on record: the hub goes by its name only.
    with session_for(world.practice_url) as session:
        referral = get_referral(session, world.made["hub"].referral_id)
        bare = build_referral_bundle(session, referral, practice_ods=PRACTICE_ODS)
        session.rollback()
    (task,) = resources(bare, "Task")
    hub = resolve(bare, task["owner"])
    assert hub["name"] == "Northside Hub" and "identifier" not in hub


def test_row9_condition_categories_exist_in_sdohcc_2_2_0(world: World) -> None:
    import csv

    text = (Path(__file__).parent.parent / "codes" / "domains.csv").read_text(encoding="utf-8")
    rows = {r["key"]: r for r in csv.DictReader(text.splitlines())}
    for key, row in rows.items():
        assert row["gravity_category"] in SDOH_CATEGORIES_2_2_0, key
    assert rows["immigration"]["gravity_category"] != "language-access"
    assert rows["legal"]["gravity_category"] != "incarceration-status"
    for name, bundle in world.bundles.items():
        for res in resources(bundle, "Condition"):
            sdoh = [
                c["code"]
                for cat in res["category"]
                for c in cat["coding"]
                if c["system"] == SDOHCC_CS
            ]
            assert sdoh and set(sdoh) <= SDOH_CATEGORIES_2_2_0, name


def test_row10_every_message_is_a_bars_framed_message_bundle(world: World) -> None:
    # BARS@0cf8fda: CodeSystem/BARS-message-events.xml line 3 (url), 27 servicerequest-request,
    # 32 servicerequest-response; CodeSystem/BARS-message-reason.xml line 3, 26 new, 31 update;
    # StructureDefinition/BARSMessageHeaderServiceRequestRequest.xml lines 19-76 and
    # ...Response.xml lines 19-82: event system+code, destination.receiver, sender, reason
    # (message-reason-bars), focus 1..; a response names the request (response 1..).
    expect = {
        "referral-service": ("servicerequest-request", "new"),
        "referral-hub": ("servicerequest-request", "new"),
        "referral-mixed": ("servicerequest-request", "new"),
        "update-accepted": ("servicerequest-response", "update"),
        "update-in-progress": ("servicerequest-response", "update"),
        "update-completed": ("servicerequest-response", "update"),
    }
    assert set(world.bundles) == set(expect)
    for name, (event, reason) in expect.items():
        bundle = world.bundles[name]
        assert bundle["type"] == "message", name
        header = bundle["entry"][0]["resource"]
        assert header["resourceType"] == "MessageHeader", name
        assert (
            header["eventCoding"]["system"] == "https://fhir.nhs.uk/CodeSystem/message-events-bars"
        )
        assert header["eventCoding"]["code"] == event, name
        assert header["reason"]["coding"][0]["system"] == (
            "https://fhir.nhs.uk/CodeSystem/message-reason-bars"
        )
        assert header["reason"]["coding"][0]["code"] == reason, name
        assert resolve(bundle, header["sender"])["resourceType"] == "Organization"
        assert resolve(bundle, header["destination"][0]["receiver"])["resourceType"] == (
            "Organization"
        )
        focus = [resolve(bundle, f)["resourceType"] for f in header["focus"]]
        assert focus == ["ServiceRequest", "Task"], name
        assert header["id"] == bundle["identifier"]["value"].removeprefix("urn:uuid:")
    request_id = world.bundles["referral-service"]["entry"][0]["resource"]["id"]
    for step in ("accepted", "in-progress", "completed"):
        header = world.bundles[f"update-{step}"]["entry"][0]["resource"]
        assert header["response"] == {"identifier": request_id, "code": "ok"}


# -- every message: the structural validators and the profile rules ---------------------------


def _reference_type_errors(bundle: dict[str, Any]) -> list[str]:
    """Every Reference whose target's type the element does not allow in base R4."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import BaseModel

    types = {
        e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"] if e.get("fullUrl")
    }
    errors: list[str] = []

    def walk(model: Any, where: str) -> None:
        if isinstance(model, list):
            for i, item in enumerate(model):
                walk(item, f"{where}[{i}]")
            return
        if not isinstance(model, BaseModel):
            return
        for name, info in type(model).model_fields.items():
            value = getattr(model, name, None)
            if value is None:
                continue
            allowed = (info.json_schema_extra or {}).get("enum_reference_types")  # type: ignore[union-attr]
            for item in value if isinstance(value, list) else [value]:
                target = getattr(item, "reference", None) if allowed else None
                wrong = isinstance(target, str) and target in types and types[target] not in allowed
                if wrong and "Resource" not in allowed:
                    errors.append(f"{where}.{name} -> {types[target]} (allowed: {allowed})")
            walk(value, f"{where}.{name}")

    walk(Bundle.model_validate(bundle), "Bundle")
    return errors


def test_every_reference_obeys_base_r4_reference_types(world: World) -> None:
    for name, bundle in _messages(world):
        assert _reference_type_errors(bundle) == [], name


def test_the_reference_type_check_is_not_vacuous(world: World) -> None:
    bundle = json.loads(json.dumps(world.bundles["referral-service"]))
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Consent":
            service = next(
                e["fullUrl"]
                for e in bundle["entry"]
                if e["resource"]["resourceType"] == "HealthcareService"
            )
            entry["resource"]["provision"]["actor"][0]["reference"]["reference"] = service
    errors = _reference_type_errors(bundle)
    assert len(errors) == 1 and "HealthcareService" in errors[0]


def profile_errors(bundle: dict[str, Any]) -> list[str]:
    """The pinned profiles' rules for the elements linkwork emits (file:line of each)."""
    out: list[str] = []

    def need(ok: bool, rule: str) -> None:
        if not ok:
            out.append(rule)

    for cond in resources(bundle, "Condition"):
        cats = [c for cat in cond["category"] for c in cat["coding"]]
        # SDOHCC 2.2.0 SDOHCCCondition.fsh lines 24-25: SDOH category from the SDOH VS.
        need(
            all(c["code"] in SDOH_CATEGORIES_2_2_0 for c in cats if c["system"] == SDOHCC_CS),
            "SDOHCCCondition.fsh:25 category[SDOH] from SDOHCCValueSetSDOHCategory",
        )
        # UKCORE 2.0.1 structuredefinitions/UKCore-Condition.xml lines 46-51 (extensible
        # UKCore-ConditionCategory; valuesets/ValueSet-UKCore-ConditionCategory.xml 69-71).
        need(
            {"system": "http://terminology.hl7.org/CodeSystem/condition-category",
             "code": "problem-list-item", "display": "Problem List Item"} in cats,
            "UKCore-Condition.xml:51 category problem-list-item",
        )  # fmt: skip
        need(bool(cond["code"].get("coding")), "SDOHCCCondition.fsh:30 code required")
        need("subject" in cond, "Condition.subject 1..1 (base R4)")
    for req in resources(bundle, "ServiceRequest"):
        need("code" in req, "SDOHCCServiceRequest.fsh:43 code 1..")
        need(req["intent"] == "order", "SDOHCCServiceRequest intent")
        for cat in req.get("category") or []:
            need(
                all(c["code"] in SDOH_CATEGORIES_2_2_0 for c in cat["coding"]),
                "SDOHCCServiceRequest.fsh:37 category[SDOH] required binding",
            )
        if resources(bundle, "Consent"):
            kinds = [resolve(bundle, r)["resourceType"] for r in req.get("supportingInfo") or []]
            need("Consent" in kinds, "SDOHCCServiceRequest.fsh:102 supportingInfo -> Consent")
    for task in resources(bundle, "Task"):
        need(task["intent"] == "order", "SDOHCCTaskForReferralManagement.fsh:22 intent order")
        need(
            task["code"]["coding"][0]["code"] == "fulfill",
            "SDOHCCTaskForReferralManagement.fsh:28-29 code fulfill",
        )
        need(
            resolve(bundle, task["focus"])["resourceType"] == "ServiceRequest",
            "SDOHCCTaskForReferralManagement.fsh:30-31 focus 1.. ServiceRequest",
        )
        need("for" in task, "SDOHCCTaskForReferralManagement.fsh:32 for 1..")
        need("authoredOn" in task, "SDOHCCTaskForReferralManagement.fsh:34 authoredOn 1..")
        need(
            "requester" in task
            and resolve(bundle, task["requester"])["resourceType"]
            in ("PractitionerRole", "Organization"),
            "SDOHCCTaskForReferralManagement.fsh:35-36 requester 1.. PractitionerRole|Organization",
        )
        need(
            task["status"] in REFERRAL_TASK_STATUSES,
            "SDOHCCTaskForReferralManagement.fsh:53 status from ReferralTaskStatus",
        )
        if "statusReason" in task:
            need(bool(task["statusReason"].get("text")), "TaskForReferralManagement.fsh:21")
        for output in task.get("output") or []:
            need(
                resolve(bundle, output["valueReference"])["resourceType"] == "Procedure",
                "SDOHCCTaskForReferralManagement.fsh:47-49 resulting-activity -> Procedure",
            )
    for consent in resources(bundle, "Consent"):
        need(
            {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IDSCL",
             "display": "information disclosure"} in [c for cat in consent["category"]
                                                       for c in cat["coding"]],
            "SDOHCCConsent.fsh:17-18 category IDSCL 1..1",
        )  # fmt: skip
        need("patient" in consent, "SDOHCCConsent.fsh:20 patient 1..")
        need("dateTime" in consent, "SDOHCCConsent.fsh:22 dateTime 1..")
        need(len(consent.get("organization") or []) == 1, "SDOHCCConsent.fsh:26 organization 1..1")
        need(any(k.startswith("source") for k in consent), "SDOHCCConsent.fsh:28 source[x] 1..")
        for performer in consent.get("performer") or []:
            need(
                resolve(bundle, performer)["resourceType"]
                in ("Organization", "RelatedPerson", "Practitioner", "PractitionerRole", "Patient"),
                "SDOHCCConsent.fsh:24 performer types",
            )
    for proc in resources(bundle, "Procedure"):
        need("code" in proc and "subject" in proc, "USCoreProcedure (SDOHCCProcedure.fsh:2)")
        for ref in proc.get("basedOn") or []:
            need(
                resolve(bundle, ref)["resourceType"] == "ServiceRequest",
                "SDOHCCProcedure.fsh:28 basedOn SDOHCCServiceRequest",
            )
        for coding in (proc.get("category") or {}).get("coding") or []:
            need(
                coding["code"] in SDOH_CATEGORIES_2_2_0,
                "SDOHCCProcedure.fsh:37-38 category.coding[SDOH] required binding",
            )
    return out


def test_every_message_has_no_errors_in_both_validators_and_the_profile_rules(
    world: World, tmp_path: Path
) -> None:
    from fhir.resources.R4B.bundle import Bundle

    paths = []
    for name, bundle in _messages(world):
        Bundle.model_validate(bundle)
        assert profile_errors(bundle) == [], name
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(bundle))
        paths.append(path)
    result = node("fhir-validate.mjs", *paths)
    report = json.loads(result.stdout)
    for path in paths:
        assert report[str(path)]["schema"] == [], report[str(path)]
        assert report[str(path)]["fhirjs"] == [], report[str(path)]
    assert result.returncode == 0


def test_the_profile_rules_are_not_vacuous(world: World) -> None:
    bundle = json.loads(json.dumps(world.bundles["referral-service"]))
    for res in resources(bundle):
        if res["resourceType"] == "Consent":
            del res["sourceAttachment"]
        if res["resourceType"] == "ServiceRequest":
            del res["supportingInfo"]
    assert profile_errors(bundle) == [
        "SDOHCCServiceRequest.fsh:102 supportingInfo -> Consent",
        "SDOHCCConsent.fsh:28 source[x] 1..",
    ]


def test_the_canonical_base_is_spelt_once() -> None:
    """Issue 19 leftover: every canonical URL linkwork mints comes from one constant
    (screening.exchange.fhir.BASE); no other module spells the base out."""
    from screening.exchange.fhir import BASE

    root = Path(__file__).parent.parent
    assert BASE == "https://linkwork.org.uk/fhir"
    spelt = [
        str(path.relative_to(root))
        for folder in ("screening", "linkwork", "directory", "codes", "tui")
        for path in sorted((root / folder).rglob("*.py"))
        if "linkwork.org.uk" in path.read_text(encoding="utf-8")
    ]
    assert spelt == ["screening/exchange/fhir.py"]

"""Receive: open a referral file, check it, and apply it to the record.

* ``open_file``: decrypt with our key, verify the signature against the trust store, check
  the Bundle (fhir.resources + references). Nothing is written.
* ``receive``: the same, then, in the caller's transaction:
  - a new referral (at the hub): the person (matched by id, then NHS number), the needs,
    the consent and the referral (status ``requested``, business status "received,
    awaiting triage"), keeping the sender's ids; the same referral again adds nothing;
  - a status update for one of our referrals (at the practice): the status through
    ``screening.referrals.apply_status`` (never backwards, late updates ignored), and the
    outcome once completed or failed. Only the partner the referral was sent to may update it.
  The same file twice (same message id) changes nothing. Every import is audited.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey
from sqlmodel import Session, col, select

from directory.untrusted import ascii_identifier, strip_controls_tree
from screening.audit import record_event, write_lock
from screening.consent import record_consent
from screening.exchange import errors as E
from screening.exchange import fhir
from screening.exchange.jose import Opened, open_sealed
from screening.exchange.keys import find_trusted, trusted_key
from screening.exchange.models import ExchangeMessage, TrustedKey
from screening.models import Consent, Need, Person, Referral, as_utc, utcnow
from screening.naming import referral_words
from screening.needs import add_need
from screening.nhs import normalise_nhs_number
from screening.people import create_person
from screening.referrals import apply_status, create_referral, get_outcome, record_outcome

RECEIVED = "received, awaiting triage"
CONTROLS_NOTE = "control characters were removed from the received text."


@dataclass
class OpenedBundle:
    opened: Opened
    signer: TrustedKey
    bundle: dict[str, Any]
    sha256: str
    controls_removed: int = 0  # strings that held control characters (taken out, as in a feed)

    @property
    def message_id(self) -> str:
        ident = self.bundle.get("identifier") or {}
        value = str(ident.get("value") or "").removeprefix("urn:uuid:")
        return value or str(self.bundle.get("id") or self.sha256)


@dataclass
class Received:
    status: str  # created | updated | unchanged | ignored | duplicate
    kind: str  # referral | update
    referral_id: str
    message_id: str
    partner: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.detail,
            "status": self.status,
            "kind": self.kind,
            "referral_id": self.referral_id,
            "message_id": self.message_id,
            "from": self.partner,
        }


def open_file(session: Session, token: bytes | str, our_key: ECKey) -> OpenedBundle:
    """Decrypt, verify and check; ExchangeRefused with the reason if anything is wrong."""
    raw = token.encode("utf-8", "replace") if isinstance(token, str) else token
    rows: dict[str, TrustedKey] = {}

    def trusted(kid: str) -> ECKey | None:
        row = find_trusted(session, kid)
        if row is None:
            return None
        rows[kid] = row
        return trusted_key(row)

    opened = open_sealed(token, our_key, trusted)
    checked = fhir.check_bundle(opened.payload)
    # Received text is feed text: control characters are taken out of every string (names,
    # reasons, notes, ids) before anything reads it, and the receipt says so.
    try:
        data, removed = strip_controls_tree(checked)
    except ValueError as exc:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, str(exc)) from None
    sha = hashlib.sha256(raw).hexdigest()
    return OpenedBundle(opened, rows[opened.signer_kid], data, sha, removed)


def record_open(session: Session, opened: OpenedBundle, *, actor: str) -> None:
    """Audit that a file was decrypted and read (``referral open``): it shows a record."""
    tasks = fhir.resources_by_type(opened.bundle).get("Task") or []
    request = fhir.resolve(opened.bundle, tasks[0].get("focus")) if len(tasks) == 1 else None
    record_event(
        session,
        actor,
        "open",
        "referral",
        str((request or {}).get("id") or ""),
        {"message_id": opened.message_id, "from": opened.signer.name},
    )


def _task_and_request(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    tasks = fhir.resources_by_type(data).get("Task") or []
    if len(tasks) != 1:
        raise E.ExchangeRefused(
            E.INVALID_BUNDLE, f"a referral Bundle holds exactly one Task (found {len(tasks)})"
        )
    task = tasks[0]
    request = fhir.resolve(data, task.get("focus"))
    if request is None or request.get("resourceType") != "ServiceRequest":
        raise E.ExchangeRefused(E.INVALID_BUNDLE, "the Task's focus is not a ServiceRequest")
    return task, request


def receive(session: Session, token: bytes | str, our_key: ECKey, *, actor: str) -> Received:
    opened = open_file(session, token, our_key)
    data = opened.bundle
    message_id = opened.message_id
    partner = opened.signer.name
    task, request = _task_and_request(data)
    referral_id = str(request.get("id") or "")
    if not referral_id:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, "the ServiceRequest has no id")
    # Another linkwork may be receiving the same file (or the same person) right now:
    # wait for it to finish, so what is looked up below includes what it wrote (then this
    # file is a duplicate) instead of both creating the same person.
    write_lock(session)
    ours = session.get(Referral, referral_id)
    kind = "update" if ours is not None and ours.direction == "outgoing" else "referral"
    seen = session.exec(
        select(ExchangeMessage).where(
            ExchangeMessage.direction == "in", ExchangeMessage.message_id == message_id
        )
    ).first()
    if seen is not None:
        return Received(
            "duplicate",
            seen.kind,
            seen.referral_id,
            message_id,
            partner,
            {"note": "this file was received before: nothing changed"},
        )
    if kind == "update":
        assert ours is not None
        result = _apply_update(session, ours, task, data, partner, message_id, actor)
    else:
        result = _apply_referral(session, ours, task, request, data, partner, message_id, actor)
    if opened.controls_removed:
        result.detail["controls_removed"] = opened.controls_removed
        result.detail["note"] = " ".join(
            filter(None, [str(result.detail.get("note") or ""), CONTROLS_NOTE])
        )
    session.add(
        ExchangeMessage(
            message_id=message_id,
            direction="in",
            kind=kind,
            referral_id=referral_id,
            partner=partner,
            partner_kid=opened.opened.signer_kid,
            task_status=str(task.get("status") or ""),
            task_modified=fhir.parse_instant(task.get("lastModified")),
            applied=result.status in ("created", "updated"),
            note=str(result.detail.get("note", ""))[:500],
            file_sha256=opened.sha256,
            created_at=utcnow(),
            actor=actor,
        )
    )
    session.flush()
    person_id = ours.person_id if ours is not None else result.detail.get("person_id")
    record_event(
        session,
        actor,
        "import",
        "referral",
        referral_id,
        {
            "kind": kind,
            "from": partner,
            "message_id": message_id,
            "result": result.status,
            "task_status": task.get("status"),
            **({"controls_removed": opened.controls_removed} if opened.controls_removed else {}),
        },
        person_id=person_id,
    )
    return result


# -- at the practice: a status update --------------------------------------------------


def _sent_to(session: Session, referral: Referral) -> set[str]:
    rows = session.exec(
        select(ExchangeMessage).where(
            ExchangeMessage.referral_id == referral.id, ExchangeMessage.direction == "out"
        )
    ).all()
    return {row.partner for row in rows}


def _outputs(task: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The outcome: the ``resulting-activity`` Procedure (its outcome text the note, its
    reasons the Conditions with their clinical status) and the ONS4 Observations part of
    it; or, in the older format, linkwork's own ``Task.output`` codes."""
    out: dict[str, Any] = {"ons4": {}, "resolved": {}, "note": ""}
    for item in task.get("output") or []:
        if "resulting-activity" in fhir.codes_in(item.get("type"), fhir.SDOHCC):
            procedure = fhir.resolve(data, item.get("valueReference"))
            if procedure and procedure.get("resourceType") == "Procedure":
                _procedure_outcome(procedure, data, out)
            continue
        codes = fhir.codes_in(item.get("type"), fhir.LEGACY_TASK_OUTPUT)
        if not codes:
            continue
        code = codes[0]
        if code == "outcome-note":
            out["note"] = str(item.get("valueString") or "")
        elif code.startswith("ons4-") and code[5:] in fhir.ONS4:
            _ons4(out, code[5:], item.get("valueInteger"))
        elif code in ("need-resolved", "need-not-resolved"):
            target = fhir.resolve(data, item.get("valueReference"))
            if target and target.get("id"):
                out["resolved"][str(target["id"])] = code == "need-resolved"
    return out


def _ons4(out: dict[str, Any], name: str, value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10:
        out["ons4"][name] = value


def _procedure_outcome(
    procedure: dict[str, Any], data: dict[str, Any], out: dict[str, Any]
) -> None:
    out["note"] = str((procedure.get("outcome") or {}).get("text") or "")
    for reason in procedure.get("reasonReference") or []:
        condition = fhir.resolve(data, reason)
        if condition and condition.get("resourceType") == "Condition" and condition.get("id"):
            status = fhir.codes_in(condition.get("clinicalStatus"), fhir.CONDITION_CLINICAL)
            out["resolved"][str(condition["id"])] = status == ["resolved"]
    mine = {fhir.urn(str(procedure.get("id"))), f"Procedure/{procedure.get('id')}"}
    for obs in fhir.resources_by_type(data).get("Observation") or []:
        if not any(p.get("reference") in mine for p in obs.get("partOf") or []):
            continue
        for name in fhir.codes_in(obs.get("code"), fhir.LW_ONS4):
            if name in fhir.ONS4:
                _ons4(out, name, obs.get("valueInteger"))


def _changes(task: dict[str, Any], data: dict[str, Any]) -> list[fhir.StatusChange]:
    """The status changes an update carries, oldest first: each Provenance of
    ``Task.relevantHistory`` (status in ``activity``, time ``occurredDateTime``), then the
    Task's own status as of ``lastModified`` if the history does not end there. The older
    format carries the Task's status alone."""
    changes: list[fhir.StatusChange] = []
    for item in task.get("relevantHistory") or []:
        prov = fhir.resolve(data, item)
        if not prov or prov.get("resourceType") != "Provenance":
            raise E.ExchangeRefused(E.INVALID_BUNDLE, "Task.relevantHistory is not a Provenance")
        codes = fhir.codes_in(prov.get("activity"), fhir.TASK_STATUS)
        at = fhir.parse_instant(prov.get("occurredDateTime") or prov.get("recorded"))
        if not codes or at is None:
            raise E.ExchangeRefused(
                E.INVALID_BUNDLE, f"Provenance {prov.get('id')} has no task status or time"
            )
        changes.append(
            fhir.StatusChange(
                status=codes[0],
                at=at,
                reason=" ".join(str(r.get("text") or "") for r in prov.get("reason") or []),
                business_status=str((prov.get("activity") or {}).get("text") or ""),
            )
        )
    changes.sort(key=lambda c: c.at)
    at = fhir.parse_instant(task.get("lastModified")) or fhir.parse_instant(data.get("timestamp"))
    if at is None:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, "the Task has no lastModified time")
    status = str(task.get("status") or "")
    if not changes or at > changes[-1].at:  # the Task's own status, unless history ends there
        changes.append(
            fhir.StatusChange(
                status=status,
                at=at,
                reason=str((task.get("statusReason") or {}).get("text") or ""),
                business_status=str((task.get("businessStatus") or {}).get("text") or ""),
            )
        )
    return changes


def _apply(
    session: Session,
    referral: Referral,
    status: str,
    partner: str,
    at: datetime,
    reason: str,
    business: Any,
) -> bool:
    try:
        return apply_status(
            session,
            referral,
            status,
            by=partner,
            at=at,
            reason=reason,
            business_status=str(business) if business is not None else None,
            source=f"remote:{partner}",
        )
    except ValueError as exc:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, str(exc)) from None


def _apply_update(
    session: Session,
    referral: Referral,
    task: dict[str, Any],
    data: dict[str, Any],
    partner: str,
    message_id: str,
    actor: str,
) -> Received:
    if partner not in _sent_to(session, referral):
        raise E.ExchangeRefused(
            E.WRONG_PARTNER,
            f"{referral_words(session, referral)} was not sent to {partner!r}, "
            "so it cannot update it",
        )
    changes = _changes(task, data)
    status, at = changes[-1].status, changes[-1].at
    before = referral.status
    # Updates are ordered by the partner's own clock (the change times already applied),
    # so a skew between its clock and ours cannot drop a newer update. Each change the
    # update carries that is newer than those is applied in order, with its own time.
    applied = [
        as_utc(t)
        for t in session.exec(
            select(ExchangeMessage.task_modified).where(
                ExchangeMessage.referral_id == referral.id,
                ExchangeMessage.direction == "in",
                col(ExchangeMessage.applied).is_(True),
            )
        ).all()
        if t is not None
    ]
    last = max(applied) if applied else None
    moved = False
    for change in changes:
        if last is not None and change.at <= last:
            continue
        effective = max(change.at, as_utc(referral.status_at) + timedelta(microseconds=1))
        business = change.business_status or None
        if _apply(session, referral, change.status, partner, effective, change.reason, business):
            moved = True
        last = change.at
    detail: dict[str, Any] = {"from_status": before, "to_status": referral.status}
    outcome_added = False
    if referral.status in ("completed", "failed") and get_outcome(session, referral) is None:
        outputs = _outputs(task, data)
        if outputs["note"] or outputs["ons4"] or outputs["resolved"]:
            known = {n for n in outputs["resolved"] if session.get(Need, n) is not None}
            record_outcome(
                session,
                referral,
                actor=partner,
                resolved={k: v for k, v in outputs["resolved"].items() if k in known},
                ons4=outputs["ons4"],
                note=outputs["note"],
                at=at,
            )
            outcome_added = True
    detail["outcome"] = outcome_added
    if moved or outcome_added:
        return Received("updated", "update", referral.id, message_id, partner, detail)
    detail["note"] = (
        f"update says {status} as of {at.isoformat()}, but the referral is already "
        f"{referral.status} as of {as_utc(referral.status_at).isoformat()}: ignored"
    )
    return Received("ignored", "update", referral.id, message_id, partner, detail)


# -- at the hub: a new referral, or the practice cancelling one ---------------------------


def _apply_cancellation(
    session: Session, referral: Referral, task: dict[str, Any], partner: str, message_id: str
) -> Received:
    came_from = session.exec(
        select(ExchangeMessage.partner).where(
            ExchangeMessage.referral_id == referral.id,
            ExchangeMessage.direction == "in",
            ExchangeMessage.kind == "referral",
        )
    ).all()
    if partner not in came_from:
        raise E.ExchangeRefused(
            E.WRONG_PARTNER,
            f"{referral_words(session, referral)} did not come from {partner!r}",
        )
    at = fhir.parse_instant(task.get("lastModified"))
    if at is None:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, "the Task has no lastModified time")
    reason = str((task.get("statusReason") or {}).get("text") or "cancelled by the referrer")
    before = referral.status
    try:
        moved = apply_status(
            session, referral, "cancelled", by=partner, at=at, reason=reason,
            source=f"remote:{partner}",
        )  # fmt: skip
    except ValueError as exc:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, str(exc)) from None
    detail: dict[str, Any] = {"from_status": before, "to_status": referral.status}
    if not moved:
        detail["note"] = f"the referral is already {referral.status}: cancellation ignored"
    return Received(
        "updated" if moved else "ignored", "referral", referral.id, message_id, partner, detail
    )


def _equality(patient: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ext in patient.get("extension") or []:
        if ext.get("url") == fhir.UK_ETHNIC_EXT:
            codes = fhir.codes_in(ext.get("valueCodeableConcept"), fhir.UK_ETHNIC_CS)
            if codes:
                out["ethnic_category"] = codes[0]
        elif ext.get("url") in (fhir.LW_EQUALITY_EXT, fhir.LEGACY_EQUALITY_EXT):
            for part in ext.get("extension") or []:
                if part.get("url") in fhir.EQUALITY_FIELDS and part.get("valueCode"):
                    out[str(part["url"])] = str(part["valueCode"])
    return out


def _person(session: Session, patient: dict[str, Any], data: dict[str, Any], actor: str) -> Person:
    pid = str(patient.get("id") or "")
    existing = session.get(Person, pid) if pid else None
    if existing is not None:
        return existing
    nhs = fhir.identifier_value(patient, fhir.NHS_NUMBER) or None
    if nhs:
        try:
            nhs = normalise_nhs_number(nhs)  # ASCII digits only: never a second record
        except ValueError as exc:
            raise E.ExchangeRefused(
                E.INVALID_BUNDLE, f"the Patient cannot be recorded: {exc}"
            ) from None
        match = session.exec(select(Person).where(Person.nhs_number == nhs)).first()
        if match is not None:
            return match
    names = patient.get("name") or [{}]
    name = names[0]
    given = " ".join(str((name.get("given") or [""])[0] or "").split())
    family = " ".join(str(name.get("family") or "").split())
    birth = patient.get("birthDate")
    if not (given and family and birth):
        raise E.ExchangeRefused(
            E.INVALID_BUNDLE, "the Patient lacks a given name, family name or birth date"
        )
    telecom = {t.get("system"): t.get("value") for t in patient.get("telecom") or []}
    address = (patient.get("address") or [{}])[0]
    practice = fhir.resolve(data, (patient.get("generalPractitioner") or [None])[0])
    equality: dict[str, Any] = dict(_equality(patient))
    try:
        return create_person(
            session,
            id=pid or None,
            given_name=given,
            family_name=family,
            birth_date=date.fromisoformat(str(birth)),
            actor=actor,
            nhs_number=nhs,
            postcode=str(address.get("postalCode") or ""),
            phone=str(telecom.get("phone") or ""),
            email=str(telecom.get("email") or ""),
            practice_ods=fhir.identifier_value(practice, fhir.ODS),
            **equality,
        )
    except (ValueError, LookupError) as exc:
        raise E.ExchangeRefused(
            E.INVALID_BUNDLE, f"the Patient cannot be recorded: {exc}"
        ) from None


_PRIORITY = (fhir.LW_PRIORITY_EXT, fhir.LEGACY_PRIORITY_EXT)


def _need(session: Session, condition: dict[str, Any], person: Person, actor: str) -> Need:
    nid = str(condition.get("id") or "")
    existing = session.get(Need, nid) if nid else None
    if existing is not None:
        return existing
    codings = (condition.get("code") or {}).get("coding") or []
    coding = [c for c in codings if c.get("system") in (fhir.ICD10, fhir.SNOMED)]
    domain_only = [c for c in codings if c.get("system") in (fhir.LW_DOMAIN, fhir.LEGACY_DOMAIN)]
    if coding:
        code = str(coding[0].get("code"))
    elif domain_only:
        code = str(domain_only[0].get("code"))  # a need recorded by its domain alone
    else:
        raise E.ExchangeRefused(
            E.INVALID_BUNDLE, f"Condition {nid} has no ICD-10, SNOMED CT or need-domain code"
        )
    same = session.exec(
        select(Need).where(Need.person_id == person.id, Need.code == code, Need.status == "active")
    ).first()
    if same is not None:
        return same
    words = " ".join(str(n.get("text") or "") for n in condition.get("note") or []).strip()
    priority = "medium"
    for ext in condition.get("extension") or []:
        if ext.get("url") in _PRIORITY and ext.get("valueCode"):
            priority = str(ext["valueCode"])
    try:
        return add_need(
            session,
            person,
            code,
            actor=actor,
            words=words,
            priority=priority,
            recorded_at=fhir.parse_instant(condition.get("recordedDate")),
            id=nid or None,
        )
    except (ValueError, LookupError) as exc:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, f"Condition {nid}: {exc}") from None


def _local_target(session: Session, target: dict[str, Any] | None) -> tuple[int | None, str]:
    """A directory service here with the same feed id, else a named hub (the target's name)."""
    from directory.models import Service

    if target is None:
        return None, "unknown service"
    source_id = fhir.identifier_value(target, fhir.ORUK_SERVICE_ID) or fhir.identifier_value(
        target, fhir.LEGACY_SERVICE_ID
    )
    if source_id:
        service = session.exec(
            select(Service).where(Service.source_id == source_id).order_by(col(Service.id))
        ).first()
        if service is not None:
            return service.id, ""
    name = str(target.get("name") or source_id or fhir.identifier_value(target, fhir.LEGACY_HUB_ID))
    return None, name or "unknown service"


def _consent_method(consent: dict[str, Any]) -> str:
    """How consent was given: the first word of ``sourceAttachment.title`` ("Verbal
    consent, ..."), or the older format's extension; verbal if neither says."""
    title = str((consent.get("sourceAttachment") or {}).get("title") or "").split()
    if title and title[0].lower() in ("verbal", "written"):
        return title[0].lower()
    for ext in consent.get("extension") or []:
        if ext.get("url") == fhir.LEGACY_CONSENT_METHOD_EXT and ext.get("valueCode") in (
            "verbal",
            "written",
        ):
            return str(ext["valueCode"])
    return "verbal"


def _apply_referral(
    session: Session,
    existing: Referral | None,
    task: dict[str, Any],
    request: dict[str, Any],
    data: dict[str, Any],
    partner: str,
    message_id: str,
    actor: str,
) -> Received:
    referral_id = str(request["id"])
    if existing is not None and str(task.get("status")) == "cancelled":
        return _apply_cancellation(session, existing, task, partner, message_id)
    if existing is None and str(task.get("status")) == "cancelled":
        raise E.ExchangeRefused(
            E.UNKNOWN_REFERRAL, f"a cancellation for referral {referral_id}, never received here"
        )
    if existing is not None:
        return Received(
            "unchanged",
            "referral",
            referral_id,
            message_id,
            partner,
            {
                "note": "this referral was received before: nothing new",
                "person_id": existing.person_id,
            },
        )
    consents = [
        c for c in fhir.resources_by_type(data).get("Consent") or [] if c.get("status") == "active"
    ]
    if not consents:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, "the referral carries no active Consent")
    patient = fhir.resolve(data, request.get("subject"))
    if patient is None or patient.get("resourceType") != "Patient":
        raise E.ExchangeRefused(E.INVALID_BUNDLE, "the ServiceRequest's subject is not a Patient")
    person = _person(session, patient, data, actor)
    conditions = [
        c
        for c in (fhir.resolve(data, r) for r in request.get("reasonReference") or [])
        if c is not None and c.get("resourceType") == "Condition"
    ]
    needs = [_need(session, c, person, actor) for c in conditions]
    if not needs:
        raise E.ExchangeRefused(E.INVALID_BUNDLE, "the referral names no needs (Conditions)")
    performer = fhir.resolve(data, (request.get("performer") or [None])[0])
    service_id, hub = _local_target(session, performer)
    requester = fhir.resolve(data, request.get("requester")) or fhir.resolve(
        data, task.get("requester")
    )
    origin = fhir.identifier_value(requester, fhir.ODS) if requester else ""
    if not origin:
        origin = fhir.identifier_value(
            fhir.resolve(data, (patient.get("generalPractitioner") or [None])[0]), fhir.ODS
        )
    try:
        origin = ascii_identifier(origin or "", "the referrer's ODS code", allowed="")
    except ValueError as exc:  # ASCII by definition, as everywhere
        raise E.ExchangeRefused(E.INVALID_BUNDLE, str(exc)) from None
    consent_res = consents[0]
    classes = {"coding": (consent_res.get("provision") or {}).get("class")}
    shares = fhir.codes_in(classes, fhir.LW_SHARES) or fhir.codes_in(classes, fhir.LEGACY_SHARES)
    method = _consent_method(consent_res)
    consent_id = str(consent_res.get("id") or "")
    consent = session.get(Consent, consent_id) if consent_id else None
    try:
        if consent is None:
            consent = record_consent(
                session,
                person,
                actor=actor,
                service_id=service_id,
                hub=hub or None,
                shares=shares or None,
                method=method,
                given_at=min(fhir.parse_instant(consent_res.get("dateTime")) or utcnow(), utcnow()),
                id=consent_id or None,
            )
        notes = " ".join(str(n.get("text") or "") for n in request.get("note") or []).strip()
        referral = create_referral(
            session,
            person,
            needs,
            actor=actor,
            service_id=service_id,
            hub=hub or None,
            reason=notes,
            send=True,
            direction="incoming",
            origin=origin or partner,
            business_status=RECEIVED,
            require_consent=False,
            id=referral_id,
        )
    except (ValueError, LookupError) as exc:
        raise E.ExchangeRefused(
            E.INVALID_BUNDLE, f"the referral cannot be recorded: {exc}"
        ) from None
    referral.consent_id = consent.id
    authored = fhir.parse_instant(task.get("authoredOn") or request.get("authoredOn"))
    if authored is not None:  # the Task's authoredOn never changes between the partners
        referral.created_at = min(authored, as_utc(referral.created_at))
    session.add(referral)
    session.flush()
    return Received(
        "created",
        "referral",
        referral_id,
        message_id,
        partner,
        {
            "person_id": person.id,
            "needs": [n.id for n in needs],
            "referral_status": referral.status,
            "business_status": referral.business_status,
        },
    )

"""Consent and referrals: refer with consent, move a referral on, record its outcome."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session

from directory.models import Service
from directory.service import get_service
from linkwork.actions import mesh as delivery
from linkwork.actions.exchange import our_key
from linkwork.actions.rows import (
    ONS4_LABELS,
    ons4_before,
    outcome_items,
    referral_row,
    service_name,
)
from linkwork.errors import NotFound
from linkwork.workspace import Workspace
from screening.audit import record_event
from screening.consent import consent_dict, get_consent, list_consents, withdraw_consent
from screening.consent import record_consent as record_consent_in
from screening.models import Need, Person, utcnow
from screening.needs import list_needs
from screening.people import get_person, show_person
from screening.questionnaire import load_questionnaire
from screening.referrals import (
    ONS4_FIELDS,
    complete_referral,
    create_referral,
    get_referral,
    referral_dict,
    referral_needs,
)
from screening.referrals import followups as followups_in
from screening.referrals import list_referrals as list_in_record
from screening.referrals import record_outcome as record_outcome_in
from screening.referrals import set_status as set_status_in

# -- choosing what a referral is for and where it goes ------------------------------------


def resolve_needs(session: Session, person: Person, refs: Iterable[str]) -> list[Need]:
    """The person's active needs named by ``refs``: each an id, the first 8+ characters of
    one, or a code (``Z59.0`` or ``z590``); LookupError naming the one not found."""
    active = list_needs(session, person, status="active")
    chosen: list[Need] = []
    for ref in refs:
        text = str(ref).strip()
        found = [
            n
            for n in active
            if n.id == text
            or (len(text) >= 8 and n.id.startswith(text.lower()))
            or n.code.lower() == text.lower()
            or n.code.replace(".", "").lower() == text.replace(".", "").lower()
        ]
        if not found:
            raise LookupError(
                f"{person.given_name} {person.family_name} has no active need {text!r}"
            )
        chosen += [n for n in found if n not in chosen]
    return chosen


def service_id_of(session: Session, service: int | str | None) -> int | None:
    """A directory service's internal id: ``int`` is already one (the app's choice);
    text is an internal or a feed's id (``--service``)."""
    if service is None:
        return None
    if isinstance(service, int):
        if session.get(Service, service) is None:
            raise NotFound(f"unknown service {service}")
        return service
    found = get_service(session, service)
    assert found.id is not None
    return found.id


# -- consent -------------------------------------------------------------------------------


def record_consent(
    ws: Workspace,
    person_ref: str,
    *,
    service: int | str | None = None,
    hub: str | None = None,
    shares: str | list[str] | None = None,
    method: str = "verbal",
) -> dict[str, Any]:
    """Record the person's consent to share with a service or a named hub."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        consent = record_consent_in(
            session,
            person,
            actor=ws.user,
            service_id=service_id_of(session, service),
            hub=hub,
            shares=shares,
            method=method,
        )
        return consent_dict(consent)


def withdraw(ws: Workspace, consent_ref: str, *, reason: str = "") -> dict[str, Any]:
    """Withdraw consent: nothing more is shared under it."""
    with ws.session() as session:
        consent = get_consent(session, consent_ref)
        return consent_dict(withdraw_consent(session, consent, actor=ws.user, reason=reason))


def consents(ws: Workspace, person_ref: str) -> list[dict[str, Any]]:
    """A person's consents (the record is audited as viewed); NotFound when none."""
    with ws.session() as session:
        person = show_person(session, person_ref, actor=ws.user)
        found = [consent_dict(c) for c in list_consents(session, person)]
    if not found:
        raise NotFound("no consent recorded")
    return found


# -- refer ---------------------------------------------------------------------------------


def refer(
    ws: Workspace,
    person_ref: str,
    needs: Iterable[str],
    *,
    service: int | str | None = None,
    hub: str | None = None,
    reason: str = "",
    consent: tuple[str | list[str] | None, str] | None = None,
    send_to: str | None = None,
    draft: bool = False,
    key_file: Path | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Refer a person for some of their active needs to a directory service or a hub, in
    one transaction: record their consent when given now (``(shares, method)``; without
    it the active consent already recorded is required), record the referral
    (``requested``, or ``draft`` kept unsent), and with ``send_to`` export the signed,
    encrypted file to the outbox. All or nothing: if the file cannot be made or written,
    nothing is recorded. Our key is opened first (``KeyLocked`` before anything is
    written). The referral (``referral_dict``) with ``consent``, ``file``, ``sent_to``
    and a ``message`` in words."""
    refs = [str(n) for n in needs]
    if not refs:
        raise ValueError("choose at least one need for this referral")
    if draft and send_to:
        raise ValueError("a draft is not sent: choose a partner to send to, or a draft")
    signer = our_key(ws, key_file, passphrase) if send_to else None
    with ws.session() as session:
        person = get_person(session, person_ref)
        chosen = resolve_needs(session, person, refs)
        target = service_id_of(session, service)
        given = None
        if consent is not None:
            shares, method = consent
            given = record_consent_in(
                session,
                person,
                actor=ws.user,
                service_id=target,
                hub=hub,
                shares=shares,
                method=method,
            )
        referral = create_referral(
            session,
            person,
            chosen,
            actor=ws.user,
            service_id=target,
            hub=hub,
            reason=reason,
            send=not draft,
            followup_days=ws.settings.followup_days,
        )
        queued = (
            delivery.queue_referral(ws, session, referral, signer, send_to)
            if signer and send_to
            else None
        )
        data = referral_dict(session, referral, full=True)
        due = referral.followup_due
    sent = delivery.send_queued(ws, queued.id) if queued is not None else None
    short = data["id"][:8]
    when = f", follow up by {due.strftime('%d %b %Y')}" if due else ""
    if draft:
        message = f"Referral saved as DRAFT ({short}): not sent."
    elif sent is not None and sent["route"] == "files":
        message = (
            f"Referral sent: REQUESTED ({short}{when}). "
            f"Encrypted file for {sent['to']} written to {sent['transport_id']}."
        )
    elif sent is not None:
        message = f"Referral recorded: REQUESTED ({short}{when}). {sent['message']}."
    else:
        message = (
            f"Referral recorded: REQUESTED ({short}{when}). No file written yet: send it "
            f"with `linkwork referral export {short} --to PARTNER`."
        )
    return data | {
        "consent": consent_dict(given) if given is not None else None,
        "file": sent["transport_id"] if sent and sent["route"] == "files" else None,
        "sent_to": sent["to"] if sent else None,
        "delivery": sent,
        "message": message,
    }


# -- lists ---------------------------------------------------------------------------------


def list_referrals(
    ws: Workspace,
    *,
    status: str | None = None,
    person_ref: str | None = None,
    direction: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Referrals, newest first (a person's record is audited as viewed); NotFound if none."""
    with ws.session() as session:
        person = show_person(session, person_ref, actor=ws.user) if person_ref else None
        found = [
            referral_dict(session, r)
            for r in list_in_record(
                session, person=person, status=status, direction=direction, limit=limit
            )
        ]
    if not found:
        raise NotFound("no referrals")
    return found


def show_referral(ws: Workspace, ref: str) -> dict[str, Any]:
    """A referral in full (needs, history, outcome), audited as viewed."""
    with ws.session() as session:
        referral = get_referral(session, ref)
        record_event(
            session, ws.user, "view", "referral", referral.id, person_id=referral.person_id
        )
        from linkwork.actions.sharing import shared_items

        shared = shared_items(session, referral, "")
        return referral_dict(session, referral, full=True) | {
            "delivery": delivery.deliveries(session, referral.id),
            "shared": [
                {"at": i["at"].isoformat(), "what": i["what"], "line": i["detail"]} for i in shared
            ],
        }


def followups(ws: Workspace, *, soon: int = 3, today: date | None = None) -> list[dict[str, Any]]:
    """Open outgoing referrals whose follow-up is overdue or due within ``soon`` days,
    most overdue first (``followup``: overdue | due-soon; ``days_overdue``)."""
    with ws.session() as session:
        found = [
            referral_dict(session, f.referral) | {"followup": f.state, "days_overdue": f.days}
            for f in followups_in(session, today=today, soon_days=soon)
        ]
    if not found:
        raise NotFound("no follow-ups due")
    return found


def referral_board(ws: Workspace, today: date) -> list[dict[str, Any]]:
    """Every referral as a ``referral_row`` (the app's board), with its ``short_id`` and
    where its message is (``delivery``: ``mesh.delivery_cell``)."""
    with ws.session() as session:
        referrals = list_in_record(session, limit=1000)
        where = delivery.board_deliveries(session, referrals)
        return [
            referral_row(session, r, today) | {"short_id": r.id[:8], "delivery": where[r.id]}
            for r in referrals
        ]


# -- status and outcome --------------------------------------------------------------------


def ons4_score(value: str | int | None, label: str) -> int | None:
    """One ONS4 answer: empty is None (not asked), else a whole number from 0 to 10;
    ValueError naming the question otherwise."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    # ASCII digits only, as every number typed: int() would take an Arabic-Indic 7 as 7
    # and a 5,000-digit number with Python's own message.
    if not (text.isascii() and text.isdigit()) or len(text) > 2 or not 0 <= int(text) <= 10:
        raise ValueError(f"{label}: use a whole number from 0 to 10, or leave it empty.")
    return int(text)


def parse_ons4(value: str | Mapping[str, str | int | None] | None) -> dict[str, int | None]:
    """The four ONS4 answers from ``"7,8,,2"`` (satisfied, worthwhile, happy, anxious;
    empty for not asked) or from a mapping of field -> text or number."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != len(ONS4_FIELDS):
            raise ValueError("ONS4 takes four numbers: satisfied,worthwhile,happy,anxious")
        value = dict(zip(ONS4_FIELDS, parts, strict=True))
    unknown = sorted(set(value) - set(ONS4_FIELDS))
    if unknown:
        raise ValueError(f"unknown ONS4 item {unknown[0]!r}: use {', '.join(ONS4_FIELDS)}")
    return {name: ons4_score(value.get(name), ONS4_LABELS[name]) for name in ONS4_FIELDS}


def _refs(resolved: str | Iterable[str] | None) -> list[str]:
    items = resolved.split(",") if isinstance(resolved, str) else list(resolved or ())
    return [c.strip() for c in items if c.strip()]


def set_status(
    ws: Workspace,
    ref: str,
    status: str,
    *,
    reason: str = "",
    business: str | None = None,
    resolved: str | Iterable[str] | None = None,
    ons4: str | Mapping[str, str | int | None] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Move a referral on in its workflow. With an outcome (any of ``resolved`` needs,
    ids or codes; ``ons4`` after; ``note``) the status must be completed or failed, and
    the status and the outcome are saved together: both or neither."""
    with_outcome = resolved is not None or ons4 is not None or note is not None
    if with_outcome and status not in ("completed", "failed"):
        raise ValueError(f"an outcome goes with completed or failed, not {status}")
    scores = parse_ons4(ons4)
    with ws.session() as session:
        referral = get_referral(session, ref)
        needs, words = _refs(resolved), note or ""
        if with_outcome and status == "completed":
            complete_referral(
                session,
                referral,
                actor=ws.user,
                reason=reason,
                business_status=business,
                resolved=needs,
                ons4=scores,
                note=words,
            )
        else:
            set_status_in(
                session, referral, status, actor=ws.user, reason=reason, business_status=business
            )
            if with_outcome:
                record_outcome_in(
                    session, referral, actor=ws.user, resolved=needs, ons4=scores, note=words
                )
        queued = delivery.queue_update(ws, session, referral)  # at a hub: back to the sender
        data = referral_dict(session, referral, full=True)
    delivery.send_queued(ws, queued.id if queued is not None else None)
    return data


def record_outcome(
    ws: Workspace,
    ref: str,
    *,
    resolved: str | Iterable[str] | None = None,
    ons4: str | Mapping[str, str | int | None] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """The outcome of a referral already completed or failed."""
    scores = parse_ons4(ons4)
    with ws.session() as session:
        referral = get_referral(session, ref)
        record_outcome_in(
            session, referral, actor=ws.user, resolved=_refs(resolved), ons4=scores, note=note
        )
        queued = delivery.queue_update(ws, session, referral)  # at a hub: back to the sender
        data = referral_dict(session, referral, full=True)
    delivery.send_queued(ws, queued.id if queued is not None else None)
    return data


def outcome_form(ws: Workspace, ref: str) -> dict[str, Any]:
    """What the outcome form shows: the referral's needs, the four ONS4 questions (worded
    as published) and the person's latest ONS4 answers before now."""
    questionnaire = load_questionnaire()
    with ws.session() as session:
        referral = get_referral(session, ref)
        before = ons4_before(session, referral.person_id, utcnow())
        needs = [
            {"id": n.id, "code": n.code, "display": n.display, "status": n.status}
            for n in referral_needs(session, referral)
        ]
    questions = []
    for name in ONS4_FIELDS:
        try:
            text = questionnaire.question(f"ons4.{name}").text
        except (LookupError, ValueError):
            text = ""
        questions.append(
            {
                "key": name,
                "label": ONS4_LABELS[name],
                "text": text,
                "before": before["values"][name],
            }
        )
    return {"needs": needs, "questions": questions, "before_when": before["when"]}


def outcome_text(ws: Workspace, ref: str) -> str:
    """A referral's recorded outcome in one line of words ('' when none yet)."""
    with ws.session() as session:
        referral = get_referral(session, ref)
        items = outcome_items(session, referral, service_name(session, referral))
        return str(items[0]["detail"]) if items else ""

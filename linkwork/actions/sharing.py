"""Minimum necessary sharing: what a referral shares, and with whom, in words.

The referral wizard's review shows what *will* be shared (``preview``: the Bundle the send
would make, built in memory by the same builders from the same record, then read back),
and whatever is sent keeps what *was* shared (``keep``: read from the sealed Bundle itself,
stored with the referral's message in the exchange log), shown on the person's timeline
(``shared_items``). Both read a Bundle the same way (``shared_in``), so the review and the
record cannot disagree about what went.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from linkwork.workspace import Workspace
from screening.exchange import delivery as dl
from screening.exchange.models import ExchangeMessage
from screening.models import Need, Referral, as_utc, utcnow

if TYPE_CHECKING:
    from screening.exchange import fhir
    from screening.exchange.outbound import Sealed

CONTACT_WORDS = {"phone": "phone number", "email": "email address", "postcode": "postcode"}
SHARE_WORDS = {
    "needs": "needs",
    "contact": "contact details",
    "equality": "equality answers",
}


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        e.get("resource") or {}
        for e in bundle.get("entry") or []
        if (e.get("resource") or {}).get("resourceType") == kind
    ]


def shared_in(bundle: dict[str, Any]) -> dict[str, Any]:
    """What a referral Bundle carries about the person, read from the Bundle itself:
    ``identity`` (always: who the person is), ``needs`` (code and words of each Condition),
    ``contact`` (phone, email, postcode), ``equality`` (which answers) and
    ``answers`` (screening answers: how many question groups)."""
    from screening.exchange.fhir import LW_EQUALITY_EXT, UK_ETHNIC_EXT

    patient = (_resources(bundle, "Patient") or [{}])[0]
    identity = ["name", "date of birth"]
    if patient.get("identifier"):
        identity.append("NHS number")
    needs = []
    for condition in _resources(bundle, "Condition"):
        coding = ((condition.get("code") or {}).get("coding") or [{}])[0]
        needs.append(
            {
                "code": str(coding.get("code") or ""),
                "display": str((condition.get("code") or {}).get("text") or coding.get("display")),
            }
        )
    contact = [str(t.get("system")) for t in patient.get("telecom") or []]
    if any(a.get("postalCode") for a in patient.get("address") or []):
        contact.append("postcode")
    equality: list[str] = []
    if patient.get("gender"):
        equality.append("sex")
    for ext in patient.get("extension") or []:
        if ext.get("url") == UK_ETHNIC_EXT:
            equality.append("ethnic category")
        elif ext.get("url") == LW_EQUALITY_EXT:
            equality += [str(part.get("url")) for part in ext.get("extension") or []]
    answers = sum(len(qr.get("item") or []) for qr in _resources(bundle, "QuestionnaireResponse"))
    reason = next(
        (
            str(note.get("text") or "")
            for request in _resources(bundle, "ServiceRequest")
            for note in request.get("note") or []
        ),
        "",
    )
    referrer = next(
        (
            str(name.get("text") or "")
            for who in _resources(bundle, "Practitioner")
            for name in who.get("name") or []
        ),
        "",
    )
    return {
        "reason": reason,
        "referrer": referrer,
        "identity": identity,
        "needs": needs,
        "contact": contact,
        "equality": equality,
        "answers": answers,
    }


def shared_words(shared: dict[str, Any]) -> list[str]:
    """``shared_in``'s result as lines of words, each starting ``[x]`` (shared) or ``[ ]``
    (not shared): readable without colour."""
    lines = [f"[x] Who they are: {', '.join(shared['identity'])}"]
    if shared.get("referrer"):
        lines.append(f"[x] Who refers them: {shared['referrer']}")
    lines.append(
        "[x] The reason, in your words" if shared.get("reason") else "[ ] Reason: none given"
    )
    if shared["needs"]:
        lines.append(f"[x] Needs ({len(shared['needs'])}):")
        lines += [f"      {n['code']} {n['display']}" for n in shared["needs"]]
    else:
        lines.append("[ ] Needs: none")
    contact = [CONTACT_WORDS.get(c, c) for c in shared["contact"]]
    lines.append(
        f"[x] Contact details: {', '.join(contact)}" if contact else "[ ] Contact details: none"
    )
    lines.append(
        f"[x] Equality answers: {', '.join(shared['equality'])}"
        if shared["equality"]
        else "[ ] Equality answers: none"
    )
    if shared["answers"]:
        lines.append(f"[x] Screening answers for the needs above ({shared['answers']} sections)")
    return lines


def shared_line(shared: dict[str, Any]) -> str:
    """The same in one line (the timeline)."""
    parts = [", ".join(shared["identity"])]
    parts.append(
        "needs " + ", ".join(f"{n['code']} {n['display']}" for n in shared["needs"])
        if shared["needs"]
        else "no needs"
    )
    contact = [CONTACT_WORDS.get(c, c) for c in shared["contact"]]
    parts.append("contact: " + ", ".join(contact) if contact else "no contact details")
    parts.append(
        "equality: " + ", ".join(shared["equality"])
        if shared["equality"]
        else "no equality answers"
    )
    if shared["answers"]:
        parts.append(f"screening answers ({shared['answers']} sections)")
    return "; ".join(parts)


# -- keeping what was shared ----------------------------------------------------------------


def keep(session: Session, sealed: Sealed) -> dict[str, Any]:
    """Within the transaction that sealed a referral: keep what its Bundle shares with the
    message in the exchange log (the referral's record of what went to whom)."""
    shared = shared_in(sealed.bundle)
    row = session.exec(
        select(ExchangeMessage).where(
            ExchangeMessage.direction == "out", ExchangeMessage.message_id == sealed.message_id
        )
    ).first()
    if row is not None:
        row.note = _compact(shared)
        session.add(row)
    return shared


def _compact(shared: dict[str, Any]) -> str:
    """At most 500 characters (the log's note): the needs' codes always, their words while
    they fit."""
    data = {"shared": shared | {"reason": bool(shared.get("reason"))}}  # not the words
    text = json.dumps(data, separators=(",", ":"))
    if len(text) > 500:
        data["shared"] |= {"needs": [{"code": n["code"]} for n in shared["needs"]]}
        text = json.dumps(data, separators=(",", ":"))
    return text[:500]


def kept(row: ExchangeMessage) -> dict[str, Any] | None:
    """What ``keep`` stored with an outgoing referral message (None if nothing)."""
    try:
        data = json.loads(row.note) if row.note.startswith("{") else None
    except ValueError:
        return None
    shared = data.get("shared") if isinstance(data, dict) else None
    if not isinstance(shared, dict):
        return None
    shared.setdefault("identity", [])
    for key in ("needs", "contact", "equality"):
        shared.setdefault(key, [])
    shared.setdefault("answers", 0)
    shared.setdefault("reason", False)
    shared.setdefault("referrer", "")
    for need in shared["needs"]:
        need.setdefault("display", "")
    return shared


def shared_items(session: Session, referral: Referral, service: str) -> list[dict[str, Any]]:
    """The person's timeline entries for what a referral shared: one per message that
    carried the referral to a partner."""
    rows = session.exec(
        select(ExchangeMessage)
        .where(
            ExchangeMessage.referral_id == referral.id,
            ExchangeMessage.direction == "out",
            ExchangeMessage.kind == "referral",
        )
        .order_by(col(ExchangeMessage.id))
    ).all()
    items = []
    for row in rows:
        shared = kept(row)
        if shared is None:
            continue
        items.append(
            {
                "at": as_utc(row.created_at),
                "what": f"Shared with {row.partner} (referral {referral.id[:8]} to {service})",
                "status": "SHARED",
                "detail": shared_line(shared),
                "referral_id": referral.id,
                "shared": shared,
            }
        )
    return items


def shared_for(ws: Workspace, ref: str) -> list[dict[str, Any]]:
    """What a referral shared with each partner it was sent to (``to``, ``at``,
    ``shared``, ``line``)."""
    from screening.referrals import get_referral

    with ws.session() as session:
        referral = get_referral(session, ref)
        return [
            {
                "to": item["what"].removeprefix("Shared with ").split(" (referral", 1)[0],
                "at": item["at"].isoformat(),
                "shared": item["shared"],
                "line": item["detail"],
            }
            for item in shared_items(session, referral, "")
        ]


# -- the review: what will be shared --------------------------------------------------------


def _need_data(needs: Iterable[Need]) -> list[fhir.NeedData]:
    from screening.exchange import fhir

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
        )
        for n in needs
    ]


def preview(
    ws: Workspace,
    person_ref: str,
    need_ids: Iterable[str],
    *,
    service: int | str | None = None,
    hub: str | None = None,
    shares: list[str],
    reason: str = "",
    to: str | None = None,
) -> dict[str, Any]:
    """What sending this referral to partner ``to`` would share, before anything is
    recorded: the Bundle the send would build (same builders, same record, nothing
    written), read back. ``to`` (partner name, its route in words), ``shared``
    (``shared_in``), ``lines`` (``shared_words``), ``left_out`` (the person's other active
    needs, not shared)."""
    from linkwork.actions.referrals import resolve_needs, service_id_of
    from screening.exchange import fhir
    from screening.exchange.keys import list_trusted
    from screening.exchange.outbound import patient_data, referral_data, target_data
    from screening.needs import list_needs
    from screening.people import get_person

    refs = [str(n) for n in need_ids]
    with ws.session() as session:
        person = get_person(session, person_ref)
        chosen = resolve_needs(session, person, refs) if refs else []
        others = [
            {"code": n.code, "display": n.display}
            for n in list_needs(session, person, status="active")
            if n not in chosen
        ]
        route_words = ""
        if to:
            names = {row.name for row in list_trusted(session)}
            if to not in names:
                raise LookupError(f"no trusted partner named {to!r}")
            route, mailbox = dl.route_of(session, to)
            route_words = (
                f"by NHS MESH to mailbox {mailbox}"
                if route == dl.MESH
                else "as an encrypted file in the outbox folder"
            )
        transient = Referral(
            person_id=person.id,
            service_id=service_id_of(session, service),
            hub=hub or "",
            reason=reason,
            status="requested",
            created_by=ws.user,
        )
        now = utcnow()
        bundle = fhir.referral_bundle(
            message_id="preview",
            at=now,
            patient=patient_data(person),
            needs=_need_data(chosen),
            referral=referral_data(transient, ws.settings.practice_ods or person.practice_ods),
            target=target_data(session, transient),
            consent=fhir.ConsentData(
                id="preview", shares=list(shares), method="verbal", given_at=now
            ),
        )
    shared = shared_in(bundle)
    return {
        "to": to,
        "route": route_words,
        "shared": shared,
        "lines": shared_words(shared),
        "left_out": others,
        "reason": reason,
    }

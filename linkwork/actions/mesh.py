"""Delivery to partners: routes, sending referrals and replies, and ``mesh sync``.

A partner is trusted with its public key and a route: its MESH mailbox, or files (the
outbox folder). Whatever is sent (a referral from the practice, a status update from
the hub) is sealed and queued in the transaction that records it; a files partner's file
is written there and then (as ``referral export`` does), a MESH partner's message is sent
straight after the commit and by every ``sync`` until it goes. A failed send stays queued
with its reason and its next try (backoff); nothing is lost and the same message (the same
Bundle id) is what goes again, so a receiver never applies it twice.

``sync`` sends what is queued, follows what was sent (MESH tracking: acknowledged), then
downloads each message in our inbox, imports it exactly as ``referral receive`` does, and
acknowledges it only after the import committed. A message that fails verification is
quarantined with its reason, audited, and acknowledged: it never blocks the ones behind.

The hub's status changes queue their update here (``queue_update``, called once, from
``linkwork.actions.referrals.set_status``).
"""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey
from sqlmodel import Session, select

from linkwork.actions import sharing
from linkwork.actions.exchange import our_key
from linkwork.errors import plain_error, problem
from linkwork.workspace import Workspace
from screening.audit import record_event
from screening.exchange import delivery as dl
from screening.exchange.errors import ExchangeRefused
from screening.exchange.inbound import receive
from screening.exchange.keys import list_trusted, load_public_key, resolve_recipient, trust_key
from screening.exchange.mesh import MeshConfig, MeshTransport
from screening.exchange.outbound import Sealed, export_referral, export_update, origin_partner
from screening.exchange.transport import (
    REFUSED,
    UNREACHABLE,
    FolderTransport,
    Transport,
    TransportError,
)
from screening.models import Referral, utcnow
from screening.referrals import get_referral

NOT_SET_UP = (
    "MESH is not set up: give the server and our mailbox (LINKWORK_MESH_URL, "
    "LINKWORK_MESH_MAILBOX, LINKWORK_MESH_PASSWORD)"
)


def mesh_config(ws: Workspace) -> MeshConfig | None:
    """Our MESH settings, or None when MESH is not set up (no URL or no mailbox)."""
    s = ws.settings
    if not s.mesh_set_up:
        return None
    return MeshConfig(
        url=s.mesh_url,
        mailbox=s.mesh_mailbox.strip().upper(),
        password=s.mesh_password,
        shared_key=s.mesh_shared_key,
        client_cert=s.mesh_client_cert,
        client_key=s.mesh_client_key,
        ca_cert=s.mesh_ca_cert,
        workflow_id=s.mesh_workflow_id or "LINKWORK_SOCIAL_PRESCRIBING",
        timeout=float(s.mesh_timeout or 30),
    )


def mesh_transport(ws: Workspace) -> Transport:
    config = mesh_config(ws)
    if config is None:
        raise ValueError(NOT_SET_UP)
    return MeshTransport(config)


def folder_transport(ws: Workspace) -> FolderTransport:
    return FolderTransport(
        ws.settings.dir_or_default("outbox"), ws.settings.dir_or_default("inbox")
    )


# -- partners -------------------------------------------------------------------------------


def fingerprint(kid: str) -> str:
    """A key's RFC 7638 thumbprint (base64url SHA-256) as 16 groups of 4 hex digits, to
    read aloud and compare on both screens before trusting."""
    raw = base64.urlsafe_b64decode(kid + "=" * (-len(kid) % 4))
    text = raw.hex().upper()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def route_words(route: str, mailbox: str) -> str:
    return f"MESH {mailbox}" if route == dl.MESH else "files (outbox folder)"


def trust_partner(
    ws: Workspace,
    file: Path,
    name: str,
    *,
    mesh_mailbox: str | None = None,
    ods: str | None = None,
) -> dict[str, Any]:
    """Trust a partner's public key and say how to reach it (its MESH mailbox, or files
    when none is given) and, with ``ods``, its ODS code, in one transaction; trusting the
    same key again sets the route (and the ODS code when given). A bad mailbox or ODS code
    is refused before anything is read or written."""
    if mesh_mailbox:
        dl.clean_mailbox(mesh_mailbox)
    code = dl.clean_ods(ods) if ods is not None else None
    key = load_public_key(file)
    with ws.session() as session:
        row, created = trust_key(session, key, name, ws.user)
        before = (*dl.route_of(session, row.name), dl.ods_of(session, row.name))
        partner = dl.set_route(session, row.name, mesh_mailbox, ws.user)
        if code is not None:
            partner = dl.set_ods(session, row.name, code, ws.user)
        after = (partner.route, partner.mesh_mailbox, partner.ods)
        details = {"route": partner.route, "mailbox": partner.mesh_mailbox, "ods": partner.ods}
        if created:
            record_event(session, ws.user, "trust", "key", row.kid, {"partner": row.name} | details)
        elif before != after:
            record_event(session, ws.user, "route", "partner", row.name, details)
        return {
            "kid": row.kid,
            "name": row.name,
            "created": created,
            "route": partner.route,
            "mesh_mailbox": partner.mesh_mailbox,
            "ods": partner.ods,
            "fingerprint": fingerprint(row.kid),
        }


def partner_list(ws: Workspace) -> list[dict[str, Any]]:
    """Trusted partners' keys with each partner's route and key fingerprint, oldest first."""
    with ws.session() as session:
        found = dl.routes(session)
        rows = []
        for r in list_trusted(session):
            partner = found.get(r.name)
            route = partner.route if partner else dl.FILES
            mailbox = partner.mesh_mailbox if partner else ""
            ods = partner.ods if partner else ""
            rows.append(
                {
                    "name": r.name,
                    "kid": r.kid,
                    "fingerprint": fingerprint(r.kid),
                    "curve": r.jwk.get("crv"),
                    "route": route,
                    "mesh_mailbox": mailbox,
                    "route_words": route_words(route, mailbox),
                    "ods": ods,
                    "added_at": r.added_at.isoformat(),
                    "added_by": r.added_by,
                }
            )
        return rows


# -- queueing (inside the caller's transaction) ---------------------------------------------


def _enqueue(ws: Workspace, session: Session, sealed: Sealed, referral: Referral) -> dl.Delivery:
    row = dl.queue(
        session,
        referral_id=sealed.referral_id,
        kind=sealed.kind,
        partner=sealed.partner,
        message_id=sealed.message_id,
        token=sealed.token,
        actor=ws.user,
        org=str(getattr(referral, "org", "") or ""),
    )
    if row.route == dl.FILES:
        _write_file(ws, row)
    return row


def _write_file(ws: Workspace, row: dl.Delivery) -> None:
    """A files partner's message goes to the outbox now (inside the transaction: if the
    file cannot be written, nothing is recorded)."""
    target = folder_transport(ws).send(
        (row.token + "\n").encode("ascii"),
        to=row.partner,
        local_id=row.message_id,
        subject=f"{row.kind}-{row.referral_id[:8]}",
    )
    dl.mark_sent(row, target)


def queue_referral(
    ws: Workspace, session: Session, referral: Referral, signer: ECKey, to: str
) -> dl.Delivery:
    """Seal ``referral`` for partner ``to`` and queue it on the partner's route (a files
    partner's file is written now); the export is logged and audited as before."""
    recipient, partner = resolve_recipient(session, to)
    sealed = export_referral(
        session,
        referral,
        signer=signer,
        recipient=recipient,
        partner=partner,
        actor=ws.user,
        practice_ods=ws.settings.practice_ods,
    )
    sharing.keep(session, sealed)  # what went to whom, kept with the referral
    return _enqueue(ws, session, sealed, referral)


def queue_update(ws: Workspace, session: Session, referral: Referral) -> dl.Delivery | None:
    """At the hub: queue the referral's new status (and outcome) for the partner it came
    from. Our key locked or missing never stops the status change: the update is queued
    unsealed and the next sync seals it (one is enough: it carries the status then)."""
    if referral.direction != "incoming":
        return None
    partner = origin_partner(session, referral)
    if not partner:
        return None
    try:
        signer: ECKey | None = our_key(ws)
    except (ValueError, OSError):
        signer = None
    if signer is not None:
        try:
            recipient, name = resolve_recipient(session, partner)
            sealed = export_update(
                session, referral, signer=signer, recipient=recipient, partner=name, actor=ws.user
            )
        except (ValueError, LookupError) as exc:
            why = plain_error(exc)
        else:
            return _enqueue(ws, session, sealed, referral)
    else:
        why = "waiting for our key: the next sync seals and sends it"
    waiting = dl.unsealed_update(session, referral.id)
    if waiting is not None:
        return waiting
    return dl.queue(
        session,
        referral_id=referral.id,
        kind="update",
        partner=partner,
        actor=ws.user,
        org=str(getattr(referral, "org", "") or ""),
        reason=why,
    )


def deliveries(session: Session, referral_id: str) -> list[dict[str, Any]]:
    """A referral's messages to partners and where each one is."""
    return [dl.delivery_dict(r) for r in dl.deliveries(session, referral_id)]


# -- sending and receiving ------------------------------------------------------------------


def _counts() -> dict[str, Any]:
    return {"sent": 0, "received": 0, "applied": 0, "quarantined": 0, "failed": 0}


def _seal_waiting(ws: Workspace, signer: ECKey, result: dict[str, Any]) -> None:
    """Seal the status updates queued while our key was locked."""
    with ws.session() as session:
        ids = [
            r.id
            for r in session.exec(
                select(dl.Delivery).where(dl.Delivery.state == dl.QUEUED, dl.Delivery.token == "")
            ).all()
        ]
    for ident in ids:
        try:
            with ws.session() as session:
                row = session.get(dl.Delivery, ident)
                assert row is not None
                referral = session.get(Referral, row.referral_id)
                if referral is None:
                    raise LookupError(f"unknown referral {row.referral_id}")
                recipient, name = resolve_recipient(session, row.partner)
                sealed = export_update(
                    session, referral, signer=signer, recipient=recipient, partner=name,
                    actor=ws.user,
                )  # fmt: skip
                row.message_id, row.token = sealed.message_id, sealed.token
                row.route, row.mailbox = dl.route_of(session, row.partner)
                if row.route == dl.FILES:
                    _write_file(ws, row)
        except (ValueError, LookupError, OSError) as exc:
            why = plain_error(exc)
            with ws.session() as session:
                row = session.get(dl.Delivery, ident)
                assert row is not None
                dl.mark_retry(row, why)
            result["failed"] += 1
            result["problems"].append(f"update for referral {row.referral_id[:8]}: {why}")


def _push(
    ws: Workspace,
    transport: Transport,
    result: dict[str, Any],
    *,
    only: set[int] | None = None,
    all_due: bool = True,
) -> None:
    """Send queued MESH messages (those whose next try has come, or all with ``all_due``)."""
    with ws.session() as session:
        ids = [
            r.id
            for r in dl.waiting(session, route=dl.MESH, all_due=all_due)
            if only is None or r.id in only
        ]
    for index, ident in enumerate(ids):
        with ws.session() as session:
            row = session.get(dl.Delivery, ident)
            assert row is not None
            route, mailbox = dl.route_of(session, row.partner)
            if route != dl.MESH:  # the partner's route changed to files since it was queued
                row.route, row.mailbox = route, ""
                _write_file(ws, row)
                result["sent"] += 1
                continue
            token, kind = row.token, row.kind
            tried = dl.local_id(row, row.attempts) if row.attempts > 0 else ""
            known, local = row.transport_id, ""
        started = False
        try:
            # The last try may have reached MESH unrecorded (a crash between MESH accepting
            # it and our commit, or an answer lost on the way back): if MESH has it, it is
            # not sent again. The one we know of (sent, then failed) is sent again anew.
            earlier = transport.find(tried) if tried else None
            if earlier is not None and known and earlier == known:
                earlier = None
            if earlier is None:
                with ws.session() as session:  # the try is recorded before the bytes go
                    row = session.get(dl.Delivery, ident)
                    assert row is not None
                    dl.start_attempt(row)
                    local = dl.local_id(row, row.attempts)
                started = True
                sent_id = transport.send(
                    token.encode("ascii"), to=mailbox, local_id=local, subject=kind
                )
            else:
                sent_id = earlier
        except TransportError as exc:
            rest = ids[index:] if exc.kind in (UNREACHABLE, REFUSED) else [ident]
            with ws.session() as session:
                for other in rest:  # the rest would fail alike: each waits its next try
                    waiting_row = session.get(dl.Delivery, other)
                    assert waiting_row is not None
                    waiting_row.mailbox = mailbox if other == ident else waiting_row.mailbox
                    dl.mark_retry(waiting_row, str(exc), counted=started and other == ident)
            result["failed"] += len(rest)
            result["problems"].append(str(exc))
            if exc.kind in (UNREACHABLE, REFUSED):
                result["down"] = True
                break
            continue
        with ws.session() as session:
            row = session.get(dl.Delivery, ident)
            assert row is not None
            row.mailbox = mailbox
            dl.mark_sent(row, sent_id, counted=True)  # by start_attempt, now or before
            referral = session.get(Referral, row.referral_id)
            details = {"kind": kind, "to": row.partner, "mailbox": mailbox}
            details["mesh_message_id"] = sent_id
            if earlier is not None:
                details["found"] = f"already in MESH as local id {tried}: not sent again"
            record_event(
                session,
                ws.user,
                "send",
                "referral",
                row.referral_id,
                details,
                person_id=referral.person_id if referral else None,
            )
        result["sent"] += 1


def _track(ws: Workspace, transport: Transport) -> None:
    """Ask MESH what became of what we sent and is not known to be downloaded yet."""
    with ws.session() as session:
        rows = session.exec(
            select(dl.Delivery).where(dl.Delivery.state == dl.SENT, dl.Delivery.route == dl.MESH)
        ).all()
        pending = [(r.id, r.transport_id) for r in rows if r.transport_id]
    for ident, sent_id in pending:
        try:
            found = transport.track(sent_id)
        except TransportError:
            return  # tracking is a courtesy: the next sync asks again
        if found is None:
            continue
        with ws.session() as session:
            row = session.get(dl.Delivery, ident)
            assert row is not None
            dl.mark_tracked(row, *found)


def _receive(ws: Workspace, transport: Transport, our: ECKey, result: dict[str, Any]) -> None:
    try:
        ids = list(transport.poll())
    except TransportError as exc:
        result["failed"] += 1
        result["problems"].append(str(exc))
        return
    for message_id in ids:
        try:
            incoming = transport.fetch(message_id)
        except TransportError as exc:
            result["failed"] += 1
            result["problems"].append(str(exc))
            if exc.kind in (UNREACHABLE, REFUSED):
                return
            continue
        result["received"] += 1
        try:
            with ws.session() as session:
                got = receive(session, incoming.data, our, actor=ws.user)
            if got.status in ("created", "updated"):
                result["applied"] += 1
        except (ValueError, LookupError) as exc:
            # Fails verification (or the record's own checks): kept aside, never retried.
            reason = exc.reason if isinstance(exc, ExchangeRefused) else "refused"
            words = plain_error(exc)
            with ws.session() as session:
                _, new = dl.quarantine(
                    session,
                    source=incoming.source,
                    transport_id=incoming.id,
                    sender=incoming.sender,
                    content=incoming.data,
                    sha256=incoming.sha256,
                    reason=reason,
                    detail=words,
                    actor=ws.user,
                )
                if new:
                    record_event(
                        session,
                        ws.user,
                        "quarantine",
                        "message",
                        incoming.id,
                        {"from": incoming.sender, "source": incoming.source, "reason": reason},
                    )
            result["quarantined"] += 1
            result["quarantine"].append(f"message {incoming.id} from {incoming.sender}: {words}")
        except Exception as exc:
            found = problem(exc)
            if found.unexpected:
                raise
            # Not imported (the database busy, say): not acknowledged, so fetched again.
            result["failed"] += 1
            result["problems"].append(f"message {incoming.id} not imported: {found.message}")
            continue
        try:
            transport.acknowledge(incoming.id)
        except TransportError as exc:
            # Imported and committed: fetched again next time, when it changes nothing.
            result["failed"] += 1
            result["problems"].append(f"{exc} (imported: the next sync acknowledges it)")
            if exc.kind in (UNREACHABLE, REFUSED):
                return


def inbox_count(transport: Transport) -> int | None:
    """How many messages wait in our inbox now (one small page of its list), or None when
    MESH cannot say (it is down, or refuses us: the sync or status says why)."""
    try:
        return transport.waiting()
    except TransportError:
        return None


def _summary(result: dict[str, Any]) -> str:
    words = (
        f"MESH sync: {result['sent']} sent, {result['received']} received, "
        f"{result['applied']} applied, {result['quarantined']} quarantined, "
        f"{result['failed']} failed"
    )
    if result.get("inbox"):
        words += f", {result['inbox']} still in our inbox"
    if result["problems"]:
        words += f"; {result['problems'][0]}"
    return words


def sync(ws: Workspace, *, all_due: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Send what is queued (whose next try has come; all with ``all_due``), follow what was
    sent, then receive every message in our MESH inbox. Counts (sent, received, applied,
    quarantined, failed), the ``problems`` and ``quarantine`` lines, a ``message``."""
    transport = mesh_transport(ws)
    our = our_key(ws)
    result = _counts() | {"problems": [], "quarantine": [], "down": False}
    try:
        _seal_waiting(ws, our, result)
        _push(ws, transport, result, all_due=all_due)
        if not result["down"]:
            _track(ws, transport)
            _receive(ws, transport, our, result)
        result["inbox"] = inbox_count(transport)
    finally:
        transport.close()
    result.pop("down")
    result["message"] = _summary(result)
    return result


def send_referral(
    ws: Workspace,
    ref: str,
    to: str,
    *,
    key_file: Path | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Queue a referral for partner ``to`` (recorded in one transaction) and send it now:
    a files partner's file is written; a MESH partner's message goes at once, or stays
    queued with the reason (``problem``) and goes with a later sync."""
    signer = our_key(ws, key_file, passphrase)
    with ws.session() as session:
        referral = get_referral(session, ref)
        row = queue_referral(ws, session, referral, signer, to)
        ident = row.id
    assert ident is not None
    return _send_now(ws, ident)


def _send_now(ws: Workspace, ident: int) -> dict[str, Any]:
    """Send one queued message now when its partner is on MESH; its delivery afterwards."""
    result = _counts() | {"problems": [], "quarantine": [], "down": False}
    with ws.session() as session:
        row = session.get(dl.Delivery, ident)
        assert row is not None
        mesh = row.route == dl.MESH and row.state == dl.QUEUED
    if mesh:
        config = mesh_config(ws)
        if config is None:
            result["problems"].append(NOT_SET_UP)
        else:
            transport = MeshTransport(config)
            try:
                _push(ws, transport, result, only={ident})
            finally:
                transport.close()
    with ws.session() as session:
        row = session.get(dl.Delivery, ident)
        assert row is not None
        data = dl.delivery_dict(row)
    data["referral_id"] = row.referral_id
    data["problem"] = result["problems"][0] if result["problems"] else ""
    data["message"] = delivery_words(data)
    return data


def send_queued(ws: Workspace, ident: int | None) -> dict[str, Any] | None:
    """After a transaction that queued message ``ident``: send it now if it goes by MESH."""
    return _send_now(ws, ident) if ident is not None else None


def delivery_words(data: dict[str, Any]) -> str:
    """Where a message to a partner is, in words (``Sent`` only once it was sent)."""
    what = f"{data['kind'].capitalize()} for {data['to']}"
    if data["state"] == dl.SENT and data["route"] == dl.FILES:
        return f"{what}: file written to {data['transport_id']}"
    if data["state"] == dl.SENT:
        return f"{what}: sent by MESH to {data['mailbox']} (message {data['transport_id']})"
    if data["state"] == dl.ACKNOWLEDGED:
        return f"{what}: downloaded by {data['mailbox']} (MESH message {data['transport_id']})"
    if data["state"] == dl.FAILED:
        return f"{what}: FAILED ({data['last_reason']})"
    if data["state"] == dl.CANCELLED:
        return f"{what}: cancelled"
    why = data.get("problem") or data["last_reason"]
    return f"{what}: QUEUED, not sent yet" + (f" ({why})" if why else "")


# -- the board: where each referral's message is; resend and cancel -------------------------


def _short_time(value: datetime | None) -> str:
    from screening.models import as_utc

    return as_utc(value).strftime("%d %b %H:%M") if value else ""


def delivery_cell(
    row: dl.Delivery | None, direction: str, received: datetime | None
) -> dict[str, str]:
    """A referral's delivery for the board: ``state`` (one word, in capitals: NOT SENT,
    QUEUED, SENT, DELIVERED, FAILED, CANCELLED, RECEIVED), ``cell`` (with the time when
    it went) and ``words`` (in full, with the reason). "SENT" only once it was sent."""
    if direction == "incoming":
        when = _short_time(received)
        if row is None:
            return {"state": "RECEIVED", "cell": f"RECEIVED {when}".strip(), "words": "Received."}
        data = dl.delivery_dict(row)
        reply = delivery_words(data)
        return {
            "state": "RECEIVED",
            "cell": f"RECEIVED {when}".strip(),
            "words": f"Received. Last reply: {reply}.",
        }
    if row is None:
        return {
            "state": "NOT SENT",
            "cell": "NOT SENT",
            "words": "Not sent to any partner: S sends it.",
        }
    data = dl.delivery_dict(row)
    words = delivery_words(data) + "."
    if row.state == dl.QUEUED:
        if row.next_try_at:
            words += f" Next try {_short_time(row.next_try_at)} (S tries now, X cancels)."
        return {"state": "QUEUED", "cell": "QUEUED", "words": words}
    if row.state == dl.SENT:
        when = _short_time(row.sent_at)
        return {"state": "SENT", "cell": f"SENT {when}", "words": f"{words[:-1]}, at {when}."}
    if row.state == dl.ACKNOWLEDGED:
        return {
            "state": "DELIVERED",
            "cell": f"DELIVERED {_short_time(row.updated_at)}",
            "words": words,
        }
    if row.state == dl.FAILED:
        return {"state": "FAILED", "cell": "FAILED", "words": words + " S sends it again."}
    return {"state": "CANCELLED", "cell": "CANCELLED", "words": words + " S sends it after all."}


def board_deliveries(session: Session, referrals: list[Referral]) -> dict[str, dict[str, str]]:
    """For each referral, where its latest message is (``delivery_cell``): the referral
    itself for ours, the latest reply for one received."""
    latest: dict[str, dl.Delivery] = {}
    ids = [r.id for r in referrals]
    for start in range(0, len(ids), 500):
        rows = session.exec(
            select(dl.Delivery)
            .where(dl.Delivery.referral_id.in_(ids[start : start + 500]))  # type: ignore[attr-defined]
            .order_by(dl.Delivery.id)  # type: ignore[arg-type]
        ).all()
        for row in rows:
            latest[row.referral_id] = row
    return {r.id: delivery_cell(latest.get(r.id), r.direction, r.created_at) for r in referrals}


def _latest(session: Session, referral: Referral) -> dl.Delivery | None:
    rows = dl.deliveries(session, referral.id)
    return rows[-1] if rows else None


def resend(
    ws: Workspace,
    ref: str,
    *,
    to: str | None = None,
    key_file: Path | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Send a referral's message (or, at a hub, its latest reply) again: a queued one is
    tried now; a failed or cancelled one is queued again, the same message (the same
    Bundle id: a receiver never applies it twice), and tried now. One already sent is
    not sent again. Never sent at all: sent to ``to`` (``send_referral``)."""
    with ws.session() as session:
        referral = get_referral(session, ref)
        row = _latest(session, referral)
        if row is None:
            if referral.direction == "incoming":
                raise ValueError(
                    f"no reply to referral {referral.id[:8]} is queued: a status change sends one"
                )
            if not to:
                raise ValueError(
                    f"referral {referral.id[:8]} was never sent: choose a partner "
                    f"(linkwork referral send {referral.id[:8]} --to PARTNER)"
                )
            ident = None
        elif row.state in (dl.SENT, dl.ACKNOWLEDGED):
            data = dl.delivery_dict(row)
            raise ValueError(f"already sent, nothing sent again: {delivery_words(data)}")
        else:
            if row.state in (dl.FAILED, dl.CANCELLED):
                before = row.state
                row.state = dl.QUEUED
                row.next_try_at = None
                row.last_reason = f"sent again after {before}"
                row.updated_at = utcnow()
                record_event(
                    session,
                    ws.user,
                    "resend",
                    "referral",
                    referral.id,
                    {"kind": row.kind, "to": row.partner, "was": before},
                    person_id=referral.person_id,
                )
                if row.route == dl.FILES and row.token:
                    _write_file(ws, row)
            else:
                row.next_try_at = None  # queued: its next try is now
            ident = row.id
    if ident is None:
        assert to is not None
        return send_referral(ws, ref, to, key_file=key_file, passphrase=passphrase)
    return _send_now(ws, ident)


def cancel_send(ws: Workspace, ref: str) -> dict[str, Any]:
    """Cancel what is queued for a referral and not sent yet (audited). What was sent
    cannot be called back: cancelling the referral itself tells the partner."""
    with ws.session() as session:
        referral = get_referral(session, ref)
        queued = [r for r in dl.deliveries(session, referral.id) if r.state == dl.QUEUED]
        if not queued:
            row = _latest(session, referral)
            why = delivery_words(dl.delivery_dict(row)) if row is not None else "never sent"
            raise ValueError(
                f"nothing queued for referral {referral.id[:8]} to cancel ({why}); to stop "
                f"the referral itself: linkwork referral status {referral.id[:8]} cancelled "
                "--reason WHY"
            )
        for row in queued:
            dl.mark_tracked(row, dl.CANCELLED, f"cancelled by {ws.user}")
            record_event(
                session,
                ws.user,
                "cancel-send",
                "referral",
                referral.id,
                {"kind": row.kind, "to": row.partner},
                person_id=referral.person_id,
            )
        data = dl.delivery_dict(queued[-1])
    data["referral_id"] = referral.id
    data["cancelled"] = len(queued)
    data["message"] = (
        f"Cancelled: {delivery_words(data)}; nothing goes to {data['to']} "
        f"(S on the board, or linkwork referral resend {referral.id[:8]}, sends it after all)."
    )
    return data

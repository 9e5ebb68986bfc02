"""Keys, partners and MESH as the app manages them (issue 17, point 5), one action each,
shared with the CLI: our key and its fingerprint to read to a partner, a partner's key
file's fingerprint before trusting it, a partner's route, where delivery stands (for the
status line), the quarantined messages, and a received referral as the hub reads it
before accepting or declining.

Trusting a key (``mesh.trust_partner``), making our key (``exchange.new_keys``) and
syncing (``mesh.sync``) are the actions the CLI already uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from linkwork.actions.exchange import key_is_protected, our_key_path
from linkwork.actions.mesh import fingerprint, mesh_config, route_words
from linkwork.errors import NotFound
from linkwork.workspace import Workspace
from screening.audit import record_event
from screening.exchange import delivery as dl
from screening.exchange.keys import key_id, list_trusted, load_public_key
from screening.models import Person, as_utc


def our_key_info(ws: Workspace) -> dict[str, Any]:
    """Our own key as a partner needs it: ``state`` "none" (with ``message``: how to make
    one), else the private key's file, whether a passphrase protects it, the public key
    file and its JSON (to send), ``kid`` and ``fingerprint`` (16 groups of 4 hex digits,
    read aloud to the partner, who compares it on their screen)."""
    try:
        path = our_key_path(ws)
    except ValueError as exc:
        return {"state": "none", "message": str(exc)}
    public = path.with_name(path.name.replace(".private.jwk", ".public.jwk"))
    if not public.is_file():
        return {
            "state": "no-public",
            "private": str(path),
            "message": f"our public key file {public} is missing: make a new key pair",
        }
    key = load_public_key(public)
    kid = key_id(key)
    return {
        "state": "ok",
        "private": str(path),
        "protected": key_is_protected(path),
        "public": str(public),
        "public_jwk": json.dumps(key.as_dict(private=False), indent=2, sort_keys=True),
        "public_jwk_line": json.dumps(key.as_dict(private=False), sort_keys=True),
        "kid": kid,
        "fingerprint": fingerprint(kid),
        "mesh_mailbox": (ws.settings.mesh_mailbox or "").upper(),
    }


MIN_PASSPHRASE = 10


def make_our_key(ws: Workspace, name: str, passphrase: str) -> dict[str, Any]:
    """Make our key pair in the keys folder, protected by ``passphrase`` (the app always
    asks for one: at least 10 characters); refused while we have a key (a second one
    would leave two to choose from). ``our_key_info`` of the new key."""
    from linkwork.actions.exchange import new_keys

    if our_key_info(ws)["state"] != "none":
        raise ValueError("we have a key already: a partner trusts it; keep it")
    if len(passphrase) < MIN_PASSPHRASE:
        raise ValueError(f"use a passphrase of at least {MIN_PASSPHRASE} characters")
    made = new_keys(ws, name, passphrase=passphrase)
    info = our_key_info(ws)
    with ws.session() as session:
        record_event(session, ws.user, "create", "key", made["kid"], {"name": made["name"]})
    return info


def key_file_fingerprint(ws: Workspace, file: Path | str) -> dict[str, Any]:
    """A partner's public key file read, not trusted: its ``fingerprint`` to compare with
    what the partner reads out, and ``trusted_as`` (the name it is trusted under, if it
    already is)."""
    key = load_public_key(Path(file))
    kid = key_id(key)
    with ws.session() as session:
        found = next((r.name for r in list_trusted(session) if r.kid == kid), None)
    return {"file": str(file), "kid": kid, "fingerprint": fingerprint(kid), "trusted_as": found}


def set_route(
    ws: Workspace, name: str, mesh_mailbox: str | None, *, ods: str | None = None
) -> dict[str, Any]:
    """How to reach trusted partner ``name``: its MESH mailbox, or files when none (''),
    and, when ``ods`` is given, its ODS code ('' clears it); audited when it changes;
    NotFound for a partner not trusted. A bad mailbox or ODS code changes nothing."""
    code = dl.clean_ods(ods) if ods is not None else None
    with ws.session() as session:
        names = {r.name for r in list_trusted(session)}
        if name not in names:
            raise NotFound(f"no trusted partner named {name!r}")
        before = (*dl.route_of(session, name), dl.ods_of(session, name))
        partner = dl.set_route(session, name, mesh_mailbox or None, ws.user)
        if code is not None:
            partner = dl.set_ods(session, name, code, ws.user)
        after = (partner.route, partner.mesh_mailbox, partner.ods)
        if before != after:
            record_event(
                session,
                ws.user,
                "route",
                "partner",
                name,
                {"route": partner.route, "mailbox": partner.mesh_mailbox, "ods": partner.ods},
            )
        words = route_words(partner.route, partner.mesh_mailbox)
        known = f" (ODS {partner.ods})" if partner.ods else ""
        return {
            "name": name,
            "route": partner.route,
            "mesh_mailbox": partner.mesh_mailbox,
            "ods": partner.ods,
            "changed": before != after,
            "message": f"{name}{known} is reached by {words}.",
        }


def delivery_status(ws: Workspace, *, peek: bool = False) -> dict[str, Any]:
    """For the status line: whether MESH is set up (and our mailbox), how many messages
    wait to be sent, how many failed, how many received messages are quarantined; with
    ``peek`` also ``inbox``, how many wait in our MESH inbox (None when MESH cannot say,
    with ``inbox_problem`` in words)."""
    config = mesh_config(ws)
    inbox: int | None = None
    problem = ""
    if peek and config is not None:
        from dataclasses import replace

        from screening.exchange.mesh import MeshTransport
        from screening.exchange.transport import TransportError

        # A status line must not hang on a server that is down: a few seconds at most.
        transport = MeshTransport(replace(config, timeout=min(config.timeout, 5.0)))
        try:
            inbox = transport.waiting()
        except TransportError as exc:
            problem = str(exc)
        finally:
            transport.close()
    with ws.session() as session:

        def count(state: str) -> int:
            return int(
                session.exec(
                    select(func.count()).select_from(dl.Delivery).where(dl.Delivery.state == state)
                ).one()
            )

        quarantined = int(session.exec(select(func.count()).select_from(dl.Quarantined)).one())
        waiting, failed = count(dl.QUEUED), count(dl.FAILED)
    return {
        "mesh": config is not None,
        "mailbox": config.mailbox if config else "",
        "sync_seconds": ws.settings.mesh_sync_seconds if config else 0,
        "waiting": waiting,
        "failed": failed,
        "quarantined": quarantined,
        "inbox": inbox,
        "inbox_problem": problem,
    }


def inbox_words(status: dict[str, Any]) -> str:
    """``delivery_status``'s inbox count in words, to follow its other counts ('' when not
    asked, or MESH is not set up)."""
    if not status.get("mesh"):
        return ""
    if status.get("inbox") is not None:
        return f", {status['inbox']} in our MESH inbox"
    if status.get("inbox_problem"):
        return "; our MESH inbox could not be counted (the server cannot be reached or refused us)"
    return ""


def quarantined(ws: Workspace) -> list[dict[str, Any]]:
    """Received messages that failed verification, newest first, each with its reason in
    words (never its content)."""
    with ws.session() as session:
        rows = session.exec(select(dl.Quarantined).order_by(col(dl.Quarantined.id).desc())).all()
        return [
            {
                "id": r.id,
                "received_at": as_utc(r.received_at).isoformat(),
                "from": r.sender,
                "source": r.source,
                "message": r.transport_id,
                "reason": r.reason,
                "detail": r.detail,
                "size": r.size,
                "sha256": r.sha256,
            }
            for r in rows
        ]


def received_referral(ws: Workspace, ref: str) -> dict[str, Any]:
    """A referral received at a hub as the hub reads it before accepting or declining
    (audited as a view): who sent it (partner and ODS code), the needs shared, the reason,
    what the person's consent shares, and their contact details when it shares them."""
    from linkwork.actions.referrals import show_referral
    from screening.consent import get_consent
    from screening.exchange.outbound import origin_partner
    from screening.referrals import get_referral

    data = show_referral(ws, ref)
    if data["direction"] != "incoming":
        raise ValueError(
            f"referral {data['id'][:8]} is one we made, not one we received: "
            "its record is on the person's timeline"
        )
    with ws.session() as session:
        referral = get_referral(session, ref)
        partner = origin_partner(session, referral) or ""
        person = session.get(Person, referral.person_id)
        consent = get_consent(session, referral.consent_id) if referral.consent_id else None
        shares = list(consent.shares or []) if consent is not None else []
        contact: dict[str, str] = {}
        if person is not None and "contact" in shares:
            contact = {
                k: v
                for k, v in (
                    ("phone", person.phone),
                    ("email", person.email),
                    ("postcode", person.postcode),
                )
                if v
            }
        who = (
            {
                "name": f"{person.given_name} {person.family_name}",
                "birth_date": person.birth_date.isoformat(),
                "nhs_number": person.nhs_number or "",
            }
            if person is not None
            else {}
        )
    from screening.referrals import TRANSITIONS

    return data | {
        "allowed": list(TRANSITIONS.get(data["status"], ())),
        "from_partner": partner,
        "from_ods": referral.origin,
        "person": who,
        "shares": shares,
        "consent_method": consent.method if consent is not None else "",
        "contact": contact,
    }

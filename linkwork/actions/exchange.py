"""The encrypted exchange: our keys, partners' keys, sending referrals and replies, receiving files.

Our private key is found in one way (``our_key``): the file given, else the only
``*.private.jwk`` in the keys folder. A passphrase-protected key is opened with the
passphrase given (the CLI reads it from an environment variable) or the copy unlocked
earlier in this workspace (the app asks once per session); otherwise ``KeyLocked``.
Every received file is read in one way (``read_exchange_file``): at most
``MAX_FILE_BYTES`` + 1 bytes, so anything larger is refused as too large, never loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey
from sqlmodel import Session

from linkwork.actions.audit import auto_checkpoint
from linkwork.errors import KeyLocked, plain_error
from linkwork.workspace import Workspace
from screening.audit import record_event
from screening.exchange import fhir, jose
from screening.exchange.files import atomic_write, atomic_write_many, private_folder
from screening.exchange.inbound import open_file, receive, record_open
from screening.exchange.keys import (
    check_private_file,
    list_trusted,
    load_private_key,
    load_public_key,
    resolve_recipient,
    trust_key,
    write_key_pair,
)
from screening.exchange.outbound import (
    Sealed,
    bundle_bytes,
    export_referral,
    export_referrals,
    export_update,
    origin_partner,
)
from screening.models import Referral
from screening.naming import referral_words, short_id
from screening.referrals import get_referral

# What happened to a received file, in words (``Received.status`` -> words).
RECEIVED_WORDS = {
    "created": "Received new referral",
    "updated": "Updated referral",
    "unchanged": "Already have referral",
    "ignored": "Ignored an older update for referral",
    "duplicate": "Already received this file for referral",
}


# -- our key -------------------------------------------------------------------------------


def our_key_path(ws: Workspace, key_file: Path | str | None = None) -> Path:
    """Our private key's file: ``key_file``, else the only ``*.private.jwk`` in the keys
    folder (ValueError in words when there is none or more than one)."""
    if key_file is not None:
        return Path(key_file)
    folder = ws.settings.dir_or_default("keys_dir")
    found = sorted(folder.glob("*.private.jwk")) if folder.is_dir() else []
    if not found:
        raise ValueError(
            f"no private key in {folder}: make ours with `linkwork keys new NAME` "
            "(or give it with --key FILE)"
        )
    if len(found) > 1:
        raise ValueError(
            f"{len(found)} private keys in {folder}: keep only ours there "
            "(or give it with --key FILE)"
        )
    return found[0]


def key_is_protected(path: Path) -> bool:
    """A passphrase-protected key file is a compact JWE (``linkwork keys new
    --passphrase-env``), not a JSON JWK."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False  # loading it says what is wrong, in words
    return not text.startswith("{") and text.count(".") == 4


def our_key(
    ws: Workspace, key_file: Path | str | None = None, passphrase: str | None = None
) -> ECKey:
    """Our private key, to sign what we send and open what we receive. ``KeyLocked`` if
    it is protected and neither ``passphrase`` is given nor the key was unlocked in this
    workspace (``unlock_key``). A key file others may read is refused first, saying the
    ``chmod 600`` to run."""
    path = our_key_path(ws, key_file)
    check_private_file(path)
    if passphrase is not None:
        return load_private_key(path, passphrase)
    unlocked = ws.unlocked_keys.get(str(path))
    if unlocked is not None:
        return unlocked
    if key_is_protected(path):
        raise KeyLocked(f"{path} is protected by a passphrase: give it with --passphrase-env VAR")
    return load_private_key(path)


def key_locked(ws: Workspace) -> bool:
    """True when our private key needs its passphrase before it can sign or open files
    (and has not been unlocked in this workspace). False when there is no key, or
    several: ``our_key`` says so in words."""
    try:
        path = our_key_path(ws)
    except ValueError:
        return False
    return str(path) not in ws.unlocked_keys and key_is_protected(path)


def unlock_key(ws: Workspace, passphrase: str) -> None:
    """Unlock our private key for the rest of this workspace's life, in memory only (the
    passphrase is not kept); ValueError in words if it is wrong."""
    path = our_key_path(ws)
    ws.unlocked_keys[str(path)] = load_private_key(path, passphrase)


# -- keys: make, trust, list ---------------------------------------------------------------


def new_keys(
    ws: Workspace, name: str, *, out: Path | None = None, passphrase: str | None = None
) -> dict[str, Any]:
    """Make an EC P-256 key pair: NAME.private.jwk (mode 0600) and NAME.public.jwk, in
    ``out`` or the keys folder."""
    folder = out or ws.settings.dir_or_default("keys_dir")
    files = write_key_pair(folder, name, passphrase)
    return {
        "name": files.name,
        "kid": files.kid,
        "private": str(files.private),
        "public": str(files.public),
        "passphrase": files.protected,
    }


def trust_partner(ws: Workspace, file: Path, name: str) -> dict[str, Any]:
    """Trust a partner's public key: files signed with it are accepted from them."""
    key = load_public_key(file)
    with ws.session() as session:
        row, created = trust_key(session, key, name, ws.user)
        if created:
            record_event(session, ws.user, "trust", "key", row.kid, {"partner": row.name})
        return {"kid": row.kid, "name": row.name, "created": created}


def trusted_keys(ws: Workspace) -> list[dict[str, Any]]:
    """Trusted partners' keys, oldest first."""
    with ws.session() as session:
        return [
            {
                "name": r.name,
                "kid": r.kid,
                "curve": r.jwk.get("crv"),
                "added_at": r.added_at.isoformat(),
                "added_by": r.added_by,
            }
            for r in list_trusted(session)
        ]


def partners(ws: Workspace) -> list[str]:
    """Names of trusted partners, to choose whom to send a referral to."""
    with ws.session() as session:
        return sorted({row.name for row in list_trusted(session)})


# -- sending -------------------------------------------------------------------------------


def outbox_path(
    ws: Workspace, kind: str, referral_id: str, message_id: str, folder: Path | None = None
) -> Path:
    """Where a sent file goes: ``KIND-REFERRAL8-MESSAGE8.jwe`` in ``folder`` (default: the
    outbox, made 0700 if missing)."""
    if folder is None:
        folder = private_folder(ws.settings.dir_or_default("outbox"))
    return folder / f"{kind}-{referral_id[:8]}-{message_id[:8]}.jwe"


def _summary(sealed: Sealed, target: Path) -> dict[str, Any]:
    return sealed.summary() | {"file": str(target)}


def send_referral(
    ws: Workspace, session: Session, referral: Referral, signer: ECKey, to: str
) -> dict[str, Any]:
    """Within the caller's transaction: export ``referral`` signed and encrypted for
    ``to`` and write the file to the outbox (written inside the transaction: if writing
    fails, no export is recorded). The export's summary with its ``file``."""
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
    keep_shared(session, sealed)
    target = outbox_path(ws, "referral", sealed.referral_id, sealed.message_id)
    atomic_write(target, sealed.token + "\n", mode=0o600)
    return _summary(sealed, target)


def export_referral_files(
    ws: Workspace,
    refs: list[str],
    to: str,
    *,
    out: Path | None = None,
    out_dir: Path | None = None,
    plain_out: Path | None = None,
    key_file: Path | None = None,
    passphrase: str | None = None,
) -> list[dict[str, Any]]:
    """Export referrals as signed, encrypted FHIR Bundles for a partner, all or none: one
    summary (with its ``file``) per referral."""
    if len(refs) > 1 and (out is not None or plain_out is not None):
        raise ValueError("--out and --plain-out take one referral: use --out-dir for several")
    if out is not None and out_dir is not None:
        raise ValueError("give --out or --out-dir, not both")
    signer = our_key(ws, key_file, passphrase)
    with ws.session() as session:
        recipient, partner = resolve_recipient(session, to)
        rows = [get_referral(session, ref) for ref in refs]
        sealed = export_referrals(
            session,
            rows,
            signer=signer,
            recipient=recipient,
            partner=partner,
            actor=ws.user,
            practice_ods=ws.settings.practice_ods,
        )
        items: list[tuple[Path, bytes | str, int]] = []
        for one in sealed:
            keep_shared(session, one)
            target = out or outbox_path(ws, "referral", one.referral_id, one.message_id, out_dir)
            items.append((target, one.token + "\n", 0o600))
        if plain_out is not None:
            items.append((plain_out, sealed[0].plain, 0o600))
        atomic_write_many(items)  # inside the transaction: no file, no export recorded
    summaries = [_summary(one, item[0]) for one, item in zip(sealed, items, strict=False)]
    return [_noted(one, auto_checkpoint(ws, signer)) for one in summaries]


def keep_shared(session: Session, sealed: Sealed) -> None:
    """Keep what a sealed referral shares with its message (``linkwork.actions.sharing``)."""
    from linkwork.actions.sharing import keep

    keep(session, sealed)


def _noted(data: dict[str, Any], note: str | None) -> dict[str, Any]:
    """``data`` with ``checkpoint_note`` when no audit checkpoint could be signed after it."""
    return data | {"checkpoint_note": note} if note else data


def export_update_file(
    ws: Workspace,
    ref: str,
    *,
    to: str | None = None,
    out: Path | None = None,
    key_file: Path | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Send a received referral's status (and outcome) back, by default to its sender."""
    signer = our_key(ws, key_file, passphrase)
    with ws.session() as session:
        row = get_referral(session, ref)
        target_name = to or origin_partner(session, row)
        if not target_name:
            raise ValueError(
                f"{referral_words(session, row)}: say who to send it to with --to PARTNER"
            )
        recipient, partner = resolve_recipient(session, target_name)
        sealed = export_update(
            session, row, signer=signer, recipient=recipient, partner=partner, actor=ws.user
        )
        target = out or outbox_path(ws, "update", sealed.referral_id, sealed.message_id)
        atomic_write(target, sealed.token + "\n", mode=0o600)
    return _noted(_summary(sealed, target), auto_checkpoint(ws, signer))


# -- receiving -----------------------------------------------------------------------------


def read_exchange_file(file: Path | str) -> bytes:
    """A received file's bytes, at most ``MAX_FILE_BYTES`` + 1 of them (``-``: standard
    input): a larger file is then refused as too large without being read whole."""
    limit = jose.MAX_FILE_BYTES + 1
    if str(file) == "-":
        return sys.stdin.buffer.read(limit)
    with Path(file).open("rb") as handle:
        return handle.read(limit)


def receive_file(
    ws: Workspace,
    file: Path | str,
    *,
    key_file: Path | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Decrypt, verify and import a referral (at a hub) or a status update (at a
    practice); what happened (``status``) and the same in words (``message``)."""
    our = our_key(ws, key_file, passphrase)
    token = read_exchange_file(file)
    with ws.session() as session:
        result = receive(session, token, our, actor=ws.user)
    words = f"{RECEIVED_WORDS[result.status]} {short_id(result.referral_id)} from {result.partner}"
    return _noted(result.as_dict() | {"message": words}, auto_checkpoint(ws, our))


def open_exchange_file(
    ws: Workspace,
    file: Path | str,
    *,
    out: Path | None = None,
    key_file: Path | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Decrypt and verify a file without importing it (audited as an open); its summary,
    the Bundle, and the Bundle written to ``out`` (mode 0600) when given: written inside
    the transaction that records the open (no file, no audit entry)."""
    our = our_key(ws, key_file, passphrase)
    token = read_exchange_file(file)
    with ws.session() as session:
        opened = open_file(session, token, our)
        signer = opened.signer.name
        record_open(session, opened, actor=ws.user)
        if out is not None:
            atomic_write(out, bundle_bytes(opened.bundle), mode=0o600)
    counts = {kind: len(items) for kind, items in fhir.resources_by_type(opened.bundle).items()}
    return {
        "message_id": opened.message_id,
        "signed_by": signer,
        "signer_kid": opened.opened.signer_kid,
        "resources": counts,
        "file": str(out) if out else None,
        "bundle": opened.bundle,
    }


def import_inbox(ws: Workspace) -> dict[str, Any]:
    """Receive every ``*.jwe`` in the inbox folder, each in its own transaction; imported
    files move to ``inbox/imported/``, refused ones stay. ``KeyLocked`` before any file
    is touched if our key needs its passphrase. Counts by outcome, the refusals
    (``NAME: why``) and a ``message`` in words."""
    folder = ws.settings.dir_or_default("inbox")
    files = sorted(folder.glob("*.jwe")) if folder.is_dir() else []
    if not files:
        return {
            "files": 0,
            "outcomes": {},
            "refused": [],
            "message": f"No update files in {folder}.",
        }
    our = our_key(ws)
    done = folder / "imported"
    outcomes: dict[str, int] = {}
    refused: list[str] = []
    for path in files:
        try:
            token = read_exchange_file(path)
            with ws.session() as session:
                result = receive(session, token, our, actor=ws.user)
            outcomes[result.status] = outcomes.get(result.status, 0) + 1
            private_folder(done)
            path.replace(done / path.name)
        except (ValueError, LookupError, OSError) as exc:
            refused.append(f"{path.name}: {plain_error(exc)}")
    parts = [f"{n} {status}" for status, n in sorted(outcomes.items())]
    message = f"Inbox: {len(files)} files; " + (", ".join(parts) or "none imported")
    if refused:
        message += f"; {len(refused)} refused ({refused[0]})"
    note = auto_checkpoint(ws, our) if outcomes else None
    if note:
        message += f"; {note}"
    return {"files": len(files), "outcomes": outcomes, "refused": refused, "message": message}

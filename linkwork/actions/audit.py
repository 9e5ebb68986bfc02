"""The audit trail: show events, checkpoint and verify the chain; the synthetic demo data.

Checkpoints (``screening.audit_checkpoints``) go to ``audit-checkpoints.jsonl`` in the
data folder, signed with our private key (the exchange's: ``actions.exchange.our_key``).
Besides ``linkwork audit checkpoint``, one is taken after every export, receipt and report
(``auto_checkpoint``); when our key is missing or locked that says so once per workspace
and the action goes on. ``verify_audit`` checks the signatures with our public keys from
the keys folder (no passphrase needed) and the chain against every checkpoint of this
database.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkwork.errors import NotFound
from linkwork.workspace import Workspace
from screening.audit import (
    ChainReport,
    chain_heads,
    event_dict,
    list_events,
    record_event,
    verify_chain,
)
from screening.people import get_person

if TYPE_CHECKING:
    from joserfc.jwk import ECKey
    from sqlmodel import Session

# Workspaces already told that no checkpoint could be signed (said once, then quiet).
_TOLD: weakref.WeakSet[Workspace] = weakref.WeakSet()


def make_demo(
    ws: Workspace, people: int = 200, seed: int | None = None, today: date | None = None
) -> dict[str, Any]:
    """Fill the database with ``people`` synthetic people and their records (screenings,
    needs, consents, referrals in every status, outcomes) over the 18 months up to
    ``today``, loading the sample directory first if the directory is empty. One audit
    event (``demo``) for the whole batch, by this workspace's user; follow-ups fall due
    after the workspace's ``followup_days``. The same ``seed`` and ``today`` give the same
    data. Returns the summary (counts by table, referral status, need domain and ethnic
    category; ``directory_loaded``; ``seconds``). ValueError if ``people`` is out of range."""
    from linkwork import demo

    with ws.session() as session:
        summary = demo.make_demo(
            session,
            people=people,
            seed=seed,
            actor=ws.user,
            followup_days=ws.settings.followup_days,
            today=today,
        )
    return summary.as_dict()


def audit_events(
    ws: Workspace, *, person: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest audit events, newest first (only those about ``person`` if given)."""
    with ws.session() as session:
        person_id = get_person(session, person).id if person else None
        events = [event_dict(e) for e in list_events(session, person_id=person_id, limit=limit)]
    if not events:
        raise NotFound("no audit events")
    return events


def bulk_view(
    session: Session, ws: Workspace, what: str, asked: dict[str, Any], shown: int
) -> None:
    """Audit a bulk view of people (a list, a search) in the caller's transaction: one
    ``view`` of ``people`` with what was asked and how many were shown (``rows``), never
    who (no identifier, nor the text typed). A view that shows nobody discloses no one's
    record and is not recorded (it is "nothing found": exit 1, nothing changed)."""
    if shown < 1:
        return
    record_event(session, ws.user, "view", "people", what, {**asked, "rows": shown})


def is_refused(exc: BaseException) -> bool:
    """Did the database refuse this login (PostgreSQL insufficient_privilege, 42501,
    from its grants or row-level security)?"""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "42501"


@contextmanager
def refusal_audited(ws: Workspace, entity: str, what: str, asked: dict[str, Any]) -> Iterator[None]:
    """Around an action: when the database refuses the login, record the refusal (action
    ``refused``, what was asked) in a transaction of its own, where the database allows
    this login to write an audit row at all, and let the refusal go on to the front end."""
    try:
        yield
    except Exception as exc:
        if is_refused(exc):
            audit_refusal(ws, entity, what, asked)
        raise


def audit_refusal(ws: Workspace, entity: str, what: str, asked: dict[str, Any]) -> bool:
    """Record that the database refused ``what`` on ``entity`` to this login; False when
    the database does not let this login write even that (a login with no linkwork role)."""
    try:
        with ws.session() as session:
            record_event(session, ws.user, "refused", entity, what, dict(asked))
    except Exception:  # refused again: nothing more can be recorded
        return False
    return True


def checkpoint_file(ws: Workspace) -> Path:
    """Where this data folder keeps its checkpoints (outside every database)."""
    from screening.audit_checkpoints import FILE_NAME

    return ws.settings.home / FILE_NAME


def database_label(ws: Workspace) -> str:
    """Which database a checkpoint anchors: the SQLite file's full path, or PostgreSQL's
    host, port and database name (never a user or a password)."""
    url = ws.engine.url
    if url.get_backend_name() == "sqlite":
        return f"sqlite:{Path(url.database or '').expanduser().resolve()}"
    host = url.host or url.query.get("host") or "localhost"
    return f"postgresql://{host}:{url.port or 5432}/{url.database}"


def _org(ws: Workspace) -> str:
    return str(getattr(ws, "org", None) or ws.settings.practice_ods or "")


def make_checkpoint(
    ws: Workspace,
    *,
    key: ECKey | None = None,
    key_file: Path | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Sign the head of every chain this workspace can read (each organisation's, and the
    rows from before the chains if any) with our private key (``key``, else found as the
    exchange finds it) and append them to the checkpoint file; what was signed, where."""
    from screening import audit_checkpoints as ck

    if key is None:
        from linkwork.actions.exchange import our_key

        key = our_key(ws, key_file, passphrase)
    with ws.session() as session:
        heads = chain_heads(session)
    if not heads:
        raise NotFound("no audit events to checkpoint yet")
    at = ck.iso(datetime.now(UTC))
    label, signer_org, path = database_label(ws), _org(ws), checkpoint_file(ws)
    signed = []
    for head in heads:
        checkpoint = ck.Checkpoint(
            db=label,
            org=head.org if head.org is not None else signer_org,
            seq=head.place,
            head=head.hash,
            at=at,
            kid="",
            chain=head.org,
        )
        ck.append(path, ck.sign(checkpoint, key))
        signed.append({"org": head.org, "seq": head.place, "head": head.hash})
    return {"at": at, "file": str(path), "chains": signed}


def auto_checkpoint(ws: Workspace, key: ECKey | None = None) -> str | None:
    """A checkpoint after an export, a receipt or a report. None when it was taken; when
    it cannot be (no key, a locked key, no file), the reason in words the first time in
    this workspace and None after: the action it follows has happened, and goes on."""
    try:
        make_checkpoint(ws, key=key)
    except (ValueError, LookupError, OSError) as exc:
        if ws in _TOLD:
            return None
        _TOLD.add(ws)
        from linkwork.errors import plain_error

        return f"no audit checkpoint was signed ({plain_error(exc)})"
    return None


def our_public_keys(ws: Workspace) -> dict[str, ECKey]:
    """Our keys by key id and thumbprint, to check checkpoint signatures: each private
    key in the keys folder through its ``NAME.public.jwk`` beside it, or the key itself
    when it is not protected or was unlocked in this workspace. A partner's public key
    alone in the folder is not ours."""
    from screening.exchange.keys import key_id, load_private_key, load_public_key

    folder = ws.settings.dir_or_default("keys_dir")
    found: dict[str, ECKey] = {}
    if not folder.is_dir():
        return found
    for private in sorted(folder.glob("*.private.jwk")):
        public = private.with_name(private.name.removesuffix(".private.jwk") + ".public.jwk")
        key: ECKey | None = ws.unlocked_keys.get(str(private))
        try:
            if key is None and public.is_file():
                key = load_public_key(public)
            elif key is None:
                key = load_private_key(private)
        except ValueError:
            continue  # a locked key without its public file: its checkpoints are not ours
        found[key_id(key)] = key
        found[key.thumbprint()] = key
    return found


def verify_audit(ws: Workspace) -> ChainReport:
    """Check the audit trail's hash chain (the first row edited, removed or re-linked)
    and the chain against every signed checkpoint of this database (rows cut after a
    checkpoint, a stretch rewritten and rehashed); a checkpoint file line that is not
    signed by our key makes the whole check fail, naming the line."""
    from screening import audit_checkpoints as ck

    path = checkpoint_file(ws)
    keys = our_public_keys(ws)
    try:
        every = ck.read(path, keys.get)
    except ck.CheckpointFileError as exc:
        where = f"{path} line {exc.line}" if exc.line else str(path)
        return ChainReport(
            False, 0, None, f"the checkpoint file {where} {exc.why}", unreadable=True
        )
    label = database_label(ws)
    ours = [cp for cp in every if cp.db == label]
    with ws.session() as session:
        return verify_chain(session, checkpoints=ours)

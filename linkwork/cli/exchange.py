"""``linkwork keys`` and the exchange commands on ``linkwork referral``: export, receive,
open, update-export. Referral files are signed (JWS ES256) and encrypted (JWE
ECDH-ES+A256KW / A256GCM) FHIR R4 Bundles; see ``screening.exchange``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from linkwork.cli.common import JsonOption, NotFound, console, print_json, workspace
from linkwork.cli.referral import app as referral_app

keys_app = typer.Typer(
    help="Keys for signing and encrypting referral files: make, trust, list.",
    no_args_is_help=True,
)

PassphraseEnv = Annotated[
    str | None,
    typer.Option(
        "--passphrase-env",
        metavar="VAR",
        help="Name of an environment variable holding the private key's passphrase.",
    ),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="Our private key (NAME.private.jwk). Default: the only one in the keys folder.",
    ),
]


def _passphrase(var: str | None) -> str | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise ValueError(f"environment variable {var} is not set")
    if not value:
        raise ValueError(f"environment variable {var} is empty")
    return value


def _our_key(ctx: typer.Context, key: Path | None, passphrase_env: str | None):  # type: ignore[no-untyped-def]
    from screening.exchange.keys import load_private_key

    if key is None:
        folder = workspace(ctx).settings.dir_or_default("keys_dir")
        found = sorted(folder.glob("*.private.jwk")) if folder.is_dir() else []
        if len(found) != 1:
            where = "no" if not found else f"{len(found)}"
            raise ValueError(
                f"{where} private keys in {folder}: give our key with --key FILE "
                "(make one with `linkwork keys new NAME --out DIR`)"
            )
        key = found[0]
    return load_private_key(key, _passphrase(passphrase_env))


@keys_app.command("new")
def keys_new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the key, e.g. your ODS code.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to write to (default: keys folder).")
    ] = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Make an EC P-256 key pair: NAME.private.jwk (mode 0600) and NAME.public.jwk."""
    from screening.exchange.keys import write_key_pair

    folder = out or workspace(ctx).settings.dir_or_default("keys_dir")
    files = write_key_pair(folder, name, _passphrase(passphrase_env))
    data = {
        "name": files.name,
        "kid": files.kid,
        "private": str(files.private),
        "public": str(files.public),
        "passphrase": files.protected,
    }
    if json_out:
        print_json(data)
        return
    console.print(f"Made key {files.name} (kid {files.kid})")
    console.print(f"  private: {files.private} (keep it secret; mode 0600)")
    console.print(f"  public:  {files.public} (give this to partners)")


@keys_app.command("trust")
def keys_trust(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A partner's public key (NAME.public.jwk).")],
    name: Annotated[str, typer.Option("--name", help="The partner's name (e.g. the hub).")],
    json_out: JsonOption = False,
) -> None:
    """Trust a partner's public key: files signed with it are accepted from them."""
    from screening.audit import record_event
    from screening.exchange.keys import load_public_key, trust_key

    app = workspace(ctx)
    key = load_public_key(file)
    with app.session() as session:
        row, created = trust_key(session, key, name, app.settings.user)
        if created:
            record_event(session, app.settings.user, "trust", "key", row.kid, {"partner": row.name})
        data = {"kid": row.kid, "name": row.name, "created": created}
    if json_out:
        print_json(data)
    elif created:
        console.print(f"Trusted {data['name']} (kid {data['kid']})")
    else:
        console.print(f"Already trusted: {data['name']} (kid {data['kid']})")


@keys_app.command("list")
def keys_list(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Trusted partners' keys."""
    from screening.exchange.keys import list_trusted

    with workspace(ctx).session() as session:
        rows = [
            {
                "name": r.name,
                "kid": r.kid,
                "curve": r.jwk.get("crv"),
                "added_at": r.added_at.isoformat(),
                "added_by": r.added_by,
            }
            for r in list_trusted(session)
        ]
    if json_out:
        print_json(rows)
        return
    if not rows:
        raise NotFound("no trusted keys yet (linkwork keys trust FILE --name ORG)")
    table = Table("partner", "key id", "curve", "added")
    for row in rows:
        table.add_row(row["name"], row["kid"], str(row["curve"]), row["added_at"][:10])
    console.print(table)


def _write_token(path: Path, token: str) -> Path:
    from screening.exchange.files import atomic_write

    return atomic_write(path, token + "\n", mode=0o600)


def _default_out(
    ctx: typer.Context, referral_id: str, message_id: str, kind: str, folder: Path | None = None
) -> Path:
    if folder is None:
        folder = workspace(ctx).settings.dir_or_default("outbox")
        folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind}-{referral_id[:8]}-{message_id[:8]}.jwe"


@referral_app.command("export")
def export(
    ctx: typer.Context,
    referrals: Annotated[
        list[str], typer.Argument(help="Referral id(s) (or their first 8+ characters).")
    ],
    to: Annotated[str, typer.Option("--to", help="A trusted partner's name or a public JWK file.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the file (one referral).")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Folder for the files (default: the outbox)."),
    ] = None,
    plain_out: Annotated[
        Path | None,
        typer.Option("--plain-out", help="Also write the unencrypted Bundle JSON (careful)."),
    ] = None,
    key: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Export referrals as signed, encrypted FHIR Bundles for a partner (all or none)."""
    from screening.exchange.files import atomic_write_many
    from screening.exchange.keys import resolve_recipient
    from screening.exchange.outbound import export_referrals
    from screening.referrals import get_referral

    if len(referrals) > 1 and (out is not None or plain_out is not None):
        raise ValueError("--out and --plain-out take one referral: use --out-dir for several")
    if out is not None and out_dir is not None:
        raise ValueError("give --out or --out-dir, not both")
    app = workspace(ctx)
    signer = _our_key(ctx, key, passphrase_env)
    with app.session() as session:
        recipient, partner = resolve_recipient(session, to)
        rows = [get_referral(session, ref) for ref in referrals]
        sealed = export_referrals(
            session,
            rows,
            signer=signer,
            recipient=recipient,
            partner=partner,
            actor=app.settings.user,
            practice_ods=app.settings.practice_ods,
        )
        items: list[tuple[Path, bytes | str, int]] = []
        for one in sealed:
            target = out or _default_out(ctx, one.referral_id, one.message_id, "referral", out_dir)
            items.append((target, one.token + "\n", 0o600))
        if plain_out is not None:
            items.append((plain_out, sealed[0].plain, 0o600))
        # Written inside the transaction: if writing fails, no export is recorded.
        atomic_write_many(items)
    reports = [
        one.summary() | {"file": str(item[0])} for one, item in zip(sealed, items, strict=False)
    ]
    if json_out:
        print_json(reports[0] if len(reports) == 1 else reports)
        return
    for report in reports:
        _report(report, False)


def _report(data: dict[str, object], json_out: bool) -> None:
    if json_out:
        print_json(data)
    else:
        console.print(
            f"Wrote {data['kind']} for referral {data['referral_id']} to {data['to']}: "
            f"{data['file']}"
        )


@referral_app.command("update-export")
def update_export(
    ctx: typer.Context,
    referral: Annotated[str, typer.Argument(help="A referral we received.")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="The practice (trusted name or public JWK); default: sender."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the file.")] = None,
    key: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Send a received referral's status (and outcome) back to the practice."""
    from screening.exchange.keys import resolve_recipient
    from screening.exchange.outbound import export_update, origin_partner
    from screening.referrals import get_referral

    app = workspace(ctx)
    signer = _our_key(ctx, key, passphrase_env)
    with app.session() as session:
        row = get_referral(session, referral)
        target_name = to or origin_partner(session, row)
        if not target_name:
            raise ValueError(f"referral {row.id}: say who to send it to with --to PARTNER")
        recipient, partner = resolve_recipient(session, target_name)
        sealed = export_update(
            session,
            row,
            signer=signer,
            recipient=recipient,
            partner=partner,
            actor=app.settings.user,
        )
        target = out or _default_out(ctx, sealed.referral_id, sealed.message_id, "update")
        _write_token(target, sealed.token)
    _report(sealed.summary() | {"file": str(target)}, json_out)


def _read(file: Path) -> bytes:
    from screening.exchange.jose import MAX_FILE_BYTES

    if str(file) == "-":
        return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    with file.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)  # more than the limit is refused as too large


@referral_app.command("receive")
def receive(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A referral or update file (.jwe).")],
    key: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Decrypt, verify and import a referral (at a hub) or a status update (at a practice)."""
    from screening.exchange.inbound import receive as receive_file

    app = workspace(ctx)
    our = _our_key(ctx, key, passphrase_env)
    token = _read(file)
    with app.session() as session:
        result = receive_file(session, token, our, actor=app.settings.user)
        data = result.as_dict()
    if json_out:
        print_json(data)
        return
    messages = {
        "created": "Received new referral",
        "updated": "Updated referral",
        "unchanged": "Already have referral",
        "ignored": "Ignored an older update for referral",
        "duplicate": "Already received this file for referral",
    }
    console.print(f"{messages[result.status]} {result.referral_id} from {result.partner}")
    if result.detail.get("note"):
        console.print(f"  {result.detail['note']}")


@referral_app.command("open")
def open_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A referral or update file (.jwe).")],
    key: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the Bundle JSON here (mode 0600).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Decrypt and verify a file without importing it; show or save the Bundle."""
    from screening.exchange import fhir
    from screening.exchange.files import atomic_write
    from screening.exchange.inbound import open_file, record_open
    from screening.exchange.outbound import bundle_bytes

    app = workspace(ctx)
    our = _our_key(ctx, key, passphrase_env)
    token = _read(file)
    with app.session() as session:
        opened = open_file(session, token, our)
        signer = opened.signer.name
        record_open(session, opened, actor=app.settings.user)
    if out is not None:
        atomic_write(out, bundle_bytes(opened.bundle), mode=0o600)
    counts: dict[str, int] = {}
    for kind, items in fhir.resources_by_type(opened.bundle).items():
        counts[kind] = len(items)
    summary = {
        "message_id": opened.message_id,
        "signed_by": signer,
        "signer_kid": opened.opened.signer_kid,
        "resources": counts,
        "file": str(out) if out else None,
    }
    if json_out:
        print_json(summary | {"bundle": opened.bundle} if out is None else summary)
        return
    console.print(f"Signed by {signer}; message {opened.message_id}")
    console.print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    if out:
        console.print(f"Bundle written to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")

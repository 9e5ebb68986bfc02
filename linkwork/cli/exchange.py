"""``linkwork keys`` and the exchange commands on ``linkwork referral``: export, receive,
open, update-export. Referral files are signed (JWS ES256) and encrypted (JWE
ECDH-ES+A256KW / A256GCM) FHIR R4 Bundles; see ``screening.exchange``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from linkwork.cli.common import JsonOption, NotFound, console, esc, print_json, safe, workspace
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


def passphrase_from_env(var: str | None) -> str | None:
    """The passphrase held in environment variable ``var`` (None when no variable given)."""
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise ValueError(f"environment variable {var} is not set")
    if not value:
        raise ValueError(f"environment variable {var} is empty")
    return value


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
    from linkwork.actions import exchange as act

    data = act.new_keys(
        workspace(ctx), name, out=out, passphrase=passphrase_from_env(passphrase_env)
    )
    if json_out:
        print_json(data)
        return
    data = safe(data)
    console.print(f"Made key {data['name']} (kid {data['kid']})")
    console.print(f"  private: {data['private']} (keep it secret; mode 0600)")
    console.print(f"  public:  {data['public']} (give this to partners)")


@keys_app.command("trust")
def keys_trust(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A partner's public key (NAME.public.jwk).")],
    name: Annotated[str, typer.Option("--name", help="The partner's name (e.g. the hub).")],
    mesh_mailbox: Annotated[
        str | None,
        typer.Option(
            "--mesh-mailbox",
            metavar="ID",
            help="Reach the partner through this MESH mailbox (default: files in the outbox).",
        ),
    ] = None,
    ods: Annotated[
        str | None,
        typer.Option(
            "--ods",
            metavar="CODE",
            help="The partner organisation's ODS code (a referral to it names it by this).",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Trust a partner's public key (compare its fingerprint with theirs first) and say how
    to reach it: its MESH mailbox, or files; and its ODS code. Trusting the same key again
    sets the route (and the ODS code, when given)."""
    from linkwork.actions import mesh as act

    data = act.trust_partner(workspace(ctx), file, name, mesh_mailbox=mesh_mailbox, ods=ods)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    route = act.route_words(data["route"], data["mesh_mailbox"])
    who = f"{data['name']} (ODS {data['ods']})" if data["ods"] else data["name"]
    if data["created"]:
        console.print(f"Trusted {who}, reached by {route}")
    else:
        console.print(f"Already trusted: {who}, reached by {route}")
    console.print(f"  fingerprint {data['fingerprint']}")


@keys_app.command("list")
def keys_list(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Trusted partners: how each is reached and its key's fingerprint."""
    from linkwork.actions import mesh as act

    rows = act.partner_list(workspace(ctx))
    if json_out:
        print_json(rows)
        return
    rows = safe(rows)
    if not rows:
        raise NotFound("no trusted keys yet (linkwork keys trust FILE --name ORG)")
    for row in rows:
        ods = f"ODS {row['ods']}" if row["ods"] else "no ODS code"
        console.print(
            f"[bold]{row['name']}[/]  {ods}  by {row['route_words']}  added {row['added_at'][:10]}"
        )
        console.print(f"  fingerprint {row['fingerprint']}")


@keys_app.command("ours")
def keys_ours(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Our key: its fingerprint (read it to a partner, who compares it with theirs) and the
    public key file to send them."""
    from linkwork.actions import partners as act

    data = act.our_key_info(workspace(ctx))
    if json_out:
        print_json(data)
        return
    if data["state"] != "ok":
        raise NotFound(data["message"])
    data = safe(data)
    console.print(f"fingerprint {data['fingerprint']}", soft_wrap=True)
    console.print(f"public key (send this): {data['public']}")
    lock = "protected by a passphrase" if data["protected"] else "NOT protected by a passphrase"
    console.print(f"private key: {data['private']} ({lock})")


@keys_app.command("fingerprint")
def keys_fingerprint(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A partner's public key (NAME.public.jwk).")],
    json_out: JsonOption = False,
) -> None:
    """A partner's key file's fingerprint, read before trusting it: compare every group
    with what the partner reads from their screen (`linkwork keys ours`)."""
    from linkwork.actions import partners as act

    data = act.key_file_fingerprint(workspace(ctx), file)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    console.print(f"fingerprint {data['fingerprint']}", soft_wrap=True)
    if data["trusted_as"]:
        console.print(f"already trusted as {data['trusted_as']}")


@keys_app.command("route")
def keys_route(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A trusted partner's name.")],
    mesh_mailbox: Annotated[
        str | None,
        typer.Option("--mesh-mailbox", metavar="ID", help="Its MESH mailbox (none: by files)."),
    ] = None,
    ods: Annotated[
        str | None,
        typer.Option("--ods", metavar="CODE", help="Its ODS code ('' clears it; none: kept)."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Say how to reach a trusted partner: its MESH mailbox, or files when none is given;
    with --ods, its ODS code."""
    from linkwork.actions import partners as act

    data = act.set_route(workspace(ctx), name, mesh_mailbox, ods=ods)
    if json_out:
        print_json(data)
        return
    console.print(esc(data["message"]))


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
    from linkwork.actions import exchange as act

    reports = act.export_referral_files(
        workspace(ctx),
        referrals,
        to,
        out=out,
        out_dir=out_dir,
        plain_out=plain_out,
        key_file=key,
        passphrase=passphrase_from_env(passphrase_env),
    )
    if json_out:
        _checkpoint_note(reports[0])
        print_json(reports[0] if len(reports) == 1 else reports)
        return
    for report in reports:
        _report(report, False)


def _checkpoint_note(data: dict[str, object]) -> None:
    if data.get("checkpoint_note"):
        typer.echo(f"linkwork: note: {safe(data['checkpoint_note'])}", err=True)


def _report(data: dict[str, object], json_out: bool) -> None:
    _checkpoint_note(data)
    if json_out:
        print_json(data)
    else:
        data = safe(data)
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
    from linkwork.actions import exchange as act

    data = act.export_update_file(
        workspace(ctx),
        referral,
        to=to,
        out=out,
        key_file=key,
        passphrase=passphrase_from_env(passphrase_env),
    )
    _report(data, json_out)


@referral_app.command("receive")
def receive(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A referral or update file (.jwe).")],
    key: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Decrypt, verify and import a referral (at a hub) or a status update (at a practice)."""
    from linkwork.actions import exchange as act

    data = act.receive_file(
        workspace(ctx), file, key_file=key, passphrase=passphrase_from_env(passphrase_env)
    )
    words = data.pop("message")
    _checkpoint_note(data)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    console.print(esc(words))
    if data.get("note"):
        console.print(f"  {data['note']}")


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
    from linkwork.actions import exchange as act

    data = act.open_exchange_file(
        workspace(ctx), file, out=out, key_file=key, passphrase=passphrase_from_env(passphrase_env)
    )
    bundle = data.pop("bundle")
    if json_out:
        print_json(data | {"bundle": bundle} if out is None else data)
        return
    data = safe(data)
    console.print(f"Signed by {data['signed_by']}; message {data['message_id']}")
    console.print(", ".join(f"{n} {k}" for k, n in sorted(data["resources"].items())))
    if out:
        console.print(f"Bundle written to {esc(out)}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")

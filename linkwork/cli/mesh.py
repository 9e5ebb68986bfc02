"""``linkwork mesh sync`` and ``linkwork referral send``: delivery to partners (NHS MESH, or
files for partners without it); see ``linkwork.actions.mesh``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from directory.untrusted import visible_controls
from linkwork.cli.common import JsonOption, console, esc, print_json, workspace
from linkwork.cli.exchange import KeyOption, PassphraseEnv, passphrase_from_env
from linkwork.cli.referral import app as referral_app

mesh_app = typer.Typer(
    help="NHS MESH: send what is queued and receive what waits for us.", no_args_is_help=True
)


def _fail(line: str) -> None:
    """The user must act: one line on stderr, exit 2."""
    sys.stderr.write(f"linkwork: {visible_controls(line, keep_newlines=False)}\n")
    raise typer.Exit(2)


@mesh_app.command("sync")
def sync(
    ctx: typer.Context,
    now: Annotated[
        bool,
        typer.Option("--now", help="Also retry the messages still waiting for their next try."),
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Send what is queued, then download, import and acknowledge each message in our
    MESH inbox. Prints sent, received, applied, quarantined, failed; exit 2 when something
    failed (the first reason is said)."""
    from linkwork.actions import mesh as act

    data = act.sync(workspace(ctx), all_due=now)
    if json_out:
        print_json(
            {k: data[k] for k in ("sent", "received", "applied", "quarantined", "failed")}
            | {"inbox": data["inbox"]}
            | {"problems": data["problems"], "quarantine": data["quarantine"]}
        )
    else:
        console.print(esc(data["message"]))
        for line in data["quarantine"]:
            console.print(f"  quarantined {esc(line)}")
    if data["failed"]:
        _fail(data["problems"][0] if data["problems"] else "some messages failed")


@referral_app.command("send")
def send(
    ctx: typer.Context,
    referral: Annotated[str, typer.Argument(help="Referral id (or its first 8+ characters).")],
    to: Annotated[str, typer.Option("--to", help="A trusted partner's name.")],
    key: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Send a referral to a partner by its route: MESH now (or queued with the reason, for
    the next `linkwork mesh sync`), or a file in the outbox."""
    from linkwork.actions import mesh as act

    data = act.send_referral(
        workspace(ctx),
        referral,
        to,
        key_file=Path(key) if key else None,
        passphrase=passphrase_from_env(passphrase_env),
    )
    if json_out:
        print_json(data)
    else:
        console.print(esc(data["message"]))
    if data["state"] == "queued":
        _fail(f"referral {data['referral_id'][:8]} queued, not sent: {data['problem'] or '?'}")


@mesh_app.command("status")
def status(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Whether MESH is set up, how many messages wait to be sent, failed or were
    quarantined, and how many wait in our MESH inbox (asked of MESH: one small request)."""
    from linkwork.actions import partners as act

    data = act.delivery_status(workspace(ctx), peek=True)
    if json_out:
        print_json(data)
        return
    where = f"MESH mailbox {data['mailbox']}" if data["mesh"] else "MESH not set up (files only)"
    console.print(
        f"{esc(where)}: {data['waiting']} waiting to send, {data['failed']} failed, "
        f"{data['quarantined']} quarantined" + esc(act.inbox_words(data))
    )


@mesh_app.command("quarantined")
def quarantined(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Received messages refused (tampered, untrusted signer, not for us, not FHIR), each
    with its reason; none was imported."""
    from linkwork.actions import partners as act
    from linkwork.cli.common import NotFound, safe

    rows = act.quarantined(workspace(ctx))
    if json_out:
        print_json(rows)
        return
    if not rows:
        raise NotFound("nothing quarantined")
    for row in safe(rows):
        console.print(
            f"{row['received_at'][:16]}  from {row['from'] or '?'} by {row['source']} "
            f"(message {row['message']}): {row['detail'] or row['reason']}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(mesh_app, name="mesh")

"""``linkwork audit`` (show, verify) and ``linkwork demo``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from linkwork.cli.common import JsonOption, console, print_json, safe, workspace
from linkwork.cli.exchange import KeyOption, PassphraseEnv, passphrase_from_env

Opt = typer.Option


def _actor(ctx: typer.Context) -> str:
    return workspace(ctx).settings.user


audit_app = typer.Typer(
    help="The audit trail: show events, verify the chain.", no_args_is_help=True
)


# --- audit --------------------------------------------------------------------------------


@audit_app.command("show")
def audit_show(
    ctx: typer.Context,
    person_ref: Annotated[
        str | None, Opt("--person", help="Only events about this person.")
    ] = None,
    limit: Annotated[int, Opt("--limit", "-n", help="Most rows to show.", min=1, max=100000)] = 50,
    json_out: JsonOption = False,
) -> None:
    """The latest audit events, newest first."""
    from linkwork.actions import audit as act

    events = act.audit_events(workspace(ctx), person=person_ref, limit=limit)
    if json_out:
        print_json(events)
        return
    events = safe(events)
    table = Table(title="Audit trail")
    for col in ("seq", "at", "who", "action", "what", "id"):
        table.add_column(col)
    for e in events:
        table.add_row(
            str(e["seq"]), e["at"][:19], e["actor"], e["action"], e["entity"], e["entity_id"][:8]
        )
    console.print(table)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Check the audit trail's hash chain (exit 2 if broken).

    Exit 0 if intact; exit 2 naming the first broken row (by seq) if any row was edited,
    removed or re-linked."""
    from linkwork.actions import audit as act

    report = act.verify_audit(workspace(ctx))
    if json_out:
        print_json(report.as_dict())
    elif report.ok:
        console.print(safe(report.message))
    if not report.ok:
        sys.stderr.write(f"linkwork: {safe(report.message)}\n")
        raise typer.Exit(2)


@audit_app.command("checkpoint")
def audit_checkpoint(
    ctx: typer.Context,
    key_file: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Sign the chain's head with our private key and keep it outside the database.

    Appends (organisation, row, head hash, time), signed with our exchange key, to
    audit-checkpoints.jsonl in the data folder; `audit verify` then finds rows cut or
    rehashed since. Taken also after every export, receipt and report."""
    from linkwork.actions import audit as act

    data = act.make_checkpoint(
        workspace(ctx), key_file=key_file, passphrase=passphrase_from_env(passphrase_env)
    )
    if json_out:
        print_json(data)
        return
    data = safe(data)
    for chain in data["chains"]:
        whose = (
            "before the chains"
            if chain["org"] is None
            else f"organisation {chain['org'] or '(none)'}"
        )
        console.print(f"checkpoint: {whose}, row {chain['seq']} signed")
    console.print(f"kept in {data['file']}")


# --- demo ---------------------------------------------------------------------------------


def demo_cmd(
    ctx: typer.Context,
    people: Annotated[int, Opt("--people", help="How many synthetic people.", min=1)] = 200,
    seed: Annotated[int | None, Opt("--seed", help="Random seed, for repeatable data.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Fill the database with synthetic demo data.

    People, screenings, needs, consents, referrals and outcomes over the last 18 months
    across several made-up practices; loads the sample directory if it is empty."""
    from linkwork.actions import audit as act

    data = act.make_demo(workspace(ctx), people=people, seed=seed)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    console.print(
        f"added {data['people']} people, {data['needs']} needs, {data['referrals']} referrals, "
        f"{data['outcomes']} outcomes in {data['seconds']} s"
    )
    if data["directory_loaded"]:
        console.print("loaded the sample directory for referral targets")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.command("demo")(demo_cmd)

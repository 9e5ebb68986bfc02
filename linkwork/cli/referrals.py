"""Consent and referrals: ``linkwork consent``, ``refer``, ``followups`` and
``linkwork referral list/show/status/outcome``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from linkwork.cli import referral as referral_cli
from linkwork.cli.common import JsonOption, answer, console, print_json, safe, workspace
from linkwork.cli.exchange import KeyOption, PassphraseEnv, passphrase_from_env
from linkwork.cli.helptext import CONSENT_HELP, PERSON_HELP, REFERRAL_HELP
from linkwork.cli.tables import referrals_table

Opt = typer.Option

consent_app = typer.Typer(help="Consent to share: record, withdraw, list.", no_args_is_help=True)


# --- consent ------------------------------------------------------------------------------


@consent_app.command("record")
def consent_record(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
    service: Annotated[
        str | None, Opt("--service", help="Directory service (internal or feed id).")
    ] = None,
    hub: Annotated[str | None, Opt("--hub", help="A named hub instead of a service.")] = None,
    shares: Annotated[
        str, Opt("--shares", help="What may be shared: needs,contact,equality.")
    ] = "needs,contact",
    method: Annotated[str, Opt("--method", help="verbal or written.")] = "verbal",
    json_out: JsonOption = False,
) -> None:
    """Record the person's consent to share with a service or hub."""
    from linkwork.actions import referrals as act

    data = act.record_consent(
        workspace(ctx), person_ref, service=service, hub=hub, shares=shares, method=method
    )
    answer(data, json_out, lambda d: console.print(f"consent recorded: [bold]{d['id'][:8]}[/]"))


@consent_app.command("withdraw")
def consent_withdraw(
    ctx: typer.Context,
    consent_ref: Annotated[str, typer.Argument(metavar="CONSENT", help=CONSENT_HELP)],
    reason: Annotated[str, Opt("--reason", help="Why, in your words (optional).")] = "",
    json_out: JsonOption = False,
) -> None:
    """Withdraw consent: nothing more is shared under it."""
    from linkwork.actions import referrals as act

    data = act.withdraw(workspace(ctx), consent_ref, reason=reason)
    answer(data, json_out, lambda d: console.print(f"consent {d['id'][:8]} withdrawn"))


@consent_app.command("list")
def consent_list(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
    json_out: JsonOption = False,
) -> None:
    """A person's consents."""
    from linkwork.actions import referrals as act

    data = act.consents(workspace(ctx), person_ref)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    for c in data:
        to = f"service {c['service_id']}" if c["service_id"] else c["hub"]
        state = "active" if c["active"] else f"withdrawn {c['withdrawn_at'][:10]}"
        console.print(f"{c['id'][:8]}  {to}  {','.join(c['shares'])}  {c['method']}  {state}")


# --- referrals ----------------------------------------------------------------------------


def refer_cmd(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
    need: Annotated[
        list[str], Opt("--need", help="A need's code, id or first 8+ characters (repeat).")
    ],
    service: Annotated[
        str | None, Opt("--service", help="Directory service (internal or feed id).")
    ] = None,
    hub: Annotated[str | None, Opt("--hub", help="A named hub instead of a service.")] = None,
    reason: Annotated[str, Opt("--reason", help="Why, in your words.")] = "",
    consent: Annotated[
        str | None,
        Opt(
            "--consent",
            metavar="verbal|written",
            help="The person consents now (how): recorded with the referral.",
        ),
    ] = None,
    shares: Annotated[
        str | None,
        Opt("--shares", help="With --consent: what may be shared (default needs,contact)."),
    ] = None,
    send_to: Annotated[
        str | None,
        Opt("--send-to", metavar="PARTNER", help="Also write the encrypted file to the outbox."),
    ] = None,
    draft: Annotated[bool, Opt("--draft", help="Keep as a draft (not sent).")] = False,
    key: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Refer a person for one or more needs to a service or hub.

    Sending needs the person's consent for that service or hub: give it
    now with --consent verbal|written (and --shares), or record it first
    with linkwork consent record. With --send-to PARTNER the signed,
    encrypted file goes to the outbox too, all in one go (or none of it).
    With --draft nothing is sent."""
    from linkwork.actions import referrals as act

    if shares is not None and consent is None:
        raise ValueError("--shares goes with --consent verbal|written")
    data = act.refer(
        workspace(ctx),
        person_ref,
        need,
        service=service,
        hub=hub,
        reason=reason,
        consent=(shares, consent) if consent is not None else None,
        send_to=send_to,
        draft=draft,
        key_file=key,
        passphrase=passphrase_from_env(passphrase_env),
    )
    if json_out:
        print_json(data)
    else:
        data = safe(data)
        console.print(data["message"])
        console.print(f"referral: [bold]{data['id'][:8]}[/] (--json shows the whole id)")


def referral_list(
    ctx: typer.Context,
    status: Annotated[str | None, Opt("--status", help="Only this status.")] = None,
    person_ref: Annotated[str | None, Opt("--person", help="Only this person's.")] = None,
    direction: Annotated[str | None, Opt("--direction", help="outgoing or incoming.")] = None,
    limit: Annotated[int, Opt("--limit", "-n", help="Most rows to show.", min=1, max=100000)] = 100,
    json_out: JsonOption = False,
) -> None:
    """List referrals, newest first."""
    from linkwork.actions import referrals as act

    data = act.list_referrals(
        workspace(ctx), status=status, person_ref=person_ref, direction=direction, limit=limit
    )
    answer(data, json_out, referrals_table)


def referral_show(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL", help=REFERRAL_HELP)],
    json_out: JsonOption = False,
) -> None:
    """Show a referral: needs, status history and outcome."""
    from linkwork.actions import referrals as act

    data = act.show_referral(workspace(ctx), referral_ref)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    to = data.get("service_name") or (
        f"service {data['service_id']}" if data["service_id"] else data["hub"]
    )
    console.print(f"[bold]referral {data['id'][:8]}[/] to {to}: {data['status']}")
    if data["status_reason"]:
        console.print(f"reason: {data['status_reason']}")
    if data["business_status"]:
        console.print(f"detail: {data['business_status']}")
    console.print(f"why referred: {data['reason'] or '-'}   follow up by {data['followup_due']}")
    for n in data["needs"]:
        console.print(f"  need {n['code']} {n['display']}")
    table = Table(title="History")
    for col in ("at", "from", "to", "reason / detail", "by", "source"):
        table.add_column(col)
    for e in data["events"]:
        table.add_row(
            e["at"][:19],
            e["from"] or "",
            e["to"],
            e["reason"] or e["business_status"],
            e["by"],
            e["source"],
        )
    console.print(table)
    outcome = data["outcome"]
    if outcome:
        ons4 = ", ".join(f"{k} {v}" for k, v in outcome["ons4"].items() if v is not None)
        console.print(f"outcome: {outcome['note'] or '-'}  ONS4: {ons4 or '-'}")
    from linkwork.actions.mesh import delivery_words

    for sent in data.get("delivery") or []:
        console.print(f"delivery: {delivery_words(sent)}")
    for shared in data.get("shared") or []:
        to = shared["what"].removeprefix("Shared with ").split(" (referral", 1)[0]
        console.print(f"shared with {to}: {shared['line']}")


def referral_resend(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL", help=REFERRAL_HELP)],
    to: Annotated[
        str | None, Opt("--to", help="A trusted partner (only for a referral never sent).")
    ] = None,
    key: KeyOption = None,
    passphrase_env: PassphraseEnv = None,
    json_out: JsonOption = False,
) -> None:
    """Send a referral's message again (at a hub: its latest reply): a queued one now, a
    failed or cancelled one queued again (the same message) and sent. One already sent is
    not sent again."""
    from pathlib import Path

    from linkwork.actions import mesh as act

    data = act.resend(
        workspace(ctx),
        referral_ref,
        to=to,
        key_file=Path(key) if key else None,
        passphrase=passphrase_from_env(passphrase_env),
    )
    if json_out:
        print_json(data)
    else:
        console.print(safe(data)["message"])
    if data["state"] == "queued":
        _fail(f"referral {data['referral_id'][:8]} queued, not sent: {data['problem'] or '?'}")


def referral_cancel_send(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL", help=REFERRAL_HELP)],
    json_out: JsonOption = False,
) -> None:
    """Cancel what is queued for a referral and not sent yet (audited). Exit 2 when
    nothing is queued (what was sent cannot be called back)."""
    from linkwork.actions import mesh as act

    data = act.cancel_send(workspace(ctx), referral_ref)
    if json_out:
        print_json(data)
    else:
        console.print(safe(data)["message"])


def _fail(line: str) -> None:
    """The user must act: one line on stderr, exit 2."""
    import sys

    from directory.untrusted import visible_controls

    sys.stderr.write(f"linkwork: {visible_controls(line, keep_newlines=False)}\n")
    raise typer.Exit(2)


def referral_status(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL", help=REFERRAL_HELP)],
    status: Annotated[
        str,
        typer.Argument(
            help="requested, accepted, rejected, in-progress, on-hold, completed, failed, "
            "cancelled."
        ),
    ],
    reason: Annotated[
        str, Opt("--reason", help="Required for rejected, cancelled, on-hold and failed.")
    ] = "",
    business: Annotated[
        str | None, Opt("--business", help="Detail, e.g. 'received, awaiting triage'.")
    ] = None,
    resolved: Annotated[
        str | None, Opt("--resolved", help="With completed: codes or ids of resolved needs.")
    ] = None,
    ons4: Annotated[
        str | None, Opt("--ons4", help="With completed: satisfied,worthwhile,happy,anxious.")
    ] = None,
    note: Annotated[str | None, Opt("--note", help="With completed: outcome note.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Move a referral on in its workflow.

    draft -> requested -> accepted | rejected -> in-progress <-> on-hold -> completed |
    failed; or cancelled. A reason is required for rejected, cancelled, on-hold, failed.
    With --resolved, --ons4 or --note (completed or failed) the outcome is recorded too:
    both or neither."""
    from linkwork.actions import referrals as act

    data = act.set_status(
        workspace(ctx),
        referral_ref,
        status,
        reason=reason,
        business=business,
        resolved=resolved,
        ons4=ons4,
        note=note,
    )
    answer(data, json_out, lambda d: console.print(f"referral {d['id'][:8]} is now {d['status']}"))


def referral_outcome(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL", help=REFERRAL_HELP)],
    resolved: Annotated[
        str, Opt("--resolved", help="Codes or ids of the needs that were resolved.")
    ] = "",
    ons4: Annotated[
        str | None, Opt("--ons4", help="ONS4 again: satisfied,worthwhile,happy,anxious.")
    ] = None,
    note: Annotated[str, Opt("--note", help="The outcome in a few words (optional).")] = "",
    json_out: JsonOption = False,
) -> None:
    """Record the outcome of a completed or failed referral."""
    from linkwork.actions import referrals as act

    data = act.record_outcome(workspace(ctx), referral_ref, resolved=resolved, ons4=ons4, note=note)
    if json_out:
        print_json(data["outcome"] | {"referral_id": data["id"]})
    else:
        console.print(f"outcome recorded for referral {data['id'][:8]}")


def followups_cmd(
    ctx: typer.Context,
    soon: Annotated[
        int, Opt("--soon", help="Also list those due within this many days.", min=0)
    ] = 3,
    json_out: JsonOption = False,
) -> None:
    """Open referrals whose follow-up is overdue (or due soon)."""
    from linkwork.actions import referrals as act

    data = act.followups(workspace(ctx), soon=soon)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    table = Table(title="Follow-ups")
    for col in ("referral", "person", "to", "status", "due", "state"):
        table.add_column(col)
    for r in data:
        to = r.get("service_name") or (
            f"service {r['service_id']}" if r["service_id"] else r["hub"]
        )
        state = f"overdue {r['days_overdue']} d" if r["followup"] == "overdue" else "due soon"
        table.add_row(r["id"][:8], r["person_id"][:8], to, r["status"], r["followup_due"], state)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(consent_app, name="consent")
    app.command("refer")(refer_cmd)
    app.command("followups")(followups_cmd)
    referral_cli.app.command("list")(referral_list)
    referral_cli.app.command("show")(referral_show)
    referral_cli.app.command("status")(referral_status)
    referral_cli.app.command("outcome")(referral_outcome)
    referral_cli.app.command("resend")(referral_resend)
    referral_cli.app.command("cancel-send")(referral_cancel_send)

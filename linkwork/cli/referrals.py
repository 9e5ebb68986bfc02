"""Consent and referrals: ``linkwork consent``, ``refer``, ``followups`` and
``linkwork referral list/show/status/outcome``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from linkwork.cli import referral as referral_cli
from linkwork.cli.common import JsonOption, NotFound, console, print_json, workspace
from linkwork.cli.tables import referrals_table

Opt = typer.Option


def _actor(ctx: typer.Context) -> str:
    return workspace(ctx).settings.user


consent_app = typer.Typer(help="Consent to share: record, withdraw, list.", no_args_is_help=True)


# --- consent ------------------------------------------------------------------------------


def _service_id(session: Session, ref: str | None) -> int | None:
    if ref is None:
        return None
    from directory.service import get_service

    service = get_service(session, ref)
    assert service.id is not None
    return service.id


@consent_app.command("record")
def consent_record(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help="Id or NHS number.")],
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
    from screening.consent import consent_dict, record_consent
    from screening.people import get_person

    with workspace(ctx).session() as session:
        person = get_person(session, person_ref)
        consent = record_consent(
            session,
            person,
            actor=_actor(ctx),
            service_id=_service_id(session, service),
            hub=hub,
            shares=shares,
            method=method,
        )
        data = consent_dict(consent)
    if json_out:
        print_json(data)
    else:
        console.print(f"consent recorded: [bold]{data['id']}[/]")


@consent_app.command("withdraw")
def consent_withdraw(
    ctx: typer.Context,
    consent_ref: Annotated[str, typer.Argument(metavar="CONSENT")],
    reason: Annotated[str, Opt("--reason")] = "",
    json_out: JsonOption = False,
) -> None:
    """Withdraw consent: nothing more is shared under it."""
    from screening.consent import consent_dict, get_consent, withdraw_consent

    with workspace(ctx).session() as session:
        consent = withdraw_consent(
            session, get_consent(session, consent_ref), actor=_actor(ctx), reason=reason
        )
        data = consent_dict(consent)
    if json_out:
        print_json(data)
    else:
        console.print(f"consent {data['id']} withdrawn")


@consent_app.command("list")
def consent_list(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON")],
    json_out: JsonOption = False,
) -> None:
    """A person's consents."""
    from screening.consent import consent_dict, list_consents
    from screening.people import show_person

    with workspace(ctx).session() as session:
        person = show_person(session, person_ref, actor=_actor(ctx))
        data = [consent_dict(c) for c in list_consents(session, person)]
    if not data:
        raise NotFound("no consent recorded")
    if json_out:
        print_json(data)
        return
    for c in data:
        to = f"service {c['service_id']}" if c["service_id"] else c["hub"]
        state = "active" if c["active"] else f"withdrawn {c['withdrawn_at'][:10]}"
        console.print(f"{c['id']}  {to}  {','.join(c['shares'])}  {c['method']}  {state}")


# --- referrals ----------------------------------------------------------------------------


def refer_cmd(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help="Id or NHS number.")],
    need: Annotated[list[str], Opt("--need", help="A need's code or id (repeat for several).")],
    service: Annotated[
        str | None, Opt("--service", help="Directory service (internal or feed id).")
    ] = None,
    hub: Annotated[str | None, Opt("--hub", help="A named hub instead of a service.")] = None,
    reason: Annotated[str, Opt("--reason", help="Why, in your words.")] = "",
    draft: Annotated[bool, Opt("--draft", help="Keep as a draft (not sent).")] = False,
    json_out: JsonOption = False,
) -> None:
    """Refer a person for one or more needs to a service or hub.

    Sending needs the person's active consent for that service or hub (linkwork consent
    record); --draft keeps it unsent."""
    from screening.models import Need
    from screening.needs import list_needs
    from screening.people import get_person
    from screening.referrals import create_referral, referral_dict

    ctx_app = workspace(ctx)
    with ctx_app.session() as session:
        person = get_person(session, person_ref)
        active = list_needs(session, person, status="active")
        chosen: list[Need] = []
        for ref in need:
            text = ref.strip()
            found = [
                n
                for n in active
                if n.id == text
                or (len(text) >= 8 and n.id.startswith(text))
                or n.code.lower() == text.lower()
                or n.code.replace(".", "").lower() == text.replace(".", "").lower()
            ]
            if not found:
                raise LookupError(
                    f"{person.given_name} {person.family_name} has no active need {text!r}"
                )
            for n in found:
                if n not in chosen:
                    chosen.append(n)
        referral = create_referral(
            session,
            person,
            chosen,
            actor=_actor(ctx),
            service_id=_service_id(session, service),
            hub=hub,
            reason=reason,
            send=not draft,
            followup_days=ctx_app.settings.followup_days,
        )
        data = referral_dict(session, referral, full=True)
    if json_out:
        print_json(data)
    else:
        console.print(
            f"referral {data['status']}: [bold]{data['id']}[/]  follow up by {data['followup_due']}"
        )


def referral_list(
    ctx: typer.Context,
    status: Annotated[str | None, Opt("--status", help="Only this status.")] = None,
    person_ref: Annotated[str | None, Opt("--person", help="Only this person's.")] = None,
    direction: Annotated[str | None, Opt("--direction", help="outgoing or incoming.")] = None,
    limit: Annotated[int, Opt("--limit", "-n", min=1, max=100000)] = 100,
    json_out: JsonOption = False,
) -> None:
    """List referrals, newest first."""
    from screening.people import show_person
    from screening.referrals import list_referrals, referral_dict

    with workspace(ctx).session() as session:
        person = show_person(session, person_ref, actor=_actor(ctx)) if person_ref else None
        data = [
            referral_dict(session, r)
            for r in list_referrals(
                session, person=person, status=status, direction=direction, limit=limit
            )
        ]
    if not data:
        raise NotFound("no referrals")
    if json_out:
        print_json(data)
    else:
        referrals_table(data)


def referral_show(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL")],
    json_out: JsonOption = False,
) -> None:
    """Show a referral: needs, status history and outcome."""
    from screening.audit import record_event
    from screening.referrals import get_referral, referral_dict

    with workspace(ctx).session() as session:
        referral = get_referral(session, referral_ref)
        record_event(
            session, _actor(ctx), "view", "referral", referral.id, person_id=referral.person_id
        )
        data = referral_dict(session, referral, full=True)
    if json_out:
        print_json(data)
        return
    to = data.get("service_name") or (
        f"service {data['service_id']}" if data["service_id"] else data["hub"]
    )
    console.print(f"[bold]referral {data['id']}[/] to {to}: {data['status']}")
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


def _parse_ons4(text: str | None) -> dict[str, int | None]:
    if not text:
        return {}
    from screening.referrals import ONS4_FIELDS

    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError("--ons4 takes four numbers: satisfied,worthwhile,happy,anxious")
    values: dict[str, int | None] = {}
    for name, part in zip(ONS4_FIELDS, parts, strict=True):
        if part == "":
            values[name] = None
        elif part.isdigit():
            values[name] = int(part)
        else:
            raise ValueError(f"ONS4 {name} must be a whole number from 0 to 10, not {part!r}")
    return values


def referral_status(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL")],
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
    note: Annotated[str, Opt("--note", help="With completed: outcome note.")] = "",
    json_out: JsonOption = False,
) -> None:
    """Move a referral on in its workflow.

    draft -> requested -> accepted | rejected -> in-progress <-> on-hold -> completed |
    failed; or cancelled. A reason is required for rejected, cancelled, on-hold, failed."""
    from screening.referrals import get_referral, record_outcome, referral_dict, set_status

    outcome_given = resolved is not None or ons4 is not None or bool(note)
    with workspace(ctx).session() as session:
        referral = get_referral(session, referral_ref)
        set_status(
            session,
            referral,
            status,
            actor=_actor(ctx),
            reason=reason,
            business_status=business,
        )
        if outcome_given:
            if referral.status not in ("completed", "failed"):
                raise ValueError("--resolved, --ons4 and --note go with completed or failed")
            record_outcome(
                session,
                referral,
                actor=_actor(ctx),
                resolved=[c.strip() for c in (resolved or "").split(",") if c.strip()],
                ons4=_parse_ons4(ons4),
                note=note,
            )
        data = referral_dict(session, referral, full=True)
    if json_out:
        print_json(data)
    else:
        console.print(f"referral {data['id']} is now {data['status']}")


def referral_outcome(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL")],
    resolved: Annotated[
        str, Opt("--resolved", help="Codes or ids of the needs that were resolved.")
    ] = "",
    ons4: Annotated[
        str | None, Opt("--ons4", help="ONS4 again: satisfied,worthwhile,happy,anxious.")
    ] = None,
    note: Annotated[str, Opt("--note")] = "",
    json_out: JsonOption = False,
) -> None:
    """Record the outcome of a completed or failed referral."""
    from screening.referrals import get_referral, record_outcome, referral_dict

    with workspace(ctx).session() as session:
        referral = get_referral(session, referral_ref)
        record_outcome(
            session,
            referral,
            actor=_actor(ctx),
            resolved=[c.strip() for c in resolved.split(",") if c.strip()],
            ons4=_parse_ons4(ons4),
            note=note,
        )
        data = referral_dict(session, referral, full=True)
    if json_out:
        print_json(data["outcome"] | {"referral_id": data["id"]})
    else:
        console.print(f"outcome recorded for referral {data['id']}")


def followups_cmd(
    ctx: typer.Context,
    soon: Annotated[
        int, Opt("--soon", help="Also list those due within this many days.", min=0)
    ] = 3,
    json_out: JsonOption = False,
) -> None:
    """Open referrals whose follow-up is overdue (or due soon)."""
    from screening.referrals import followups, referral_dict

    with workspace(ctx).session() as session:
        items = followups(session, soon_days=soon)
        data = [
            referral_dict(session, f.referral) | {"followup": f.state, "days_overdue": f.days}
            for f in items
        ]
    if not data:
        raise NotFound("no follow-ups due")
    if json_out:
        print_json(data)
        return
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

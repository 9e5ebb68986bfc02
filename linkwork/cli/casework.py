"""``linkwork episode``, ``contact``, ``note``, ``goal`` and ``caseload``: casework
(issue 20). Each command parses, calls one action (``linkwork.actions.casework``) and
prints the result."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from linkwork.cli.common import (
    JsonOption,
    NotFound,
    answer,
    console,
    print_json,
    safe,
    workspace,
)
from linkwork.cli.helptext import PERSON_HELP
from linkwork.words import counted

Opt = typer.Option
Person = Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)]

episode_app = typer.Typer(
    help="Social prescribing episodes: start, decline, close, what matters.",
    no_args_is_help=True,
)
contact_app = typer.Typer(help="Contacts with a person: book, record, list.", no_args_is_help=True)
note_app = typer.Typer(help="Case notes: add, list, correct (never deleted).", no_args_is_help=True)
goal_app = typer.Typer(
    help="Goals of the person's plan: add, progress, list.", no_args_is_help=True
)


def _when(iso: str | None, with_time: bool = True) -> str:
    """An ISO time from an action as local time, in a few characters."""
    if not iso:
        return "-"
    at = datetime.fromisoformat(iso).astimezone()
    return at.strftime("%d %b %Y %H:%M" if with_time else "%d %b %Y")


def _say(line: str) -> None:
    """One line in words (its values already made safe)."""
    console.print(line, highlight=False)


def _short(iso: str | None, with_time: bool = False) -> str:
    if not iso:
        return "-"
    at = datetime.fromisoformat(iso).astimezone()
    return at.strftime("%d %b %y %H:%M" if with_time else "%d %b")


# --- episodes -----------------------------------------------------------------------------


def _episode_line(verb: str, data: dict[str, Any]) -> None:
    code = f"; SNOMED CT {data['code']} {data['code_display']}" if data["code"] else ""
    console.print(f"{verb}: episode [bold]{data['id'][:8]}[/]{code}", highlight=False)


@episode_app.command("start")
def episode_start(
    ctx: typer.Context,
    person_ref: Person,
    source: Annotated[str, Opt("--source", help="Who referred: gp, self or other.")] = "gp",
    json_out: JsonOption = False,
) -> None:
    """Start a person's social prescribing episode."""
    from linkwork.actions import casework as act

    data = act.start_episode(workspace(ctx), person_ref, source=source)
    answer(data, json_out, lambda d: _episode_line("started", d))


@episode_app.command("decline")
def episode_decline(
    ctx: typer.Context,
    person_ref: Person,
    note: Annotated[str, Opt("--note", help="Why, in a few words (optional).")] = "",
    json_out: JsonOption = False,
) -> None:
    """The person declines social prescribing."""
    from linkwork.actions import casework as act

    data = act.decline_episode(workspace(ctx), person_ref, note=note)
    answer(data, json_out, lambda d: _episode_line("declined", d))


@episode_app.command("close")
def episode_close(
    ctx: typer.Context,
    person_ref: Person,
    reason: Annotated[
        str, Opt("--reason", help="goals-met, moved-away, declined, no-contact or other.")
    ],
    note: Annotated[str, Opt("--note", help="A few words (optional).")] = "",
    gp_summary: Annotated[
        Path | None,
        Opt("--gp-summary", help="Also write the summary for the GP (FHIR JSON) to FILE."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Close the person's open episode with a reason."""
    from linkwork.actions import casework as act

    data = act.close_episode(
        workspace(ctx), person_ref, reason=reason, note=note, gp_summary=gp_summary
    )
    if json_out:
        print_json(data)
        return
    shown = safe(data)
    console.print(
        f"closed episode [bold]{shown['id'][:8]}[/] ({shown['end_reason']}) after "
        f"{counted(data['contacts'], 'contact')}",
        highlight=False,
    )
    if data["gp_summary"]:
        from linkwork.cli.careplan import summary_line

        summary_line(data["gp_summary"])


@episode_app.command("what-matters")
def episode_what_matters(
    ctx: typer.Context,
    person_ref: Person,
    text: Annotated[str, typer.Argument(help="What matters to them, in their words.")],
    json_out: JsonOption = False,
) -> None:
    """Write what matters to the person on their open episode."""
    from linkwork.actions import casework as act

    data = act.set_what_matters(workspace(ctx), person_ref, text)
    answer(data, json_out, lambda d: _say(f"what matters, on episode {d['id'][:8]}: saved"))


@episode_app.command("show")
def episode_show(ctx: typer.Context, person_ref: Person, json_out: JsonOption = False) -> None:
    """A person's casework: episode, what matters, goals, contacts, ONS4 over time."""
    from linkwork.actions import casework as act

    data = act.casework_record(workspace(ctx), person_ref)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    episode = data["episode"]
    if episode is None:
        raise NotFound("no social prescribing episode recorded for this person")
    console.print(
        f"episode {episode['id'][:8]}: {episode['status']} (from {episode['source']}, "
        f"started {_when(episode['started_at'], False)}"
        + (
            f", ended {_when(episode['ended_at'], False)}: {episode['end_reason']}"
            if episode["ended_at"]
            else ""
        )
        + ")",
        highlight=False,
    )
    if episode["what_matters"]:
        console.print(f"What matters to me: {episode['what_matters']}", highlight=False)
    _goals_table(data["goals"])
    _contacts_table(data["contacts"])
    _trend(data["ons4_trend"])


# --- contacts -----------------------------------------------------------------------------


def _ons4_text(ons4: dict[str, Any] | None) -> str:
    if not ons4:
        return ""
    return "/".join("-" if v is None else str(v) for v in ons4.values())


def _contacts_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("No contacts recorded.")
        return
    table = Table(title="Contacts", box=box.SIMPLE)
    for col in ("id", "when", "kind", "status", "mins", "ONS4"):
        table.add_column(col, no_wrap=True)
    table.add_column("note", overflow="fold")
    for c in rows:
        status = c["status"] + (" !" if c["needs_outcome"] else "")
        table.add_row(
            c["id"][:8],
            _short(c["at"], with_time=True),
            c["kind"],
            status,
            str(c["minutes"] or ""),
            _ons4_text(c["ons4"]),
            c["note"],
        )
    console.print(table)


def _trend(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title="ONS4 over time (0-10; anxiety: lower is better)", box=box.SIMPLE)
    for col in ("date", "at", "satisfied", "worthwhile", "happy", "anxious"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            _when(r["at"], False),
            r["when"],
            *(
                "-" if r[k] is None else str(r[k])
                for k in ("satisfied", "worthwhile", "happy", "anxious")
            ),
        )
    console.print(table)


@contact_app.command("add")
def contact_add(
    ctx: typer.Context,
    person_ref: Person,
    when: Annotated[str, Opt("--when", help="Date and time: 2026-12-07 14:30 (local).")],
    kind: Annotated[str, Opt("--kind", help="face-to-face, phone, video, home-visit or group.")],
    status: Annotated[
        str | None,
        Opt(
            "--status",
            help="booked, attended, did-not-attend, cancelled or no-answer "
            "(default: booked if ahead, attended if past).",
        ),
    ] = None,
    minutes: Annotated[
        int | None, Opt("--minutes", help="How long it took, in minutes.", min=1, max=600)
    ] = None,
    note: Annotated[str, Opt("--note", help="A few words (optional).")] = "",
    ons4: Annotated[
        str | None, Opt("--ons4", help="satisfied,worthwhile,happy,anxious (0-10 each).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Book a contact, or record one that happened."""
    from linkwork.actions import casework as act

    data = act.add_contact(
        workspace(ctx),
        person_ref,
        at=when,
        kind=kind,
        status=status,
        minutes=minutes,
        note=note,
        ons4=ons4,
    )
    answer(
        data,
        json_out,
        lambda d: _say(f"{d['status']}: {d['kind']} on {_when(d['at'])} ([bold]{d['id'][:8]}[/])"),
    )


@contact_app.command("status")
def contact_status(
    ctx: typer.Context,
    contact_ref: Annotated[
        str,
        typer.Argument(
            metavar="CONTACT",
            help="The contact's id (or its first 8+ characters): "
            "`linkwork contact list PERSON` shows it.",
        ),
    ],
    status: Annotated[
        str, Opt("--status", help="attended, did-not-attend, cancelled or no-answer.")
    ],
    minutes: Annotated[
        int | None, Opt("--minutes", help="How long it took, in minutes.", min=1, max=600)
    ] = None,
    note: Annotated[str, Opt("--note", help="A few words (optional).")] = "",
    ons4: Annotated[
        str | None, Opt("--ons4", help="satisfied,worthwhile,happy,anxious (0-10 each).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Record what happened to a booked contact."""
    from linkwork.actions import casework as act

    data = act.set_contact_status(
        workspace(ctx), contact_ref, status, minutes=minutes, note=note, ons4=ons4
    )
    answer(data, json_out, lambda d: _say(f"contact {d['id'][:8]}: {d['status']}"))


@contact_app.command("list")
def contact_list(ctx: typer.Context, person_ref: Person, json_out: JsonOption = False) -> None:
    """A person's contacts, oldest first."""
    from linkwork.actions import casework as act

    rows = act.list_contacts(workspace(ctx), person_ref)
    if not rows:
        raise NotFound("no contacts recorded for this person")
    answer(rows, json_out, _contacts_table)


# --- notes --------------------------------------------------------------------------------


@note_app.command("add")
def note_add(
    ctx: typer.Context,
    person_ref: Person,
    text: Annotated[str, typer.Argument(help="The note.")],
    json_out: JsonOption = False,
) -> None:
    """Add a case note (kept within the organisation: never sent or reported)."""
    from linkwork.actions import casework as act

    data = act.add_note(workspace(ctx), person_ref, text)
    answer(data, json_out, lambda d: _say(f"note added: [bold]{d['id'][:8]}[/]"))


@note_app.command("correct")
def note_correct(
    ctx: typer.Context,
    note_ref: Annotated[str, typer.Argument(metavar="NOTE", help="The note's id.")],
    text: Annotated[str, typer.Argument(help="The corrected note.")],
    json_out: JsonOption = False,
) -> None:
    """Correct a note: a new note; the old one is kept, marked as corrected."""
    from linkwork.actions import casework as act

    data = act.correct_note(workspace(ctx), note_ref, text)
    answer(
        data,
        json_out,
        lambda d: _say(f"note {d['corrects'][:8]} corrected by note [bold]{d['id'][:8]}[/]"),
    )


@note_app.command("list")
def note_list(ctx: typer.Context, person_ref: Person, json_out: JsonOption = False) -> None:
    """A person's case notes, newest first."""
    from linkwork.actions import casework as act

    rows = act.list_notes(workspace(ctx), person_ref)
    if not rows:
        raise NotFound("no notes recorded for this person")
    if json_out:
        print_json(rows)
        return
    for n in safe(rows):
        mark = "" if n["current"] else f"  [corrected by {n['corrected_by'][:8]}]"
        console.print(
            f"[bold]{n['id'][:8]}[/] {_when(n['written_at'])} {n['written_by']}{mark}",
            highlight=False,
        )
        console.print(n["text"], style="dim" if not n["current"] else None, highlight=False)


# --- goals --------------------------------------------------------------------------------


def _goals_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("No goals recorded.")
        return
    table = Table(title="Goals", box=box.SIMPLE)
    for col in ("id", "goal", "need", "by", "progress", "referrals"):
        table.add_column(col, overflow="fold")
    for g in rows:
        need = g["need"]["code"] if g["need"] else ""
        progress = g["progress"] + (f" ({g['progress_on']})" if g["progress_on"] else "")
        referrals = ", ".join(f"{r['to']} ({r['status']})" for r in g["referrals"])
        table.add_row(g["id"][:8], g["text"], need, g["target"] or "", progress, referrals)
    console.print(table)


@goal_app.command("add")
def goal_add(
    ctx: typer.Context,
    person_ref: Person,
    text: Annotated[str, typer.Argument(help="The goal, in the person's words.")],
    need: Annotated[
        str | None, Opt("--need", help="For this need: its code (Z59.0) or domain key.")
    ] = None,
    by: Annotated[str | None, Opt("--by", help="Target date (DD/MM/YYYY).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Add a goal to the person's plan (their episode must be open)."""
    from linkwork.actions import casework as act

    data = act.add_goal(workspace(ctx), person_ref, text, need=need, by=by)
    answer(data, json_out, lambda d: _say(f"goal added: [bold]{d['id'][:8]}[/]"))


@goal_app.command("progress")
def goal_progress(
    ctx: typer.Context,
    goal_ref: Annotated[str, typer.Argument(metavar="GOAL", help="The goal's id.")],
    progress: Annotated[
        str,
        typer.Argument(
            metavar="PROGRESS", help="not-started, some, mostly, achieved or no-longer-wanted."
        ),
    ],
    on: Annotated[str | None, Opt("--on", help="As it was on this date (default today).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Record a goal's progress."""
    from linkwork.actions import casework as act

    data = act.goal_progress(workspace(ctx), goal_ref, progress, on=on)
    answer(
        data, json_out, lambda d: _say(f"goal {d['id'][:8]}: {d['progress']} on {d['progress_on']}")
    )


@goal_app.command("list")
def goal_list(ctx: typer.Context, person_ref: Person, json_out: JsonOption = False) -> None:
    """A person's goals with their needs, referrals and progress."""
    from linkwork.actions import casework as act

    rows = act.list_goals(workspace(ctx), person_ref)
    if not rows:
        raise NotFound("no goals recorded for this person")
    answer(rows, json_out, _goals_table)


# --- the caseload -------------------------------------------------------------------------


def _attention(row: dict[str, Any]) -> str:
    parts = []
    if row["no_outcome"]:
        parts.append(f"{row['no_outcome']} without outcome")
    if row["overdue_followups"]:
        parts.append(f"{row['overdue_followups']} follow-up overdue")
    if row["quiet"]:
        parts.append(f"quiet {row['days_since_contact'] // 7} wk")
    return ", ".join(parts)


SHORT = {"did-not-attend": "DNA", "no-answer": "no answer"}  # fits the caseload's column


def caseload_cmd(
    ctx: typer.Context,
    sort: Annotated[
        str, Opt("--sort", help="attention, last, next, name or started.")
    ] = "attention",
    quiet_weeks: Annotated[
        int, Opt("--quiet-weeks", min=1, max=104, help="Flag no contact for this many weeks.")
    ] = 3,
    everyone: Annotated[
        bool, Opt("--all", help="Everyone's open episodes, not only mine.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """My open episodes: last and next contact, and what needs attention."""
    from linkwork.actions import casework as act

    rows = act.caseload(workspace(ctx), everyone=everyone, quiet_weeks=quiet_weeks, sort=sort)
    if not rows:
        raise NotFound("no open episodes" + ("" if everyone else " of yours (--all: everyone's)"))
    if json_out:
        print_json(rows)
        return
    table = Table(box=box.SIMPLE, pad_edge=False)
    table.add_column("id", width=8, no_wrap=True)
    table.add_column("person", max_width=18, overflow="ellipsis", no_wrap=True)
    table.add_column("last contact", max_width=16, no_wrap=True)
    table.add_column("next", width=6, no_wrap=True)
    table.add_column("needs attention", overflow="fold")
    for r in safe(rows):
        last = r["last_contact"]
        last_text = (
            f"{_short(last['at'])} {SHORT.get(last['status'], last['status'])}" if last else "none"
        )
        nxt = r["next_contact"]
        table.add_row(
            r["person_id"][:8],
            r["name"],
            last_text,
            _short(nxt["at"]) if nxt else "-",
            _attention(r),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(episode_app, name="episode")
    app.add_typer(contact_app, name="contact")
    app.add_typer(note_app, name="note")
    app.add_typer(goal_app, name="goal")
    app.command("caseload")(caseload_cmd)

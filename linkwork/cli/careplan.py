"""``linkwork plan`` (the person's care and support plan, a printable PDF) and
``linkwork episode summary`` (the GP summary of a closed episode, FHIR JSON): issue 20
points 5 and 8. Each parses, calls one action (``linkwork.actions.careplan``) and prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from linkwork.cli.common import JsonOption, console, print_json, safe, workspace
from linkwork.cli.helptext import PERSON_HELP

Opt = typer.Option


def summary_line(data: dict[str, Any]) -> None:
    shown = safe(data)
    console.print(
        f"GP summary written to {shown['file']}: {data['needs']} needs, {data['goals']} goals, "
        f"{data['referrals']} referrals, {data['observations']} ONS4 answers",
        highlight=False,
    )


def plan_cmd(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
    out: Annotated[Path, Opt("--out", help="The PDF file to write.")],
    large_print: Annotated[bool, Opt("--large-print", help="18 pt text.")] = False,
    with_nhs_number: Annotated[
        bool, Opt("--with-nhs-number", help="Print the NHS number (left off otherwise).")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """The person's personalised care and support plan, printable, in plain English."""
    from linkwork.actions import careplan

    data = careplan.care_plan(
        workspace(ctx), person_ref, out, large_print=large_print, with_nhs_number=with_nhs_number
    )
    if json_out:
        print_json(data)
        return
    shown = safe(data)
    pages = f"{data['pages']} page{'' if data['pages'] == 1 else 's'}"
    extra = ", large print" if large_print else ""
    console.print(f"plan written to {shown['file']} ({pages}{extra})", highlight=False)


def summary_cmd(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
    out: Annotated[Path, Opt("--out", help="The JSON file to write.")],
    episode: Annotated[
        str | None, Opt("--episode", help="Which closed episode (id or its start).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """The summary for the GP of the person's latest closed episode (FHIR R4 document)."""
    from linkwork.actions import careplan

    data = careplan.gp_summary(workspace(ctx), person_ref, out, episode_ref=episode)
    if json_out:
        print_json(data)
    else:
        summary_line(data)


def register(app: typer.Typer) -> None:
    from linkwork.cli.casework import episode_app

    app.command("plan")(plan_cmd)
    episode_app.command("summary")(summary_cmd)

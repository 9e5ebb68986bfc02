"""``linkwork person``: add, update, show, list, find."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from linkwork.cli.common import JsonOption, NotFound, console, print_json, safe, workspace
from linkwork.cli.helptext import PERSON_HELP
from linkwork.cli.tables import needs_table, referrals_table

Opt = typer.Option


# The person options' names on the record (the rest are the same on both).
RECORD_NAMES = {
    "given": "given_name",
    "family": "family_name",
    "practice": "practice_ods",
    "contact": "contact_preference",
    "ethnicity": "ethnic_category",
    "gender_same": "gender_same_as_birth",
    "language": "main_language",
    "interpreter": "interpreter_needed",
    "immigration": "immigration_status",
}
DETAIL_OPTIONS = (
    *RECORD_NAMES,
    *("birth_date", "nhs_number", "postcode", "phone", "email", "sex"),
    *("sexual_orientation", "disability", "religion"),
)


def _details(options: dict[str, Any]) -> dict[str, Any]:
    """A command's person options under the record's names (None: not given)."""
    return {RECORD_NAMES.get(name, name): options[name] for name in DETAIL_OPTIONS}


# What each detail option takes (person add says more for some; update uses these).
DETAIL_HELP = {
    "given": "Given name.",
    "family": "Family name.",
    "birth_date": "Date of birth, DD/MM/YYYY (or YYYY-MM-DD).",
    "nhs_number": "NHS number (checked).",
    "postcode": "UK postcode.",
    "practice": "Registered practice ODS code.",
    "phone": "Phone number, as the person gives it.",
    "email": "Email address.",
    "contact": "Contact preference: phone, text, email, letter, in-person.",
    "ethnicity": "NHS ethnic category code A-S, Z (prefer not to say), 99.",
    "sex": "female, male, intersex.",
    "gender_same": "Gender same as sex at birth: yes, no.",
    "sexual_orientation": "heterosexual, gay-lesbian, bisexual, other.",
    "disability": "yes, no.",
    "religion": "none, christian, muslim, ...",
    "language": "Main language code (en, pl, ur, bn, ...).",
    "interpreter": "yes, no.",
    "immigration": "Immigration status, where relevant.",
}

person_app = typer.Typer(help="People: add, show, list, find, update.", no_args_is_help=True)


@person_app.command("add")
def person_add(
    ctx: typer.Context,
    given: Annotated[str, Opt("--given", help="Given name.")],
    family: Annotated[str, Opt("--family", help="Family name.")],
    birth_date: Annotated[
        str, Opt("--birth-date", help="Date of birth, DD/MM/YYYY (or YYYY-MM-DD).")
    ],
    nhs_number: Annotated[str | None, Opt("--nhs-number", help="NHS number (checked).")] = None,
    postcode: Annotated[str, Opt("--postcode", help="UK postcode.")] = "",
    practice: Annotated[str, Opt("--practice", help="Registered practice ODS code.")] = "",
    phone: Annotated[str, Opt("--phone", help=DETAIL_HELP["phone"])] = "",
    email: Annotated[str, Opt("--email", help=DETAIL_HELP["email"])] = "",
    contact: Annotated[
        str, Opt("--contact", help="Contact preference: phone, text, email, letter, in-person.")
    ] = "",
    ethnicity: Annotated[
        str | None,
        Opt("--ethnicity", help="NHS ethnic category code A-S, Z (prefer not to say), 99."),
    ] = None,
    sex: Annotated[str | None, Opt("--sex", help="female, male, intersex.")] = None,
    gender_same: Annotated[
        str | None, Opt("--gender-same", help="Gender same as sex at birth: yes, no.")
    ] = None,
    sexual_orientation: Annotated[
        str | None,
        Opt("--sexual-orientation", help="heterosexual, gay-lesbian, bisexual, other."),
    ] = None,
    disability: Annotated[str | None, Opt("--disability", help="yes, no.")] = None,
    religion: Annotated[str | None, Opt("--religion", help="none, christian, muslim, ...")] = None,
    language: Annotated[
        str | None, Opt("--language", help="Main language code (en, pl, ur, bn, ...).")
    ] = None,
    interpreter: Annotated[str | None, Opt("--interpreter", help="yes, no.")] = None,
    immigration: Annotated[
        str | None, Opt("--immigration", help="Immigration status, where relevant.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Add a person.

    Equality fields take a code, 'prefer not to say' or 'not asked' (the default); none is
    ever required or guessed."""
    from linkwork.actions import people as act

    data = act.add_person(workspace(ctx), **_details(locals()))
    if json_out:
        print_json(data)
    else:
        data = safe(data)
        console.print(
            f"added {data['given_name']} {data['family_name']}: [bold]{data['id'][:8]}[/]"
        )


@person_app.command("update")
def person_update(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
    given: Annotated[str | None, Opt("--given", help=DETAIL_HELP["given"])] = None,
    family: Annotated[str | None, Opt("--family", help=DETAIL_HELP["family"])] = None,
    birth_date: Annotated[str | None, Opt("--birth-date", help=DETAIL_HELP["birth_date"])] = None,
    nhs_number: Annotated[str | None, Opt("--nhs-number", help=DETAIL_HELP["nhs_number"])] = None,
    postcode: Annotated[str | None, Opt("--postcode", help=DETAIL_HELP["postcode"])] = None,
    practice: Annotated[str | None, Opt("--practice", help=DETAIL_HELP["practice"])] = None,
    phone: Annotated[str | None, Opt("--phone", help=DETAIL_HELP["phone"])] = None,
    email: Annotated[str | None, Opt("--email", help=DETAIL_HELP["email"])] = None,
    contact: Annotated[str | None, Opt("--contact", help=DETAIL_HELP["contact"])] = None,
    ethnicity: Annotated[str | None, Opt("--ethnicity", help=DETAIL_HELP["ethnicity"])] = None,
    sex: Annotated[str | None, Opt("--sex", help=DETAIL_HELP["sex"])] = None,
    gender_same: Annotated[
        str | None, Opt("--gender-same", help=DETAIL_HELP["gender_same"])
    ] = None,
    sexual_orientation: Annotated[
        str | None, Opt("--sexual-orientation", help=DETAIL_HELP["sexual_orientation"])
    ] = None,
    disability: Annotated[str | None, Opt("--disability", help=DETAIL_HELP["disability"])] = None,
    religion: Annotated[str | None, Opt("--religion", help=DETAIL_HELP["religion"])] = None,
    language: Annotated[str | None, Opt("--language", help=DETAIL_HELP["language"])] = None,
    interpreter: Annotated[
        str | None, Opt("--interpreter", help=DETAIL_HELP["interpreter"])
    ] = None,
    immigration: Annotated[
        str | None, Opt("--immigration", help=DETAIL_HELP["immigration"])
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Change some of a person's details (only the options given)."""
    from linkwork.actions import people as act

    updated = act.update_person(workspace(ctx), person_ref, **_details(locals()))
    data = updated.person | {"changed": updated.changed}
    if json_out:
        print_json(data)
    else:
        changed = ", ".join(f.replace("_", " ") for f in updated.changed) or "nothing"
        shown = safe(data)
        name = f"{shown['given_name']} {shown['family_name']}"
        console.print(f"updated {name}: changed {changed}", highlight=False)


@person_app.command("show")
def person_show(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
    json_out: JsonOption = False,
) -> None:
    """Show a person's record (recorded in the audit trail as a view).

    Details, equality data, needs, consents and referrals."""
    from linkwork.actions import people as act

    data = act.person_record(workspace(ctx), person_ref)
    if json_out:
        print_json(data)
        return
    data = safe(data)
    console.print(f"[bold]{data['given_name']} {data['family_name']}[/]  ({data['id'][:8]})")
    console.print(
        f"born {data['birth_date']} (age band {data['age_band']})  "
        f"NHS number {data['nhs_number'] or '-'}  postcode {data['postcode'] or '-'}  "
        f"practice {data['practice_ods'] or '-'}"
    )
    for name in act.EQUALITY_FIELDS:
        console.print(f"  {name.replace('_', ' ')}: {data[name + '_label']}", style="dim")
    for s in data["screenings"]:
        ons4 = ", ".join(f"{k} {v}" for k, v in s["ons4"].items() if v is not None)
        pending = f", {s['pending']} suggestion(s) to decide" if s["pending"] else ""
        skipped = f"; skipped: {', '.join(s['skipped_titles'])}" if s["skipped_titles"] else ""
        console.print(
            f"screening {s['id'][:8]} on {(s['completed_at'] or '')[:10]}"
            f" (ONS4: {ons4 or '-'}){pending}{skipped}"
        )
    needs_table(data["needs"])
    if data["consents"]:
        table = Table(title="Consents")
        for col in ("id", "to", "shares", "method", "given", "active"):
            table.add_column(col)
        for c in data["consents"]:
            to = f"service {c['service_id']}" if c["service_id"] else c["hub"]
            table.add_row(
                c["id"][:8],
                to,
                ",".join(c["shares"]),
                c["method"],
                c["given_at"][:10],
                "yes" if c["active"] else "withdrawn",
            )
        console.print(table)
    referrals_table(data["referrals"])
    if data["ons4_trend"]:
        console.print("ONS4 over time (satisfied/worthwhile/happy/anxious):")
        for r in data["ons4_trend"]:
            scores = "/".join(
                "-" if r[k] is None else str(r[k])
                for k in ("satisfied", "worthwhile", "happy", "anxious")
            )
            console.print(f"  {r['at'][:10]} {r['when']}: {scores}", highlight=False)


@person_app.command("list")
def person_list(
    ctx: typer.Context,
    practice: Annotated[str | None, Opt("--practice", help="Only this practice (ODS).")] = None,
    limit: Annotated[int, Opt("--limit", "-n", help="Most rows to show.", min=1, max=10000)] = 50,
    json_out: JsonOption = False,
) -> None:
    """List people, newest first."""
    from linkwork.actions import people as act

    people = act.list_people(workspace(ctx), practice=practice, limit=limit)
    where = f" at practice {practice.strip().upper()}" if practice and practice.strip() else ""
    _people_out(people, json_out, f"no people recorded{where}")


@person_app.command("find")
def person_find(
    ctx: typer.Context,
    text: Annotated[list[str], typer.Argument(help="Name, NHS number, postcode or id.")],
    limit: Annotated[int, Opt("--limit", "-n", help="Most rows to show.", min=1, max=1000)] = 20,
    json_out: JsonOption = False,
) -> None:
    """Find people by name, NHS number, postcode or id."""
    from linkwork.actions import people as act

    query = " ".join(text)
    people = act.find_people(workspace(ctx), query, limit=limit)
    _people_out(people, json_out, f"nobody matches {query!r}")


def _people_out(people: list[dict[str, Any]], json_out: bool, empty: str) -> None:
    if not people:
        raise NotFound(empty)
    if json_out:
        print_json(people)
        return
    people = safe(people)
    table = Table()
    for col in ("id", "name", "born", "NHS number", "postcode", "practice"):
        table.add_column(col)
    for p in people:
        table.add_row(
            p["id"][:8],
            f"{p['given_name']} {p['family_name']}",
            p["birth_date"],
            p["nhs_number"] or "-",
            p["postcode"] or "-",
            p["practice_ods"] or "-",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(person_app, name="person")

"""The person's record on the command line: ``person``, ``screen``, ``need``, ``consent``,
``refer``, ``followups``, ``audit`` and ``demo``; plus ``referral list/show/status/outcome``
on the shared ``linkwork referral`` sub-app.

Every command takes ``--json``; the JSON of a created thing has its ``id``. Changes are
recorded under your name (``--user`` / ``LINKWORK_USER``) in the audit trail.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlmodel import Session

from linkwork.cli import referral as referral_cli
from linkwork.cli.common import JsonOption, NotFound, app_context, console, print_json

person_app = typer.Typer(help="People: add, show, list, find, update.", no_args_is_help=True)
need_app = typer.Typer(
    help="Coded needs: add, confirm or reject suggestions, list, resolve.", no_args_is_help=True
)
consent_app = typer.Typer(help="Consent to share: record, withdraw, list.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The audit trail: show events, verify the chain.", no_args_is_help=True
)


def _actor(ctx: typer.Context) -> str:
    return app_context(ctx).settings.user


# --- people -------------------------------------------------------------------------------

Opt = typer.Option


@person_app.command("add")
def person_add(
    ctx: typer.Context,
    given: Annotated[str, Opt("--given", help="Given name.")],
    family: Annotated[str, Opt("--family", help="Family name.")],
    birth_date: Annotated[str, Opt("--birth-date", help="Date of birth, YYYY-MM-DD.")],
    nhs_number: Annotated[str | None, Opt("--nhs-number", help="NHS number (checked).")] = None,
    postcode: Annotated[str, Opt("--postcode", help="UK postcode.")] = "",
    practice: Annotated[str, Opt("--practice", help="Registered practice ODS code.")] = "",
    phone: Annotated[str, Opt("--phone")] = "",
    email: Annotated[str, Opt("--email")] = "",
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
    from screening.people import create_person, person_dict

    with app_context(ctx).session() as session:
        person = create_person(
            session,
            given_name=given,
            family_name=family,
            birth_date=birth_date,
            nhs_number=nhs_number,
            postcode=postcode,
            practice_ods=practice or app_context(ctx).settings.practice_ods,
            phone=phone,
            email=email,
            contact_preference=contact,
            actor=_actor(ctx),
            ethnic_category=ethnicity,
            sex=sex,
            gender_same_as_birth=gender_same,
            sexual_orientation=sexual_orientation,
            disability=disability,
            religion=religion,
            main_language=language,
            interpreter_needed=interpreter,
            immigration_status=immigration,
        )
        data = person_dict(person)
    if json_out:
        print_json(data)
    else:
        console.print(f"added {data['given_name']} {data['family_name']}: [bold]{data['id']}[/]")


@person_app.command("update")
def person_update(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help="Id or NHS number.")],
    given: Annotated[str | None, Opt("--given")] = None,
    family: Annotated[str | None, Opt("--family")] = None,
    birth_date: Annotated[str | None, Opt("--birth-date")] = None,
    nhs_number: Annotated[str | None, Opt("--nhs-number")] = None,
    postcode: Annotated[str | None, Opt("--postcode")] = None,
    practice: Annotated[str | None, Opt("--practice")] = None,
    phone: Annotated[str | None, Opt("--phone")] = None,
    email: Annotated[str | None, Opt("--email")] = None,
    contact: Annotated[str | None, Opt("--contact")] = None,
    ethnicity: Annotated[str | None, Opt("--ethnicity")] = None,
    sex: Annotated[str | None, Opt("--sex")] = None,
    gender_same: Annotated[str | None, Opt("--gender-same")] = None,
    sexual_orientation: Annotated[str | None, Opt("--sexual-orientation")] = None,
    disability: Annotated[str | None, Opt("--disability")] = None,
    religion: Annotated[str | None, Opt("--religion")] = None,
    language: Annotated[str | None, Opt("--language")] = None,
    interpreter: Annotated[str | None, Opt("--interpreter")] = None,
    immigration: Annotated[str | None, Opt("--immigration")] = None,
    json_out: JsonOption = False,
) -> None:
    """Change some of a person's details (only the options given)."""
    from screening.people import get_person, person_dict, update_person

    changes = {
        "given_name": given,
        "family_name": family,
        "birth_date": birth_date,
        "nhs_number": nhs_number,
        "postcode": postcode,
        "practice_ods": practice,
        "phone": phone,
        "email": email,
        "contact_preference": contact,
        "ethnic_category": ethnicity,
        "sex": sex,
        "gender_same_as_birth": gender_same,
        "sexual_orientation": sexual_orientation,
        "disability": disability,
        "religion": religion,
        "main_language": language,
        "interpreter_needed": interpreter,
        "immigration_status": immigration,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise ValueError("nothing to change: give at least one option")
    with app_context(ctx).session() as session:
        person = update_person(
            session, get_person(session, person_ref), actor=_actor(ctx), **changes
        )
        data = person_dict(person)
    if json_out:
        print_json(data)
    else:
        console.print(f"updated {data['id']}")


def _person_record(session: Session, person: Any) -> dict[str, Any]:
    from screening.consent import consent_dict, list_consents
    from screening.needs import list_needs, need_dict
    from screening.people import person_dict
    from screening.questionnaire import list_screenings, screening_dict
    from screening.referrals import list_referrals, referral_dict

    data = person_dict(person)
    data["screenings"] = [screening_dict(s) for s in list_screenings(session, person)]
    data["needs"] = [need_dict(n) for n in list_needs(session, person)]
    data["consents"] = [consent_dict(c) for c in list_consents(session, person)]
    data["referrals"] = [referral_dict(session, r) for r in list_referrals(session, person=person)]
    return data


@person_app.command("show")
def person_show(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help="Id or NHS number.")],
    json_out: JsonOption = False,
) -> None:
    """Show a person's record (recorded in the audit trail as a view).

    Details, equality data, needs, consents and referrals."""
    from screening.people import show_person

    with app_context(ctx).session() as session:
        person = show_person(session, person_ref, actor=_actor(ctx))
        data = _person_record(session, person)
    if json_out:
        print_json(data)
        return
    console.print(f"[bold]{data['given_name']} {data['family_name']}[/]  ({data['id']})")
    console.print(
        f"born {data['birth_date']} (age band {data['age_band']})  "
        f"NHS number {data['nhs_number'] or '-'}  postcode {data['postcode'] or '-'}  "
        f"practice {data['practice_ods'] or '-'}"
    )
    from screening.equality import FIELDS

    for name in FIELDS:
        console.print(f"  {name.replace('_', ' ')}: {data[name + '_label']}", style="dim")
    for s in data["screenings"]:
        ons4 = ", ".join(f"{k} {v}" for k, v in s["ons4"].items() if v is not None)
        pending = f", {s['pending']} suggestion(s) to decide" if s["pending"] else ""
        console.print(
            f"screening {s['id'][:8]} on {(s['completed_at'] or '')[:10]}"
            f" (ONS4: {ons4 or '-'}){pending}"
        )
    _needs_table(data["needs"])
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
    _referrals_table(data["referrals"])


@person_app.command("list")
def person_list(
    ctx: typer.Context,
    practice: Annotated[str | None, Opt("--practice", help="Only this practice (ODS).")] = None,
    limit: Annotated[int, Opt("--limit", "-n", min=1, max=10000)] = 50,
    json_out: JsonOption = False,
) -> None:
    """List people, newest first."""
    from screening.people import list_people, person_dict

    with app_context(ctx).session() as session:
        people = [person_dict(p) for p in list_people(session, practice=practice, limit=limit)]
    _people_out(people, json_out, "no people recorded")


@person_app.command("find")
def person_find(
    ctx: typer.Context,
    text: Annotated[list[str], typer.Argument(help="Name, NHS number, postcode or id.")],
    limit: Annotated[int, Opt("--limit", "-n", min=1, max=1000)] = 20,
    json_out: JsonOption = False,
) -> None:
    """Find people by name, NHS number, postcode or id."""
    from screening.people import find_people, person_dict

    query = " ".join(text)
    with app_context(ctx).session() as session:
        people = [person_dict(p) for p in find_people(session, query, limit=limit)]
    _people_out(people, json_out, f"nobody matches {query!r}")


def _people_out(people: list[dict[str, Any]], json_out: bool, empty: str) -> None:
    if not people:
        raise NotFound(empty)
    if json_out:
        print_json(people)
        return
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


# --- screening ----------------------------------------------------------------------------


def _prompt_answers(questionnaire: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if questionnaire.intro:
        console.print(questionnaire.intro)
    console.print("[dim]Press Enter to skip a question.[/]")
    for section in questionnaire.sections:
        console.rule(section.title)
        if section.intro:
            console.print(section.intro)
        for q in section.questions:
            if q.type == "integer":
                while True:
                    raw = typer.prompt(
                        f"{q.text} ({q.min}-{q.max})", default="", show_default=False
                    ).strip()
                    if not raw:
                        break
                    if raw.isdigit() and q.min <= int(raw) <= q.max:
                        answers[q.id] = int(raw)
                        break
                    console.print(f"Please type a whole number from {q.min} to {q.max}.")
                continue
            console.print(q.text)
            for number, option in enumerate(q.options, 1):
                console.print(f"  {number}. {option.text}")
            while True:
                raw = typer.prompt("answer", default="", show_default=False).strip()
                if not raw:
                    break
                if raw.isdigit() and 1 <= int(raw) <= len(q.options):
                    answers[q.id] = q.options[int(raw) - 1].code
                    break
                if any(o.code == raw for o in q.options):
                    answers[q.id] = raw
                    break
                console.print(f"Please type a number from 1 to {len(q.options)}.")
    return answers


def _suggestions_table(screening_id: str, suggestions: list[dict[str, Any]]) -> None:
    if not suggestions:
        console.print("No needs suggested by these answers.")
        return
    table = Table(title=f"Suggested needs (screening {screening_id[:8]})")
    for col in ("code", "need", "domain", "from questions", "state"):
        table.add_column(col)
    for s in suggestions:
        state = s.get("state", "pending")
        if s.get("existing_need_id") and state == "pending":
            state = "pending (already active)"
        table.add_row(s["code"], s["display"], s["domain"], ", ".join(s["questions"]), state)
    console.print(table)


def screen_cmd(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help="Id or NHS number.")],
    answers_file: Annotated[
        Path | None,
        Opt("--answers", help="YAML or JSON file: question id -> answer code or number."),
    ] = None,
    questions: Annotated[
        Path | None,
        Opt(
            "--questions",
            envvar="LINKWORK_EXTRA_QUESTIONS",
            help="The practice's extra questions (YAML), added to the built-in ones.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Screen a person for social needs and ONS4 wellbeing.

    Answers come from --answers FILE, or are asked one by one. Prints the suggested needs:
    nothing is coded until you confirm them (linkwork need confirm)."""
    from screening.needs import confirm_need, reject_suggestion
    from screening.people import get_person
    from screening.questionnaire import complete_screening, load_answers_file, load_questionnaire

    questionnaire = load_questionnaire(questions)
    if answers_file is not None:
        answers = load_answers_file(answers_file)
    else:
        if json_out:
            raise ValueError("--json needs --answers FILE (no questions are asked)")
        answers = None
    interactive = answers is None
    with app_context(ctx).session() as session:
        person = get_person(session, person_ref)
        if answers is None:
            console.print(f"Screening {person.given_name} {person.family_name}")
            answers = _prompt_answers(questionnaire)
        screening, suggestions = complete_screening(
            session, person, answers, actor=_actor(ctx), questionnaire=questionnaire
        )
        if interactive and suggestions:
            _suggestions_table(screening.id, suggestions)
            for s in suggestions:
                if s.get("existing_need_id"):
                    continue
                raw = (
                    typer.prompt(
                        f"Record {s['code']} {s['display']}? (y = yes, n = no, Enter = later)",
                        default="",
                        show_default=False,
                    )
                    .strip()
                    .lower()
                )
                if raw in ("y", "yes"):
                    words = typer.prompt(
                        "In their words (optional)", default="", show_default=False
                    )
                    confirm_need(session, screening, s["code"], actor=_actor(ctx), words=words)
                elif raw in ("n", "no"):
                    reject_suggestion(session, screening, s["code"], actor=_actor(ctx))
            suggestions = screening.suggestions
        data = {
            "id": screening.id,
            "person_id": person.id,
            "questionnaire": f"{screening.questionnaire_id}|{screening.questionnaire_version}",
            "answers": len(answers),
            "suggestions": suggestions,
        }
    if json_out:
        print_json(data)
        return
    console.print(f"screening recorded: [bold]{data['id']}[/]")
    _suggestions_table(data["id"], data["suggestions"])
    if any(s.get("state") == "pending" for s in data["suggestions"]):
        console.print(
            f"Confirm with: linkwork need confirm {data['id'][:8]} CODE  "
            f"(or reject: linkwork need reject {data['id'][:8]} CODE)"
        )


# --- needs --------------------------------------------------------------------------------


def _needs_table(needs: list[dict[str, Any]]) -> None:
    if not needs:
        console.print("No needs recorded.")
        return
    table = Table(title="Needs")
    for col in ("id", "code", "need", "domain", "status", "priority", "recorded", "in their words"):
        table.add_column(col)
    for n in needs:
        table.add_row(
            n["id"][:8],
            n["code"],
            n["display"],
            n["domain"],
            n["status"],
            n["priority"],
            n["recorded_at"][:10],
            n["words"],
        )
    console.print(table)


@need_app.command("add")
def need_add(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help="Id or NHS number.")],
    code: Annotated[
        str | None, Opt("--code", help="ICD-10 (Z59.0), SNOMED CT id, or a need domain key.")
    ] = None,
    search: Annotated[
        str | None, Opt("--search", help="Find the code from everyday words; takes the best.")
    ] = None,
    words: Annotated[str, Opt("--words", help="The person's own words.")] = "",
    priority: Annotated[str, Opt("--priority", help="high, medium or low.")] = "medium",
    json_out: JsonOption = False,
) -> None:
    """Record a need without a screening: by code, or found by lay-language search."""
    from screening.needs import add_need, need_dict, search_need_codes
    from screening.people import get_person

    if (code is None) == (search is None):
        raise ValueError("give either --code or --search")
    alternatives: list[Any] = []
    if search is not None:
        matches = search_need_codes(search, limit=5)
        if not matches:
            raise LookupError(f"no need code matches {search!r}: try other words or --code")
        code = matches[0].code
        alternatives = matches[1:]
        if not words:
            words = search
    assert code is not None
    with app_context(ctx).session() as session:
        person = get_person(session, person_ref)
        need = add_need(session, person, code, actor=_actor(ctx), words=words, priority=priority)
        data = need_dict(need)
    if json_out:
        if search is not None:
            data["alternatives"] = [m.to_dict() for m in alternatives]
        print_json(data)
        return
    console.print(f"recorded {data['code']} {data['display']}: [bold]{data['id']}[/]")
    if alternatives:
        console.print(
            "other matches: " + "; ".join(f"{m.code} {m.display}" for m in alternatives),
            style="dim",
        )


@need_app.command("confirm")
def need_confirm(
    ctx: typer.Context,
    screening_ref: Annotated[str, typer.Argument(metavar="SCREENING")],
    code: Annotated[str | None, typer.Argument(help="The suggested code (or domain).")] = None,
    all_: Annotated[bool, Opt("--all", help="Confirm every pending suggestion.")] = False,
    use_code: Annotated[
        str | None, Opt("--as", help="Record this code instead (an edit of the suggestion).")
    ] = None,
    words: Annotated[str, Opt("--words", help="The person's own words.")] = "",
    priority: Annotated[str, Opt("--priority", help="high, medium or low.")] = "medium",
    json_out: JsonOption = False,
) -> None:
    """Confirm a need suggested by a screening (nothing is coded until you do)."""
    from screening.needs import confirm_need, need_dict, pending_suggestions
    from screening.questionnaire import get_screening

    if (code is None) == (not all_):
        raise ValueError("give a suggested CODE or --all")
    if all_ and use_code:
        raise ValueError("--as works on one suggestion, not with --all")
    with app_context(ctx).session() as session:
        screening = get_screening(session, screening_ref)
        codes = [code] if code else [s["code"] for s in pending_suggestions(screening)]
        if not codes:
            raise NotFound(f"screening {screening.id} has no pending suggestions")
        needs = [
            need_dict(
                confirm_need(
                    session,
                    screening,
                    c,
                    actor=_actor(ctx),
                    words=words,
                    priority=priority,
                    use_code=use_code,
                )
            )
            for c in codes
        ]
    if json_out:
        print_json(needs[0] if code else needs)
        return
    for n in needs:
        console.print(f"recorded {n['code']} {n['display']}: [bold]{n['id']}[/]")


@need_app.command("reject")
def need_reject(
    ctx: typer.Context,
    screening_ref: Annotated[str, typer.Argument(metavar="SCREENING")],
    code: Annotated[str, typer.Argument(help="The suggested code (or domain).")],
    json_out: JsonOption = False,
) -> None:
    """Reject a need suggested by a screening."""
    from screening.needs import reject_suggestion
    from screening.questionnaire import get_screening

    with app_context(ctx).session() as session:
        screening = get_screening(session, screening_ref)
        reject_suggestion(session, screening, code, actor=_actor(ctx))
        data = {"id": screening.id, "suggestions": screening.suggestions}
    if json_out:
        print_json(data)
    else:
        console.print(f"rejected {code}")


@need_app.command("suggestions")
def need_suggestions(
    ctx: typer.Context,
    screening_ref: Annotated[str, typer.Argument(metavar="SCREENING")],
    json_out: JsonOption = False,
) -> None:
    """Show a screening's suggested needs and what was decided."""
    from screening.questionnaire import get_screening

    with app_context(ctx).session() as session:
        screening = get_screening(session, screening_ref)
        data = {"id": screening.id, "suggestions": list(screening.suggestions or [])}
    if json_out:
        print_json(data)
    else:
        _suggestions_table(data["id"], data["suggestions"])


@need_app.command("list")
def need_list(
    ctx: typer.Context,
    person_ref: Annotated[
        str | None, typer.Argument(metavar="[PERSON]", help="Only this person's needs.")
    ] = None,
    status: Annotated[str | None, Opt("--status", help="active or resolved.")] = None,
    limit: Annotated[int, Opt("--limit", "-n", min=1, max=1000000)] = 200,
    json_out: JsonOption = False,
) -> None:
    """List needs (a person's, or everyone's), newest first."""
    from screening.needs import list_needs, need_dict
    from screening.people import show_person

    with app_context(ctx).session() as session:
        person = show_person(session, person_ref, actor=_actor(ctx)) if person_ref else None
        needs = [need_dict(n) for n in list_needs(session, person, status=status, limit=limit)]
    if not needs:
        raise NotFound("no needs recorded")
    if json_out:
        print_json(needs)
    else:
        _needs_table(needs)


@need_app.command("resolve")
def need_resolve(
    ctx: typer.Context,
    need_ref: Annotated[str, typer.Argument(metavar="NEED", help="Need id.")],
    note: Annotated[str, Opt("--note")] = "",
    json_out: JsonOption = False,
) -> None:
    """Mark a need resolved."""
    from screening.needs import get_need, need_dict, resolve_need

    with app_context(ctx).session() as session:
        need = resolve_need(session, get_need(session, need_ref), actor=_actor(ctx), note=note)
        data = need_dict(need)
    if json_out:
        print_json(data)
    else:
        console.print(f"resolved {data['code']} {data['display']} ({data['id']})")


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

    with app_context(ctx).session() as session:
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

    with app_context(ctx).session() as session:
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

    with app_context(ctx).session() as session:
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

    ctx_app = app_context(ctx)
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


def _referrals_table(referrals: list[dict[str, Any]], title: str = "Referrals") -> None:
    if not referrals:
        return
    table = Table(title=title)
    for col in ("id", "to", "status", "detail", "created", "follow up"):
        table.add_column(col)
    for r in referrals:
        to = r.get("service_name") or (
            f"service {r['service_id']}" if r["service_id"] else r["hub"]
        )
        detail = r["status_reason"] or r["business_status"]
        table.add_row(
            r["id"][:8],
            to,
            r["status"],
            detail,
            r["created_at"][:10],
            r["followup_due"] or "",
        )
    console.print(table)


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

    with app_context(ctx).session() as session:
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
        _referrals_table(data)


def referral_show(
    ctx: typer.Context,
    referral_ref: Annotated[str, typer.Argument(metavar="REFERRAL")],
    json_out: JsonOption = False,
) -> None:
    """Show a referral: needs, status history and outcome."""
    from screening.audit import record_event
    from screening.referrals import get_referral, referral_dict

    with app_context(ctx).session() as session:
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
    with app_context(ctx).session() as session:
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

    with app_context(ctx).session() as session:
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

    with app_context(ctx).session() as session:
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


# --- audit --------------------------------------------------------------------------------


@audit_app.command("show")
def audit_show(
    ctx: typer.Context,
    person_ref: Annotated[
        str | None, Opt("--person", help="Only events about this person.")
    ] = None,
    limit: Annotated[int, Opt("--limit", "-n", min=1, max=100000)] = 50,
    json_out: JsonOption = False,
) -> None:
    """The latest audit events, newest first."""
    from screening.audit import event_dict, list_events
    from screening.people import get_person

    with app_context(ctx).session() as session:
        person_id = get_person(session, person_ref).id if person_ref else None
        events = [event_dict(e) for e in list_events(session, person_id=person_id, limit=limit)]
    if not events:
        raise NotFound("no audit events")
    if json_out:
        print_json(events)
        return
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
    from screening.audit import verify_chain

    with app_context(ctx).session() as session:
        report = verify_chain(session)
    if json_out:
        print_json(report.as_dict())
    elif report.ok:
        console.print(f"audit trail intact: {report.checked} events checked")
    if not report.ok:
        sys.stderr.write(
            f"linkwork: audit trail broken at row seq {report.broken_seq}: {report.problem}\n"
        )
        raise typer.Exit(2)


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
    from screening.demo import make_demo

    ctx_app = app_context(ctx)
    with ctx_app.session() as session:
        summary = make_demo(
            session,
            people=people,
            seed=seed,
            actor=ctx_app.settings.user,
            followup_days=ctx_app.settings.followup_days,
        )
    data = summary.as_dict()
    if json_out:
        print_json(data)
        return
    console.print(
        f"added {data['people']} people, {data['needs']} needs, {data['referrals']} referrals, "
        f"{data['outcomes']} outcomes in {data['seconds']} s"
    )
    if data["directory_loaded"]:
        console.print("loaded the sample directory for referral targets")


def register(app: typer.Typer) -> None:
    app.add_typer(person_app, name="person")
    app.add_typer(need_app, name="need")
    app.add_typer(consent_app, name="consent")
    app.add_typer(audit_app, name="audit")
    app.command("screen")(screen_cmd)
    app.command("refer")(refer_cmd)
    app.command("followups")(followups_cmd)
    app.command("demo")(demo_cmd)
    referral_cli.app.command("list")(referral_list)
    referral_cli.app.command("show")(referral_show)
    referral_cli.app.command("status")(referral_status)
    referral_cli.app.command("outcome")(referral_outcome)

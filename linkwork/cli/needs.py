"""``linkwork screen`` and ``linkwork need``: screening and coded needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from linkwork.cli.common import JsonOption, NotFound, console, print_json, workspace
from linkwork.cli.tables import needs_table, suggestions_table

Opt = typer.Option


def _actor(ctx: typer.Context) -> str:
    return workspace(ctx).settings.user


need_app = typer.Typer(
    help="Coded needs: add, confirm or reject suggestions, list, resolve.", no_args_is_help=True
)


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
    with workspace(ctx).session() as session:
        person = get_person(session, person_ref)
        if answers is None:
            console.print(f"Screening {person.given_name} {person.family_name}")
            answers = _prompt_answers(questionnaire)
        screening, suggestions = complete_screening(
            session, person, answers, actor=_actor(ctx), questionnaire=questionnaire
        )
        if interactive and suggestions:
            suggestions_table(screening.id, suggestions)
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
    suggestions_table(data["id"], data["suggestions"])
    if any(s.get("state") == "pending" for s in data["suggestions"]):
        console.print(
            f"Confirm with: linkwork need confirm {data['id'][:8]} CODE  "
            f"(or reject: linkwork need reject {data['id'][:8]} CODE)"
        )


# --- needs --------------------------------------------------------------------------------


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
    with workspace(ctx).session() as session:
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
    with workspace(ctx).session() as session:
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

    with workspace(ctx).session() as session:
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

    with workspace(ctx).session() as session:
        screening = get_screening(session, screening_ref)
        data = {"id": screening.id, "suggestions": list(screening.suggestions or [])}
    if json_out:
        print_json(data)
    else:
        suggestions_table(data["id"], data["suggestions"])


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

    with workspace(ctx).session() as session:
        person = show_person(session, person_ref, actor=_actor(ctx)) if person_ref else None
        needs = [need_dict(n) for n in list_needs(session, person, status=status, limit=limit)]
    if not needs:
        raise NotFound("no needs recorded")
    if json_out:
        print_json(needs)
    else:
        needs_table(needs)


@need_app.command("resolve")
def need_resolve(
    ctx: typer.Context,
    need_ref: Annotated[str, typer.Argument(metavar="NEED", help="Need id.")],
    note: Annotated[str, Opt("--note")] = "",
    json_out: JsonOption = False,
) -> None:
    """Mark a need resolved."""
    from screening.needs import get_need, need_dict, resolve_need

    with workspace(ctx).session() as session:
        need = resolve_need(session, get_need(session, need_ref), actor=_actor(ctx), note=note)
        data = need_dict(need)
    if json_out:
        print_json(data)
    else:
        console.print(f"resolved {data['code']} {data['display']} ({data['id']})")


def register(app: typer.Typer) -> None:
    app.add_typer(need_app, name="need")
    app.command("screen")(screen_cmd)

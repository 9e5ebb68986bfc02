"""``linkwork screen`` and ``linkwork need``: screening and coded needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from directory.untrusted import escape_terminal
from linkwork.cli.common import (
    JsonOption,
    NotFound,
    answer,
    console,
    err_console,
    esc,
    print_json,
    safe,
    workspace,
)
from linkwork.cli.helptext import NEED_HELP, PERSON_HELP, SCREENING_HELP
from linkwork.cli.tables import needs_table, suggestions_table
from linkwork.words import counted

Opt = typer.Option


need_app = typer.Typer(
    help="Coded needs: add, confirm or reject suggestions, list, resolve.", no_args_is_help=True
)


# --- screening ----------------------------------------------------------------------------


def plain(value: object) -> str:
    """Text for a plain prompt (no markup there): control characters shown, not sent."""
    return escape_terminal(value, markup=False)


SKIP = "skip"  # typed at a question: the rest of its section is not asked


def _ask_scale(q: dict[str, Any], saved: str | None) -> str | None:
    low, high = q["low"], q["high"]
    while True:
        raw = typer.prompt(
            f"{plain(q['text'])} ({low}-{high})", default=saved or "", show_default=bool(saved)
        ).strip()
        if raw.casefold() == SKIP:
            return SKIP
        if raw == "-" or (not raw and not saved):
            return None
        if not raw:
            return saved
        if raw.isascii() and raw.isdigit() and len(raw) <= 3 and low <= int(raw) <= high:
            return raw
        console.print(f"Please type a whole number from {low} to {high}.")


def _ask_choice(q: dict[str, Any], saved: str | None) -> str | None:
    options = q["options"]
    console.print(esc(q["text"]))
    for number, (_code, text) in enumerate(options, 1):
        console.print(f"  {number}. {esc(text)}")
    codes = [code for code, _text in options]
    default = str(codes.index(saved) + 1) if saved in codes else ""
    while True:
        raw = typer.prompt("answer", default=default, show_default=bool(default)).strip()
        if raw.casefold() == SKIP:
            return SKIP
        if raw == "-" or not raw:
            return None
        if raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= len(options):
            return str(codes[int(raw) - 1])
        if raw in codes:
            return raw
        console.print(f"Please type a number from 1 to {len(options)}.")


def _answers(count: int) -> str:
    return counted(count, "answer")


def _prompt_answers(form: dict[str, Any], answers: dict[str, str], skipped: list[str]) -> None:
    """Ask the questionnaire's questions one by one into ``answers``, which start as a
    saved screening's answers (the defaults: Enter keeps one, '-' clears it), so that
    leaving mid-way keeps those not asked again yet. A section in ``skipped`` (keys) is
    not asked; 'skip' typed at a question skips the rest of its section (added to
    ``skipped``: recorded as not asked, its answers dropped)."""
    saved: dict[str, str] = (form["in_progress"] or {}).get("answers", {})
    if form["intro"]:
        console.print(esc(form["intro"]))
    console.print("[dim]Press Enter to skip a question; type 'skip' to skip its section.[/]")
    if saved:
        console.print("[dim]Enter keeps the saved answer shown in brackets; '-' clears it.[/]")
    for section in form["sections"]:
        console.rule(esc(section["title"]))
        if section["key"] in skipped:
            console.print("Skipped: not asked.")
            continue
        if section["intro"]:
            console.print(esc(section["intro"]))
        for q in section["questions"]:
            ask = _ask_scale if q["kind"] == "scale" else _ask_choice
            value = ask(q, saved.get(q["id"]))
            if value == SKIP:
                skipped.append(section["key"])
                for other in section["questions"]:
                    answers.pop(other["id"], None)
                console.print(f"Skipped {esc(section['title'])}: not asked.")
                break
            if value is None:
                answers.pop(q["id"], None)
            else:
                answers[q["id"]] = value


def _section_keys(form: dict[str, Any], names: list[str]) -> list[str]:
    """``--skip`` names (a section's key or title, any case) as the sections' keys."""
    known = {}
    for section in form["sections"]:
        known[section["key"].casefold()] = section["key"]
        known[section["title"].casefold()] = section["key"]
    keys = []
    for name in names:
        key = known.get(name.strip().casefold())
        if key is None:
            choices = ", ".join(section["key"] for section in form["sections"])
            raise ValueError(f"no section {name!r} to skip; the sections are: {choices}")
        keys.append(key)
    return keys


def _decide_by_prompt(ws: Any, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Ask about each pending suggestion: y records it (with their words), n rejects it,
    Enter leaves it for later. The suggestions after the decisions."""
    from linkwork.actions import needs as act

    suggestions: list[dict[str, Any]] = data["suggestions"]
    for s in data["suggestions"]:
        if s.get("existing_need_id"):
            continue
        raw = (
            typer.prompt(
                f"Record {plain(s['code'])} {plain(s['display'])}? "
                "(y = yes, n = no, Enter = later)",
                default="",
                show_default=False,
            )
            .strip()
            .lower()
        )
        if raw not in ("y", "yes", "n", "no"):
            continue
        words = ""
        if raw in ("y", "yes"):
            words = typer.prompt("In their words (optional)", default="", show_default=False)
        decided = act.decide_suggestion(
            ws, data["id"], s["code"], confirm=raw in ("y", "yes"), words=words
        )
        suggestions = decided["suggestions"]
    return suggestions


def screen_cmd(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
    answers_file: Annotated[
        Path | None,
        Opt("--answers", help="YAML or JSON file: question id -> answer code or number."),
    ] = None,
    questions: Annotated[
        Path | None,
        Opt(
            "--questions",
            help="The practice's extra questions (YAML), added to the built-in ones "
            "(default: the extra_questions setting, LINKWORK_EXTRA_QUESTIONS).",
        ),
    ] = None,
    save: Annotated[
        bool,
        Opt("--save", help="Save the answers as a screening in progress, to finish later."),
    ] = False,
    skip: Annotated[
        list[str] | None,
        Opt(
            "--skip",
            metavar="SECTION",
            help="A section the person did not raise (its name or title, e.g. housing): "
            "not asked, recorded as skipped, never as 'no need'. Give it again for more.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Screen a person for social needs and ONS4 wellbeing.

    Answers come from --answers FILE, or are asked one by one ('skip' at a question skips
    the rest of its section).

    A screening saved half-done (--save, or left in the app) is carried on.

    Prints the suggested needs: nothing is coded until you confirm them (need confirm)."""
    from linkwork.actions import screening as act

    ws = workspace(ctx)
    skipped: list[str] = list(skip or [])
    if answers_file is not None:
        answers = act.read_answers(answers_file)
    elif json_out:
        raise ValueError("--json needs --answers FILE (no questions are asked)")
    else:
        form = act.open_screening(ws, person_ref, questions=questions)
        skipped = _section_keys(form, skipped)
        console.print(f"Screening {esc(form['person']['name'])}")
        progress = form["in_progress"]
        if progress:
            started = progress["started_at"].strftime("%d %b %Y %H:%M")
            console.print(
                f"Carrying on the screening saved on {started} "
                f"({counted(len(progress['answers']), 'question')} answered)."
            )
        answers = dict(progress["answers"]) if progress else {}
        for key in progress["skipped"] if progress else []:
            if key not in skipped:
                skipped.append(key)  # skipped when it was saved: still not asked
        try:
            _prompt_answers(form, answers, skipped)
        except (typer.Abort, KeyboardInterrupt):
            # Left mid-way (Ctrl+C, or the input ended): the answers so far are kept, as
            # the app keeps them when it is left or closed mid-screening.
            if answers:
                kept = act.save_screening_progress(
                    ws, person_ref, answers, questions=questions, skipped=skipped
                )
                err_console.print(
                    f"screening progress saved ({_answers(kept['answers'])}): "
                    f"linkwork screen {kept['person_id'][:8]} carries on from there"
                )
            raise
    if save:
        saved = act.save_screening_progress(
            ws, person_ref, answers, questions=questions, skipped=skipped
        )
        if json_out:
            print_json(saved)
            return
        saved = safe(saved)
        console.print(
            f"screening progress saved ({_answers(saved['answers'])}): [bold]{saved['id'][:8]}[/]. "
            f"Finish it with: linkwork screen {saved['person_id'][:8]}"
        )
        return
    data = act.complete_screening(ws, person_ref, answers, questions=questions, skipped=skipped)
    if json_out:
        print_json(data)
        return
    console.print(
        f"screening {'completed' if data['resumed'] else 'recorded'}: [bold]{esc(data['id'])}[/]"
    )
    if data["skipped"]:
        console.print(f"skipped (not asked): {esc(', '.join(data['skipped']))}")
    suggestions = data["suggestions"]
    if answers_file is None and suggestions:
        suggestions_table(data["id"], safe(suggestions))
        suggestions = _decide_by_prompt(ws, data)
    suggestions_table(data["id"], safe(suggestions))
    if any(s.get("state") == "pending" for s in suggestions):
        console.print(
            f"Confirm with: linkwork need confirm {data['id'][:8]} CODE  "
            f"(or reject: linkwork need reject {data['id'][:8]} CODE)"
        )


# --- needs --------------------------------------------------------------------------------


@need_app.command("add")
def need_add(
    ctx: typer.Context,
    person_ref: Annotated[str, typer.Argument(metavar="PERSON", help=PERSON_HELP)],
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
    from linkwork.actions import needs as act

    if (code is None) == (search is None):
        raise ValueError("give either --code or --search")
    data = act.add_need(
        workspace(ctx), person_ref, code=code, search=search, words=words, priority=priority
    )
    if json_out:
        print_json(data)
        return
    data = safe(data)
    console.print(f"recorded {data['code']} {data['display']}: [bold]{data['id'][:8]}[/]")
    if data.get("alternatives"):
        console.print(
            "other matches: "
            + "; ".join(f"{m['code']} {m['display']}" for m in data["alternatives"]),
            style="dim",
        )


@need_app.command("confirm")
def need_confirm(
    ctx: typer.Context,
    screening_ref: Annotated[str, typer.Argument(metavar="SCREENING", help=SCREENING_HELP)],
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
    from linkwork.actions import needs as act

    if (code is None) == (not all_):
        raise ValueError("give a suggested CODE or --all")
    if all_ and use_code:
        raise ValueError("--as works on one suggestion, not with --all")
    ws = workspace(ctx)
    if code is None:
        needs = act.confirm_all(ws, screening_ref, words=words, priority=priority)
    else:
        decided = act.decide_suggestion(
            ws, screening_ref, code, confirm=True, use_code=use_code, words=words, priority=priority
        )
        needs = [decided["need"]]
    if json_out:
        print_json(needs[0] if code else needs)
        return
    for n in safe(needs):
        console.print(f"recorded {n['code']} {n['display']}: [bold]{n['id'][:8]}[/]")


@need_app.command("reject")
def need_reject(
    ctx: typer.Context,
    screening_ref: Annotated[str, typer.Argument(metavar="SCREENING", help=SCREENING_HELP)],
    code: Annotated[str, typer.Argument(help="The suggested code (or domain).")],
    json_out: JsonOption = False,
) -> None:
    """Reject a need suggested by a screening."""
    from linkwork.actions import needs as act

    data = act.decide_suggestion(workspace(ctx), screening_ref, code, confirm=False)
    if json_out:
        print_json({"id": data["id"], "suggestions": data["suggestions"]})
    else:
        console.print(f"rejected {esc(data['decided']['code'] if data['decided'] else code)}")


@need_app.command("suggestions")
def need_suggestions(
    ctx: typer.Context,
    screening_ref: Annotated[str, typer.Argument(metavar="SCREENING", help=SCREENING_HELP)],
    json_out: JsonOption = False,
) -> None:
    """Show a screening's suggested needs and what was decided."""
    from linkwork.actions import needs as act

    data = act.screening_suggestions(workspace(ctx), screening_ref)
    if json_out:
        print_json({k: data[k] for k in ("id", "suggestions", "skipped")})
    else:
        suggestions_table(data["id"], safe(data["suggestions"]))
        if data["skipped"]:  # not asked: nothing could be suggested from them
            console.print(f"skipped (not asked): {esc(', '.join(data['skipped']))}")


@need_app.command("list")
def need_list(
    ctx: typer.Context,
    person_ref: Annotated[
        str | None, typer.Argument(metavar="[PERSON]", help="Only this person's needs.")
    ] = None,
    status: Annotated[
        str | None, Opt("--status", help="active, resolved, withdrawn or corrected.")
    ] = None,
    limit: Annotated[
        int, Opt("--limit", "-n", help="Most rows to show.", min=1, max=1000000)
    ] = 200,
    json_out: JsonOption = False,
) -> None:
    """List needs (a person's, or everyone's), newest first."""
    from linkwork.actions import needs as act

    needs = act.list_person_needs(workspace(ctx), person_ref, status=status, limit=limit)
    if not needs:
        raise NotFound("no needs recorded")
    if json_out:
        print_json(needs)
    else:
        needs = safe(needs)
        needs_table(needs)


@need_app.command("resolve")
def need_resolve(
    ctx: typer.Context,
    need_ref: Annotated[str, typer.Argument(metavar="NEED", help=NEED_HELP)],
    note: Annotated[str, Opt("--note", help="A few words on how it was resolved (optional).")] = "",
    json_out: JsonOption = False,
) -> None:
    """Mark a need resolved."""
    from linkwork.actions import needs as act

    data = act.resolve_need(workspace(ctx), need_ref, note=note)
    answer(
        data,
        json_out,
        lambda d: console.print(f"resolved {d['code']} {d['display']} ({d['id'][:8]})"),
    )


@need_app.command("withdraw")
def need_withdraw(
    ctx: typer.Context,
    need_ref: Annotated[str, typer.Argument(metavar="NEED", help=NEED_HELP)],
    reason: Annotated[str, Opt("--reason", help="Why (kept in the audit trail).")],
    json_out: JsonOption = False,
) -> None:
    """Withdraw a need recorded in error (kept, never deleted)."""
    from linkwork.actions import needs as act

    data = act.withdraw_need(workspace(ctx), need_ref, reason=reason)
    answer(
        data,
        json_out,
        lambda d: console.print(f"withdrew {d['code']} {d['display']} ({d['id'][:8]})"),
    )


@need_app.command("correct")
def need_correct(
    ctx: typer.Context,
    need_ref: Annotated[str, typer.Argument(metavar="NEED", help=NEED_HELP)],
    code: Annotated[str, typer.Argument(help="The right code (or need domain).")],
    reason: Annotated[str, Opt("--reason", help="Why (kept in the audit trail).")] = "",
    json_out: JsonOption = False,
) -> None:
    """Correct a need recorded under the wrong code: a new need; the old one is kept,
    marked corrected."""
    from linkwork.actions import needs as act

    data = act.correct_need(workspace(ctx), need_ref, code, reason=reason)
    if json_out:
        print_json(data)
    else:
        data = safe(data)
        old = data["corrects"]
        console.print(
            f"corrected {old['code']} to {data['code']} {data['display']}: "
            f"[bold]{data['id'][:8]}[/]"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(need_app, name="need")
    app.command("screen")(screen_cmd)

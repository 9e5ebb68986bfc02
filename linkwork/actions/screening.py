"""Screening: the questionnaire, answers saved as they are given, completing a screening.

One rule for both front ends: a person has at most one screening in progress, and the
next screening of that person (saved or completed, from the app's form, the CLI's
prompts or an answers file) carries on that one, its answers replaced by the new ones,
rather than leaving it half-done for ever. A section the person did not raise is
skipped (``skipped``: the app's Ctrl+O, the CLI's ``--skip``): recorded on the
screening as not asked, its answers dropped, never read as "no need". The questionnaire
is the built-in one plus the practice's extra questions (``Settings.extra_questions``,
or ``questions`` given).
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

from sqlmodel import Session

from linkwork.workspace import Workspace
from screening.models import Person, Screening
from screening.people import get_person
from screening.questionnaire import (
    Questionnaire,
    get_screening,
    in_progress_screening,
    load_answers_file,
    load_questionnaire,
    screening_answers,
    skipped_titles,
)
from screening.questionnaire import complete_screening as complete_in_record
from screening.questionnaire import save_screening_progress as save_in_record

Questions = str | Path | None


def questionnaire(ws: Workspace, questions: Questions = None) -> Questionnaire:
    """The questionnaire in use: built in, plus ``questions`` (a YAML file) or else the
    practice's extra questions from the settings. ValueError if the file is malformed."""
    return load_questionnaire(questions or ws.settings.extra_questions or None)


def questionnaire_sections(ws: Workspace, questions: Questions = None) -> list[dict[str, Any]]:
    """The questionnaire as plain sections for a form: ``key`` (the section's domain, as
    ``skipped`` names it), ``title``, ``intro`` and ``questions``, each ``id``, ``text``
    and ``kind``: ``scale`` (``low``-``high``, a whole number) or ``choice``
    (``options``: (code, text) pairs)."""
    return _sections(questionnaire(ws, questions))


def _sections(q: Questionnaire) -> list[dict[str, Any]]:
    sections = []
    for section in q.sections:
        items: list[dict[str, Any]] = []
        for question in section.questions:
            if question.type == "integer":
                items.append(
                    {
                        "id": question.id,
                        "text": question.text,
                        "kind": "scale",
                        "low": question.min,
                        "high": question.max,
                    }
                )
            else:
                items.append(
                    {
                        "id": question.id,
                        "text": question.text,
                        "kind": "choice",
                        "options": [(o.code, o.text) for o in question.options],
                    }
                )
        sections.append(
            {
                "key": section.domain,
                "title": section.title,
                "intro": section.intro,
                "questions": items,
            }
        )
    return sections


def read_answers(path: str | Path) -> dict[str, Any]:
    """Answers from a YAML or JSON file (question id -> option code or number); ValueError
    in one line if it cannot be read or is malformed. Checked when saved or completed."""
    return load_answers_file(path)


def _progress(session: Session, screening: Screening | None) -> dict[str, Any] | None:
    if screening is None:
        return None
    started = screening.started_at
    return {
        "id": screening.id,
        "answers": screening_answers(session, screening),
        "skipped": list(screening.skipped or []),
        "started_at": started.replace(tzinfo=UTC) if started.tzinfo is None else started,
    }


def screening_in_progress(ws: Workspace, person_ref: str) -> dict[str, Any] | None:
    """The person's saved, unfinished screening: ``id``, ``answers`` (question id ->
    stored value), ``skipped`` (the sections' keys) and ``started_at`` (aware
    datetime); None if there is none."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        return _progress(session, in_progress_screening(session, person))


def open_screening(
    ws: Workspace, person_ref: str, *, questions: Questions = None
) -> dict[str, Any]:
    """Everything a front end needs to screen a person: ``person`` (``id``, ``name``),
    the questionnaire's ``title``, ``intro`` and ``sections``, and the screening
    ``in_progress`` to resume (as ``screening_in_progress``; None if none). Not audited:
    nothing of the record is shown but the name."""
    q = questionnaire(ws, questions)
    with ws.session() as session:
        person = get_person(session, person_ref)
        return {
            "person": {"id": person.id, "name": f"{person.given_name} {person.family_name}"},
            "title": q.title,
            "intro": q.intro,
            "sections": _sections(q),
            "in_progress": _progress(session, in_progress_screening(session, person)),
        }


def _carried_on(session: Session, person: Person, screening_ref: str | None) -> Screening | None:
    """The screening to carry on: the one named, else the person's one in progress."""
    if screening_ref:
        return get_screening(session, screening_ref)
    return in_progress_screening(session, person)


def save_screening_progress(
    ws: Workspace,
    person_ref: str,
    answers: dict[str, Any],
    *,
    screening_ref: str | None = None,
    questions: Questions = None,
    skipped: list[str] | None = None,
) -> dict[str, Any]:
    """Save a half-done screening (status in-progress): the answers so far, checked as on
    completion, replacing those saved before (into ``screening_ref``, else the person's
    screening in progress, else a new one), and the sections ``skipped`` so far (keys or
    titles). ``id``, ``person_id``, ``answers`` (how many kept), ``skipped`` (titles) and
    ``started`` (True when this save began it)."""
    q = questionnaire(ws, questions)
    with ws.session() as session:
        person = get_person(session, person_ref)
        saved = _carried_on(session, person, screening_ref)
        screening = save_in_record(
            session,
            person,
            answers,
            actor=ws.user,
            screening=saved,
            questionnaire=q,
            skipped=skipped,
        )
        return {
            "id": screening.id,
            "person_id": person.id,
            "answers": len(screening_answers(session, screening)),
            "skipped": skipped_titles(screening.skipped, q),
            "started": saved is None,
        }


def complete_screening(
    ws: Workspace,
    person_ref: str,
    answers: dict[str, Any],
    *,
    screening_ref: str | None = None,
    questions: Questions = None,
    skipped: list[str] | None = None,
) -> dict[str, Any]:
    """Complete a screening with ``answers`` (carrying on ``screening_ref``, else the
    person's screening in progress, else a new one) and suggest needs: nothing is coded
    until each suggestion is confirmed (``actions.needs.decide_suggestion``). The sections
    ``skipped`` (keys or titles; ValueError for one that is neither) are recorded as not
    asked and their answers dropped.

    Returns ``id``, ``person_id``, ``questionnaire`` (id|version), ``answers`` (how many
    kept), ``skipped`` (the sections not asked, in words), ``resumed`` (a saved
    screening was finished) and ``suggestions``: each code, system, display, domain,
    questions (ids), ``because`` (those questions' words), state (pending), need_id and
    ``existing_need_id`` (the person already has it, active)."""
    q = questionnaire(ws, questions)
    with ws.session() as session:
        person = get_person(session, person_ref)
        saved = _carried_on(session, person, screening_ref)
        screening, suggestions = complete_in_record(
            session,
            person,
            answers,
            actor=ws.user,
            questionnaire=q,
            screening=saved,
            skipped=skipped,
        )
        return {
            "id": screening.id,
            "person_id": person.id,
            "questionnaire": f"{screening.questionnaire_id}|{screening.questionnaire_version}",
            "answers": len(screening_answers(session, screening)),
            "skipped": skipped_titles(screening.skipped, q),
            "resumed": saved is not None,
            "suggestions": [
                {**s, "because": [q.question(qid).text for qid in s.get("questions", [])]}
                for s in suggestions
            ],
        }

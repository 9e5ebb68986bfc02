"""Coded needs: add by code or lay words, confirm or reject a screening's suggestions,
list, resolve."""

from __future__ import annotations

import contextlib
from typing import Any

from linkwork.actions.codes import search_codes
from linkwork.errors import NotFound
from linkwork.workspace import Workspace
from screening.naming import screening_words
from screening.needs import add_need as add_to_record
from screening.needs import (
    confirm_need,
    get_need,
    list_needs,
    need_dict,
    pending_suggestions,
    reject_suggestion,
    resolve_code,
)
from screening.needs import correct_need as correct_in_record
from screening.needs import resolve_need as resolve_in_record
from screening.needs import withdraw_need as withdraw_in_record
from screening.people import get_person, show_person
from screening.questionnaire import get_screening, skipped_titles


def active_needs(ws: Workspace, person_ref: str) -> list[dict[str, Any]]:
    """A person's active needs, newest first: each ``need_dict`` (id, code, display,
    domain, words, priority, ...)."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        return [need_dict(n) for n in list_needs(session, person, status="active")]


def add_need(
    ws: Workspace,
    person_ref: str,
    *,
    code: str | None = None,
    search: str | None = None,
    words: str = "",
    priority: str = "medium",
) -> dict[str, Any]:
    """Record a need without a screening: by ``code`` (ICD-10, SNOMED CT or a need domain
    key), or by ``search``: lay words, taking the best match (the words become the
    person's words unless ``words`` are given). The need as a ``need_dict``; after a
    search also ``alternatives``: the other matches (``CodeMatch.to_dict()``)."""
    if (code is None) == (search is None):
        raise ValueError("give either a code or words to search for")
    alternatives: list[dict[str, Any]] = []
    if search is not None:
        found = search_codes(search, limit=5)
        if not found.matches:
            how = f" with --code {found.domain['key']}" if found.domain else ""
            raise LookupError(f"{found.hint}; try other words or record it{how or ' by code'}")
        code = found.matches[0]["code"]
        alternatives = found.matches[1:]
        words = words or found.text
    assert code is not None
    with ws.session() as session:
        person = get_person(session, person_ref)
        need = add_to_record(session, person, code, actor=ws.user, words=words, priority=priority)
        data = need_dict(need)
    if search is not None:
        data["alternatives"] = alternatives
    return data


def list_person_needs(
    ws: Workspace,
    person_ref: str | None = None,
    *,
    status: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Needs, newest first: a person's (their record opened: audited as a view), or
    everyone's."""
    with ws.session() as session:
        person = show_person(session, person_ref, actor=ws.user) if person_ref else None
        return [need_dict(n) for n in list_needs(session, person, status=status, limit=limit)]


def resolve_need(ws: Workspace, need_ref: str, *, note: str = "") -> dict[str, Any]:
    """Mark a need resolved (with an optional note in the audit trail)."""
    with ws.session() as session:
        need = resolve_in_record(session, get_need(session, need_ref), actor=ws.user, note=note)
        return need_dict(need)


def withdraw_need(ws: Workspace, need_ref: str, *, reason: str) -> dict[str, Any]:
    """Withdraw a need recorded in error (kept, status ``withdrawn``; the reason in the
    audit trail). The need as a ``need_dict``."""
    with ws.session() as session:
        need = withdraw_in_record(
            session, get_need(session, need_ref), actor=ws.user, reason=reason
        )
        return need_dict(need)


def correct_need(ws: Workspace, need_ref: str, code: str, *, reason: str = "") -> dict[str, Any]:
    """Correct a need recorded under the wrong code: returns the new need
    (``need_dict``) with ``corrects``: the old one (``need_dict``, status ``corrected``)."""
    with ws.session() as session:
        old = get_need(session, need_ref)
        new = correct_in_record(session, old, code, actor=ws.user, reason=reason)
        return need_dict(new) | {"corrects": need_dict(old)}


# --- a screening's suggestions ------------------------------------------------------------


def screening_suggestions(ws: Workspace, screening_ref: str) -> dict[str, Any]:
    """A screening's suggested needs and what was decided: ``id``, ``person_id`` and
    ``suggestions`` (code, system, display, domain, questions, state, need_id, ...)."""
    with ws.session() as session:
        screening = get_screening(session, screening_ref)
        return _suggestions_of(screening)


def decide_suggestion(
    ws: Workspace,
    screening_ref: str,
    code: str,
    *,
    confirm: bool,
    use_code: str | None = None,
    words: str = "",
    priority: str = "medium",
) -> dict[str, Any]:
    """Confirm (``use_code``: record that code instead, an edit) or reject one of a
    screening's suggested needs; nothing is coded from a screening until this is called.

    Returns the screening's ``id``, ``person_id`` and ``suggestions`` after the decision,
    the ``decided`` suggestion (``state`` confirmed, edited with ``confirmed_as``, or
    rejected) and the ``need`` recorded (``need_dict``; None when rejected)."""
    if not confirm and use_code:
        raise ValueError("a rejected suggestion records no code: leave out the other code")
    with ws.session() as session:
        screening = get_screening(session, screening_ref)
        need = None
        if confirm:
            recorded = confirm_need(
                session,
                screening,
                code,
                actor=ws.user,
                words=words,
                priority=priority,
                use_code=use_code or None,
            )
            need = need_dict(recorded)
        else:
            reject_suggestion(session, screening, code, actor=ws.user)
        data = _suggestions_of(screening)
    data["need"] = need
    data["decided"] = _decided(data["suggestions"], code)
    return data


def confirm_all(
    ws: Workspace, screening_ref: str, *, words: str = "", priority: str = "medium"
) -> list[dict[str, Any]]:
    """Confirm every pending suggestion of a screening, in one transaction (all or none).
    The needs recorded; NotFound when none is pending."""
    with ws.session() as session:
        screening = get_screening(session, screening_ref)
        codes = [s["code"] for s in pending_suggestions(screening)]
        if not codes:
            raise NotFound(f"{screening_words(session, screening)} has no pending suggestions")
        return [
            need_dict(
                confirm_need(session, screening, c, actor=ws.user, words=words, priority=priority)
            )
            for c in codes
        ]


def _suggestions_of(screening: Any) -> dict[str, Any]:
    """The screening's suggestions; one confirmed as another code (state ``edited``) also
    says that code's meaning (``confirmed_display``), so it is shown, not the suggested's.
    ``skipped``: the sections not asked, in words (nothing was suggested from them)."""
    suggestions = []
    for s in screening.suggestions or []:
        row = dict(s)
        if row.get("confirmed_as"):
            with contextlib.suppress(ValueError, LookupError):
                row["confirmed_display"] = resolve_code(str(row["confirmed_as"])).display
        suggestions.append(row)
    return {
        "id": screening.id,
        "person_id": screening.person_id,
        "suggestions": suggestions,
        "skipped": skipped_titles(screening.skipped or []),
    }


def _decided(suggestions: list[dict[str, Any]], code: str) -> dict[str, Any] | None:
    """The suggestion of ``code`` (as the link worker typed it: ``z590``, a domain key)."""
    wanted = resolve_code(code)
    return next(
        (s for s in suggestions if (s["system"], s["code"]) == (wanted.system, wanted.code)),
        None,
    )

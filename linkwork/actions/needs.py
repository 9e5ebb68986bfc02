"""Coded needs: add by code or lay words, confirm or reject a screening's suggestions,
list, resolve."""

from __future__ import annotations

from typing import Any

from linkwork.workspace import Workspace
from screening.needs import list_needs, need_dict
from screening.people import get_person


def active_needs(ws: Workspace, person_ref: str) -> list[dict[str, Any]]:
    """A person's active needs, newest first: each ``need_dict`` (id, code, display,
    domain, words, priority, ...)."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        return [need_dict(n) for n in list_needs(session, person, status="active")]

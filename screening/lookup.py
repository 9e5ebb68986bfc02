"""Finding a record row by its id, or by a unique start of it (8+ characters) as users type."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from directory.notfound import NotFound
from directory.untrusted import findable

Row = TypeVar("Row", bound=SQLModel)

PREFIX_MIN = 8


def by_id_prefix(session: Session, model: type[Row], text: str, noun: str) -> Row | None:
    """The one row whose id starts with ``text`` (8+ characters), None if there is none;
    ValueError if several do. Ids are lower-case UUIDs, so the prefix is matched in lower case,
    and ``%``/``_`` in it are taken literally."""
    if len(text) < PREFIX_MIN or findable(text) is None:
        return None
    ident: Any = model.id  # type: ignore[attr-defined]  # every record table has one
    rows = session.exec(
        select(model).where(col(ident).startswith(text.lower(), autoescape=True)).limit(2)
    ).all()
    if len(rows) > 1:
        raise ValueError(f"{noun} {text!r} is ambiguous: give more of the id")
    return rows[0] if rows else None


def by_id(session: Session, model: type[Row], ref: str, noun: str) -> Row:
    """The row with id ``ref`` or a unique start of it; ``NotFound`` naming ``noun`` if
    there is none (nothing found: exit 1)."""
    text = str(ref).strip()
    if findable(text) is None:
        raise NotFound(f"unknown {noun} {text!r}")  # no id holds a control character
    found = session.get(model, text) if text else None
    if found is None:
        found = by_id_prefix(session, model, text, noun)
    if found is None:
        raise NotFound(f"unknown {noun} {text!r}")
    return found

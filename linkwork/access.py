"""Who is acting and what they may do: the login, its role and its organisations.

On a shared PostgreSQL deployment the identity is the database login (``session_user``):
each member of staff has their own, made a member of one group role by ``linkwork staff
add`` (``linkwork.access_sql`` holds the SQL: roles, grants, row-level security). The
database enforces all of it; :func:`require` says no earlier, in words, once per action.

On SQLite (one person's laptop, an encrypted file) there are no logins: whoever opens the
file may do everything but manage staff, and the actor is the ``user`` setting.

The deployment's database owner (a superuser, or a member of ``linkwork_owner``: it runs
``linkwork db upgrade``) is outside the staff model: it may do everything, as the database
lets it, and its rows carry the ``user`` setting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from linkwork.workspace import Workspace

ROLES = ("worker", "datalead", "admin")
RECORDS_READ = "records.read"  # people's records: read
RECORDS_WRITE = "records.write"  # people's records: add and change
REPORTS = "reports"  # disclosure-controlled counts
REPORTS_UNSUPPRESSED = "reports.unsuppressed"  # counts without disclosure control
STAFF = "staff"  # add, list and remove staff
REPORTS_PUBLISH = "reports.publish"  # publish disclosure-controlled extracts for data leads
PERMISSIONS: dict[str, frozenset[str]] = {
    "worker": frozenset({RECORDS_READ, RECORDS_WRITE, REPORTS}),
    "datalead": frozenset({REPORTS}),
    "admin": frozenset(
        {RECORDS_READ, RECORDS_WRITE, REPORTS, REPORTS_UNSUPPRESSED, REPORTS_PUBLISH, STAFF}
    ),
}
WORDS = {
    RECORDS_READ: "people's records",
    RECORDS_WRITE: "changing people's records",
    REPORTS: "reports",
    REPORTS_UNSUPPRESSED: "reports without disclosure control (admin only)",
    STAFF: "managing staff (admin only)",
    REPORTS_PUBLISH: "publishing reports for data leads (admin only)",
}
SHARED_ONLY = "staff logins need a shared PostgreSQL deployment (this database is SQLite)"


RECORD_TABLE_WORDS = {
    "audit_event": "the audit trail",
    "staff": "the staff list",
    "alembic_version": "the database's schema (ask the database owner to upgrade it)",
}


def refusal_words(reason: str) -> str:
    """PostgreSQL's refusal (SQLSTATE 42501) in one line for the person at the keyboard."""
    first = (reason.strip().splitlines() or ["permission denied"])[0]
    found = re.search(r'(?:for table|policy for table) "?([A-Za-z0-9_]+)"?', first)
    table = found.group(1) if found else ""
    if "row-level security" in first:
        return (
            "your login may not write a record held by another organisation "
            f"(row-level security on {table or 'that table'})"
        )
    if first.startswith("the actor must be"):
        return first
    what = RECORD_TABLE_WORDS.get(table, "people's records" if table else "that")
    return f"your login has no access to {what} ({first})"


class AccessRefused(ValueError):
    """This login may not do that: one line, exit 2."""


@dataclass(frozen=True)
class Login:
    """The login a PostgreSQL workspace is connected as, as the database sees it."""

    login: str
    owner: bool = False  # the database owner (superuser or member of linkwork_owner)
    roles: tuple[str, ...] = ()  # worker, datalead, admin (a login should have one)
    orgs: tuple[str, ...] = ()
    removed: dict[str, Any] | None = field(default=None)

    @property
    def role(self) -> str | None:
        for role in ("admin", "worker", "datalead"):
            if role in self.roles:
                return role
        return None

    @property
    def is_staff(self) -> bool:
        return self.role is not None and not self.owner

    def may(self, permission: str) -> bool:
        if self.owner:
            return True
        return any(permission in PERMISSIONS[role] for role in self.roles)


def who(engine: Engine) -> Login:
    """The current login of ``engine`` (PostgreSQL), read once from the database."""
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT linkwork_whoami()").scalar()
    except DBAPIError as exc:
        state = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if state in ("42883", "42501"):  # no such function / not allowed: not set up here
            with engine.connect() as conn:
                name = str(conn.exec_driver_sql("SELECT session_user").scalar())
            raise AccessRefused(
                f"your login {name} has no linkwork role in this database: ask the "
                "database owner to run linkwork db upgrade and an admin linkwork staff add"
            ) from None
        raise
    info = raw if isinstance(raw, dict) else json.loads(str(raw))
    return Login(
        login=str(info["login"]),
        owner=bool(info.get("owner")),
        roles=tuple(str(r).removeprefix("linkwork_") for r in info.get("roles") or ()),
        orgs=tuple(str(o) for o in info.get("orgs") or ()),
        removed=info.get("removed"),
    )


def check_login(login: Login) -> None:
    """Refuse, in words, a login that may not use linkwork at all."""
    if login.owner or login.role is not None:
        return
    if login.removed:
        when = str(login.removed.get("at") or "")[:10]
        by = login.removed.get("by") or "an admin"
        raise AccessRefused(
            f"your login {login.login} no longer has access to linkwork (removed {when} by {by})"
        )
    raise AccessRefused(
        f"your login {login.login} has no linkwork role: ask an admin to add it "
        "with linkwork staff add"
    )


def require(ws: Workspace, permission: str) -> None:
    """Refuse (``AccessRefused``: one line, exit 2) unless this workspace's login may do
    ``permission``. Called once at the start of an action."""
    if not ws.is_shared:
        if permission == STAFF:
            raise AccessRefused(SHARED_ONLY)
        return
    login = ws.login
    check_login(login)
    if not login.may(permission):
        raise AccessRefused(
            f"your login {login.login} ({login.role}) has no access to {WORDS[permission]}"
        )


HIDDEN = re.compile(r"^(?:unknown|no) ([a-z ]+?) '([0-9a-fA-F-]{36})'")


def held_elsewhere(ws: Workspace, exc: BaseException) -> AccessRefused | None:
    """After "nothing found" for a full record id on PostgreSQL: if the record exists but
    row-level security hides it from this login (another organisation holds it), the
    refusal to give instead (exit 2), recorded in the audit trail as this login's; else
    None (there is no such record)."""
    if not ws.is_shared or not ws.login.is_staff:
        return None
    found = HIDDEN.match(str(exc))
    if found is None:
        return None
    what, ref = found.group(1), found.group(2)
    import sqlalchemy as sa

    with ws.engine.connect() as conn:
        hidden = conn.execute(sa.text("SELECT linkwork_held_elsewhere(:ref)"), {"ref": ref})
        if not hidden.scalar():
            return None
    from linkwork.actions.audit import audit_refusal

    audit_refusal(ws, what, "view", {"id": ref, "reason": "another organisation's record"})
    return AccessRefused(
        f"your login has no access to {what} {ref}: another organisation holds the record"
    )

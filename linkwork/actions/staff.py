"""Staff on a shared PostgreSQL deployment: add a member of staff's login with a role and
the organisations it works for, list them, remove one. Admins only (and the database
owner); each change is audited. The database does the work through two SECURITY DEFINER
functions (``linkwork.access_sql``): it creates a login only if it is missing, never
changes an existing login's password, and grants only linkwork's own group roles.

A password is read from an environment variable named by the caller, turned into a SCRAM
verifier here (libpq's ``PQencryptPasswordConn``), and only the verifier is sent: the
password is never printed, logged, stored or sent to the server.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from linkwork.access import ROLES, STAFF, require
from linkwork.access_sql import ALL_ORGS
from screening.audit import record_event
from screening.people import normalise_ods

if TYPE_CHECKING:
    from sqlmodel import Session

    from linkwork.workspace import Workspace

LOGIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.@-]{0,62}")


def check_login_name(login: str) -> str:
    text = str(login).strip()
    if not LOGIN.fullmatch(text):
        raise ValueError(
            f"login {text!r} is not a login name: up to 63 letters, digits, '_', '.', '@' or "
            "'-', starting with a letter or '_'"
        )
    if text.lower().startswith(("pg_", "linkwork_")):
        raise ValueError(f"login {text!r} is reserved (pg_ and linkwork_ names are roles)")
    return text


def check_orgs(orgs: list[str]) -> list[str]:
    if not orgs:
        raise ValueError("give the organisation(s) the login works for: --org ODS")
    found: list[str] = []
    for org in orgs:
        code = ALL_ORGS if str(org).strip() == ALL_ORGS else normalise_ods(org)
        if not code:
            raise ValueError(f"organisation {org!r} is not an ODS code")
        if code not in found:
            found.append(code)
    return found


def _verifier(session: Session, login: str, password_env: str | None) -> str:
    if not password_env:
        return ""
    password = os.environ.get(password_env)
    if not password:
        raise ValueError(f"environment variable {password_env} holds no password")
    driver = session.connection().connection.driver_connection
    pgconn = driver.pgconn  # type: ignore[union-attr]
    verifier = pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256")
    return bytes(verifier).decode()


def add_staff(
    ws: Workspace, login: str, *, role: str, orgs: list[str], password_env: str | None = None
) -> dict[str, Any]:
    """Make ``login`` (created if missing, with the password in ``password_env``) a
    member of staff with ``role`` for ``orgs``; replaces its earlier role and organisations.
    Returns ``{login, role, orgs, created}``."""
    require(ws, STAFF)
    name = check_login_name(login)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    codes = check_orgs(orgs)
    with ws.session() as session:
        verifier = _verifier(session, name, password_env)
        outcome = session.execute(
            sa.text("SELECT linkwork_staff_add(:login, :role, :orgs, :verifier)"),
            {"login": name, "role": role, "orgs": codes, "verifier": verifier},
        ).scalar()
        created = outcome == "created"
        record_event(
            session,
            ws.user,
            "create",
            "staff",
            name,
            {"role": role, "orgs": codes, "login_created": created},
        )
    return {"login": name, "role": role, "orgs": codes, "created": created}


def list_staff(ws: Workspace, *, history: bool = False) -> list[dict[str, Any]]:
    """Members of staff (with ``history``, removed ones and earlier roles too)."""
    require(ws, STAFF)
    query = "SELECT login, role, orgs, added_at, added_by, removed_at, removed_by FROM staff"
    if not history:
        query += " WHERE removed_at IS NULL"
    with ws.session() as session:
        rows = session.execute(sa.text(query + " ORDER BY login, added_at")).mappings().all()
    return [
        {
            "login": r["login"],
            "role": r["role"],
            "orgs": list(r["orgs"] or []),
            "added_at": r["added_at"],
            "added_by": r["added_by"],
            "removed_at": r["removed_at"],
            "removed_by": r["removed_by"],
        }
        for r in rows
    ]


def remove_staff(ws: Workspace, login: str) -> dict[str, Any]:
    """Revoke ``login``'s linkwork role (the login itself stays: it may be used elsewhere;
    everything it recorded stays attributed to it)."""
    require(ws, STAFF)
    name = check_login_name(login)
    with ws.session() as session:
        changed = session.execute(
            sa.text("SELECT linkwork_staff_remove(:login)"), {"login": name}
        ).scalar()
        if not changed:
            raise ValueError(f"login {name} is not a member of staff")
        record_event(session, ws.user, "delete", "staff", name, {})
    return {"login": name, "removed": True}

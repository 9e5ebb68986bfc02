"""``linkwork staff``: add, list and remove members of staff (shared PostgreSQL only)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from linkwork.cli.common import JsonOption, console, esc, print_json, safe, workspace

Opt = typer.Option

staff_app = typer.Typer(
    help="Members of staff on a shared PostgreSQL deployment: their logins, roles and "
    "organisations (admins only).",
    no_args_is_help=True,
)


@staff_app.command("add")
def staff_add(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The member of staff's database login.")],
    role: Annotated[str, Opt("--role", help="worker, datalead or admin.")],
    org: Annotated[
        list[str],
        Opt(
            "--org",
            help="An organisation (ODS code) the login works for; repeat for more; "
            "'*' for every organisation.",
        ),
    ],
    password_env: Annotated[
        str | None,
        Opt(
            "--password-env",
            metavar="VAR",
            help="Create a missing login with the password in this environment variable.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Give a login a linkwork role for its organisation(s) (the login is created if it
    is missing; an existing login's password is never changed)."""
    from linkwork.actions import staff as act

    result = act.add_staff(
        workspace(ctx), login, role=role, orgs=list(org), password_env=password_env
    )
    if json_out:
        print_json(result)
        return
    made = "created and " if result["created"] else ""
    console.print(
        f"{esc(result['login'])}: {made}added as {result['role']} for "
        f"{esc(', '.join(result['orgs']))}",
        highlight=False,
    )


@staff_app.command("list")
def staff_list(
    ctx: typer.Context,
    history: Annotated[
        bool, Opt("--history", help="Also removed staff and earlier roles.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Members of staff: login, role, organisations, who added them and when."""
    from linkwork.actions import staff as act

    rows = act.list_staff(workspace(ctx), history=history)
    if json_out:
        print_json(rows)
        return
    rows = safe(rows)
    table = Table(title="Staff")
    for col in ("login", "role", "organisations", "added", "by", "removed", "by"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["login"], r["role"], ", ".join(r["orgs"]), str(r["added_at"])[:16], r["added_by"],
            str(r["removed_at"] or "")[:16], r["removed_by"] or "",
        )  # fmt: skip
    console.print(table)


@staff_app.command("remove")
def staff_remove(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The login to remove from staff.")],
    json_out: JsonOption = False,
) -> None:
    """Revoke a login's linkwork role (what it recorded stays attributed to it)."""
    from linkwork.actions import staff as act

    result = act.remove_staff(workspace(ctx), login)
    if json_out:
        print_json(result)
        return
    console.print(f"{esc(result['login'])}: removed from staff", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(staff_app, name="staff")

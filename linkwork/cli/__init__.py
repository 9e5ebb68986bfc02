"""The ``linkwork`` command line (Typer). With no subcommand it opens the Textual app.

Each area of the product has its own module here registering a sub-app or commands;
``main`` turns user mistakes into one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from directory.untrusted import visible_controls
from linkwork import __version__
from linkwork.cli import db as db_cli
from linkwork.cli import helptext
from linkwork.errors import problem
from linkwork.settings import load_settings
from linkwork.workspace import Workspace

helptext.install()
app = typer.Typer(
    name="linkwork",
    cls=helptext.DayOrderGroup,
    help="Social prescribing: screen, code needs, find services, refer, close the loop, count.",
    add_completion=False,
    pretty_exceptions_enable=False,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(db_cli.app, name="db")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"linkwork {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="LINKWORK_DATABASE_URL",
            help="Database URL (sqlite:///FILE or postgresql+psycopg://...). "
            "Default: an SQLite file in the user data folder.",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", envvar="LINKWORK_USER", help="Your name, recorded on changes."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    settings = load_settings(database_url=db, user=user)
    if settings.database_url:
        # Checked before any command runs, so a mistyped --db is refused even by commands
        # that never open the database (codes search, codes show).
        from linkwork.db import normalise_url

        normalise_url(settings.database_url)
    from linkwork.cli.common import ask_passphrase

    ctx.obj = Workspace(settings, ask_passphrase=ask_passphrase)
    if ctx.invoked_subcommand is None:
        from linkwork.tui_entry import run_app

        run_app(ctx.obj)


def _register() -> None:
    """Attach each area's commands. Import errors here are bugs, so they are not hidden."""
    # Each area adds its lines here: ``from linkwork.cli import X; X.register(app)``.
    from linkwork.cli import referral

    app.add_typer(referral.app, name="referral")

    from linkwork.cli import codes

    codes.register(app)

    from linkwork.cli import exchange

    exchange.register(app)

    from linkwork.cli import mesh

    mesh.register(app)

    from linkwork.cli import directory

    directory.register(app)

    from linkwork.cli import audit, casework, needs, people, referrals

    people.register(app)
    needs.register(app)
    referrals.register(app)
    audit.register(app)
    casework.register(app)

    from linkwork.cli import careplan

    careplan.register(app)

    from linkwork.cli import report

    report.register(app)

    from linkwork.cli import staff

    staff.register(app)


_register()


def _exit_code_for(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message for an exception that escaped a command."""
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        # Click-style usage errors (Typer vendors its own Click, so match by shape).
        lines = exc.format_message().strip().splitlines()
        return (exc.exit_code or 2), (lines[0] if lines else type(exc).__name__)
    found = problem(exc)
    if found.unexpected:
        return found.code, f"{found.message}; run again with LINKWORK_DEBUG=1 for details"
    return found.code, found.message


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; map user mistakes to ``linkwork: ...`` and exit 2."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result = app(args=args, prog_name="linkwork", standalone_mode=False)
        # Outside standalone mode Click returns the code of a ``raise typer.Exit(n)``.
        if isinstance(result, int) and not isinstance(result, bool) and result:
            sys.exit(result)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("linkwork: cancelled\n")
        sys.exit(130)
    except Exception as exc:
        code, message = _exit_code_for(exc)
        if code == 3 and os.environ.get("LINKWORK_DEBUG"):
            raise
        # One line, whatever the message quotes (a typed argument, a stored name).
        sys.stderr.write(f"linkwork: {visible_controls(message, keep_newlines=False)}\n")
        sys.exit(code)

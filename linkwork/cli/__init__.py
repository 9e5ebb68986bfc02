"""The ``linkwork`` command line (Typer). With no subcommand it opens the Textual app.

Each area of the product has its own module here registering a sub-app or commands;
``main`` turns user mistakes into one line on stderr and exit code 2, never a traceback.

Start-up is kept short (issue 18: a search in under 0.3 s, ``--help`` too): ``main``
registers only the area the command line names (``AREAS``; every area for ``--help``, an
unknown word or none), Typer then builds only the command that runs (``named_only``: not
its siblings, whose parameters Typer would otherwise inspect too), and no module here
imports the database layer, Textual or FHIR at import: each command imports what it uses.
``app`` (every command registered) is made when first asked for, for tests and tools.
A plain ``directory search`` does not come here at all from the console script or
``python -m linkwork``: ``linkwork.search_command`` runs it without Typer, as the same command.
"""

from __future__ import annotations

import copy
import sys
from typing import Annotated

import typer

from linkwork.cli import helptext, light_params
from linkwork.cli_shared import exit_line, leave, open_workspace, traceback_wanted

helptext.install()
light_params.install()  # plain values coerced without Pydantic (a tenth of a second)

# The areas (modules of linkwork.cli with a ``register(root)``) that register each top-level
# command. ``referral`` gathers commands from several (export, receive, send, list, ...) and
# ``episode`` one from careplan (summary); the referral areas are registered together, so
# ``referral --help`` lists its commands in one order whatever ran first.
# tests/test_cli_startup.py checks this against every area registered.
AREAS: dict[str, tuple[str, ...]] = {
    "codes": ("codes",),
    "keys": ("exchange",),
    "mesh": ("mesh",),
    "directory": ("directory",),
    "person": ("people",),
    "need": ("needs",),
    "screen": ("needs",),
    "consent": ("exchange", "mesh", "referrals"),
    "refer": ("exchange", "mesh", "referrals"),
    "followups": ("exchange", "mesh", "referrals"),
    "audit": ("audit",),
    "demo": ("audit",),
    "episode": ("casework", "careplan"),
    "contact": ("casework",),
    "note": ("casework",),
    "goal": ("casework",),
    "caseload": ("casework",),
    "plan": ("careplan",),
    "report": ("report",),
    "population": ("report",),
    "deprivation": ("report",),
    "staff": ("staff",),
    "db": ("db",),
    "referral": ("exchange", "mesh", "referrals"),
}
ALL_AREAS = (
    "codes",
    "exchange",
    "mesh",
    "directory",
    "people",
    "needs",
    "referrals",
    "audit",
    "casework",
    "careplan",
    "report",
    "staff",
    "db",
)


def _version(value: bool) -> None:
    if value:
        from linkwork import __version__

        typer.echo(f"linkwork {__version__}")
        raise typer.Exit(0)


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
    ctx.obj = open_workspace(db, user)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        from linkwork.tui_entry import run_app

        run_app(ctx.obj)


def _root_app() -> typer.Typer:
    from linkwork.cli import referral

    root_app = typer.Typer(
        name="linkwork",
        cls=helptext.DayOrderGroup,
        help="Social prescribing: screen, code needs, find services, refer, close the loop, count.",
        add_completion=False,
        pretty_exceptions_enable=False,
        invoke_without_command=True,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    root_app.callback()(root)
    root_app.add_typer(referral.app, name="referral")
    return root_app


_APPS: dict[frozenset[str], typer.Typer] = {}


def make_app(areas: tuple[str, ...] = ALL_AREAS) -> typer.Typer:
    """The root command with ``db``, ``referral`` and the given areas' commands, made once
    per set of areas in a process, the areas registered in ``ALL_AREAS`` order (a new
    area: its module's ``register`` through ``ALL_AREAS``, its commands in ``AREAS``).
    Import errors here are bugs, so they are not hidden."""
    import importlib

    key = frozenset(areas)
    found = _APPS.get(key)
    if found is None:
        found = _APPS[key] = _root_app()
        for area in ALL_AREAS:
            if area in key:
                importlib.import_module(f"linkwork.cli.{area}").register(found)
    return found


def command_words(args: list[str]) -> list[str]:
    """The words naming the command, after the root's own options (``--db``, ``--user``)
    and before the first option: ``["directory", "search", "food bank"]`` (a command's
    arguments follow its name; ``named_only`` stops at the command). Empty for ``--help``,
    the version or no command."""
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("--db", "--user"):
            if rest:
                rest.pop(0)
            continue
        if arg.startswith(("--db=", "--user=")):
            continue
        if arg.startswith("-"):
            return []
        words = [arg]
        for arg in rest:
            if arg.startswith("-"):
                break
            words.append(arg)
        return words
    return []


def command_areas(args: list[str]) -> tuple[str, ...]:
    """The areas the command line needs: those of the command it names (after the root's
    own options), or every area (help, the version, an unknown or missing command)."""
    words = command_words(args)
    return AREAS.get(words[0], ALL_AREAS) if words else ALL_AREAS


def _command_name(info: typer.models.CommandInfo) -> str | None:
    if info.name:
        return info.name
    callback = info.callback
    return typer.main.get_command_name(callback.__name__) if callback else None


def _named_path(app: typer.Typer, words: list[str]) -> tuple[str, ...]:
    """The leading ``words`` that each name one command or group at their level (a group's
    next level below it); it ends at a command, a word naming nothing there (a typo:
    Click's suggestion needs every name) or a level with a group without a name (its
    commands are merged into the level)."""
    path: list[str] = []
    level: typer.Typer | None = app
    for word in words:
        if level is None or any(not g.name for g in level.registered_groups):
            break
        commands = [c for c in level.registered_commands if _command_name(c) == word]
        groups = [g for g in level.registered_groups if g.name == word]
        if len(commands) + len(groups) != 1:
            break
        path.append(word)
        level = groups[0].typer_instance if groups else None
    return tuple(path)


def _pruned(app: typer.Typer, path: tuple[str, ...]) -> typer.Typer:
    if not path:
        return app
    pruned = copy.copy(app)
    pruned.registered_commands = [c for c in app.registered_commands if _command_name(c) == path[0]]
    pruned.registered_groups = []
    for group in app.registered_groups:
        if group.name == path[0] and group.typer_instance is not None:
            inner = copy.copy(group)
            inner.typer_instance = _pruned(group.typer_instance, path[1:])
            pruned.registered_groups.append(inner)
    return pruned


_PRUNED: dict[tuple[int, tuple[str, ...]], tuple[typer.Typer, typer.Typer]] = {}


def named_only(app: typer.Typer, words: list[str]) -> typer.Typer:
    """``app`` with, at each level of groups the command line's ``words`` go down, only
    the command or group the word names (``_named_path``): Typer then builds only the
    command that runs (inspecting a command's parameters is most of the cost of building
    it). Its help, parsing and errors are the same, being the command's own. The apps are
    not changed: the pruned levels are copies, made once per app and path in a process (so
    each is one object, as the app it was pruned from)."""
    path = _named_path(app, words)
    if not path:
        return app
    key = (id(app), path)
    found = _PRUNED.get(key)
    if found is None or found[0] is not app:
        found = _PRUNED[key] = (app, _pruned(app, path))
    return found[1]


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole command line (every area), made on first use."""
    if name == "app":
        return make_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _exit_code_for(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message for an exception that escaped a command."""
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        # Click-style usage errors (Typer vendors its own Click, so match by shape).
        lines = exc.format_message().strip().splitlines()
        return (exc.exit_code or 2), (lines[0] if lines else type(exc).__name__)
    return exit_line(exc)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; map user mistakes to ``linkwork: ...`` and exit 2."""
    args = sys.argv[1:] if argv is None else argv
    try:
        command = named_only(make_app(command_areas(args)), command_words(args))
        result = command(args=args, prog_name="linkwork", standalone_mode=False)
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
        if traceback_wanted(code):
            raise
        leave(code, message)

"""Start the Textual app, fast.

``linkwork`` with no subcommand opens the app. This module is the console script's entry:
when the arguments are only the app's own (``--db URL``, ``--user NAME``), it starts the
app straight away, importing only Textual and the app shell, so the first screen paints in
well under a second; the database engine, migrations and the domain core load afterwards
in a worker. Any other arguments go to the full Typer CLI (``linkwork.cli.main``).

The app paints its first screen at once and opens the database in a worker; on an empty
database it loads the bundled sample directory (``linkwork.sample.load_sample_directory``)
so the README's first command ends with the app open on the sample services.

``LINKWORK_TUI_TIMING=FILE`` (used by ``bench/tui.py``) runs the app headless, writes the
wall-clock times of the first paint and of the home screen filled to FILE, and exits.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linkwork.settings import Settings
    from linkwork.workspace import Workspace

APP_OPTIONS = ("--db", "--user")


def one_blas_thread() -> None:
    """Let numpy's OpenBLAS start no thread of its own, unless the user set
    ``OPENBLAS_NUM_THREADS``. OpenBLAS starts a thread per core when numpy is imported, and
    on a busy machine waiting for it costs a command-line search (issue 18: under 0.3 s) a
    tenth of a second of wall time; linkwork's only matrix products (the meaning model's
    scores, ``directory.meaning``) are a few hundred rows, and OpenBLAS never splits a dot
    product between threads, so the scores are the same. Called before numpy is imported."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def app_options(args: list[str]) -> dict[str, str] | None:
    """The app's options if ``args`` holds nothing else, otherwise None (use the CLI)."""
    found: dict[str, str] = {}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=")
        if name not in APP_OPTIONS:
            return None
        if not eq:
            if not rest:
                return None  # let the CLI say what is missing
            value = rest.pop(0)
        found[name.lstrip("-")] = value
    return found


def start(settings: Settings, *, autoload_sample: bool = True) -> None:
    from tui.app import LinkworkApp

    timing = os.environ.get("LINKWORK_TUI_TIMING")
    app = LinkworkApp(
        settings,
        autoload_sample=autoload_sample,
        timing_file=timing,
        exit_on_database_error=True,
    )
    app.run(headless=bool(timing))
    if app.return_code:
        sys.exit(app.return_code)


def run_app(context: Workspace, *, autoload_sample: bool = True) -> None:
    """Called by the CLI's root command when no subcommand is given."""
    start(context.settings, autoload_sample=autoload_sample)


def before_exit() -> None:
    """The process ends once a command is done: what is alive is set aside from the
    collection the interpreter makes as it exits (it walks every object still held: after
    an import of 100k services, 0.3 s to free nothing that matters). The command closed
    its database itself (``Workspace.close``)."""
    import gc

    gc.freeze()


def main(argv: list[str] | None = None) -> None:
    one_blas_thread()
    args = sys.argv[1:] if argv is None else argv
    options = app_options(args)
    if options is None:
        from linkwork import search_command

        if search_command.main(args):  # a plain directory search, without Typer
            return
        from linkwork.cli import main as cli_main

        try:
            cli_main(args)
        finally:
            before_exit()
        return
    from linkwork.settings import load_settings

    try:
        settings = load_settings(database_url=options.get("db"), user=options.get("user"))
    except ValueError as exc:
        sys.stderr.write(f"linkwork: {exc}\n")
        sys.exit(2)
    start(settings)

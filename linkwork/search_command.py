"""``linkwork directory search``, the commonest command, read and run without Typer.

Issue 18 asks a search from the command line to answer in under 0.3 s with start-up
included, at 100k services. Importing Typer (with the Click it vendors) and building the
command is about 40 ms of CPU, a fifth of such a search. So the console script
(``linkwork.tui_entry.main``) hands the arguments here first: when they are a plain search,
it runs it as the Typer command would, without importing Typer; otherwise ``run`` returns
False and Typer reads the command line, so help, usage errors and their words are Typer's.

A plain search is: the root's own options (``--db``, ``--user``) before ``directory
search``, at most one text, and only the search's options, each written out in full as
``--name value`` or ``--name=value`` (a flag alone), an option's value not starting with a
dash, ``--age`` and ``--limit`` plain decimal numbers. Anything else (``--help``, a short
option, ``--``, an unknown or abbreviated option, a second text, a flag given a value) is
Typer's. What then happens is the Typer command's: the root's set-up (``cli_shared.
open_workspace``, which the root callback calls too), the same action
(``linkwork.actions.search.find_services``) with the same arguments, the same printing
(``show_results``, which the Typer command calls too), and an error as the same one line
and exit code (``cli_shared.exit_line``); ``tests/test_search_command.py`` compares the two
on each option and on refused input.
"""

from __future__ import annotations

import gc
import re
import sys
from typing import Any

# the search's options: flags, and options taking a value (``--need`` repeatable)
FLAGS = {
    "--open-now": "open_now",
    "--free": "free",
    "--current-only": "current_only",
    "--include-stale": "include_stale",
    "--json": "json",
}
VALUES = {
    "--need": "need",
    "--near": "near",
    "--language": "language",
    "--age": "age",
    "--limit": "limit",
}
NUMBERS = ("age", "limit")
ROOT = {"--db": "db", "--user": "user"}
DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")  # as linkwork.cli.light_params reads it


def read(args: list[str]) -> dict[str, Any] | None:
    """The search's arguments when ``args`` is a plain search (see above), else None."""
    found: dict[str, Any] = {
        "db": None,
        "user": None,
        "text": None,
        "need": [],
        "near": None,
        "language": None,
        "age": None,
        "limit": 10,
        "open_now": False,
        "free": False,
        "current_only": False,
        "include_stale": False,
        "json": False,
    }
    rest = list(args)

    def value_of(arg: str, names: dict[str, str]) -> tuple[str, str] | None:
        name, eq, value = arg.partition("=")
        if name not in names:
            return None
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if value.startswith("-"):
            return None
        return names[name], value

    while rest and rest[0].startswith("-"):  # the root's options
        got = value_of(rest.pop(0), ROOT)
        if got is None:
            return None
        found[got[0]] = got[1]
    if rest[:2] != ["directory", "search"]:
        return None
    del rest[:2]
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-"):
            if found["text"] is not None:
                return None  # Typer's "unexpected extra argument"
            found["text"] = arg
        elif arg in FLAGS:
            found[FLAGS[arg]] = True
        else:
            got = value_of(arg, VALUES)
            if got is None:
                return None
            key, value = got
            if key in NUMBERS:
                if not DECIMAL.fullmatch(value):
                    return None
                found[key] = int(value)
            elif key == "need":
                found["need"].append(value)
            else:
                found[key] = value
    return found


def main(args: list[str]) -> bool:
    """``run`` for the console script and ``python -m linkwork``, whose process ends after
    it: the cyclic garbage collector is left off while the search's modules load (it would
    walk their objects again and again: a tenth of the command's CPU, and nothing a search
    makes holds a cycle worth collecting), and what is alive at the end is set aside from
    the collection the interpreter makes as it exits (``gc.freeze``)."""
    if read(args) is None:
        return False
    gc.disable()
    try:
        return run(args)
    finally:
        gc.freeze()


def run(args: list[str]) -> bool:
    """Run ``args`` when they are a plain search (True), else do nothing (False). Exits as
    the command line does on an error: one line on stderr, the error's exit code."""
    given = read(args)
    if given is None:
        return False
    from linkwork.cli_shared import exit_line, leave, open_workspace, traceback_wanted

    try:
        ws = open_workspace(given["db"], given["user"])
        from linkwork.actions import search as act

        results = act.find_services(
            ws,
            given["text"] or "",
            current_only=given["current_only"] and not given["include_stale"],
            needs=given["need"],
            near=given["near"],
            language=given["language"],
            age=given["age"],
            open_now=given["open_now"],
            free=given["free"],
            limit=given["limit"],
        )
        show_results(results, given["json"])
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\n")  # as Click does before it aborts
        sys.stderr.write("linkwork: cancelled\n")
        sys.exit(130)
    except Exception as exc:
        code, message = exit_line(exc)
        if traceback_wanted(code):
            raise
        leave(code, message)
    return True


def show_results(results: list[Any], as_json: bool) -> None:
    """Print a search's results: as JSON, or as a table with why each matched (what both
    the Typer command and ``run`` print)."""
    from linkwork.cli_shared import esc, print_json, safe

    if as_json:
        print_json([r.to_dict() for r in results])
        return
    from rich.table import Table

    from linkwork.consoles import console

    table = Table(show_lines=False)
    table.add_column("id", overflow="fold", max_width=12)
    table.add_column("service")
    table.add_column("town")
    table.add_column("why")
    for r in results:
        label = esc(r.name) + (
            f"\n[dim]{esc(r.organisation)}[/dim]"
            if r.organisation and r.organisation != r.name
            else ""
        )
        if r.stale:
            label += f"\n[yellow]not verified since {r.last_verified}[/yellow]"
        town = esc(r.town) + (f" ({r.distance_km} km)" if r.distance_km is not None else "")
        table.add_row(esc(r.id[:8]), label, town, "; ".join(safe(r.why[:3])))
    console.print(table)
    if any(r.stale for r in results):
        console.print(
            "[dim]'not verified since': phone to check it still runs; "
            "--current-only leaves such services out.[/dim]"
        )

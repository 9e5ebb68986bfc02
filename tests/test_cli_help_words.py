"""Issue 22, point 9: the CLI's help reads as words for a newcomer: no Python types
(<str>, <list[str]>, <bool> for a flag), a flag shows no value, every option and argument
says what it takes, an argument is named in capitals (never ``{referrals}...``), and the
commands are listed in the order of a day's work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import click
import pytest
import typer
from typer.testing import CliRunner

from linkwork.cli import app

ROOT = typer.main.get_command(app)


def _commands(cmd: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    subs = getattr(cmd, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _commands(sub, [*path, name])
    else:
        yield path, cmd


COMMANDS = list(_commands(ROOT, []))


def _help(path: list[str]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_option_and_argument_says_what_it_takes() -> None:
    missing = [
        f"{' '.join(path)} {param.opts[0]}"
        for path, cmd in COMMANDS
        for param in cmd.params
        if param.name != "help" and not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == []


def test_no_command_shows_a_python_type_or_braces() -> None:
    """What each command's help shows beside its options and in its usage line (the
    same functions the help calls; whole help pages are rendered below)."""
    shown = []
    for path, cmd in COMMANDS:
        ctx = click.Context(cmd, info_name=" ".join(path))
        usage = " ".join(cmd.collect_usage_pieces(ctx))
        types = [param.display_type_rich(ctx) or "" for param in cmd.params]
        shown.append((path, usage, types))
    python = [(p, t) for p, _, types in shown for t in types if re.search(r"<|\[|bool|str", t)]
    assert python == []
    braces = [(p, u) for p, u, _ in shown if "{" in u or "}" in u]
    assert braces == []
    flags = [
        (p, t)
        for (p, _, types), (_, cmd) in zip(shown, COMMANDS, strict=True)
        for param, t in zip(cmd.params, types, strict=True)
        if getattr(param, "is_flag", False) and t
    ]
    assert flags == []


@pytest.mark.parametrize(
    "path", [["referral", "export"], ["directory", "search"], ["report", "needs"], []], ids=str
)
def test_help_pages_show_no_python_types(path: list[str]) -> None:
    text = _help(path)
    assert not re.search(r"<(str|int|bool|float|path|list\[)", text), text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage


def test_a_flag_shows_no_value_and_a_value_option_says_which_kind() -> None:
    text = _help(["directory", "search"])
    free = next(line for line in text.splitlines() if "--free " in line)
    assert re.search(r"--free\s+Only free services", free), free
    near = next(line for line in text.splitlines() if "--near " in line)
    assert re.search(r"--near\s+TEXT\s+A postcode", near), near
    age = next(line for line in text.splitlines() if "--age " in line)
    assert "NUMBER" in age


def test_referral_export_names_its_argument_in_capitals() -> None:
    text = _help(["referral", "export"])
    assert "Usage: linkwork referral export [OPTIONS] REFERRALS..." in text
    show = _help(["referral", "show"])
    assert "referral list" in show  # says where a referral's id comes from


def test_phone_and_email_have_help() -> None:
    text = _help(["person", "add"])
    assert re.search(r"--phone\s+TEXT\s+Phone number", text), text
    assert re.search(r"--email\s+TEXT\s+Email address", text), text


def test_commands_are_listed_in_the_order_of_a_day() -> None:
    text = _help([])
    listed = re.findall(r"^│ (\w[\w-]*)\s{2,}", text, re.M)
    listed = [name for name in listed if name in ROOT.commands]
    first = ["person", "screen", "need", "codes", "directory", "consent", "refer", "referral"]
    assert listed[: len(first)] == first
    assert listed.index("report") < listed.index("db")
    assert listed[-1] == "demo" or listed.index("demo") > listed.index("audit")
    assert sorted(listed) == sorted(ROOT.commands)

"""Help that reads as plain words for a newcomer (issue 22, point 9).

Typer shows each option's Python type (``<str>``, ``<list[str]>``, and ``<bool>`` for a
plain flag, so ``--free true`` looks right and fails) and a required argument in braces
(``{referrals}...``). Here an option that takes a value shows what kind of value in
capitals (TEXT, NUMBER, FILE, DATE, or its choices), a flag shows nothing, an argument
is named in capitals (REFERRALS...), and the top-level commands are listed in the order of
a link worker's day rather than the order they were registered in."""

from __future__ import annotations

from typing import Any

from typer import core

# The order of a day's work: the record, finding and referring, the loop, casework, counts,
# set-up and the machinery last. Commands not named here follow, alphabetically.
COMMAND_ORDER = (
    "person",
    "screen",
    "need",
    "codes",
    "directory",
    "consent",
    "refer",
    "referral",
    "followups",
    "episode",
    "contact",
    "note",
    "goal",
    "caseload",
    "plan",
    "report",
    "population",
    "deprivation",
    "keys",
    "mesh",
    "audit",
    "staff",
    "db",
    "demo",
)

_WORDS = {
    "str": "TEXT",
    "int": "NUMBER",
    "float": "NUMBER",
    "Decimal": "NUMBER",
    "path": "PATH",
    "file": "FILE",
    "directory": "FOLDER",
    "datetime": "DATE",
    "date": "DATE",
    "UUID": "ID",
}


def value_word(param: Any, ctx: Any) -> str | None:
    """What a newcomer types after the option: a word in capitals, or None for a flag."""
    if isinstance(param, core.TyperOption) and (param.is_flag or param.count):
        return None
    if param.metavar is not None:
        return str(param.metavar)
    desc = param.type_descriptor
    if desc.is_choice and param.show_choices:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    if desc.is_path:
        return _WORDS.get(str(desc.path_type), "PATH")
    if desc.is_datetime:
        return "DATE"
    label = param.display_type(ctx).strip("<>")
    label = label.removeprefix("list[").removesuffix("]")
    return _WORDS.get(label, label.upper())


def _option_type(self: Any, ctx: Any) -> str | None:
    word = value_word(self, ctx)
    if word is not None and self.nargs != 1:
        word += "..."
    return word


def _argument_type(self: Any, ctx: Any) -> str | None:
    return None  # the argument's name (in capitals) already says what to give


def _argument_name(self: Any) -> str:
    name = self.display_name_raw
    return f"{name}..." if self.nargs != 1 else name


def _argument_usage(self: Any) -> str:
    name = _argument_name(self)
    return name if self.required else f"[{name}]"


class DayOrderGroup(core.TyperGroup):
    """The root command group: commands in COMMAND_ORDER, then the rest alphabetically."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(self.commands)
        known = [n for n in COMMAND_ORDER if n in names]
        return known + sorted(n for n in names if n not in COMMAND_ORDER)


def install() -> None:
    """Make every Typer command's help read as words (once, at import of the CLI)."""
    core.TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
    core.TyperArgument._rich_display_name = _argument_name  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
    core.TyperArgument.display_name_raw = property(  # type: ignore[method-assign,assignment]
        lambda self: str(self.metavar or self.name or "").upper()
    )


# Where each argument comes from, said where it is asked for.
PERSON_HELP = (
    "The person's id (or its first 8+ characters) or NHS number: "
    "`linkwork person find NAME` shows it."
)
REFERRAL_HELP = (
    "The referral's short id (its first 8+ characters) or whole id: "
    "`linkwork referral list` and the app's referrals board show it."
)
SCREENING_HELP = (
    "The screening's id (or its first 8+ characters): `linkwork screen` prints it, "
    "`linkwork person show PERSON` lists it."
)
NEED_HELP = "The need's id (or its first 8+ characters): `linkwork need list PERSON` shows it."
CONSENT_HELP = (
    "The consent's id (or its first 8+ characters): `linkwork consent list PERSON` shows it."
)

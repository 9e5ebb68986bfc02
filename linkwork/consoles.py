"""The consoles the commands print words with: Rich's, made safe for a terminal.

Imported when a command first asks for ``console`` or ``err_console`` (through
``linkwork.cli_shared``, or ``linkwork.cli.common``), so that a command printing only JSON does
not import Rich. Outside the ``linkwork.cli`` package, whose start imports Typer: the
command line's search prints with it without Typer (``linkwork.search_command``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from directory.untrusted import control_positions, visible_controls


class TerminalConsole(Console):
    """A Rich console that sends no control character it did not make itself: text that
    reaches it unescaped (a value a command forgot to pass through ``esc``) has its control
    characters shown as escapes. Emoji codes (``:smile:``) are left as typed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("emoji", False)
        super().__init__(**kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            text = segment.text
            if (
                segment.control is None
                and not text.isprintable()
                and (control_positions(text, multiline=True) or "\t" in text)
            ):
                segment = Segment(visible_controls(text), segment.style)
            yield segment


console = TerminalConsole()
err_console = TerminalConsole(stderr=True)

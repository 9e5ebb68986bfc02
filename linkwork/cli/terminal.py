"""The consoles the commands print words with (``linkwork.consoles``, where they live so
that the command line's search can print without importing Typer: ``linkwork.search_command``)."""

from __future__ import annotations

from linkwork.consoles import TerminalConsole, console, err_console

__all__ = ["TerminalConsole", "console", "err_console"]

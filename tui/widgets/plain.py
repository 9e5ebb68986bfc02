"""The app's text widgets: what they show is shown as it is, never read as markup, and no
control character reaches the terminal.

Textual reads a string given to ``Static``, ``Label`` or a ``DataTable`` cell as markup:
a stored name holding ``[@click=app.quit]`` would become an action, ``[/]`` would stop the
screen with a MarkupError, and an ESC in it would go to the terminal as it is. The app
writes no markup of its own (styles are in CSS, or in ``rich.text.Text`` built in code), so
these widgets take every string literally with its control characters shown as escapes
(``directory.untrusted.visible_controls``), and a ``Text`` built in code has the same done
to its pieces. ``tests/test_untrusted_tui.py`` checks that every screen and widget takes
``Static``, ``Label`` and ``DataTable`` from here.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any, TypeVar

from rich.console import Console
from rich.text import Text
from textual import widgets

from directory.untrusted import has_control, visible_controls

__all__ = ["DataTable", "Label", "Static", "plain", "safe_text"]

CellType = TypeVar("CellType")


@cache
def _console() -> Console:
    return Console(file=io.StringIO(), width=10_000, color_system=None, emoji=False)


def safe_text(text: Text) -> Text:
    """``text`` with the control characters in its pieces shown as escapes (styles kept)."""
    if not has_control(text.plain, multiline=True) and "\t" not in text.plain:
        return text
    out = Text(justify=text.justify, no_wrap=text.no_wrap, overflow=text.overflow, end=text.end)
    for segment in text.render(_console(), end=""):
        out.append(visible_controls(segment.text), segment.style)
    return out


def plain(value: Any) -> Any:
    """What a text widget shows for ``value``: a string becomes a literal ``Text`` (no
    markup) with its control characters shown; a ``Text`` has them shown too; anything
    else (another renderable, a Content) is left as it is."""
    if isinstance(value, str):
        return Text(visible_controls(value), end="")
    if isinstance(value, Text):
        return safe_text(value)
    return value


class Static(widgets.Static):
    """``textual.widgets.Static`` that shows strings literally (see the module's note)."""

    def __init__(self, content: Any = "", **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(plain(content), **kwargs)

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        super().update(plain(content), layout=layout)


class Label(widgets.Label):
    """``textual.widgets.Label`` that shows strings literally (see the module's note)."""

    def __init__(self, content: Any = "", **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(plain(content), **kwargs)

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        super().update(plain(content), layout=layout)


class DataTable(widgets.DataTable[CellType]):
    """``textual.widgets.DataTable`` whose string cells are literal text (a cell string is
    otherwise read as Rich markup)."""

    def add_row(self, *cells: Any, **kwargs: Any) -> Any:
        return super().add_row(*(plain(cell) for cell in cells), **kwargs)

    def update_cell(self, row_key: Any, column_key: Any, value: Any, **kwargs: Any) -> None:
        super().update_cell(row_key, column_key, plain(value), **kwargs)

    def update_cell_at(self, coordinate: Any, value: Any, **kwargs: Any) -> None:
        super().update_cell_at(coordinate, plain(value), **kwargs)

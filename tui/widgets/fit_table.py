"""A table that fits its columns to its own width, so nothing important is cut off at
80 columns and nothing needs sideways scrolling in a large terminal.

Each column is ``(label, width, shrinks to)``. Width ``None``: the one column that takes
the room left, up to its longest value (and gives it back first); width ``0``: as wide as
its longest value; otherwise that many cells. When the table is narrower than them all,
the column with the most to spare gives up a cell, again and again (so the longest
columns share the cut), never below its minimum. A minimum of ``WHOLE`` (a code, a
status) means never cut: when such columns cannot fit, the table scrolls sideways, and
its scroll bar shows it.
Cut text ends in an ellipsis, so a cut is visible, and the row is shown whole elsewhere
(a detail line) where the screen has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widget import Widget

from directory.untrusted import visible_controls
from tui.widgets.plain import DataTable

Column = tuple[str, int | None, int]
# A cell is text, or a rich Text (its style kept: a stale service's bold "! Oct 2024").
Layout = tuple[Sequence[Column], Sequence[Sequence[Any]]]
WHOLE = -1  # as a column's minimum: never cut (a code, a status)


def _longest(spec: Sequence[Column], rows: Sequence[Sequence[str]], n: int) -> int:
    return max([len(spec[n][0]), *(len(r[n]) for r in rows)])


def fit_widths(spec: Sequence[Column], rows: Sequence[Sequence[str]], room: int) -> list[int]:
    """Column widths (without cell padding) that fit ``room`` cells when they can."""
    longest = [_longest(spec, rows, n) for n in range(len(spec))]
    # A column needs no more than its longest value, even where its minimum is more.
    least = [
        longest[n] if low == WHOLE else min(low, longest[n]) for n, (_, _, low) in enumerate(spec)
    ]
    widths = [width or longest[n] for n, (_, width, _) in enumerate(spec)]
    flex = next((n for n, (_, width, _) in enumerate(spec) if width is None), None)
    if flex is not None:
        fixed = sum(w for n, w in enumerate(widths) if n != flex)
        widths[flex] = max(min(room - fixed, longest[flex]), least[flex])
    over = sum(widths) - room
    while over > 0:
        most, n = max((widths[n] - least[n], n) for n in range(len(spec)))
        if most <= 0:
            break  # every column at its minimum: the table scrolls sideways
        widths[n] -= 1
        over -= 1
    return widths


def clip(text: Any, width: int) -> Any:
    """Shorten to ``width`` with an ellipsis, so a cut is visible (a Text keeps its style)."""
    if len(text) <= width:
        return text
    if isinstance(text, Text):
        cut = text.copy()
        cut.truncate(width, overflow="ellipsis")
        return cut
    return text[: max(width - 1, 0)] + "…"


def _shown(cell: Any) -> Any:
    """A cell as shown: control characters as their escapes (a Text keeps its style)."""
    if isinstance(cell, Text):
        return Text(visible_controls(cell.plain), style=cell.style, justify=cell.justify)
    return visible_controls(str(cell))


def _fits_whole(spec: Sequence[Column], rows: Sequence[Sequence[str]], room: int) -> bool:
    """Every column at its full width, the flexible one at least at its minimum."""
    full = fit_widths(spec, rows, 10_000)
    flex = next((n for n, (_, width, _) in enumerate(spec) if width is None), None)
    need = sum(w for n, w in enumerate(full) if n != flex)
    if flex is None:
        return need <= room
    low = spec[flex][2]
    return need + (_longest(spec, rows, flex) if low == WHOLE else low) <= room


class FitTable(DataTable[Any]):
    """A read-only table of text rows that refits whenever its width changes (a terminal
    resize, or a scroll bar appearing beside it).

    :meth:`show` takes one or more layouts (columns and the rows in that shape), widest
    first: the first that fits whole is used, otherwise the last (the narrow one)."""

    class Fitted(Message):
        """The columns were laid out again (``table.cut`` says which are cut short)."""

        def __init__(self, table: FitTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> FitTable:
            return self.table

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._layouts: list[Layout] = []
        self._fitted: tuple[int, int, list[int]] | None = None
        self.layout_index = 0
        self.cut: list[str] = []  # the labels of the columns with text cut short now

    def show(self, *layouts: Layout) -> None:
        # Widths are measured on what is shown: control characters as their escapes.
        self._layouts = [
            (spec, [[_shown(cell) for cell in row] for row in rows]) for spec, rows in layouts
        ]
        self._fitted = None
        self.refit()
        self.call_after_refresh(self.refit)  # again, once a scroll bar may have appeared

    def room(self, columns: int) -> int:
        """Cells across for text: the width less each column's padding and the room a
        vertical scroll bar takes (kept free, so a long list never needs a sideways one)."""
        width = self.content_region.width
        if not width and isinstance(self.parent, Widget):
            width = self.parent.content_region.width
        if not width:  # not laid out yet: the screen less a frame around the table
            width = self.screen.size.width - 6 if self.is_attached else 74
        width -= self.styles.scrollbar_size_vertical
        return max(width, 0) - 2 * self.cell_padding * columns

    def refit(self) -> None:
        if not self._layouts:
            return
        index = next(
            (
                n
                for n, (spec, rows) in enumerate(self._layouts)
                if _fits_whole(spec, rows, self.room(len(spec)))
            ),
            len(self._layouts) - 1,
        )
        spec, rows = self._layouts[index]
        room = self.room(len(spec))
        widths = fit_widths(spec, rows, room)
        fitted = (room, index, widths)
        if fitted == self._fitted:
            return
        self._fitted = fitted
        self.layout_index = index
        self.cut = [
            label
            for n, ((label, _, _), width) in enumerate(zip(spec, widths, strict=True))
            if _longest(spec, rows, n) > width
        ]
        cursor = self.cursor_row
        self.clear(columns=True)
        for (label, _, _), width in zip(spec, widths, strict=True):
            self.add_column(clip(label, width), width=width)
        for row in rows:
            self.add_row(*(clip(cell, w) for cell, w in zip(row, widths, strict=True)))
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))
        self.post_message(self.Fitted(self))

    def on_resize(self) -> None:
        self.call_after_refresh(self.refit)

"""A plain horizontal bar chart: label, bar of block characters, and the number in words
beside it, so it reads the same in any theme and without colour. Suppressed counts show
as ``*`` with no bar."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def render_bars(rows: list[tuple[str, int | None]], width: int = 40, label_width: int = 24) -> Text:
    text = Text()
    known = [v for _, v in rows if isinstance(v, int)]
    top = max(known) if known else 0
    for label, value in rows:
        text.append(f"{label[:label_width]:<{label_width}} ")
        if value is None:
            text.append("* (suppressed: fewer than 8)\n", style="italic")
            continue
        length = round(width * value / top) if top else 0
        text.append("█" * length, style="bold")
        text.append(f" {value}\n")
    return text


class BarChart(Static):
    def show(self, rows: list[tuple[str, int | None]]) -> None:
        width = max(10, (self.size.width or 80) - 34)
        self.update(render_bars(rows, width=width) if rows else Text("No counts to chart."))

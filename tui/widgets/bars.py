"""A horizontal bar chart drawn with plotext (textual-plotext) that never carries meaning
by colour alone: every bar's label has its value written beside it (``*`` where the count
is hidden by disclosure control, with no bar), the x axis is labelled in words, and the
output depends only on the data and the widget's size (deterministic for snapshots)."""

from __future__ import annotations

import math
import textwrap

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from tui.widgets.plain import safe_text

HIDDEN_NOTE = (
    "* (suppressed: fewer than 8) or hidden so that another hidden count cannot be "
    "worked out; no bar is drawn"
)
PLOT_ROOM = 12  # the least room the bars and their frame keep beside the labels
LEAST_LABEL = 12  # a label is never cut shorter than this (the bars narrow instead)


# (label, value, the value as shown): ``None`` values are hidden counts (shown ``*``).
Point = tuple[str, float | None, str]


def bar_labels(points: list[Point], width: int = 0) -> list[str]:
    """``"Food                 35"``: the label and its value as shown (the counts table's
    text: ``screening.counts.count_text``) right-aligned. The labels take the room they
    need from the chart's ``width`` (0: unknown, no limit), leaving the bars
    ``PLOT_ROOM``; only a chart too narrow for that cuts them (with an ellipsis)."""
    values = [shown for _, _, shown in points]
    vwidth = max((len(v) for v in values), default=1)
    longest = max((len(label) for label, _, _ in points), default=0)
    room = width - vwidth - 1 - PLOT_ROOM if width else longest
    width = min(longest, max(room, LEAST_LABEL))
    out = []
    for (label, _, _), shown in zip(points, values, strict=True):
        cut = label if len(label) <= width else label[: width - 1] + "…"
        out.append(f"{cut:<{width}} {shown:>{vwidth}}")
    return out


def nice_ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Round tick values from ``low`` to at least ``high`` (at most ``most`` of them)."""
    if high <= low:
        high = low + 1
    span = high - low
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if span / step <= most - 1:
            break
    else:
        step = 10 ** math.ceil(math.log10(span / (most - 1)))
    start = math.floor(low / step) * step
    ticks: list[float] = []
    value = start
    while value < high + step:
        ticks.append(value)
        if value >= high:
            break
        value += step
    return ticks


class CountChart(PlotextPlot):
    """Bars for one series of counts (label, value, text); ``None`` values are hidden counts.

    The title and the note about hidden counts are written by this widget above and below
    plotext's drawing (wrapped to the width), so they are never cut off by plotext."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: list[Point] = []
        self.kind = "count"
        self.chart_title = ""

    @property
    def hidden(self) -> bool:
        return any(v is None for _, v, _ in self.points)

    def show(self, title: str, points: list[Point], kind: str = "count") -> None:
        self.chart_title, self.points, self.kind = title, list(points), kind
        self._fit_height()
        self.refresh()

    def _fit_height(self) -> None:
        # one line per bar, the frame (2) and the tick values, and the words around them
        above, below = self._words(self.size.width or 60)
        self.styles.height = max(6, len(self.points) + 3 + len(above) + len(below))

    def on_resize(self) -> None:
        self._fit_height()

    def _words(self, width: int) -> tuple[list[str], list[str]]:
        width = max(10, width)
        above = textwrap.wrap(self.chart_title, width) or [""]
        below = textwrap.wrap(HIDDEN_NOTE, width) if self.hidden else []
        if not self.points:
            below = ["Nothing to chart."]
        return above, below

    def render(self) -> RenderResult:
        width, height = self.size.width, self.size.height
        above, below = self._words(width)
        plot_height = max(3, height - len(above) - len(below))
        self._draw(width)  # the labels' room depends on the width
        self._plot.plotsize(width, plot_height)
        self._plot._set_size(width, plot_height)
        self._plot.theme(self._get_plotext_theme_name(self.app.theme))
        text = Text("\n".join(line.center(width).rstrip() for line in above) + "\n")
        text.append_text(Text.from_ansi(self._plot.build().rstrip("\n")))
        if below:
            text.append("\n" + "\n".join(below))
        return safe_text(text)  # labels from the data: control characters shown

    def _draw(self, width: int) -> None:
        plt = self.plt
        plt.clear_figure()
        if not self.points:
            return
        scale = 100.0 if self.kind == "rate" else 1.0
        numbers = [0.0 if v is None else float(v) * scale for _, v, _ in self.points]
        n = len(numbers)
        positions = list(range(n - 1, -1, -1))  # the first label at the top
        plt.bar(positions, numbers, orientation="h", width=1 / 5)  # type: ignore[arg-type]
        plt.yticks(positions, bar_labels(self.points, width))  # type: ignore[arg-type]
        ticks = nice_ticks(min(0.0, *numbers), max(0.0, *numbers))
        plt.xlim(ticks[0], ticks[-1])
        suffix = "%" if self.kind == "rate" else ""
        plt.xticks(ticks, [f"{t:g}{suffix}" for t in ticks])

"""A scrolling page body that never takes focus itself, so Tab always moves between the
fields and lists the link worker uses (the focused field is scrolled into view)."""

from __future__ import annotations

from textual.containers import VerticalScroll


class Body(VerticalScroll, can_focus=False):
    pass

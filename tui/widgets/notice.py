"""A calm boxed message for empty, information and warning states."""

from __future__ import annotations

from rich.text import Text

from tui.widgets.plain import Static


class Notice(Static):
    """A titled message; ``kind`` is a CSS class (info, empty, warning)."""

    DEFAULT_CSS = """
    Notice {
        border: round $primary;
        padding: 0 1;
        margin: 1 0;
        height: auto;
    }
    Notice.warning { border: double $warning; }
    """

    def __init__(self, title: str, body: str = "", *, kind: str = "info", **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.add_class(kind)
        self.set_message(title, body)

    def set_message(self, title: str, body: str = "") -> None:
        text = Text()
        text.append(title, style="bold")
        if body:
            text.append("\n" + body)
        self.update(text)

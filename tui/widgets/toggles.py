"""Checkboxes and radio buttons whose state is in the glyph, in any colours (or none):
a tick reads ``[x]`` ticked and ``[ ]`` not, a choice ``(•)`` chosen and ``( )`` not, each
beside its words (Textual's own draw a solid block either way, the state carried only by
the colour of the ``X`` inside it)."""

from __future__ import annotations

import textwrap
import time
from typing import Any

from textual import events
from textual.content import Content
from textual.style import Style
from textual.widgets import Checkbox, RadioButton, Select
from textual.widgets._select import NoSelection

from tui.widgets.plain import plain


def glyph(button: Checkbox | RadioButton) -> Content:
    """``[x]`` / ``( )``: the brackets and the mark in the words' own style (bold mark),
    readable in every theme (Textual draws its sides in the button's background colour,
    which is right for its half blocks and near invisible for brackets)."""
    words = button.get_visual_style("toggle--label")
    return Content.assemble(
        (button.BUTTON_LEFT, words),
        (button.BUTTON_INNER, words + Style(bold=True)),
        (button.BUTTON_RIGHT, words),
    )


class Tick(Checkbox):
    BUTTON_LEFT = "["
    BUTTON_RIGHT = "]"

    @property
    def _button(self) -> Content:
        return glyph(self)

    def _make_label(self, label: Any) -> Content:
        return super()._make_label(plain(label))  # literal: a need's words are not markup

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "x" if self.value else " "


class Choice(RadioButton):
    BUTTON_LEFT = "("
    BUTTON_RIGHT = ")"

    @property
    def _button(self) -> Content:
        return glyph(self)

    def _make_label(self, label: Any) -> Content:
        return super()._make_label(plain(label))  # literal: a question's option text

    def _lines(self, width: int) -> list[str]:
        """The answer's words in lines that fit beside the button (``text-wrap: wrap``)."""
        room = max(8, width - self._button.cell_length - 2)
        return textwrap.wrap(self._label.plain, room) or [""]

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        """As many lines as its words need where the CSS lets it wrap (``text-wrap: wrap``;
        Textual's radio button is always one line, cutting a long answer short)."""
        if self.styles.text_wrap != "wrap":
            return 1
        return len(self._lines(width))

    def render(self) -> Content:
        """Wrapped (where the CSS says so), the lines after the first under the first's
        words, so the button stands alone at the left."""
        width = self.content_region.width
        if self.styles.text_wrap != "wrap" or not width:
            return super().render()
        button = self._button
        style = self.get_visual_style("toggle--label")
        indent = " " * button.cell_length
        parts: list[Any] = [button]
        for n, line in enumerate(self._lines(width)):
            if n:
                parts.append(Content("\n" + indent))
            parts.append(Content(line).pad(1, 1).stylize_before(style))
        return Content.assemble(*parts)

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "•" if self.value else " "


class JumpSelect(Select[Any]):
    """A dropdown that jumps as you type while it is closed (issue 22, point 8): letters
    typed together pick the first answer starting with them ('as' Asian...), else the
    first with a word starting with them ('paki' ...Pakistani); the same letter again
    moves on to the next answer starting with it. Open it (Enter) to see them all."""

    PAUSE = 1.0  # seconds between letters before a new word starts

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed = ""
        self._typed_at = 0.0

    def _labels(self) -> list[tuple[str, Any]]:
        return [
            (str(prompt), value)
            for prompt, value in self._options
            if not isinstance(value, NoSelection)
        ]

    def on_key(self, event: events.Key) -> None:
        if self.expanded or not event.is_printable or not event.character:
            return
        if event.character == " ":
            return  # Space opens the list
        event.stop()
        event.prevent_default()
        now = time.monotonic()
        letter = event.character.casefold()
        fresh = now - self._typed_at > self.PAUSE
        self._typed = letter if fresh else self._typed + letter
        self._typed_at = now
        options = self._labels()
        typed = self._typed
        if len(set(typed)) == 1 and len(typed) > 1:
            typed = letter  # the same letter again: the next answer starting with it
            starting = [v for label, v in options if label.casefold().startswith(typed)]
            if starting:
                at = starting.index(self.value) if self.value in starting else -1
                self.value = starting[(at + 1) % len(starting)]
            return
        for label, value in options:
            if label.casefold().startswith(typed):
                self.value = value
                return
        for label, value in options:
            if any(word.startswith(typed) for word in label.casefold().split()):
                self.value = value
                return
        self.app.bell()

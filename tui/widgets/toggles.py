"""Checkboxes and radio buttons whose state shows as a symbol, not only as a colour:
ticked shows ``X`` / ``●``, unticked shows a blank."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Checkbox, RadioButton

from tui.widgets.plain import plain


class Tick(Checkbox):
    def _make_label(self, label: Any) -> Content:
        return super()._make_label(plain(label))  # literal: a need's words are not markup

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


class Choice(RadioButton):
    def _make_label(self, label: Any) -> Content:
        return super()._make_label(plain(label))  # literal: a question's option text

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "●" if self.value else " "

"""The footer (issue 22, point 6): keys shown whole or not at all, never cut mid-word.

Textual's footer lays its keys in one row and cuts the last one that does not fit ("f4
Find a se"), hiding every key after it without a sign. ``KeysFooter`` shows the keys in
the compact style, the screen's own keys first, then the app's sections, with Quit last;
it keeps as many as fit whole beside the palette key and leaves the rest out. When any
key is left out, the palette key says so ("^p more keys"): the command palette lists
every key a screen offers by its words (tui/widgets/commands.py)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE_WORDS = "palette"
MORE_WORDS = "more keys"


def key_width(key: FooterKey) -> int:
    """Cells a key takes in the compact footer: its key, a space and its words, then the
    one-cell gap after it."""
    words = f" {key.description}" if key.description else ""
    return cell_len(key.key_display) + cell_len(words) + 1


class KeysFooter(Footer):
    """A one-line footer that leaves out whole keys rather than cutting one."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(compact=True, **kwargs)  # type: ignore[arg-type]
        self.left_out: list[str] = []  # 'key words' of the keys with no room, in order
        self._fitted_width = -1
        self._composed: Any = None  # what the keys shown were made from (see _shown)
        self._remaking = False  # a remake of the keys is on its way

    def _room(self) -> int:
        return self.size.width or self.app.size.width

    def _shown(self) -> Any:
        """Everything the keys shown are made from: each shown binding's key, words, action,
        group and whether it is enabled, the palette's binding, and the room."""
        shown = tuple(
            (
                binding.key,
                binding.key_display,
                binding.description,
                binding.action,
                binding.tooltip,
                (binding.group.description, binding.group.compact) if binding.group else None,
                enabled,
                tooltip,
            )
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING
        )
        return (shown, self.show_command_palette, self._room())

    def bindings_changed(self, screen: Any) -> None:
        """Textual's footer makes all its keys anew whenever the screen's bindings may have
        changed, which is on every move of the focus (about 20 widgets each time, most of a
        screen's restyling), and once per change when several come before the next refresh.
        Here one remake at most is on its way, and it happens only when what the keys show
        has changed."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._remaking:
            self._remaking = True
            self.call_after_refresh(self._remake)

    async def _remake(self) -> None:
        self._remaking = False
        if self.is_attached and self._shown() != self._composed:
            await self.recompose()

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._composed = self._shown()
        made: list[Widget] = list(super().compose())
        palette = [w for w in made if w.has_class("-command-palette")]
        keys = [w for w in made if w not in palette]
        # Quit last: the screen's own keys and the sections matter more day to day.
        keys.sort(key=lambda w: isinstance(w, FooterKey) and w.action.endswith("quit"))
        room = self._room()
        self._fitted_width = room
        if palette and isinstance(palette[0], FooterKey):
            room -= 1 + cell_len(palette[0].key_display) + 1 + cell_len(MORE_WORDS)
        used = 0
        self.left_out = []
        kept: list[Widget] = []
        for widget in keys:
            width = key_width(widget) if isinstance(widget, FooterKey) else 0
            if self.left_out or used + width > room:
                if isinstance(widget, FooterKey):
                    self.left_out.append(f"{widget.key_display} {widget.description}")
                continue
            used += width
            kept.append(widget)
        for key in palette:
            if isinstance(key, FooterKey):
                key.description = MORE_WORDS if self.left_out else PALETTE_WORDS
        yield from kept
        yield from palette

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_width:
            self.call_after_refresh(self.recompose)

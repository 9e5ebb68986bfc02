"""Command palette entries from a plain list: a provider says what it offers
(``commands``: text, callback, help), this base does the listing and fuzzy matching."""

from __future__ import annotations

from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class CommandList(Provider):
    """A palette provider over the list :meth:`commands` returns."""

    def commands(self) -> list[tuple[str, Any, str]]:
        """(text shown, callback, help) for each entry; override."""
        return []

    async def discover(self) -> Hits:
        for text, command, help_ in self.commands():
            yield DiscoveryHit(text, command, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_ in self.commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=help_)


def offered_keys(screen: Any) -> list[tuple[str, str, Any]]:
    """Every key the screen offers now (its footer's bindings: shown, enabled, described),
    as (key as shown, description, the active binding), one per action."""
    seen: set[tuple[int, str]] = set()
    found: list[tuple[str, str, Any]] = []
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.show or not binding.description or not active.enabled:
            continue
        if (id(active.node), binding.action) in seen:
            continue
        seen.add((id(active.node), binding.action))
        shown = binding.key_display or screen.app.get_key_display(binding)
        found.append((shown, binding.description, active))
    return found


class ScreenKeyCommands(CommandList):
    """Every key the current screen offers, in the palette too (issue 22, point 6): a key
    the footer has no room for is still found by its words ('Reload (r)')."""

    def commands(self) -> list[tuple[str, Any, str]]:
        items: list[tuple[str, Any, str]] = []
        for shown, description, active in offered_keys(self.screen):
            action = active.binding.action

            async def run(node: Any = active.node, action: str = action) -> None:
                await node.run_action(action)

            items.append((f"{description} ({shown})", run, "A key on this screen"))
        return items

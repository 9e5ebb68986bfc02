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

"""Searching the directory: the index built once, searched as a person types or once
from the command line (apart from the other directory actions: the index needs numpy
and rapidfuzz, which the app's first screen does not)."""

from __future__ import annotations

from typing import Any

from directory.near import NearResult, docs_by_id, search_near, towns
from directory.search import ServiceIndex, ServiceMatch
from linkwork.errors import NotFound
from linkwork.workspace import Workspace


def build_index(ws: Workspace) -> ServiceIndex:
    """The directory's search index (seconds for a large directory: build it once)."""
    with ws.session() as session:
        return ServiceIndex.build(session, stale_months=ws.settings.stale_months)


class NearSearch:
    """An index with what searching near a place needs, made once for a caller that
    searches on every keystroke (the app, and its search process)."""

    def __init__(self, index: ServiceIndex) -> None:
        self.index = index
        index.warm()
        self.documents = docs_by_id(index)
        self.town_names = towns(index)

    def search(self, text: str, **filters: Any) -> NearResult:
        """Matches best first; distances in miles when ``near`` names a known place, and
        a plain hint when it does not (a half-typed postcode searches at any distance)."""
        return search_near(
            self.index, text, documents=self.documents, town_names=self.town_names, **filters
        )


def find_services(
    ws: Workspace, text: str, *, current_only: bool = False, **filters: Any
) -> list[ServiceMatch]:
    """Search the directory once (the CLI): build the index, search; NotFound (saying so
    when only services not verified recently match) if nothing does."""
    index = build_index(ws)
    results = index.search(text, current_only=current_only, **filters)
    if not results:
        hint = ""
        if current_only and index.search(text, **filters):
            hint = " (only services not verified recently match: leave out --current-only)"
        raise NotFound(f"no services match{hint}")
    return results

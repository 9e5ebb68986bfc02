"""The service directory: import feeds, load the sample, search, show and list services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from directory.importer import ImportSummary, import_source
from directory.models import Service
from directory.near import NearResult, docs_by_id, search_near, towns
from directory.search import ServiceIndex, ServiceMatch
from directory.service import describe_service, directory_stats, get_service, list_services
from linkwork.errors import NotFound
from linkwork.sample import load_sample_directory
from linkwork.workspace import Workspace


def _count(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.count(Service.id))).scalar_one())  # type: ignore[arg-type]


def open_directory(ws: Workspace, *, load_sample_if_empty: bool = False) -> tuple[int, bool]:
    """Open the database (migrating it) and count its services; on an empty directory,
    load the bundled sample when asked. (services, whether the sample was loaded)."""
    with ws.session() as session:
        size = _count(session)
    if size or not load_sample_if_empty:
        return size, False
    load_sample(ws)
    return service_count(ws), True


def service_count(ws: Workspace) -> int:
    with ws.session() as session:
        return _count(session)


def load_sample(ws: Workspace) -> ImportSummary:
    """Import the bundled sample directory (400 synthetic services; idempotent)."""
    with ws.session() as session:
        return load_sample_directory(session)


def import_directory(
    ws: Workspace,
    source: str,
    *,
    fmt: str = "auto",
    strict: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    source_name: str | None = None,
) -> ImportSummary:
    """Import (or re-import) a feed: a file, a folder of page files or an ORUK API URL."""
    if fmt not in ("auto", "oruk", "csv"):
        raise ValueError(f"unknown format {fmt!r} (use auto, oruk or csv)")
    with ws.session() as session:
        return import_source(
            session, source, fmt=fmt, strict=strict, progress=progress, source_name=source_name
        )


def build_index(ws: Workspace) -> ServiceIndex:
    """The directory's search index (seconds for a large directory: build it once)."""
    with ws.session() as session:
        return ServiceIndex.build(session, stale_months=ws.settings.stale_months)


class NearSearch:
    """An index with what searching near a place needs, made once for a caller that
    searches on every keystroke (the app, and its search process)."""

    def __init__(self, index: ServiceIndex) -> None:
        self.index = index
        self.documents = docs_by_id(index)
        self.town_names = towns(index)

    def search(self, text: str, **filters: Any) -> NearResult:
        """Matches best first; distances in miles when ``near`` names a known place, and
        a plain hint when it does not (a half-typed postcode searches at any distance)."""
        return search_near(
            self.index, text, documents=self.documents, town_names=self.town_names, **filters
        )


def find_services(
    ws: Workspace, text: str, *, include_stale: bool = False, **filters: Any
) -> list[ServiceMatch]:
    """Search the directory once (the CLI): build the index, search; NotFound (saying so
    when only stale services match) if nothing does."""
    index = build_index(ws)
    results = index.search(text, include_stale=include_stale, **filters)
    if not results:
        hint = ""
        if not include_stale and index.search(text, include_stale=True, **filters):
            hint = " (stale services match: add --include-stale)"
        raise NotFound(f"no services match{hint}")
    return results


def get_service_record(ws: Workspace, ref: str | int) -> Service:
    """One service's row (by linkwork's number or its feed id), detached for display."""
    with ws.session() as session:
        return get_service(session, ref)


def show_service(ws: Workspace, ref: str | int) -> dict[str, Any]:
    """Everything about one service, as plain data."""
    with ws.session() as session:
        service = get_service(session, ref)
        return describe_service(session, service, stale_months=ws.settings.stale_months)


def stats(ws: Workspace) -> dict[str, Any]:
    """How many services each feed has, and the last imports."""
    with ws.session() as session:
        return directory_stats(session)


def services(
    ws: Workspace, *, feed: str | None = None, withdrawn: bool = False, limit: int = 50
) -> list[dict[str, Any]]:
    """Services by name (0 = all); NotFound if there are none."""
    if limit < 0:
        raise ValueError("--limit must not be negative")
    with ws.session() as session:
        rows = list_services(session, feed=feed, withdrawn=withdrawn, limit=limit or None)
    if not rows:
        raise NotFound("no services" + (f" in feed {feed!r}" if feed else ""))
    return rows

"""The service directory: import feeds, load the sample, search, show and list services."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from directory.bounded import Limits
from directory.importer import (
    NO_ORGANISATION,
    ImportSummary,
    import_feed,
    open_feed,
    read_ahead,
)
from directory.models import Service
from directory.service import describe_service, directory_stats, get_service, list_services
from directory.untrusted import clean_text
from linkwork.errors import NotFound
from linkwork.sample import load_sample_directory
from linkwork.workspace import Workspace

__all__ = [
    "NO_ORGANISATION",
    "get_service_record",
    "import_directory",
    "import_limits",
    "load_sample",
    "services",
    "show_service",
    "stats",
]


def load_sample(ws: Workspace) -> ImportSummary:
    """Import the bundled sample directory (400 synthetic services; idempotent)."""
    with ws.session() as session:
        summary = load_sample_directory(session)
    _reindex(ws)
    return summary


def _reindex(ws: Workspace, unchanged_since: str | None = None) -> None:
    """Save this machine's search index for the directory as it now is (after the import
    committed), so a search opens it instead of building one. ``unchanged_since``: the
    directory's stamp before an import that changed no service, organisation or
    location; an index file built for that stamp is only given the new one (a copy, not
    a build: the same bytes a build would write)."""
    from linkwork.actions.search import index_path, refresh_index

    if unchanged_since is not None:
        from directory.index_file import restamp_index, stamp_after_one_import

        with ws.session() as session:
            now = stamp_after_one_import(session, unchanged_since)
        if now is not None and restamp_index(index_path(ws), unchanged_since, now):
            return
    refresh_index(ws)


def import_directory(
    ws: Workspace,
    source: str,
    *,
    fmt: str = "auto",
    strict: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    source_name: str | None = None,
) -> ImportSummary:
    """Import (or re-import) a feed: a file, a folder of page files or an ORUK API URL.

    The feed is untrusted: it is read within the settings' limits (``import_limits``) and
    written in one transaction, only once all of it has been read."""
    if fmt not in ("auto", "oruk", "csv"):
        raise ValueError(f"unknown format {fmt!r} (use auto, oruk or csv)")
    if source_name is not None:  # typed by the user: refused with a control character
        source_name = clean_text(source_name, "the feed name")
    from directory.index_feed import ImportIndex
    from directory.index_file import directory_stamp
    from linkwork.actions.search import index_path

    feed = open_feed(source, fmt, progress, source_name, import_limits(ws))
    # a database not made yet: the feed is read while it is made (its migrations)
    ahead = read_ahead(feed, strict) if _not_made_yet(ws) else None
    # the index fed as the services are written (a first import), saved as it commits
    index = ImportIndex(index_path(ws).parent)
    saving: _SavedBeside | None = None
    try:
        with ws.session() as session:
            before = directory_stamp(session)
            summary = import_feed(session, feed, strict=strict, index=index, ahead=ahead)
            if index.usable and index.stamp is not None:
                saving = _SavedBeside(index, index_path(ws))
        # (committed)
        if not (saving is not None and saving.publish(ws, before)):
            _reindex(ws, before if summary.changed_nothing else None)
    finally:
        if ahead is not None:
            ahead.close()
        if saving is not None:
            saving.discard()
        index.close()
    return summary


def _not_made_yet(ws: Workspace) -> bool:
    """Whether the workspace's database is an SQLite file that does not exist yet (so it
    holds no service of any feed)."""
    from linkwork.sqlite_url import sqlite_file

    if ws.database_open:
        return False
    found = sqlite_file(ws.settings.resolved_database_url())
    return found is not None and not found[0].exists()


class _SavedBeside:
    """The fed index written to a file of its own by a thread while the import's
    transaction commits (a commit into an SQLite file copies its log into the file, in C,
    letting the thread run: 100k services, about 0.6 s of the import's wall time), then
    put in the index's place only if the directory is as the import left it (its stamp
    then, and this import the only run since). Until then it is nobody's index: a failed
    commit, or another import in between, leaves it to be deleted."""

    def __init__(self, index: Any, path: Path) -> None:
        self.path = path
        self.pending = path.with_name(f"{path.name}.{os.getpid()}.{id(self):x}.pending")
        self.stamp: str = index.stamp
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._save, args=(index,), name="import-index-save", daemon=True
        )
        self.thread.start()

    def _save(self, index: Any) -> None:
        try:
            index.save(self.pending, self.stamp)
        except BaseException as exc:  # raised again where the caller waits for it
            self.error = exc

    def publish(self, ws: Workspace, before: str) -> bool:
        """Put the file in the index's place if the directory is as the import left it;
        False if not (the caller then builds the index from the database)."""
        from directory.index_file import only_run_since

        with ws.session() as session:
            stamp = only_run_since(session, before)
        self.thread.join()
        if self.error is not None:
            raise self.error
        if stamp is None or stamp != self.stamp:
            return False
        os.replace(self.pending, self.path)
        return True

    def discard(self) -> None:
        """Wait for the thread and delete its file if it was not published."""
        self.thread.join()
        self.pending.unlink(missing_ok=True)


def import_limits(ws: Workspace) -> Limits:
    """How much one import may read: the settings ``import_max_*``."""
    settings = ws.settings
    return Limits(
        page_bytes=settings.import_max_page_bytes,
        feed_bytes=settings.import_max_feed_bytes,
        pages=settings.import_max_pages,
        services=settings.import_max_services,
    )


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

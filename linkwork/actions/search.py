"""Searching the directory: the index built once, searched as a person types or once
from the command line (apart from the other directory actions: the index needs numpy
and rapidfuzz, which the app's first screen does not)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directory.index_file import (
    directory_stamp,
    open_index,
    read_stamp,
    sqlite_stamp,
    write_index,
)
from directory.search import ServiceIndex, ServiceMatch
from linkwork.errors import NotFound
from linkwork.sqlite_url import sqlite_file
from linkwork.workspace import Workspace

if TYPE_CHECKING:  # (directory.near: for the app's searches, not the command line's)
    from directory.near import NearResult


def build_index(ws: Workspace) -> ServiceIndex:
    """The directory's search index built in memory from the database (seconds for a
    large directory; ``current_index`` reads the saved one instead)."""
    with ws.session() as session:
        return ServiceIndex.build(session, stale_months=ws.settings.stale_months)


def index_path(ws: Workspace) -> Path:
    """This machine's index file for this database, in the data folder (one per database:
    a shared PostgreSQL directory gets a local index on every machine)."""
    url = ws.settings.resolved_database_url()
    if sqlite_file(url) is None:  # a password is never part of the key
        from sqlalchemy.engine import make_url

        url = make_url(url).render_as_string(hide_password=True)
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return ws.settings.home / "search-index" / f"{key}.lwidx"


def refresh_index(ws: Workspace) -> Path:
    """Build the index from the database and save it (after an import; or when the
    directory changed elsewhere, as on another machine sharing a PostgreSQL database)."""
    path = index_path(ws)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with ws.session() as session:
        # streamed from the database into the file: memory stays flat with its size
        write_index(session, path, directory_stamp(session))
    return path


def current_stamp(ws: Workspace) -> str:
    """The directory's stamp now: read with the driver alone from an SQLite file (plain or
    encrypted) the workspace has not opened yet (the CLI's search: no SQLAlchemy, no
    migrations), otherwise in a session."""
    found = sqlite_file(ws.settings.resolved_database_url())
    if found is not None and not ws.is_open:
        path, encrypted = found
        # an encrypted file's passphrase is asked for (or read) once, as opening it would
        passphrase = ws.database_passphrase() if encrypted else None
        if not encrypted or passphrase:
            stamp = sqlite_stamp(
                path.expanduser(), int(ws.settings.busy_timeout * 1000), passphrase
            )
            if stamp is not None:
                return stamp
    with ws.session() as session:
        return directory_stamp(session)


def current_index(ws: Workspace) -> ServiceIndex:
    """The saved index when it matches the directory (milliseconds to open); otherwise it
    is rebuilt once and saved, so later searches open it again."""
    path = index_path(ws)
    stamp = current_stamp(ws)
    if read_stamp(path) != stamp:
        refresh_index(ws)
    return open_index(path, stale_months=ws.settings.stale_months)


class NearSearch:
    """An index with what searching near a place needs, made once for a caller that
    searches on every keystroke (the app, and its search process)."""

    def __init__(self, index: ServiceIndex) -> None:
        self.index = index
        index.warm()
        from directory.near import towns

        self.town_names = towns(index)

    def search(self, text: str, **filters: Any) -> NearResult:
        """Matches best first; distances in miles when ``near`` names a known place, and
        a plain hint when it does not (a half-typed postcode searches at any distance)."""
        from directory.near import search_near

        filters.setdefault("while_typing", True)  # the meaning model waits for a clause's end
        return search_near(self.index, text, town_names=self.town_names, **filters)


def find_services(
    ws: Workspace, text: str, *, current_only: bool = False, **filters: Any
) -> list[ServiceMatch]:
    """Search the directory once (the CLI): open the index file, or build it when the
    directory changed since (streamed from the database into a file beside it, so memory
    stays flat with the directory's size), search; NotFound (saying so when only services
    not verified recently match) if nothing does."""
    path = index_path(ws)
    stamp = current_stamp(ws)
    fresh: Path | None = None
    index: Any
    if read_stamp(path) == stamp:
        index = open_index(path, stale_months=ws.settings.stale_months)
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fresh = path.with_name(f"{path.name}.{os.getpid()}.new")
        with ws.session() as session:
            write_index(session, fresh, directory_stamp(session))
        index = open_index(fresh, stale_months=ws.settings.stale_months)
    # bad input (an empty search, an unknown need or place) is refused here, before the
    # index file is replaced: a refused command leaves no new file behind
    try:
        results = index.search(text, current_only=current_only, **filters)
    except BaseException:
        if fresh is not None:
            fresh.unlink(missing_ok=True)
        raise
    if fresh is not None:
        os.replace(fresh, path)
    if not results:
        hint = ""
        if current_only and index.search(text, **filters):
            hint = " (only services not verified recently match: leave out --current-only)"
        raise NotFound(f"no services match{hint}")
    return results

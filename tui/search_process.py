"""The app's service search, and the directory search index in its own process.

Building the index for a large directory is seconds of pure-Python work; in a thread it
would hold the GIL and starve the interface (typing would lag for the whole build). So
the index is built and searched in a child process; the app's thread workers send it
requests over a pipe and wait (without holding the GIL). The child opens the index file
(when it is current) without the database layer, and the same database read-only in
spirit (it never writes) with ``linkwork.db.create_engine`` when it must rebuild it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linkwork.workspace import Workspace


def _serve(conn: Connection, stale_months: int) -> None:
    """The child: build on request, then answer searches until told to stop. The database
    URL and passphrase come first over the pipe (never on the command line, which every
    user of the machine can read)."""
    import os

    # Never write to the terminal the app is drawing on.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    from linkwork.actions import search
    from linkwork.settings import Settings

    try:
        _, db_url, passphrase = conn.recv()
    except (EOFError, OSError):
        return
    opened = _Opener(Settings(database_url=db_url, stale_months=stale_months), passphrase)
    near: Any = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        kind = request[0]
        if kind == "stop":
            break
        try:
            if kind == "build" or (kind == "search" and near is None):
                near = search.NearSearch(opened.index())
            if kind == "build":
                conn.send(("ok", near.index.size))
            elif kind == "search":
                _, text, filters = request
                # near is read as typed: a half-typed postcode is a hint, not an error
                conn.send(("ok", near.search(text, **filters)))
            else:
                conn.send(("error", "ValueError", f"unknown request {kind!r}"))
        except (ValueError, LookupError) as exc:
            conn.send(("error", type(exc).__name__, str(exc)))
        except Exception as exc:  # a bug: report it, keep serving
            conn.send(("error", "RuntimeError", f"{type(exc).__name__}: {exc}"))
    opened.close()


class _Opener:
    """The child's index: the index file opened straight away when it is current for an
    SQLite database (its stamp read with the driver alone: no SQLAlchemy, a third of a
    second of the app's wait for its first results); the database layer is opened (never
    migrated, ``linkwork.db.create_engine``) only to rebuild it, or for PostgreSQL."""

    def __init__(self, settings: Any, passphrase: str | None) -> None:
        self.settings = settings
        self.passphrase = passphrase
        self.engine: Any = None

    def index(self) -> Any:
        from directory.index_file import open_index, read_stamp, sqlite_stamp
        from linkwork.actions import search
        from linkwork.sqlite_url import sqlite_file
        from linkwork.workspace import Workspace

        url = self.settings.database_url
        found = sqlite_file(url)
        if self.engine is None and found is not None:
            path = search.index_path(Workspace(self.settings))
            database, encrypted = found
            stamp = sqlite_stamp(
                database.expanduser(),
                int(self.settings.busy_timeout * 1000),
                self.passphrase if encrypted else None,
            )
            if stamp is not None and read_stamp(path) == stamp:
                return open_index(path, stale_months=self.settings.stale_months)
        if self.engine is None:
            from linkwork.db import create_engine

            self.engine = create_engine(url, passphrase=self.passphrase)
        return search.current_index(Workspace(self.settings, self.engine))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


class SearchProcess:
    """A client for the child process; safe to call from several threads.

    The child is a fresh interpreter (``python -m tui.search_process FD URL MONTHS``) talking
    over a socket pair: unlike multiprocessing's spawn, it never re-runs the parent's main
    script, and its output goes nowhere near the terminal the app draws on."""

    def __init__(self, db_url: str, stale_months: int, passphrase: str | None = None) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tui.search_process", str(theirs.fileno()),
             str(stale_months)],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        theirs.close()
        self._conn = Connection(ours.detach())
        self._lock = threading.Lock()
        self._conn.send(("open", db_url, passphrase))

    def _call(self, *request: Any) -> Any:
        with self._lock:
            if self._process.poll() is not None:
                raise RuntimeError("the search process has stopped")
            self._conn.send(request)
            status, *rest = self._conn.recv()
        if status == "ok":
            return rest[0]
        kind, message = rest
        if kind == "LookupError":
            raise LookupError(message)
        if kind == "ValueError":
            raise ValueError(message)
        raise RuntimeError(message)

    def build(self) -> int:
        return int(self._call("build"))

    def search(self, text: str, filters: dict[str, Any]) -> Any:
        """A ``directory.near.NearResult``: matches, miles, place and a hint."""
        return self._call("search", text, filters)

    def close(self) -> None:
        try:
            with self._lock:
                self._conn.send(("stop",))
        except (OSError, ValueError):
            pass
        try:
            self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._process.terminate()
        self._conn.close()


class ServiceSearch:
    """The app's service search: the index built once, then searched on every keystroke.

    By default the index lives in a child process (``SearchProcess``); with
    ``in_process=False`` (tests that do not search much) it is built in this process."""

    def __init__(self, workspace: Workspace, *, in_process: bool = False) -> None:
        self.workspace = workspace
        self.in_process = in_process
        self.size = 0
        self._index: Any = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._index is not None

    def build(self) -> Any:
        """Build the index unless built (slow: call from a worker); its size."""
        with self._lock:
            if self._index is None:
                if self.in_process:
                    import linkwork.actions as actions

                    search = actions.search
                    self._index = search.NearSearch(search.current_index(self.workspace))
                    self.size = self._index.index.size
                else:
                    process = SearchProcess(
                        self.workspace.database_url(),
                        self.workspace.settings.stale_months,
                        self.workspace.passphrase,
                    )
                    try:
                        self.size = process.build()
                    except BaseException:
                        process.close()
                        raise
                    self._index = process
            return self._index

    def search(self, text: str, **filters: Any) -> Any:
        """A ``directory.near.NearResult`` (matches, miles, place, hint)."""
        index = self.build()
        if isinstance(index, SearchProcess):
            return index.search(text, filters)
        return index.search(text, **filters)

    def invalidate(self) -> None:
        """Forget the index (the directory changed); the next search builds it again."""
        with self._lock:
            old, self._index = self._index, None
        if isinstance(old, SearchProcess):
            old.close()

    close = invalidate


def main() -> None:
    fd, months = sys.argv[1], sys.argv[2]
    _serve(Connection(int(fd)), int(months))


if __name__ == "__main__":
    main()

"""The workspace every user action runs in: settings, the database (opened lazily, once),
the acting user, and the private keys unlocked in this session.

The CLI makes one per command; the app makes one at start-up and its workers share it.
Nothing heavy is imported until it is used, so ``import linkwork.workspace`` is cheap and
the app's first paint never waits for SQLAlchemy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from linkwork.access import Login
    from linkwork.settings import Settings


class Workspace:
    """Where an action gets its session, its actor and its keys: never from a global."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        ask_passphrase: Callable[[str, str], str] | None = None,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._lock = threading.Lock()
        # Private keys unlocked with their passphrase in this session, by file path: in
        # memory only (the passphrase itself is not kept, and nothing is ever written).
        self.unlocked_keys: dict[str, Any] = {}
        # The encrypted database's passphrase (``linkwork.atrest``): in memory only. Set by
        # the app's passphrase screen, or asked for when the database is first opened by
        # ``ask_passphrase(kind, where)`` ("new" or "existing"; the CLI's prompt).
        self._passphrase: str | None = None
        self.ask_passphrase = ask_passphrase

    # On PostgreSQL: the login, as the database sees it (read once; linkwork.access).
    _login: Login | None = None

    @property
    def is_shared(self) -> bool:
        """A shared PostgreSQL deployment (logins, roles, organisations), not SQLite."""
        if self._engine is not None:
            return self._engine.dialect.name == "postgresql"
        return self.settings.resolved_database_url().startswith(("postgresql", "postgres:"))

    @property
    def login(self) -> Login:
        """PostgreSQL: this connection's login, its role and organisations (refused in
        words if it has no linkwork role or was removed: ``linkwork.access``)."""
        if self._login is None:
            from linkwork.access import AccessRefused, check_login, who

            login = who(self.engine)
            check_login(login)
            if login.is_staff and self.settings.user != login.login:
                from linkwork.settings import _default_user

                if self.settings.user != _default_user():
                    raise AccessRefused(
                        f"you are logged in to the database as {login.login}: the name "
                        f"given with --user or LINKWORK_USER ({self.settings.user}) is "
                        "only for SQLite"
                    )
            self._login = login
        return self._login

    @property
    def user(self) -> str:
        """Who is acting: recorded on every change and in the audit trail. On PostgreSQL
        a member of staff's login (``session_user``); on SQLite, and for the database
        owner, the ``user`` setting."""
        if self.is_shared and self.login.is_staff:
            return self.login.login
        return self.settings.user

    @property
    def org(self) -> str:
        """The organisation (ODS code) this workspace acts for: a person created here is
        held by it (``screening.organisations``). On SQLite, and for the database owner,
        the ``practice_ods`` setting; for a member of staff the first of its organisations
        (the ``practice_ods`` setting if it is one of them)."""
        if self.is_shared and self.login.is_staff:
            from linkwork.access_sql import ALL_ORGS

            wanted, orgs = self.settings.practice_ods, self.login.orgs
            if wanted and (wanted in orgs or ALL_ORGS in orgs):
                return wanted
            return min((o for o in orgs if o != ALL_ORGS), default="")
        return self.settings.practice_ods

    @property
    def engine(self) -> Engine:
        """The database engine, opened (and migrated) on first use."""
        with self._lock:
            if self._engine is None:
                from linkwork.db import open_engine

                passphrase = self.database_passphrase()
                try:
                    self._engine = open_engine(
                        self.settings.resolved_database_url(),
                        busy_timeout=self.settings.busy_timeout,
                        passphrase=passphrase,
                    )
                except Exception:
                    self._passphrase = None  # a wrong one is not tried again
                    raise
            return self._engine

    @property
    def database_open(self) -> bool:
        """Whether the database has been opened in this workspace (``engine`` used)."""
        return self._engine is not None

    def close(self) -> None:
        """Close the database's connections if it was opened (the CLI, once a command is
        done: an SQLite file's log is folded in and deleted now, not left to the
        interpreter's exit)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()

    def needs_passphrase(self) -> str | None:
        """Whether the database is encrypted and its passphrase not given yet: "new" (none
        chosen yet) or "existing"; None otherwise (cheap: the URL and the file's first
        bytes)."""
        if self._engine is not None:
            return None
        from linkwork.atrest import needs_passphrase

        url = self.settings.resolved_database_url()
        return needs_passphrase(url, self._passphrase is not None)

    def set_passphrase(self, passphrase: str | None) -> None:
        self._passphrase = passphrase

    @property
    def passphrase(self) -> str | None:
        """The encrypted database's passphrase given in this session (for a child process
        opening the same database: sent over its pipe, never on a command line)."""
        return self._passphrase

    def database_passphrase(self) -> str | None:
        """The encrypted database's passphrase: given already, or asked for now (CLI)."""
        kind = self.needs_passphrase()
        if kind is not None and self.ask_passphrase is not None:
            from linkwork.atrest import sqlite_path

            url = self.settings.resolved_database_url()
            self._passphrase = self.ask_passphrase(kind, str(sqlite_path(url)))
        return self._passphrase

    @property
    def is_open(self) -> bool:
        return self._engine is not None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        from directory.notfound import NotFound
        from linkwork.db import session_scope

        try:
            with session_scope(self.engine) as session:
                # new rows' organisation (screening.organisations); a staff login's others
                session.info["org"] = self.org
                if self.is_shared and self.login.is_staff:
                    session.info["orgs"] = self.login.orgs
                yield session
        except NotFound as exc:
            if self.is_shared:
                from linkwork.access import held_elsewhere

                refusal = held_elsewhere(self, exc)
                if refusal is not None:
                    raise refusal from None
            raise

    def database_url(self) -> str:
        """The URL of the database in use (with its password: for a child process only)."""
        if self._engine is not None:
            return self._engine.url.render_as_string(hide_password=False)
        return self.settings.resolved_database_url()

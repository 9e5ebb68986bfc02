"""Settings: where the database lives, who the user is, and the practice's defaults.

Read once at start-up from (lowest to highest precedence) built-in defaults, the user's
``config.toml`` in the platform config folder, environment variables and CLI options.
Nothing here is global: the CLI builds a ``Settings`` and passes values down.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from directory.bounded import Limits
from directory.untrusted import clean_text

APP_NAME = "linkwork"


def data_dir() -> Path:
    return Path(os.environ.get("LINKWORK_HOME") or platformdirs.user_data_dir(APP_NAME))


def config_path() -> Path:
    env = os.environ.get("LINKWORK_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    user: str = field(default_factory=_default_user)
    practice_ods: str = ""
    # How a person reaches their link worker (phone, email), printed on their plan.
    worker_contact: str = ""
    followup_days: int = 14
    stale_months: int = 12
    # The longest wait, in seconds, for another linkwork's write to the database to finish
    # before saying the database is busy (SQLite busy timeout, PostgreSQL lock_timeout).
    busy_timeout: int = 10
    # The fewest people a practice or group must have for counts to be published about it
    # on its own (smaller practices are counted together; smaller rows are hidden). Can
    # only be raised above 10.
    min_population: int = 10
    outbox: str = ""
    inbox: str = ""
    keys_dir: str = ""
    # The practice's extra screening questions (a YAML file), added to the built-in ones
    # by both front ends.
    extra_questions: str = ""
    # How much one directory import may read (a feed is untrusted: these keep a broken or
    # hostile feed from filling the memory): bytes in one JSON page or file, bytes in the
    # whole feed (a CSV file is streamed: only this applies), pages, and services.
    import_max_page_bytes: int = Limits.page_bytes
    import_max_feed_bytes: int = Limits.feed_bytes
    import_max_pages: int = Limits.pages
    import_max_services: int = Limits.services
    # The app locks after this many minutes without a key press or a click, and asks for
    # the database passphrase (or, on PostgreSQL, the login's password) to go on; 0: never.
    idle_lock_minutes: float = 10
    # NHS MESH (referrals and replies between partners; screening.exchange.mesh): the
    # server's URL and our mailbox id (MESH is off while either is empty), its password
    # and the shared key (secrets: never stored, printed or logged), the client
    # certificate, its key and the CA bundle (the live service's mutual TLS), the workflow
    # id our messages carry (default LINKWORK_SOCIAL_PRESCRIBING) and the longest wait for
    # the server, in seconds.
    mesh_url: str = ""
    mesh_mailbox: str = ""
    mesh_password: str = field(default="", repr=False)
    mesh_shared_key: str = field(default="", repr=False)
    mesh_client_cert: str = ""
    mesh_client_key: str = ""
    mesh_ca_cert: str = ""
    mesh_workflow_id: str = "LINKWORK_SOCIAL_PRESCRIBING"
    mesh_timeout: int = 30
    # The app syncs with MESH every this many seconds while it is open (and on demand:
    # F9); 0: only on demand. Off whenever MESH is not set up.
    mesh_sync_seconds: int = 300

    @property
    def mesh_set_up(self) -> bool:
        """Whether MESH is set up: its URL and our mailbox (``linkwork.actions.mesh``)."""
        return bool(self.mesh_url and self.mesh_mailbox)

    @property
    def home(self) -> Path:
        return data_dir()

    def resolved_database_url(self) -> str:
        """The database URL given, or the default: an encrypted SQLite file in the data
        folder (``linkwork.atrest``). A plain file already there (made by an older linkwork)
        is used as it is, "not encrypted" in the app's header, until ``linkwork db encrypt``."""
        if self.database_url:
            return self.database_url
        from linkwork.atrest import ENCRYPTED_DRIVER, file_state

        path = self.home / "linkwork.db"
        if file_state(path) == "plain":
            return f"sqlite:///{path}"
        return f"{ENCRYPTED_DRIVER}:///{path}"

    def dir_or_default(self, name: str) -> Path:
        value = getattr(self, name)
        return Path(value) if value else self.home / name


_ENV = {
    "database_url": "LINKWORK_DATABASE_URL",
    "user": "LINKWORK_USER",
    "practice_ods": "LINKWORK_PRACTICE",
    "worker_contact": "LINKWORK_WORKER_CONTACT",
    "followup_days": "LINKWORK_FOLLOWUP_DAYS",
    "stale_months": "LINKWORK_STALE_MONTHS",
    "busy_timeout": "LINKWORK_BUSY_TIMEOUT",
    "min_population": "LINKWORK_MIN_POPULATION",
    "outbox": "LINKWORK_OUTBOX",
    "inbox": "LINKWORK_INBOX",
    "keys_dir": "LINKWORK_KEYS_DIR",
    "extra_questions": "LINKWORK_EXTRA_QUESTIONS",
    "import_max_page_bytes": "LINKWORK_IMPORT_MAX_PAGE_BYTES",
    "import_max_feed_bytes": "LINKWORK_IMPORT_MAX_FEED_BYTES",
    "import_max_pages": "LINKWORK_IMPORT_MAX_PAGES",
    "import_max_services": "LINKWORK_IMPORT_MAX_SERVICES",
    "idle_lock_minutes": "LINKWORK_IDLE_LOCK_MINUTES",
    "mesh_url": "LINKWORK_MESH_URL",
    "mesh_mailbox": "LINKWORK_MESH_MAILBOX",
    "mesh_password": "LINKWORK_MESH_PASSWORD",
    "mesh_shared_key": "LINKWORK_MESH_SHARED_KEY",
    "mesh_client_cert": "LINKWORK_MESH_CLIENT_CERT",
    "mesh_client_key": "LINKWORK_MESH_CLIENT_KEY",
    "mesh_ca_cert": "LINKWORK_MESH_CA_CERT",
    "mesh_workflow_id": "LINKWORK_MESH_WORKFLOW_ID",
    "mesh_timeout": "LINKWORK_MESH_TIMEOUT",
    "mesh_sync_seconds": "LINKWORK_MESH_SYNC_SECONDS",
}


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind in ("float", float):
        try:
            minutes = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name} must be a number, not {value!r}") from None
        if not minutes >= 0 or minutes == float("inf"):
            raise ValueError(f"setting {name} must be a number of 0 or more")
        return minutes
    if kind in ("int", int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name} must be a whole number, not {value!r}") from None
        if number < 0:
            raise ValueError(f"setting {name} must not be negative")
        if number < 1 and name.startswith("import_max_"):
            raise ValueError(f"setting {name} must be 1 or more")
        return number
    # A user name or a path with a control character would be stored (as the actor) or
    # printed: refused like any other text from outside.
    return clean_text(str(value), f"setting {name}", max_length=4096)


def _stores_passphrase(url: str) -> bool:
    from linkwork.atrest import has_password, is_encrypted_url

    return is_encrypted_url(url) and has_password(url)


def load_settings(**overrides: Any) -> Settings:
    """Defaults < config.toml < environment < explicit overrides (None means not given)."""
    values: dict[str, Any] = {}
    path = config_path()
    if path.is_file():
        import tomllib  # only with a config file (the CLI's start-up without one skips it)

        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"config file {path} is not valid TOML: {exc}") from None
        except RecursionError:
            raise ValueError(f"config file {path} is not valid TOML: nested too deeply") from None
        known = {f.name for f in fields(Settings)}
        for key, value in raw.items():
            if key not in known:
                raise ValueError(f"config file {path}: unknown setting {key!r}")
            if key == "database_url" and _stores_passphrase(str(value)):
                raise ValueError(
                    f"config file {path}: the database passphrase is not kept in a file; "
                    "remove it from database_url (it is asked for, or read from "
                    "LINKWORK_DB_PASSPHRASE)"
                )
            values[key] = _coerce(key, value)
    for key, env in _ENV.items():
        if os.environ.get(env):
            values[key] = _coerce(key, os.environ[env])
    for key, value in overrides.items():
        if value is not None:
            values[key] = _coerce(key, value)
    return replace(Settings(), **values)
